package listener

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
)

// echo serves one line back per line read.
func echo(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, l)
	}
}

func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// closedByServer reports whether the server ended c (rather than c
// timing out on the client's side).
func closedByServer(c net.Conn) bool {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

func TestStartServeClose(t *testing.T) {
	srv, err := Start("127.0.0.1:0", func(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, echo) })
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv.Addr())
	io.WriteString(c, "hello\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "hello\n" {
		t.Fatalf("echo %q %v", l, err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !closedByServer(c) {
		t.Error("connection still open after Close")
	}
	if c, err := net.Dial("tcp", srv.Addr().String()); err == nil {
		c.Close()
		t.Error("still listening after Close")
	}
}

func TestStartBadAddress(t *testing.T) {
	if _, err := Start("127.0.0.1:-1", nil); err == nil {
		t.Error("bad address accepted")
	}
}

// failingListener fails its first Accept with err.
type failingListener struct {
	net.Listener
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.err != nil {
		err := l.err
		l.err = nil
		return nil, err
	}
	return l.Listener.Accept()
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "accept timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestServeAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Serve(context.Background(), &failingListener{Listener: ln, err: boom}, echo); !errors.Is(err, boom) {
		t.Errorf("accept failure: %v", err)
	}

	// A timeout is not a failure: Serve goes on until its context ends.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, &failingListener{Listener: ln, err: timeoutError{}}, echo) }()
	c := dial(t, ln.Addr())
	io.WriteString(c, "x\n")
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("after an accept timeout: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after its context ended: %v", err)
	}
}

func TestTrackAfterClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Track(ln)
	c := dial(t, ln.Addr())
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Raw(sc).(*net.TCPConn); !ok {
		t.Errorf("Raw gives %T", Raw(sc))
	}
	l.Close()
	if !closedByServer(c) {
		t.Error("accepted connection open after the listener's Close")
	}
	sc.Close() // a second close is harmless
	l.mu.Lock()
	n := len(l.conns)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections still tracked", n)
	}
}

// serveOne runs handle on every connection of a new server.
func serveOne(t *testing.T, handle func(net.Conn)) net.Addr {
	t.Helper()
	srv, err := Start("127.0.0.1:0", func(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, handle) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

func TestReset(t *testing.T) {
	addr := serveOne(t, Reset)
	c, err := net.Dial("tcp", addr.String())
	if err == nil {
		// The reset may come before or after connect returns.
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 10))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read %v, want a reset", err)
	}
}

func TestOpen(t *testing.T) {
	cert, err := tlscert.SelfSigned("listener.test", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	addr := serveOne(t, func(c net.Conn) {
		if c = Open(c, 100*time.Millisecond, true, tc, 2*time.Second); c != nil {
			echo(c)
		}
	})
	c := tls.Client(dial(t, addr), &tls.Config{InsecureSkipVerify: true})
	begin := time.Now()
	io.WriteString(c, "over tls\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || l != "over tls\n" {
		t.Fatalf("echo over TLS %q %v", l, err)
	}
	if took := time.Since(begin); took < 100*time.Millisecond {
		t.Errorf("handshake and reply in %v, want at least the latency", took)
	}

	// A failed handshake ends the connection.
	c2 := dial(t, addr)
	io.WriteString(c2, "not TLS\r\n\r\n")
	if !closedByServer(c2) {
		t.Error("connection open after a failed handshake")
	}
}

func TestHostileBehavioursEnd(t *testing.T) {
	cases := map[string]func(net.Conn){
		"silent":  func(c net.Conn) { Silent(c, 200*time.Millisecond) },
		"garbage": func(c net.Conn) { Garbage(c, 200*time.Millisecond) },
		"endless": func(c net.Conn) { Endless(c, "+OK ", 'A', time.Now().Add(200*time.Millisecond)) },
	}
	for name, h := range cases {
		addr := serveOne(t, h)
		c := dial(t, addr)
		var got strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if got.Len() < 64 {
				got.Write(buf[:n])
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("%s: still open after its timeout", name)
				}
				break
			}
		}
		switch s := got.String(); name {
		case "silent":
			if s != "" {
				t.Errorf("silent said %q", s)
			}
		case "garbage":
			if len(s) == 0 {
				t.Error("garbage said nothing")
			}
		case "endless":
			if !strings.HasPrefix(s, "+OK AAAA") {
				t.Errorf("endless line starts %q", s)
			}
		}
	}
}

func TestSlow(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Slow(a, 0) != a {
		t.Error("no latency should give the connection itself")
	}
	go io.Copy(io.Discard, b)
	begin := time.Now()
	Slow(a, 50*time.Millisecond).Write([]byte("x"))
	if took := time.Since(begin); took < 50*time.Millisecond {
		t.Errorf("write in %v, want at least 50ms", took)
	}
}
