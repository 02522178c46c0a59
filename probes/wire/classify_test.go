package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestClassifyRealErrors names the failures a probe meets, each made
// for real on loopback: a closed port, a server that resets the
// connection, one that hangs up, a dial whose time is up.
func TestClassifyRealErrors(t *testing.T) {
	// A port nobody listens on: take one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	ln.Close()
	_, refused := net.Dial("tcp", closedPort)

	// A server that resets: SO_LINGER 0 makes close send RST.
	client, server := loopback(t)
	server.(*net.TCPConn).SetLinger(0)
	server.Close()
	_, reset := client.Read(make([]byte, 8))

	// A server that hangs up.
	client, server = loopback(t)
	server.Close()
	_, eof := client.Read(make([]byte, 8))

	// A dial whose context ended.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, expired := (&net.Dialer{}).DialContext(ctx, "tcp", closedPort)

	cases := []struct {
		name, step string
		err        error
		kind, desc string
	}{
		{"closed port", "connect", refused, "refused", "connect: refused"},
		{"reset", "greeting", reset, "reset", "greeting: reset"},
		{"hung up", "greeting", eof, "closed", "greeting: closed"},
		{"dial past the deadline", "connect", expired, "timeout", "connect: timeout"},
		{"context deadline", "probe", context.DeadlineExceeded, "timeout", "probe: timeout"},
		{"context cancelled", "probe", context.Canceled, "closed", "probe: closed"},
		{"cut reply", "EHLO", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), "closed", "EHLO: closed"},
		{"budget", "CAPA", fmt.Errorf("reading: %w", ErrTooMuchData), "too much data", "CAPA: too much data"},
		{"deadline", "LOGIN", fmt.Errorf("reading: %w", os.ErrDeadlineExceeded), "timeout", "LOGIN: timeout"},
		// No route from loopback to anywhere: the errors the system
		// gives, as package net wraps them.
		{"no route", "connect", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "unreachable", "connect: unreachable"},
		{"network unreachable", "connect", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, "unreachable", "connect: unreachable"},
		{"host down", "connect", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTDOWN)}, "unreachable", "connect: unreachable"},
		{"broken pipe", "RCPT", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, "reset", "RCPT: reset"},
		// Anything else keeps its own words.
		{"other", "starttls", errors.New("tls: first record does not look like a TLS handshake"), "error", "starttls: tls: first record does not look like a TLS handshake"},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error was made", c.name)
			continue
		}
		if got := Classify(c.err); got != c.kind {
			t.Errorf("%s: Classify(%v) = %q, want %q", c.name, c.err, got, c.kind)
		}
		if got := Describe(c.step, c.err); got != c.desc {
			t.Errorf("%s: Describe = %q, want %q", c.name, got, c.desc)
		}
	}
	if got := Classify(nil); got != "" {
		t.Errorf("Classify(nil) = %q", got)
	}
}
