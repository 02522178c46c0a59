package wire

import (
	"context"
	"sync"
	"time"
)

// DefaultLoginWindow is how long the first fake login of a server's
// probes waits at the server's LoginGate for the others. Each later
// login that a server like Dovecot delays costs about 4 s more than one
// sent in the first batch; on loopback the logins of a server are ready
// within milliseconds of each other, but under the load of a scan's
// first seconds (TLS handshakes, login processes started) they were
// measured over a second apart. A server whose login service is silent
// makes its other logins wait this long, once.
const DefaultLoginWindow = 3 * time.Second

// LoginGate lines up the first fake logins that one server's probes send,
// so that they reach the server together. A server that delays failed
// logins per client address, as Dovecot does (2 s for a failure, and a
// further failure less than about 4 s after the last one from the same
// address waits for the rest of those 4 s as well), judges logins that
// arrive together as first failures, each delayed 2 s, while logins that
// arrive one after the other, even a few milliseconds apart, are delayed
// about 6 s each after the first.
//
// The scan engine makes one gate per server and says how many of the
// probes it starts will log in (Expect, then Done when each ends); a
// probe that opens another connection to log in says so too. A probe
// calls Wait before each login attempt: the first batch goes when every
// expected login is waiting, or Window after the first began to wait,
// whichever comes first; after that the gate stays open, since later
// logins cannot escape the delay any more. Waiting never changes what is
// sent, only when. A nil *LoginGate lines up nothing.
type LoginGate struct {
	window time.Duration

	mu       sync.Mutex
	expected int
	waiting  int
	open     bool
	timer    *time.Timer
	release  chan struct{}
	// settled is closed when the gate opens or no login is expected
	// any more.
	settled chan struct{}
	done    bool
}

// NewLoginGate returns a gate whose first batch waits at most window
// for the logins expected.
func NewLoginGate(window time.Duration) *LoginGate {
	return &LoginGate{window: window, release: make(chan struct{}), settled: make(chan struct{})}
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
	if g.waiting > 0 && g.waiting >= g.expected {
		g.openLocked()
	}
	if g.expected <= 0 {
		g.settleLocked()
	}
}

// Settled returns a channel closed once the first batch of logins went,
// or once no login is expected any more. A probe that needs no login
// but a connection can wait for it, so that the logins' connections,
// those beside them over TLS included, are made first (at most Window).
func (g *LoginGate) Settled() <-chan struct{} {
	if g == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return g.settled
}

func (g *LoginGate) settleLocked() {
	if !g.done {
		g.done = true
		close(g.settled)
	}
}

// Wait returns when the login about to be sent may go: at once once the
// gate is open, otherwise when the first batch goes (see LoginGate) or
// ctx ends.
func (g *LoginGate) Wait(ctx context.Context) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.open {
		g.mu.Unlock()
		return
	}
	g.waiting++
	if g.waiting >= g.expected {
		g.openLocked()
		g.mu.Unlock()
		return
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
}

func (g *LoginGate) openLocked() {
	if g.open {
		return
	}
	g.open = true
	if g.timer != nil {
		g.timer.Stop()
	}
	close(g.release)
	g.settleLocked()
}
