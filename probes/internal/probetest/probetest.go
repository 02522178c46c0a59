// Package probetest helps the probes' tests: a dialer whose every
// connection is a scripted server, the fuzz test every probe gets
// against a server sending arbitrary bytes, and an environment patient
// with servers that make their answers wait.
package probetest

import (
	"context"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// PipeDialer connects every dial to a server that sends Data, discards
// what it reads and hangs up after a while.
type PipeDialer struct{ Data []byte }

// DialContext returns the client side of a new scripted server.
func (d PipeDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		go io.Copy(io.Discard, server)
		server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		server.Write(d.Data)
		time.Sleep(20 * time.Millisecond)
	}()
	return client, nil
}

// Probe runs a probe of t with the fake user's password and returns the
// observation's endpoint (nil if the probe returned none).
type Probe func(ctx context.Context, env wire.Env, t observe.Target, password string) *observe.Endpoint

// FuzzProbe runs probe on service (at 127.0.0.1:port) against a server
// sending the fuzzer's bytes (seeds come from f.Add and testdata): it
// must return an observation, never panic or hang, and never show the
// password in its transcript.
func FuzzProbe(f *testing.F, service string, port uint16, probe Probe) {
	f.Fuzz(func(t *testing.T, data []byte) {
		env := wire.Env{Dialer: PipeDialer{data}, Limits: wire.Limits{ReadTimeout: 30 * time.Millisecond, MaxLine: 256, MaxBytes: 4096}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tg := observe.Target{Service: service, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
		obs := probe(ctx, env, tg, "kp-fuzz")
		if obs == nil {
			t.Fatal("nil observation")
		}
		for _, l := range obs.Transcript {
			if strings.Contains(l, "kp-fuzz") {
				t.Fatalf("password in transcript: %q", l)
			}
		}
	})
}

// Bounded runs probe once (with 20 s to spare) against a hostile server
// and checks that it ends with an error, within 15 s, having allocated at
// most 64 MiB. probe returns its observation's endpoint.
func Bounded(t *testing.T, probe func(ctx context.Context) *observe.Endpoint) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := time.Now()
	obs := probe(ctx)
	took := time.Since(begin)
	runtime.ReadMemStats(&after)
	if obs.Error == "" {
		t.Errorf("no error; observation %+v", obs)
	}
	t.Logf("error %q after %v, %d KiB allocated", obs.Error, took, (after.TotalAlloc-before.TotalAlloc)>>10)
	if took > 15*time.Second {
		t.Errorf("took %v", took)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

// Patient returns env with a read timeout long enough for a server that
// makes its answers wait seconds (failed logins), and a context for the
// probes of one test, ended with it.
func Patient(t *testing.T, env wire.Env) (context.Context, wire.Env) {
	env.Limits.ReadTimeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx, env
}
