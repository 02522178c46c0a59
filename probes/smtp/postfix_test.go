package smtp_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

const (
	// scannerAddr is the probe's source address in these tests; the
	// refusing instance does not trust it, the open one does.
	scannerAddr = "127.0.0.77"
)

// postfix is one instance of the real Postfix (package daemon), with
// its test.
type postfix struct {
	*daemon.Postfix
	addr netip.AddrPort
	dir  string
}

// startPostfix starts an instance listening on listen with the given
// mynetworks and extra main.cf lines; it is stopped when the test ends.
func startPostfix(t *testing.T, listen, mynetworks string, extra ...string) *postfix {
	t.Helper()
	itest.Need(t, daemon.PostfixMissing())
	d, err := daemon.StartPostfix(daemon.PostfixConfig{Dir: t.TempDir(), Listen: listen, MyNetworks: mynetworks, Main: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Postfix")
	return &postfix{Postfix: d, addr: d.Addr, dir: d.Dir}
}

func (p *postfix) log() string { return p.Log() }

func (p *postfix) probe(t *testing.T) *smtp.Observation {
	t.Helper()
	e := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr(scannerAddr)},
		Limits: wire.Limits{ReadTimeout: 10 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var trace bytes.Buffer
	e.Tracer = wire.NewTracer(&trace)
	o := smtp.Probe(ctx, e, wire.Target{Service: "smtp", Addr: p.addr}, smtp.Options{})
	traces.Store(o, traceLines(trace.String()))
	return o
}

func TestPostfixRefusesRelay(t *testing.T) {
	// The scanner's address is outside mynetworks (Postfix's default,
	// 127.0.0.0/8, would trust it). A low hard error limit makes
	// Postfix drop the session during the test, as busy servers do:
	// the probe must reconnect and finish.
	p := startPostfix(t, "127.0.0.20", "127.0.0.99/32", "smtpd_hard_error_limit = 6")
	o := p.probe(t)
	if o.Error != "" || o.Greeting == nil || !strings.Contains(o.Greeting.Lines[0], "mx.postfix-test.example ESMTP Postfix") {
		t.Fatalf("error %q greeting %v%s", o.Error, o.Greeting, p.log())
	}
	if o.StartTLS == nil || !o.StartTLS.OK || o.TLS == nil || o.TLS.Version == "" {
		t.Errorf("STARTTLS %+v TLS %+v", o.StartTLS, o.TLS)
	}
	neverData(t, o)
	v := rules.A1([]*smtp.Observation{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Pass {
		for _, tt := range o.Relay.Tests {
			t.Logf("%d %s %s | %s | %s", tt.ID, tt.Result, tt.MailCommand, tt.RcptCommand, tt.Why)
		}
		t.Fatalf("A1 %s: %s%s", v.Outcome, v.Reason, p.log())
	}
	if o.Relay.Sessions < 2 {
		t.Errorf("Postfix never dropped the session (%d sessions): the reconnect path was not exercised", o.Relay.Sessions)
	}
	t.Logf("A1 %s: %s (%d sessions)", v.Outcome, v.Reason, o.Relay.Sessions)
	for _, e := range v.Evidence {
		t.Log(e)
	}
}

func TestPostfixOpenRelay(t *testing.T) {
	// mynetworks includes the scanner: Postfix relays for it.
	p := startPostfix(t, "127.0.0.21", "127.0.0.0/8")
	o := p.probe(t)
	if o.Error != "" {
		t.Fatalf("error %q%s", o.Error, p.log())
	}
	neverData(t, o)
	v := rules.A1([]*smtp.Observation{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Fail {
		t.Fatalf("A1 %s: %s%s", v.Outcome, v.Reason, p.log())
	}
	if !strings.Contains(strings.Join(v.Evidence, "\n"), "RCPT TO:<relaytest@kensa-relay-test.example>") {
		t.Errorf("evidence %q", v.Evidence)
	}
	t.Logf("A1 %s: %s", v.Outcome, v.Reason)
	if os.Getenv("KENSA_POSTFIX_LOG") != "" {
		t.Log(p.log())
	}
	// Nothing was queued: the probe stops at RCPT.
	var queued []string
	filepath.WalkDir(filepath.Join(p.dir, "queue"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(p.dir, "queue"), path)
			if !strings.HasPrefix(rel, "pid/") && !strings.HasPrefix(rel, "private/") && !strings.HasPrefix(rel, "public/") {
				queued = append(queued, rel)
			}
		}
		return nil
	})
	if len(queued) > 0 {
		t.Errorf("files left in the queue: %q", queued)
	}
}
