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
// against. sessions, if not nil, keeps the server's session tickets so
// that a probe's later sessions to the same service resume the first
// one's TLS session instead of running a full handshake each (a relay
// test opens several sessions; the server then signs nothing more). A
// resumed session's observe.TLS has its version and cipher only. On
// failure it returns the failure as observe.TLS too.
func HandshakeTLS(ctx context.Context, c net.Conn, serverName, checkName string, now time.Time, sessions tls.ClientSessionCache) (*tls.Conn, *observe.TLS, error) {
	cfg := TLSConfig(serverName)
	cfg.ClientSessionCache = sessions
	tc := tls.Client(c, cfg)
	var info *observe.TLS
	err := Heavy(ctx, func() error {
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		cs := tc.ConnectionState()
		if cs.DidResume {
			// Its certificate is the resumed session's, inspected
			// there: this one records what it negotiated.
			info = &observe.TLS{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite)}
			return nil
		}
		info = InspectTLS(cs, checkName, now)
		return nil
	})
	if err != nil {
		return nil, TLSFailure(err), err
	}
	return tc, info, nil
}

// KeepOnly returns a session cache that offers no session to resume,
// so that the handshake is a full one with the server's certificate,
// and keeps the tickets the server sends in c for later handshakes.
func KeepOnly(c tls.ClientSessionCache) tls.ClientSessionCache {
	if c == nil {
		return nil
	}
	return keepOnly{c}
}

type keepOnly struct{ c tls.ClientSessionCache }

func (keepOnly) Get(string) (*tls.ClientSessionState, bool) { return nil, false }

func (k keepOnly) Put(key string, cs *tls.ClientSessionState) { k.c.Put(key, cs) }
