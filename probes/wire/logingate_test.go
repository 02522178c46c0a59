package wire

import (
	"context"
	"sync"
	"testing"
	"time"
)

// waitAll starts n Waits on g and returns a channel closed when all
// have returned.
func waitAll(g *LoginGate, n int) <-chan struct{} {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.Wait(context.Background())
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// TestLoginGateReleasesWhenAllExpectedWait: the first batch goes as soon
// as every expected login waits, long before the window ends.
func TestLoginGateReleasesWhenAllExpectedWait(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	for i := 0; i < 3; i++ {
		g.Expect()
	}
	done := waitAll(g, 2)
	select {
	case <-done:
		t.Fatal("two of three expected logins went before the third was ready")
	case <-time.After(50 * time.Millisecond):
	}
	g.Wait(context.Background()) // the third: the batch goes
	<-done
	// Open now: later logins go at once, expected or not.
	g.Expect()
	g.Wait(context.Background())
}

// TestLoginGateDoneWithdraws: a probe that ends without logging in
// (its service did not answer) no longer holds the others back.
func TestLoginGateDoneWithdraws(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.Expect()
	g.Expect()
	done := waitAll(g, 1)
	select {
	case <-done:
		t.Fatal("went before the other expected login came or withdrew")
	case <-time.After(50 * time.Millisecond):
	}
	g.Done()
	<-done
}

// TestLoginGateWindow: a login expected but never coming holds the
// others for the window only.
func TestLoginGateWindow(t *testing.T) {
	g := NewLoginGate(20*time.Millisecond, nil)
	g.Expect()
	g.Expect()
	<-waitAll(g, 1) // returns once the window has passed
}

// TestLoginGateContext: a wait ends with its context.
func TestLoginGateContext(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.Expect()
	g.Expect()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Wait(ctx)
}

// TestLoginGateNil: a nil gate lines up nothing.
func TestLoginGateNil(t *testing.T) {
	var g *LoginGate
	g.Expect()
	g.Wait(context.Background())
	g.Done()
}

// TestLoginGateSettled: Settled is closed once the first batch of
// logins goes, or once no login is expected any more, and not before.
func TestLoginGateSettled(t *testing.T) {
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	g := NewLoginGate(time.Hour, nil)
	g.Expect()
	g.Expect()
	first := make(chan *LoginTurn)
	go func() { first <- g.Wait(context.Background()) }()
	if closed(g.Settled()) {
		t.Fatal("settled with one of two logins waiting")
	}
	second := g.Wait(context.Background()) // the batch goes
	if closed(g.Settled()) {
		t.Fatal("settled before the batch's logins were sent or ended")
	}
	(<-first).End()
	second.End() // neither sent a password: nothing to pair
	if !closed(g.Settled()) {
		t.Error("not settled after the batch went")
	}

	g = NewLoginGate(time.Hour, nil)
	g.Expect()
	g.Expect()
	g.Done()
	if closed(g.Settled()) {
		t.Fatal("settled with a login still expected")
	}
	g.Done()
	if !closed(g.Settled()) {
		t.Error("not settled once no login is expected")
	}

	var none *LoginGate
	if !closed(none.Settled()) {
		t.Error("a nil gate is not settled")
	}
}

// sends records the order in which a gate sent the last bytes.
type sends struct {
	mu    sync.Mutex
	order []string
}

func (s *sends) send(name string) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.order = append(s.order, name)
	}
}

func (s *sends) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// batch opens g with n expected logins and returns their turns.
func batch(t *testing.T, g *LoginGate, n int) []*LoginTurn {
	t.Helper()
	for i := 0; i < n; i++ {
		g.Expect()
	}
	turns := make(chan *LoginTurn, n)
	for i := 0; i < n; i++ {
		go func() { turns <- g.Wait(context.Background()) }()
	}
	var out []*LoginTurn
	for i := 0; i < n; i++ {
		tn := <-turns
		if tn == nil {
			t.Fatal("a login of the first batch got no turn")
		}
		out = append(out, tn)
	}
	return out
}

// holdAsync makes turn hold on a goroutine and waits until the gate has
// it among its holders (or sent it), so that holds come in a known order.
func holdAsync(g *LoginGate, turn *LoginTurn, tls bool, send func()) <-chan bool {
	done := make(chan bool, 1)
	go func() { done <- turn.Hold(context.Background(), tls, send) }()
	for {
		g.mu.Lock()
		held := turn.held
		g.mu.Unlock()
		if held {
			return done
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoginGatePair: once every login of the first batch holds or
// ended, the first two over TLS go together, even when one in the clear
// held before them, and the others go only after PairLead.
func TestLoginGatePair(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.lead, g.wait = 30*time.Millisecond, time.Hour
	turns := batch(t, g, 5)
	var s sends
	a := holdAsync(g, turns[0], false, s.send("clear"))
	b := holdAsync(g, turns[1], true, s.send("tls1"))
	c := holdAsync(g, turns[2], true, s.send("tls2"))
	d := holdAsync(g, turns[3], true, s.send("tls3"))
	if got := s.got(); len(got) != 0 {
		t.Fatalf("sent %v while one login of the batch was still on its way", got)
	}
	turns[4].End() // refused before any password: the pair goes now
	if got := s.got(); len(got) != 2 || got[0] != "tls1" || got[1] != "tls2" {
		t.Fatalf("the pair sent %v, want [tls1 tls2]", got)
	}
	for _, ch := range []<-chan bool{b, c} {
		if !<-ch {
			t.Error("a login of the pair was not sent")
		}
	}
	if !<-a || !<-d {
		t.Error("a login of the rest was not sent")
	}
	got := s.got()
	if len(got) != 4 || got[2] != "clear" || got[3] != "tls3" {
		t.Errorf("sent %v, want the pair, then clear and tls3", got)
	}
	select {
	case <-g.Settled():
	default:
		t.Error("not settled once every login of the batch went")
	}
	// After the batch: no turn, nothing held.
	if tn := g.Wait(context.Background()); tn != nil {
		t.Error("a login after the first batch got a turn")
	}
	var late sends
	var none *LoginTurn
	none.Hold(context.Background(), true, late.send("late"))
	if got := late.got(); len(got) != 1 {
		t.Errorf("a login without a turn was not sent at once: %v", got)
	}
}

// TestLoginGatePairWait: a pair waits PairWait at most for the batch's
// other logins; then it is what holds.
func TestLoginGatePairWait(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.lead, g.wait = time.Millisecond, 20*time.Millisecond
	turns := batch(t, g, 2)
	var s sends
	if !<-holdAsync(g, turns[0], true, s.send("one")) {
		t.Fatal("the lone login was not sent")
	}
	if got := s.got(); len(got) != 1 {
		t.Errorf("sent %v", got)
	}
}

// TestLoginGateHoldContext: a login whose context ends before it may go
// is not sent.
func TestLoginGateHoldContext(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.wait = time.Hour
	turns := batch(t, g, 2)
	ctx, cancel := context.WithCancel(context.Background())
	var s sends
	done := make(chan bool, 1)
	go func() { done <- turns[0].Hold(ctx, true, s.send("gone")) }()
	cancel()
	if <-done {
		t.Error("Hold reported the login sent after its context ended")
	}
	turns[1].End()
	if got := s.got(); len(got) != 0 {
		t.Errorf("sent %v after the context ended", got)
	}
}

// TestLoginGateStarted: Started is closed by the first login that comes.
func TestLoginGateStarted(t *testing.T) {
	g := NewLoginGate(time.Hour, nil)
	g.Expect()
	g.Expect()
	select {
	case <-g.Started():
		t.Fatal("started before any login came")
	default:
	}
	go g.Wait(context.Background())
	<-g.Started()
}

// TestLoginPacer: pairs booked at once are spaced by the step.
func TestLoginPacer(t *testing.T) {
	p := NewLoginPacer(time.Hour)
	a, b := p.reserve(), p.reserve()
	if d := b.Sub(a); d != time.Hour {
		t.Errorf("second pair %v after the first, want 1h", d)
	}
	var none *LoginPacer
	if d := time.Until(none.reserve()); d > 0 {
		t.Errorf("a nil pacer delays by %v", d)
	}
}
