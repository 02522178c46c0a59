package wire

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// TestNetDialerSource: with a source address, TCP and UDP connections
// leave from it (the server sees it), as --source-ip asks.
func TestNetDialerSource(t *testing.T) {
	src := netip.MustParseAddr("127.0.0.2")
	d := &NetDialer{Source: src}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			from <- nil
			return
		}
		from <- c.RemoteAddr()
		c.Close()
	}()
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if a := <-from; a == nil || a.(*net.TCPAddr).AddrPort().Addr() != src {
		t.Errorf("TCP connection came from %v, want %v", a, src)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	u, err := d.DialContext(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Write([]byte("ntp?")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_, a, err := pc.ReadFrom(buf)
	if err != nil || a.(*net.UDPAddr).AddrPort().Addr() != src {
		t.Errorf("UDP datagram came from %v (%v), want %v", a, err, src)
	}
}

// TestHostPort: IPv6 addresses are bracketed for dialing.
func TestHostPort(t *testing.T) {
	for a, want := range map[string]string{"127.0.0.1": "127.0.0.1:25", "::1": "[::1]:25", "2001:db8::1": "[2001:db8::1]:25"} {
		if got := HostPort(netip.MustParseAddr(a), 25); got != want {
			t.Errorf("HostPort(%s) = %s, want %s", a, got, want)
		}
	}
}

// TestHeavy: when every slot for CPU-heavy steps is taken, a step whose
// context has ended does not run and returns the context's error; a
// step runs once a slot is free.
func TestHeavy(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	done := make(chan struct{})
	for i := 0; i < cap(heavySlots); i++ {
		go func() {
			Heavy(context.Background(), func() error {
				entered <- struct{}{}
				<-release
				return nil
			})
			done <- struct{}{}
		}()
	}
	for i := 0; i < cap(heavySlots); i++ {
		<-entered
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := Heavy(ctx, func() error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("with every slot taken: error %v, ran %v; want context.Canceled, not run", err, ran)
	}
	close(release)
	for i := 0; i < cap(heavySlots); i++ {
		<-done
	}
	want := errors.New("the step's own error")
	if err := Heavy(context.Background(), func() error { return want }); err != want {
		t.Errorf("Heavy returned %v, want the step's error", err)
	}
}
