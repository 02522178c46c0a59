// Package servertest holds the checks the fleet's IMAP and POP3 server
// packages (imapd, pop3d) run on their own servers: the greeting, the
// per-reply latency, Close ending every connection, an unknown profile
// refused, and many idle servers in one process.
package servertest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Server is a running server.
type Server interface {
	Addr() net.Addr
	Close() error
}

// DialGreeting connects to addr, with TLS (any certificate) when
// implicit, and reads the greeting line, which it returns without its
// line ending. The connection's deadline is 10 s away.
func DialGreeting(t *testing.T, addr string, implicit bool) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	var c net.Conn
	var err error
	if implicit {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return c, br, strings.TrimRight(line, "\r\n")
}

// Latency checks that srv, started with a latency of 150 ms, takes at
// least 2 × 150 ms for its greeting and its answer to command (a line
// without its ending).
func Latency(t *testing.T, srv Server, command string) {
	t.Helper()
	defer srv.Close()
	begin := time.Now()
	conn, br, _ := DialGreeting(t, srv.Addr().String(), false)
	defer conn.Close()
	fmt.Fprintf(conn, "%s\r\n", command)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("two replies in %v, want at least 2 × 150ms", took)
	}
}

// CloseEndsConnections starts a server of each profile with start,
// connects, and checks that Close returns no error, ends the connection
// and stops listening.
func CloseEndsConnections[P ~string](t *testing.T, profiles []P, start func(P) (Server, error)) {
	t.Helper()
	for _, p := range profiles {
		srv, err := start(p)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if err := srv.Close(); err != nil {
			t.Errorf("%s: close: %v", p, err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("%s: connection still open after Close", p)
				}
				break
			}
		}
		conn.Close()
		if _, err := net.Dial("tcp", srv.Addr().String()); err == nil {
			t.Errorf("%s: still listening", p)
		}
	}
}

// UnknownProfile checks that serve, given a listener, refuses to run
// (serve is the package's Serve with a configuration whose profile is
// unknown).
func UnknownProfile(t *testing.T, serve func(context.Context, net.Listener) error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := serve(context.Background(), ln); err == nil {
		t.Error("unknown profile accepted")
	}
}

// ManyServers starts 400 servers (50 with -short) in one process, the
// i-th with start(i), and checks that an idle server costs about one
// goroutine; then it closes them.
func ManyServers(t *testing.T, start func(i int) (Server, error)) {
	t.Helper()
	n := 400
	if testing.Short() {
		n = 50
	}
	before := runtime.NumGoroutine()
	var srvs []Server
	for i := 0; i < n; i++ {
		srv, err := start(i)
		if err != nil {
			t.Fatal(err)
		}
		srvs = append(srvs, srv)
	}
	if g := runtime.NumGoroutine() - before; g > 2*n {
		t.Errorf("%d goroutines for %d idle servers", g, n)
	}
	for _, s := range srvs {
		s.Close()
	}
}
