package smtp_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// TestPostfixStockErrorLimits runs the whole relay test against a
// Postfix with its stock error limits (smtpd_soft_error_limit 10,
// smtpd_error_sleep_time 1s, smtpd_hard_error_limit 20) and judges it by
// what the server itself counted: no session may have received more
// than 9 error replies — past its soft limit Postfix sleeps a second
// before every reply, STARTTLS, EHLO and QUIT included — and Postfix
// must never have dropped a session for too many errors. Every planned
// test must still end with a reply of its own.
func TestPostfixStockErrorLimits(t *testing.T) {
	itest.Need(t, daemon.PostfixMissing())
	d, err := daemon.StartPostfix(daemon.PostfixConfig{
		Dir: t.TempDir(), Listen: "127.0.5.25", MyNetworks: "127.0.5.99/32", Stock: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Postfix with stock error limits")
	var trace bytes.Buffer
	env := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr("127.0.5.77")},
		Limits: wire.Limits{ReadTimeout: 10 * time.Second},
		Tracer: wire.NewTracer(&trace),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := smtp.Probe(ctx, env, observe.Target{Service: "smtp", Addr: d.Addr, Host: "mx.postfix-test.example"}, smtp.Options{})
	if o.Error != "" || o.Relay == nil {
		t.Fatalf("probe error %q relay %v%s", o.Error, o.Relay, d.Log())
	}
	if o.StartTLS == nil || !o.StartTLS.OK {
		t.Errorf("STARTTLS %+v", o.StartTLS)
	}
	decided := map[int]bool{}
	for _, tt := range o.Relay.Tests {
		if strings.Contains(strings.ToUpper(tt.RcptCommand+tt.MailCommand), "DATA") {
			t.Fatalf("test %d sent %q %q", tt.ID, tt.MailCommand, tt.RcptCommand)
		}
		if r, _, _ := tt.Outcome(o.Relay.Domain); r == observe.RelayRefused {
			decided[tt.ID] = true
		}
	}
	for id := 1; id <= o.Relay.Planned; id++ {
		if !decided[id] {
			for _, tt := range o.Relay.Tests {
				t.Logf("session %d test %d %s: %s | %s | %s", tt.Session, tt.ID, tt.Result, tt.MailCommand, tt.RcptCommand, tt.Why)
			}
			t.Fatalf("test %d of %d has no refusal of its own", id, o.Relay.Planned)
		}
	}
	// Postfix logs a session when it ends; the probe has ended its own.
	sessions, err := d.SessionsEnded("127.0.5.77", 20*time.Second)
	if err != nil {
		t.Fatalf("%v%s", err, d.Log())
	}
	if len(sessions) < 2 {
		t.Fatalf("Postfix logged %d sessions%s", len(sessions), d.Log())
	}
	for _, s := range sessions {
		t.Logf("Postfix: %s errors %d", s.Line[strings.Index(s.Line, "disconnect"):], s.Errors())
		if s.Errors() > 9 {
			t.Errorf("a session received %d error replies (Postfix sleeps after 10): %s", s.Errors(), s.Line)
		}
	}
	if log := d.Log(); strings.Contains(log, "too many errors") {
		t.Errorf("Postfix dropped a session for too many errors%s", log)
	}
	t.Logf("%d tests in %d sessions; probe took %d ms", o.Relay.Planned, o.Relay.Sessions, o.DurationMS)
}
