package rules_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
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

func (p *postfix) probe(t *testing.T) *observe.SMTP {
	t.Helper()
	e := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr(scannerAddr)},
		Limits: wire.Limits{ReadTimeout: 10 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var trace bytes.Buffer
	e.Tracer = wire.NewTracer(&trace)
	o := smtp.Probe(ctx, e, observe.Target{Service: "smtp", Addr: p.addr}, smtp.Options{})
	conversations.Store(o, trace.String())
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
	v := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
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
	v := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
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
	// Nothing was queued: the probe stops at RCPT. (Once smtpd has ended
	// every session: a session's transaction is open until then.)
	if _, err := p.SessionsEnded(scannerAddr, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// No message ever reached the queue manager or was given a
	// message-id by cleanup (which happens only after DATA).
	for _, l := range strings.Split(p.log(), "\n") {
		if strings.Contains(l, "/qmgr[") && strings.Contains(l, "from=<") || strings.Contains(l, "/cleanup[") && strings.Contains(l, "message-id=") {
			t.Errorf("a message was queued: %s", l)
		}
	}
	// An aborted transaction's file in incoming/ (cleanup opens it at
	// MAIL FROM) is removed by cleanup after smtpd has ended the
	// session, a moment after its "disconnect" line: wait for it, and
	// fail if any file stays.
	queued := queueFiles(p.dir)
	for deadline := time.Now().Add(10 * time.Second); len(queued) > 0 && time.Now().Before(deadline); queued = queueFiles(p.dir) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(queued) > 0 {
		t.Errorf("files left in the queue: %q", queued)
	}
}

// queueFiles lists the message files in a Postfix queue directory.
func queueFiles(dir string) []string {
	var queued []string
	filepath.WalkDir(filepath.Join(dir, "queue"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(dir, "queue"), path)
			if !strings.HasPrefix(rel, "pid/") && !strings.HasPrefix(rel, "private/") && !strings.HasPrefix(rel, "public/") {
				queued = append(queued, rel)
			}
		}
		return nil
	})
	return queued
}

// probeAt probes one service of a real daemon from the scanner's
// address, reads timing out after readTimeout.
func probeAt(t *testing.T, service string, ap netip.AddrPort, readTimeout time.Duration) *observe.SMTP {
	t.Helper()
	e := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr(scannerAddr)},
		Limits: wire.Limits{ReadTimeout: readTimeout},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var trace bytes.Buffer
	e.Tracer = wire.NewTracer(&trace)
	o := smtp.Probe(ctx, e, observe.Target{Service: service, Addr: ap}, smtp.Options{})
	conversations.Store(o, trace.String())
	return o
}

// logRelay logs every relay attempt of o.
func logRelay(t *testing.T, o *observe.SMTP) {
	t.Helper()
	if o.Relay == nil {
		return
	}
	for _, tt := range o.Relay.Tests {
		t.Logf("session %d tls %v test %d %s: %s | %s | %s", tt.Session, tt.TLS, tt.ID, tt.Result, tt.MailCommand, tt.RcptCommand, tt.Why)
	}
}

// TestPostfixSubmissionClientRestrictions: Debian's submission service
// (STARTTLS required, SASL through Dovecot, smtpd_client_restrictions =
// permit_sasl_authenticated, reject) refuses relay to every
// unauthenticated client: A1 and X1 pass. The same restriction on a
// service probed as smtp (port 25) only says the scanner is refused.
func TestPostfixSubmissionClientRestrictions(t *testing.T) {
	itest.Need(t, daemon.PostfixMissing())
	itest.Need(t, daemon.DovecotMissing())
	ddir := t.TempDir()
	dc, err := daemon.StartDovecot(daemon.DovecotConfig{Dir: ddir, Addr: "127.0.1.23", AuthSocket: filepath.Join(ddir, "auth-postfix")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Stop)
	d, err := daemon.StartPostfix(daemon.PostfixConfig{
		Dir: t.TempDir(), Listen: "127.0.1.20", MyNetworks: "127.0.1.99/32",
		DovecotSASL: filepath.Join(ddir, "auth-postfix"),
		Services: []daemon.PostfixService{
			{Options: []string{ // Debian's master.cf submission template
				"syslog_name=postfix/submission",
				"smtpd_tls_security_level=encrypt",
				"smtpd_sasl_auth_enable=yes",
				"smtpd_tls_auth_only=yes",
				"smtpd_client_restrictions=permit_sasl_authenticated,reject",
			}},
			{Options: []string{ // the same restriction on a port-25-like service
				"syslog_name=postfix/restricted",
				"smtpd_client_restrictions=permit_sasl_authenticated,reject",
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Postfix submission with Dovecot SASL")
	pol := rules.DefaultPolicy()

	o := probeAt(t, "submission", d.Services[0], 10*time.Second)
	neverData(t, o)
	if o.Hello == nil || o.Hello.Auth || o.HelloTLS == nil || !o.HelloTLS.Auth {
		t.Fatalf("AUTH before TLS %+v, after %+v%s", o.Hello, o.HelloTLS, d.Log())
	}
	denied := ""
	for _, tt := range o.Relay.Tests {
		if tt.TLS && tt.RcptReply != nil && strings.Contains(tt.RcptReply.String(), "Client host rejected: Access denied") {
			denied = tt.RcptReply.String()
		}
	}
	if denied == "" {
		logRelay(t, o)
		t.Fatalf("no 'Client host rejected: Access denied' inside TLS%s", d.Log())
	}
	t.Logf("Postfix submission answered RCPT inside TLS: %s", denied)
	a1 := rules.A1OpenRelay([]*observe.SMTP{o}, pol)
	x1 := rules.X1SubmissionAuth([]*observe.SMTP{o}, pol, time.Time{})
	if a1.Outcome != scoring.Pass || x1.Outcome != scoring.Pass {
		logRelay(t, o)
		t.Fatalf("A1 %s: %s\nX1 %s: %s", a1.Outcome, a1.Reason, x1.Outcome, x1.Reason)
	}
	t.Logf("A1 %s: %s", a1.Outcome, a1.Reason)
	t.Logf("X1 %s: %s", x1.Outcome, x1.Reason)

	o = probeAt(t, "smtp", d.Services[1], 10*time.Second)
	neverData(t, o)
	if a1 := rules.A1OpenRelay([]*observe.SMTP{o}, pol); a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "Client host rejected: Access denied") {
		logRelay(t, o)
		t.Fatalf("as smtp: A1 %s: %s", a1.Outcome, a1.Reason)
	} else {
		t.Logf("as smtp: A1 %s: %s", a1.Outcome, a1.Reason)
	}
}

// TestPostfixPostscreen: postscreen in front of smtpd, with a greeting
// pause longer than the read timeout and its deep protocol tests on,
// drops a client that speaks before the greeting is complete, defers
// every RCPT of a new client's first session with 450 4.3.2, and lets
// it through to smtpd when it comes back: A1 passes after the
// reconnect.
func TestPostfixPostscreen(t *testing.T) {
	itest.Need(t, daemon.PostfixMissing())
	d, err := daemon.StartPostfix(daemon.PostfixConfig{
		Dir: t.TempDir(), Listen: "127.0.1.21", MyNetworks: "127.0.1.99/32", Postscreen: true,
		Main: []string{
			"postscreen_greet_wait = 3s",
			"postscreen_greet_action = drop",
			"postscreen_pipelining_enable = yes",
			"postscreen_non_smtp_command_enable = yes",
			"postscreen_bare_newline_enable = yes",
			"postscreen_dnsbl_sites =",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Postfix postscreen")
	o := probeAt(t, "smtp", d.Addr, time.Second)
	neverData(t, o)
	if o.Greeting == nil || len(o.Greeting.Lines) < 2 || !strings.HasPrefix(o.Greeting.Lines[0], "220-") {
		logRelay(t, o)
		t.Fatalf("error %q greeting %v%s", o.Error, o.Greeting, d.Log())
	}
	t.Logf("postscreen's greeting: %s", o.Greeting)
	deferred := ""
	for _, tt := range o.Relay.Tests {
		if tt.Session == 1 && tt.RcptReply != nil && tt.RcptReply.Code == 450 {
			deferred = tt.RcptReply.String()
		}
	}
	if deferred == "" || o.Relay.Sessions < 2 {
		logRelay(t, o)
		t.Fatalf("no deferral in the first session, or no second session (%d)%s", o.Relay.Sessions, d.Log())
	}
	t.Logf("postscreen answered RCPT in the first session: %s", deferred)
	a1 := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
	if a1.Outcome != scoring.Pass {
		logRelay(t, o)
		t.Fatalf("A1 %s: %s%s", a1.Outcome, a1.Reason, d.Log())
	}
	t.Logf("A1 %s: %s (%d sessions)", a1.Outcome, a1.Reason, o.Relay.Sessions)
	if !strings.Contains(d.Log(), "PASS NEW") {
		t.Errorf("postscreen did not log PASS NEW for the scanner%s", d.Log())
	}
}

// TestPostfixUnknownRecipientDomain: a Postfix that checks the
// recipient's domain before relaying (reject_unknown_recipient_domain
// first in smtpd_relay_restrictions) answers the reserved relay-test
// domain with "Domain not found": relaying was never tried, A1 is
// unknown, and the reason names --relay-domain and --helo. Postfix asks
// only a loopback responder that knows no domain.
func TestPostfixUnknownRecipientDomain(t *testing.T) {
	itest.Need(t, daemon.PostfixMissing())
	itest.Need(t, daemon.PrivateResolverMissing())
	dns, err := daemon.StartNXDomain("127.0.1.53")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Stop)
	d, err := daemon.StartPostfix(daemon.PostfixConfig{
		Dir: t.TempDir(), Listen: "127.0.1.22", MyNetworks: "127.0.1.99/32", Resolver: dns.Addr,
		Main: []string{"smtpd_relay_restrictions = permit_mynetworks, reject_unknown_recipient_domain, reject_unauth_destination"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Postfix reject_unknown_recipient_domain")
	o := probeAt(t, "smtp", d.Addr, 10*time.Second)
	neverData(t, o)
	notFound := ""
	for _, tt := range o.Relay.Tests {
		if tt.RcptReply != nil && strings.Contains(tt.RcptReply.String(), "Domain not found") {
			notFound = tt.RcptReply.String()
		}
	}
	if notFound == "" {
		logRelay(t, o)
		t.Fatalf("no 'Domain not found'%s", d.Log())
	}
	t.Logf("Postfix answered RCPT: %s", notFound)
	a1 := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
	if a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "--relay-domain") || !strings.Contains(a1.Reason, "--helo") {
		logRelay(t, o)
		t.Fatalf("A1 %s: %s", a1.Outcome, a1.Reason)
	}
	t.Logf("A1 %s: %s", a1.Outcome, a1.Reason)
	asked := strings.Join(dns.Queries(), " ")
	if !strings.Contains(asked, "kensa-relay-test.example.") {
		t.Errorf("the responder was asked %q", asked)
	}
}

// conversations holds the whole trace of each observation the Postfix
// tests probed.
var conversations sync.Map

// neverData checks the whole conversation of a probe: no DATA (nor BDAT)
// ever — the relay test stops at RCPT.
func neverData(t *testing.T, o *observe.SMTP) {
	t.Helper()
	v, ok := conversations.Load(o)
	if !ok {
		t.Fatal("neverData needs the whole conversation: probe with a tracer")
	}
	for _, l := range strings.Split(v.(string), "\n") {
		for _, cmd := range []string{" C: DATA", " C: BDAT"} {
			if strings.Contains(strings.ToUpper(l), cmd) {
				t.Fatalf("probe sent %q", l)
			}
		}
	}
}
