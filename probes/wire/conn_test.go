package wire

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns a Conn with read timeout rt over a loopback connection
// and the server's end of it.
func pair(t *testing.T, ctx context.Context, rt time.Duration) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.1.90:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return NewConn(ctx, c, Limits{ReadTimeout: rt}, nil), srv
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// TestAwait: a read after Await waits longer than the read timeout for
// its data; the read after it has the read timeout again.
func TestAwait(t *testing.T) {
	c, srv := pair(t, context.Background(), 300*time.Millisecond)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		srv.Write([]byte("220 late\r\n"))
	}()
	buf := make([]byte, 64)
	c.Await(time.Minute)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "220 late\r\n" {
		t.Fatalf("awaited read: %q %v", buf[:n], err)
	}
	// One read only: the next one times out after the read timeout.
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read after the awaited one: %v, want a timeout", err)
	}
	// Without Await a late answer is a timeout, and a cancelled wait
	// lengthens nothing.
	c.Await(time.Minute)
	c.Await(0)
	if _, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read after a cancelled wait: %v, want a timeout", err)
	}
}

// TestAwaitKeepsTheHardDeadline: no wait goes past the probe's context
// deadline.
func TestAwaitKeepsTheHardDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, _ := pair(t, ctx, 300*time.Millisecond)
	start := time.Now()
	c.Await(10 * time.Minute)
	_, err := c.Read(make([]byte, 8))
	if err == nil {
		t.Fatal("read from a silent peer returned no error")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("the read waited %v past a 1 s context deadline", d)
	}
}
