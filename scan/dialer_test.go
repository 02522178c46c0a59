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
	ln, err := net.Listen("tcp", "127.0.5.10:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addr := ln.Addr().String()
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
