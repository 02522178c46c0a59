package wire

import (
	"context"
	"sync"
	"time"
)

// DefaultLoginWindow is how long the first fake login of a server's
// probes waits at the server's LoginGate for the others. On loopback the
// logins of a server are ready within milliseconds of each other, but
// under the load of a scan's first seconds (TLS handshakes, login
// processes started) they were measured over a second apart. A server
// whose login service is silent makes its other logins wait this long,
// once.
const DefaultLoginWindow = 3 * time.Second

// PairLead is how long the first logins of a server other than its pair
// (see LoginGate) wait after the pair went: long enough for the server
// to have looked up both of the pair's logins and recorded them as
// failures (well under a millisecond for Dovecot with a password file
// on loopback; tens of milliseconds for a directory lookup).
const PairLead = 150 * time.Millisecond

// DefaultPairSpacing is the least time between the pairs of two servers
// (LoginPacer): about what a server takes to read a pair of logins over
// TLS and hand them to its authentication process.
const DefaultPairSpacing = 4 * time.Millisecond

// LoginPacer spaces the pairs of logins that the gates of one scan send
// (see LoginGate), so that no two servers take in their pairs at the
// same moment. A pair wins only if both of its logins reach the
// server's authentication process within about a millisecond, before
// the first is recorded; servers that share processors (virtual
// machines on one host; the benchmark's daemons on loopback) and take
// in their pairs at once slow each other's login processes past that
// (measured on bench/real: pairs of 8 hosts sent together arrived up
// to 30 ms apart). A nil *LoginPacer spaces nothing.
type LoginPacer struct {
	step time.Duration

	mu   sync.Mutex
	last time.Time
}

// NewLoginPacer returns a pacer that spaces pairs by step.
func NewLoginPacer(step time.Duration) *LoginPacer { return &LoginPacer{step: step} }

// reserve books the next moment a pair may go: now, or step after the
// last one booked.
func (p *LoginPacer) reserve() time.Time {
	now := time.Now()
	if p == nil {
		return now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if next := p.last.Add(p.step); now.Before(next) {
		now = next
	}
	p.last = now
	return now
}

// PairWait bounds how long the first batch's logins that hold wait for
// the others to hold or end before the pair is picked (a POP3 login
// sends USER and waits for its answer before the PASS that carries the
// password); after it, the pair is picked from those that hold.
const PairWait = time.Second

// LoginGate lines up the first fake logins that one server's probes send.
// It exists for servers that delay failed logins per client address, as
// Dovecot does, measured on Debian's Dovecot 2.3 (see the README,
// "Logins and the servers' delays"):
//
//   - every failed login is answered after 2 s (auth_failure_delay);
//   - a login that begins after a failure from the same address has been
//     recorded waits 4 s more before it is even checked (the auth
//     penalty): about 6 s in all;
//   - a failure with a user and password that already failed from that
//     address does not raise the penalty, and one that began with no
//     penalty clears it: two logins that begin together, before either
//     is recorded, leave the address with no penalty at all once both
//     have failed.
//
// A failure is recorded within about a millisecond of the login
// reaching the server, too soon for four logins sent together to be
// sure of arriving before it. So the gate sends a pair first: two
// logins, over TLS when there are two, whose last bytes leave together;
// the other first logins follow PairLead later, once the pair has
// cleared the penalty, and every login of the server is then answered
// after 2 s. Had the pair's second login come too late, the others wait
// as they would have anyway; what the pair costs is PairLead for the
// others.
//
// The scan engine makes one gate per server and says how many of the
// probes it starts will log in (Expect, then Done when each ends); a
// probe that opens another connection to log in says so too. A probe
// calls Wait before each login attempt: the first batch goes when every
// expected login is waiting, or Window after the first began to wait,
// whichever comes first, and each of its logins gets a LoginTurn; after
// that the gate stays open and Wait returns no turn. The probe sends the
// command that carries the password of a turn with all of it but its
// last byte at once, then calls Hold with a function that writes the
// last byte, which the gate calls when the login may go (login.Holder
// does this); it ends the turn when the attempt is over (End), whether
// or not it held. Waiting never changes what is
// sent, only when. A nil *LoginGate lines up nothing.
type LoginGate struct {
	window time.Duration
	pacer  *LoginPacer
	// lead is PairLead, wait PairWait (shorter in tests).
	lead, wait time.Duration

	mu       sync.Mutex
	expected int
	open     bool
	timer    *time.Timer
	release  chan struct{}
	// settled is closed when the first batch of logins has gone, pair
	// and rest, or when no login is expected any more.
	settled chan struct{}
	done    bool
	// started is closed when the first login comes to the gate.
	started chan struct{}
	// waiting holds the turns of the logins waiting for the first
	// batch; they are its members once it goes.
	waiting []*LoginTurn
	// members counts the first batch's turns, counted those of them that
	// hold or ended; holders are those that hold, in order.
	members, counted int
	holders          []*LoginTurn
	// paired is set when the pair went, rest when the other first
	// logins may go too.
	paired, rest bool
	pairTimer    *time.Timer
}

// LoginTurn is one login of the first batch at a LoginGate. A nil
// *LoginTurn (a login after the first batch) holds nothing.
type LoginTurn struct {
	g *LoginGate
	// held is set once the login holds, tls when it goes over TLS,
	// ended when its attempt is over, gone when release is closed: it
	// may send its last byte.
	held, tls, ended, gone bool
	// send writes the login's last byte; release is closed once it did.
	send    func()
	release chan struct{}
}

// NewLoginGate returns a gate whose first batch waits at most window
// for the logins expected, and whose pair goes when pacer says (nil: at
// once).
func NewLoginGate(window time.Duration, pacer *LoginPacer) *LoginGate {
	return &LoginGate{window: window, pacer: pacer, lead: PairLead, wait: PairWait,
		release: make(chan struct{}), settled: make(chan struct{}), started: make(chan struct{})}
}

// Expect says that one more login will come to the gate.
func (g *LoginGate) Expect() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expected++
}

// Done says that one expected login came or will not come: its probe
// ended (Wait need not be called before).
func (g *LoginGate) Done() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expected--
	if len(g.waiting) > 0 && len(g.waiting) >= g.expected {
		g.openLocked()
	}
	if g.expected <= 0 {
		g.settleLocked()
	}
}

// Settled returns a channel closed once the first batch of logins went
// (the pair, and PairLead later the others), or once no login is
// expected any more. A probe that needs no login but a connection can
// wait for it, so that the logins' connections, those beside them over
// TLS included, are made first, and the work of its own connection
// (key exchanges, TLS handshakes) does not compete with the pair's
// logins for the server's processors.
func (g *LoginGate) Settled() <-chan struct{} {
	if g == nil {
		return closedChan
	}
	return g.settled
}

// closedChan is closed from the start: what a nil gate's channels are.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Started returns a channel closed once the first login came to the
// gate: the server answers, and its logins are on their way.
func (g *LoginGate) Started() <-chan struct{} {
	if g == nil {
		return closedChan
	}
	return g.started
}

func (g *LoginGate) settleLocked() {
	if !g.done {
		g.done = true
		close(g.settled)
	}
}

// Wait returns when the login about to be sent may begin: at once once
// the gate is open, otherwise when the first batch goes (see LoginGate)
// or ctx ends. It returns the login's turn in the first batch, nil after
// it; the caller ends a turn it got (End).
func (g *LoginGate) Wait(ctx context.Context) *LoginTurn {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	if g.open {
		g.mu.Unlock()
		return nil
	}
	t := &LoginTurn{g: g, release: make(chan struct{})}
	if len(g.waiting) == 0 {
		close(g.started)
	}
	g.waiting = append(g.waiting, t)
	if len(g.waiting) >= g.expected {
		g.openLocked()
		g.mu.Unlock()
		return t
	}
	if g.timer == nil {
		g.timer = time.AfterFunc(g.window, func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.openLocked()
		})
	}
	g.mu.Unlock()
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return t
}

func (g *LoginGate) openLocked() {
	if g.open {
		return
	}
	g.open = true
	if g.timer != nil {
		g.timer.Stop()
	}
	g.members = len(g.waiting)
	g.waiting = nil
	close(g.release)
	g.pairTimer = time.AfterFunc(g.wait, func() {
		g.mu.Lock()
		turns := g.pairLocked(true)
		g.mu.Unlock()
		sendAll(turns)
	})
}

// Hold has the gate send the last byte of the login's password line
// (send writes it) as LoginGate says, and returns once it was sent; it
// returns false, with nothing sent, when ctx ended first. tls says
// whether the login goes over TLS. The logins that go together have
// their last bytes written one right after the other, by one goroutine.
// A turn holds once: a later Hold, or one after the first batch went,
// sends at once.
func (t *LoginTurn) Hold(ctx context.Context, tls bool, send func()) bool {
	if t == nil {
		send()
		return true
	}
	g := t.g
	g.mu.Lock()
	if t.held || t.ended || g.rest {
		g.mu.Unlock()
		send()
		return true
	}
	t.held, t.tls, t.send = true, tls, send
	g.holders = append(g.holders, t)
	g.counted++
	turns := g.pairLocked(false)
	g.mu.Unlock()
	sendAll(turns)
	select {
	case <-t.release:
		return true
	case <-ctx.Done():
	}
	g.mu.Lock()
	gone := t.gone
	if !gone {
		t.send = nil
	}
	g.mu.Unlock()
	if gone {
		// Being sent right now: wait for it.
		<-t.release
		return true
	}
	return false
}

// End says that the turn's attempt is over. An attempt that ends without
// holding (refused before any password was sent) no longer holds the
// pair back.
func (t *LoginTurn) End() {
	if t == nil {
		return
	}
	g := t.g
	g.mu.Lock()
	var turns []*LoginTurn
	if !t.ended {
		t.ended = true
		if !t.held {
			g.counted++
			turns = g.pairLocked(false)
		}
	}
	g.mu.Unlock()
	sendAll(turns)
}

// pairLocked picks the pair once every member of the first batch holds
// or ended (or, late, once PairWait passed): the first two holders, those
// over TLS first. It returns the turns to send now; the others go
// PairLead later.
func (g *LoginGate) pairLocked(late bool) []*LoginTurn {
	if g.paired || (g.counted < g.members && !late) {
		return nil
	}
	g.paired = true
	g.pairTimer.Stop()
	var tls, clear []*LoginTurn
	for _, h := range g.holders {
		if h.tls {
			tls = append(tls, h)
		} else {
			clear = append(clear, h)
		}
	}
	pair := append(tls, clear...)
	if len(pair) > 2 {
		pair = pair[:2]
	}
	for _, h := range pair {
		h.gone = true
	}
	if len(pair) == 0 {
		return g.restLocked()
	}
	rest := func() {
		g.mu.Lock()
		turns := g.restLocked()
		g.mu.Unlock()
		sendAll(turns)
	}
	if wait := time.Until(g.pacer.reserve()); wait > 0 {
		time.AfterFunc(wait, func() {
			sendAll(pair)
			time.AfterFunc(g.lead, rest)
		})
		return nil
	}
	time.AfterFunc(g.lead, rest)
	return pair
}

// restLocked lets every login of the first batch go, and returns those
// to send now.
func (g *LoginGate) restLocked() []*LoginTurn {
	g.rest = true
	var turns []*LoginTurn
	for _, h := range g.holders {
		if !h.gone {
			h.gone = true
			turns = append(turns, h)
		}
	}
	g.settleLocked()
	return turns
}

// sendAll writes the last bytes of turns, one right after the other, and
// lets their logins go on.
func sendAll(turns []*LoginTurn) {
	for _, t := range turns {
		t.g.mu.Lock()
		send := t.send
		t.g.mu.Unlock()
		if send != nil {
			send()
		}
	}
	for _, t := range turns {
		close(t.release)
	}
}
