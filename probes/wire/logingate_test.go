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
	g := NewLoginGate(time.Hour)
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
	g := NewLoginGate(time.Hour)
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
	g := NewLoginGate(20 * time.Millisecond)
	g.Expect()
	g.Expect()
	<-waitAll(g, 1) // returns once the window has passed
}

// TestLoginGateContext: a wait ends with its context.
func TestLoginGateContext(t *testing.T) {
	g := NewLoginGate(time.Hour)
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
	g := NewLoginGate(time.Hour)
	g.Expect()
	g.Expect()
	go g.Wait(context.Background())
	if closed(g.Settled()) {
		t.Fatal("settled with one of two logins waiting")
	}
	g.Wait(context.Background()) // the second: the batch goes
	if !closed(g.Settled()) {
		t.Error("not settled after the batch went")
	}

	g = NewLoginGate(time.Hour)
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
