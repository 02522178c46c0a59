package wire

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// heavySlots bounds the CPU-heavy steps (TLS handshakes, SSH key
// exchanges) running at once in the process. Thousands of them runnable
// together would make every goroutine wait in a long run queue, so that a
// probe whose read timed out would learn it seconds late, and a scan's
// slowest servers would end later than their own timeouts say. Steps that
// wait on the network inside a slot only slow the others down; the bound
// is wide enough that a few hanging handshakes do not stall a scan.
var heavySlots = make(chan struct{}, 32)

// Heavy runs f, a CPU-heavy step, when one of the process's slots for
// such steps is free, or returns ctx's error if ctx ends first.
func Heavy(ctx context.Context, f func() error) error {
	select {
	case heavySlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-heavySlots }()
	return f()
}

// HandshakeTLS runs a TLS client handshake over c (as Heavy) with the
// probes' configuration for serverName, and inspects the session:
// checkName, if not empty, is the name the certificate is checked
// against. On failure it returns the failure as observe.TLS too.
func HandshakeTLS(ctx context.Context, c net.Conn, serverName, checkName string, now time.Time) (*tls.Conn, *observe.TLS, error) {
	tc := tls.Client(c, TLSConfig(serverName))
	var info *observe.TLS
	err := Heavy(ctx, func() error {
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		info = InspectTLS(tc.ConnectionState(), checkName, now)
		return nil
	})
	if err != nil {
		return nil, TLSFailure(err), err
	}
	return tc, info, nil
}
