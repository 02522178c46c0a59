package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// TestEximStockLimits runs the relay test against Debian's Exim with its
// stock receiving ACL and limits, and with at most two connections per
// client (smtp_accept_max_per_host = 2): Exim must never have dropped a
// session for too many syntax or protocol errors (it does past
// smtp_max_synprot_errors, 3), and every test must end refused by a
// reply of its own, the probe's sessions beyond Exim's per-host limit
// being tried again rather than taken for Exim's answer. Exim is not
// installed (its package conflicts with postfix): KENSA_EXIM_ROOT names
// a directory where scripts/unpack-exim unpacked it, as .ci/run does.
func TestEximStockLimits(t *testing.T) {
	root := os.Getenv("KENSA_EXIM_ROOT")
	if root == "" {
		itest.Need(t, errors.New("KENSA_EXIM_ROOT not set: unpack Exim with scripts/unpack-exim DIR and name DIR there"))
		return
	}
	itest.Need(t, daemon.EximMissing(root))
	e, err := daemon.StartExim(daemon.EximConfig{Root: root, Dir: t.TempDir(), Listen: "127.0.5.26",
		Main: []string{"smtp_accept_max_per_host = 2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	itest.Ran(t, "Exim with stock limits")
	var trace bytes.Buffer
	env := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr("127.0.5.78")},
		Limits: wire.Limits{ReadTimeout: 10 * time.Second},
		Tracer: wire.NewTracer(&trace),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := smtp.Probe(ctx, env, observe.Target{Service: "smtp", Addr: e.Addr}, smtp.Options{})
	if o.Error != "" || o.Relay == nil {
		t.Fatalf("probe error %q relay %v%s", o.Error, o.Relay, e.Log())
	}
	refused := map[int]bool{}
	for _, tt := range o.Relay.Tests {
		if r, _, _ := tt.Outcome(o.Relay.Domain); r == observe.RelayRefused {
			refused[tt.ID] = true
		}
	}
	if len(refused) != o.Relay.Planned {
		for _, tt := range o.Relay.Tests {
			t.Logf("session %d test %d %s: %s | %s | %s", tt.Session, tt.ID, tt.Result, tt.MailCommand, tt.RcptCommand, tt.Why)
		}
		t.Errorf("%d of %d tests refused", len(refused), o.Relay.Planned)
	}
	if log := e.Log(); strings.Contains(log, "too many syntax or protocol errors") {
		t.Errorf("Exim dropped a session for too many syntax or protocol errors%s", log)
	}
	t.Logf("%d tests in %d sessions; probe took %d ms", o.Relay.Planned, o.Relay.Sessions, o.DurationMS)
}
