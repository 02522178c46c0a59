package scan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// TestHostDialerSpare: a server's connections never exceed hostConns.
// An ordinary dial waits for one of the server's slots; a spare dial
// (a probe asking for a connection beside its own) gets one only when
// it is free at once, and ErrNoSpare otherwise, never waiting; each
// connection knows how many other connections of the scan to the
// server were open when it was made.
func TestHostDialerSpare(t *testing.T) {
	addr := holdingListener(t, "127.0.5.10")
	scope := &Scope{}
	scope.Add(netip.MustParseAddr("127.0.5.10"))
	b := &bounds{slots: newSlots(10), global: rate.NewLimiter(rate.Inf, 1), base: &wire.NetDialer{}, scope: scope, dialTimeout: time.Second}
	d := newHostDialer(b, 1000, 2)
	ctx := context.Background()
	first, err := d.DialAfterQueue(ctx, "tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	second, err := d.DialSpare(ctx, "tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("spare with a slot free: %v", err)
	}
	if got := second.(*slotConn).Siblings(); got != 1 {
		t.Errorf("second connection: %d siblings, want 1", got)
	}
	if _, err := d.DialSpare(ctx, "tcp", addr, time.Second); !errors.Is(err, wire.ErrNoSpare) {
		t.Fatalf("spare beyond hostConns: %v, want ErrNoSpare", err)
	}
	// An ordinary dial waits until a connection closes.
	got := make(chan net.Conn, 1)
	go func() {
		c, err := d.DialAfterQueue(ctx, "tcp", addr, time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("a third connection was opened while two were open")
	case <-time.After(50 * time.Millisecond):
	}
	first.Close()
	third := <-got
	if third == nil {
		t.FailNow()
	}
	second.Close()
	third.Close()
	// A global bound with no slot free refuses a spare too.
	b.slots = newSlots(0)
	if _, err := d.DialSpare(ctx, "tcp", addr, time.Second); !errors.Is(err, wire.ErrNoSpare) {
		t.Fatalf("spare without a scan slot: %v, want ErrNoSpare", err)
	}
	if len(d.host) != 0 {
		t.Errorf("%d host slots held after every connection closed", len(d.host))
	}
}

// TestHostDialerFirstConnectionsFirst: a server's first connection
// gets a free slot before another server's second, even when the second
// asked first, so that every server starts early whatever its place in
// the inventory (the first connection is what shows a server slow).
func TestHostDialerFirstConnectionsFirst(t *testing.T) {
	addr, b := slotRace(t, "127.0.5.13", 2)
	early := newHostDialer(b, 1000, 6)
	first := mustDial(t, early, addr)
	defer first.Close()
	other := mustDial(t, newHostDialer(b, 1000, 6), addr)
	// No slot free: the early server's second connection queues, then
	// the late server's first.
	got := queueDials(t, b, addr, early, "early's second", newHostDialer(b, 1000, 6), "late's first")
	other.Close()
	if g := <-got; g.name != "late's first" {
		t.Errorf("the freed slot went to %s, want the late server's first connection", g.name)
	}
	first.Close()
	<-got
}

// TestHostDialerQueuedDialsTurnSlow: a dial that queued for a slot
// before its server turned slow moves ahead with the server, past
// another server's first connection that queued before it.
func TestHostDialerQueuedDialsTurnSlow(t *testing.T) {
	addr, b := slotRace(t, "127.0.5.14", 1)
	held := mustDial(t, newHostDialer(b, 1000, 6), addr)
	silent := newHostDialer(b, 1000, 6)
	silent.dials = 3 // its logins went first; this is its fourth
	got := queueDials(t, b, addr, newHostDialer(b, 1000, 6), "the other server's first", silent, "the slow server's")
	silent.markSlow()
	held.Close()
	g := <-got
	if g.name != "the slow server's" {
		t.Errorf("the freed slot went to %s, want the dial of the server that turned slow", g.name)
	}
	if g.c != nil {
		g.c.Close() // the other dial gets its slot before the test ends
	}
	<-got
}

// slotRace returns a holding listener on ip and bounds of n slots that
// let only ip be dialled.
func slotRace(t *testing.T, ip string, n int) (string, *bounds) {
	t.Helper()
	addr := holdingListener(t, ip)
	scope := &Scope{}
	scope.Add(netip.MustParseAddr(ip))
	return addr, &bounds{slots: newSlots(n), global: rate.NewLimiter(rate.Inf, 1), base: &wire.NetDialer{}, scope: scope, dialTimeout: time.Second}
}

func mustDial(t *testing.T, d *hostDialer, addr string) net.Conn {
	t.Helper()
	c, err := d.DialAfterQueue(context.Background(), "tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dialed is a connection a queued dial got, named by the test.
type dialed struct {
	name string
	c    net.Conn
}

// queueDials queues a dial of d1, then one of d2, each waiting for a
// slot of b (none is free), and returns the channel their connections
// arrive on, in the order they get slots; every connection is closed
// when the test ends.
func queueDials(t *testing.T, b *bounds, addr string, d1 *hostDialer, n1 string, d2 *hostDialer, n2 string) <-chan dialed {
	got := make(chan dialed, 2)
	for k, d := range []*hostDialer{d1, d2} {
		name := []string{n1, n2}[k]
		go func() {
			c, err := d.DialAfterQueue(context.Background(), "tcp", addr, 5*time.Second)
			if err != nil {
				t.Error(err)
			} else {
				t.Cleanup(func() { c.Close() })
			}
			got <- dialed{name, c}
		}()
		for b.slots.queued() < k+1 {
			time.Sleep(time.Millisecond)
		}
	}
	return got
}

// holdingListener listens on ip (a port of its choice) and holds every
// connection open, saying nothing, until the test ends; it returns the
// listener's address.
func holdingListener(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// resetDialer fails every dial as the kernel does when a server accepted
// the connection and reset it before the dial returned.
type resetDialer struct{}

func (resetDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNRESET)}
}

// TestHostDialerResetIsAnswer: a connection reset during the dial was
// accepted first (a refused one is ECONNREFUSED): the service answered,
// and its state must not become no-answer (the fleet's reset profile did,
// now and then, under load).
func TestHostDialerResetIsAnswer(t *testing.T) {
	scope := &Scope{}
	scope.Add(netip.MustParseAddr("127.0.5.11"))
	b := &bounds{slots: newSlots(10), global: rate.NewLimiter(rate.Inf, 1), base: resetDialer{}, scope: scope, dialTimeout: time.Second}
	d := newHostDialer(b, 1000, 2)
	if _, err := d.DialAfterQueue(context.Background(), "tcp", "127.0.5.11:25", time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("dial: %v, want the reset", err)
	}
	if !d.accepted("127.0.5.11:25") {
		t.Error("a reset connection counted as not accepted")
	}
}

// TestHostDialerQuietServerIsSlow: a server that accepts a connection
// and sends nothing for quietAfter is slow; one that greets at once is
// not, however long the connection then stays open.
func TestHostDialerQuietServerIsSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.5.12:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	greet := make(chan bool, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if <-greet {
				c.Write([]byte("220 ready\r\n"))
			}
			defer c.Close()
		}
	}()
	scope := &Scope{}
	scope.Add(netip.MustParseAddr("127.0.5.12"))
	b := &bounds{slots: newSlots(10), global: rate.NewLimiter(rate.Inf, 1), base: &wire.NetDialer{}, scope: scope, dialTimeout: time.Second}
	for _, talks := range []bool{true, false} {
		d := newHostDialer(b, 1000, 2)
		turned := make(chan struct{})
		d.onSlow = func() { close(turned) }
		greet <- talks
		c, err := d.DialAfterQueue(context.Background(), "tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if talks {
			buf := make([]byte, 64)
			if _, err := c.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
		// Past quietAfter, a server that greeted has had its chance to
		// turn slow wrongly; a quiet one is given ample time to turn.
		wait := quietAfter + 500*time.Millisecond
		if !talks {
			wait = 5 * quietAfter
		}
		select {
		case <-turned:
			if talks {
				t.Error("a server that greeted at once turned slow")
			}
		case <-time.After(wait):
			if !talks {
				t.Error("a server quiet for longer than quietAfter did not turn slow")
			}
		}
		c.Close()
	}
}

// TestHostDialerSlowSpareWaits: with every slot of the scan taken, a
// spare connection of a slow server waits (up to spareWait) for the
// next slot given back, ahead of the others; one of a server that is
// not slow does not wait.
func TestHostDialerSlowSpareWaits(t *testing.T) {
	addr := holdingListener(t, "127.0.5.13")
	scope := &Scope{}
	scope.Add(netip.MustParseAddr("127.0.5.13"))
	b := &bounds{slots: newSlots(1), global: rate.NewLimiter(rate.Inf, 1), base: &wire.NetDialer{}, scope: scope, dialTimeout: time.Second}
	ctx := context.Background()
	other := newHostDialer(b, 1000, 2)
	held, err := other.DialAfterQueue(ctx, "tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.DialSpare(ctx, "tcp", addr, time.Second); !errors.Is(err, wire.ErrNoSpare) {
		t.Fatalf("spare of a server that is not slow: %v, want ErrNoSpare at once", err)
	}
	slow := newHostDialer(b, 1000, 2)
	slow.markSlow()
	got := make(chan error, 1)
	go func() {
		c, err := slow.DialSpare(ctx, "tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		got <- err
	}()
	// Wait until the spare queues for the slot, then give it back.
	for {
		b.slots.mu.Lock()
		n := len(b.slots.waiters)
		b.slots.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	held.Close()
	if err := <-got; err != nil {
		t.Fatalf("spare of a slow server: %v, want the slot given back", err)
	}
}
