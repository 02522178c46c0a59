package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// loopback returns both ends of a TCP connection on 127.0.0.1; both are
// closed when the test ends.
func loopback(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// flood writes to c until a write fails (the other end closed).
func flood(c net.Conn) {
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// recordingConn records every deadline Conn sets on the connection
// below it.
type recordingConn struct {
	net.Conn
	mu    sync.Mutex
	read  []time.Time
	write []time.Time
}

func (r *recordingConn) SetReadDeadline(t time.Time) error {
	r.mu.Lock()
	r.read = append(r.read, t)
	r.mu.Unlock()
	return r.Conn.SetReadDeadline(t)
}

func (r *recordingConn) SetWriteDeadline(t time.Time) error {
	r.mu.Lock()
	r.write = append(r.write, t)
	r.mu.Unlock()
	return r.Conn.SetWriteDeadline(t)
}

func (r *recordingConn) SetDeadline(t time.Time) error {
	r.SetReadDeadline(t)
	return r.SetWriteDeadline(t)
}

func (r *recordingConn) lastRead() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.read[len(r.read)-1]
}

func (r *recordingConn) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.read), len(r.write)
}

// TestConnDeadlines reads the deadlines Conn gives the connection below
// it, without waiting for any: each read gets the read timeout from the
// moment it starts; a read after Await gets the longer wait, once; a
// wait is never later than the hard deadline of the probe's context; a
// wait shorter than the read timeout does not shorten it; writes get the
// read timeout too.
func TestConnDeadlines(t *testing.T) {
	client, server := loopback(t)
	if _, err := server.Write([]byte("abcdefghij")); err != nil {
		t.Fatal(err)
	}
	hard := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), hard)
	defer cancel()
	rc := &recordingConn{Conn: client}
	c := NewConn(ctx, rc, Limits{ReadTimeout: 5 * time.Second}, nil)

	// within checks that the deadline of the last read lies wait after
	// a moment between before and after.
	within := func(what string, got, before, after time.Time, wait time.Duration) {
		t.Helper()
		if got.Before(before.Add(wait)) || got.After(after.Add(wait)) {
			t.Errorf("%s: deadline %v, want %v after the read began (between %v and %v)", what, got, wait, before.Add(wait), after.Add(wait))
		}
	}
	read := func(what string, wait time.Duration) {
		t.Helper()
		buf := make([]byte, 2)
		before := time.Now()
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		within(what, rc.lastRead(), before, time.Now(), wait)
	}

	read("plain read", 5*time.Second)
	c.Await(10 * time.Minute)
	read("awaited read", 10*time.Minute)
	read("the read after it", 5*time.Second)
	c.Await(time.Second)
	read("a wait shorter than the read timeout", 5*time.Second)

	c.Await(2 * time.Hour)
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if got := rc.lastRead(); !got.Equal(hard) {
		t.Errorf("a wait past the context's deadline: deadline %v, want the hard deadline %v", got, hard)
	}

	before := time.Now()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	wd := rc.write[len(rc.write)-1]
	rc.mu.Unlock()
	within("write", wd, before, time.Now(), 5*time.Second)

	// Deadlines set by a protocol library above are not passed on.
	r, w := rc.counts()
	if err := c.SetDeadline(time.Now().Add(-time.Hour)); err != nil {
		t.Error(err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Error(err)
	}
	if err := c.SetWriteDeadline(time.Time{}); err != nil {
		t.Error(err)
	}
	if r2, w2 := rc.counts(); r2 != r || w2 != w {
		t.Errorf("a library's deadlines reached the connection: %d read and %d write deadlines set, want %d and %d", r2, w2, r, w)
	}
}

// TestConnSilentPeer: a server that never sends a byte costs one read
// timeout, even when the library above asked for no deadline at all.
func TestConnSilentPeer(t *testing.T) {
	client, _ := loopback(t)
	c := NewConn(context.Background(), client, Limits{ReadTimeout: 100 * time.Millisecond}, nil)
	c.SetReadDeadline(time.Time{}) // what go-imap does between commands
	_, err := c.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a silent peer: %v, want a deadline error", err)
	}
	if got := Classify(err); got != "timeout" {
		t.Errorf("Classify %q, want timeout", got)
	}
	if got := Describe("greeting", err); got != "greeting: timeout" {
		t.Errorf("Describe %q", got)
	}
}

// TestConnPeerNeverReads: a write to a server that reads nothing ends
// at the deadline once the socket buffers are full.
func TestConnPeerNeverReads(t *testing.T) {
	client, _ := loopback(t)
	c := NewConn(context.Background(), client, Limits{ReadTimeout: 100 * time.Millisecond}, nil)
	big := make([]byte, 64<<20)
	n, err := c.Write(big)
	if err == nil || n == len(big) {
		t.Fatalf("wrote %d of %d bytes to a peer that reads nothing, error %v", n, len(big), err)
	}
	if got := Classify(err); got != "timeout" {
		t.Errorf("Classify(%v) = %q, want timeout", err, got)
	}
}

// TestConnByteBudget: a server that floods stops being read at the
// byte budget exactly, whatever reads above the connection (here a
// bufio.Reader asking for more than the budget), and every later read
// fails at once.
func TestConnByteBudget(t *testing.T) {
	client, server := loopback(t)
	go flood(server)
	c := NewConn(context.Background(), client, Limits{MaxBytes: 10000}, nil)
	n, err := io.Copy(io.Discard, bufio.NewReaderSize(c, 64<<10))
	if !errors.Is(err, ErrTooMuchData) || n != 10000 {
		t.Fatalf("read %d bytes, error %v; want 10000 and ErrTooMuchData", n, err)
	}
	if c.BytesRead() != 10000 {
		t.Errorf("BytesRead %d, want 10000", c.BytesRead())
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrTooMuchData) {
		t.Errorf("read after the budget: %v", err)
	}
	if got := Classify(err); got != "too much data" {
		t.Errorf("Classify %q, want too much data", got)
	}
	if got := Describe("capabilities", err); got != "capabilities: too much data" {
		t.Errorf("Describe %q", got)
	}
}

// TestConnDefaultByteBudget: without limits, a connection reads the
// documented 256 KiB and no more.
func TestConnDefaultByteBudget(t *testing.T) {
	client, server := loopback(t)
	go flood(server)
	c := NewConn(context.Background(), client, Limits{}, nil)
	n, err := io.Copy(io.Discard, c)
	if !errors.Is(err, ErrTooMuchData) || n != 256*1024 {
		t.Fatalf("read %d bytes, error %v; want 262144 and ErrTooMuchData", n, err)
	}
}

// TestConnContextEnds: when the probe's context ends, a read blocked on
// a silent server returns at once: the connection is closed under it.
func TestConnContextEnds(t *testing.T) {
	client, _ := loopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := NewConn(ctx, client, Limits{ReadTimeout: time.Hour}, nil)
	go cancel()
	_, err := c.Read(make([]byte, 16))
	if err == nil {
		t.Fatal("read returned no error")
	}
	if got := Classify(err); got != "closed" {
		t.Errorf("Classify(%v) = %q, want closed", err, got)
	}
}

// TestLimits: the documented defaults (README, "The scan engine"), and
// zero fields filled with them.
func TestLimits(t *testing.T) {
	want := Limits{DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, MaxLine: 4096, MaxBytes: 256 * 1024}
	if got := DefaultLimits(); got != want {
		t.Errorf("DefaultLimits %+v, want %+v", got, want)
	}
	want.ReadTimeout = 3 * time.Second
	if got := (Env{Limits: Limits{ReadTimeout: 3 * time.Second}}).Lim(); got != want {
		t.Errorf("Lim %+v, want %+v", got, want)
	}
}
