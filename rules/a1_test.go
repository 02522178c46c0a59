package rules_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

var smtpHost atomic.Uint32

// scanFleet starts a fleet server for cfg on its own loopback address
// and probes it as service.
func scanFleet(t *testing.T, cfg smtpd.Config, service string) *observe.SMTP {
	t.Helper()
	n := smtpHost.Add(1)
	srv, err := smtpd.Start(fmt.Sprintf("127.0.%d.%d:0", 60+n/250, 1+n%250), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rt := 2 * time.Second
	opts := smtp.Options{}
	if cfg.Profile.Hostile() {
		// A silent server is waited for as long as a greeting may
		// take: a short while here, the probe's budget in a scan.
		rt, opts.GreetingTimeout = 300*time.Millisecond, time.Second
	}
	env := wire.Env{Limits: wire.Limits{ReadTimeout: rt, DialTimeout: 2 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	o := smtp.Probe(ctx, env, observe.Target{Service: service, Addr: srv.AddrPort()}, opts)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("%s as %s took %v", cfg.Profile, service, d)
	}
	return o
}

// TestA1Truth scans every fleet profile and compares the verdict with
// the profile's own truth.
func TestA1Truth(t *testing.T) {
	pol := rules.DefaultPolicy()
	for _, p := range smtpd.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			cfg := smtpd.Config{Profile: p, TLS: true, Hostname: "mx1.soumu.example"}
			if cfg.Profile.GreetingDelay() > 0 {
				// Held back longer than the 2 s read timeout.
				cfg.GreetingDelay = 5 * time.Second
			}
			o := scanFleet(t, cfg, "smtp")
			v := rules.A1OpenRelay([]*observe.SMTP{o}, pol)
			want := smtpd.Truth(p).A1
			if v.Outcome != want {
				t.Fatalf("A1 %s (%s), truth %s (%s)", v.Outcome, v.Reason, want, smtpd.Truth(p).Why)
			}
			checkVerdict(t, v, o)
		})
	}
}

// checkVerdict checks the verdict's form: one-line reason, source
// probe, evidence prefixed with the service, never DATA.
func checkVerdict(t *testing.T, v scoring.Verdict, obs ...*observe.SMTP) {
	t.Helper()
	if v.Source != scoring.FromProbe || v.Reason == "" || strings.Contains(v.Reason, "\n") {
		t.Errorf("verdict %+v", v)
	}
	for _, e := range v.Evidence {
		ok := false
		for _, o := range obs {
			if strings.HasPrefix(e, fmt.Sprintf("%s:%d %s ", o.Address, o.Port, o.Service)) ||
				strings.HasPrefix(e, fmt.Sprintf("%s:%d %s: ", o.Address, o.Port, o.Service)) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("evidence line %q does not name its service", e)
		}
		if strings.Contains(e, "C: DATA") {
			t.Errorf("evidence shows DATA: %q", e)
		}
	}
	if v.Outcome == scoring.Fail && len(v.Evidence) == 0 {
		t.Error("fail without evidence")
	}
}

func TestA1FailEvidence(t *testing.T) {
	o := scanFleet(t, smtpd.Config{Profile: smtpd.AddressTrick}, "smtp")
	v := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Fail {
		t.Fatalf("%+v", v)
	}
	joined := strings.Join(v.Evidence, "\n")
	if !strings.Contains(joined, `C: RCPT TO:<"relaytest@kensa-relay-test.example">`) ||
		!strings.Contains(joined, "S: 250 ") ||
		!strings.Contains(joined, "C: MAIL FROM:<antispam@[") {
		t.Errorf("evidence:\n%s", joined)
	}
	if !strings.Contains(v.Reason, `"relaytest@D"`) {
		t.Errorf("reason %q", v.Reason)
	}
}

// TestA1Services: the item passes only if it passes on every service.
func TestA1Services(t *testing.T) {
	pol := rules.DefaultPolicy()
	closed := scanFleet(t, smtpd.Config{Profile: smtpd.Closed}, "smtp")
	sub := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true}, "submission")
	open := scanFleet(t, smtpd.Config{Profile: smtpd.OpenRelay}, "smtps")
	grey := scanFleet(t, smtpd.Config{Profile: smtpd.Greylist}, "smtp")
	if v := rules.A1OpenRelay([]*observe.SMTP{closed, sub}, pol); v.Outcome != scoring.Pass {
		t.Errorf("closed + submission: %+v", v)
	}
	if v := rules.A1OpenRelay([]*observe.SMTP{closed, grey}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "temporary failure") {
		t.Errorf("closed + greylist: %+v", v)
	}
	// smtps on a plain server: the handshake fails, nothing seen.
	if v := rules.A1OpenRelay([]*observe.SMTP{closed, open}, pol); v.Outcome != scoring.Unknown {
		t.Errorf("closed + broken smtps: %+v", v)
	}
	if v := rules.A1OpenRelay(nil, pol); v.Outcome != scoring.NA {
		t.Errorf("no service: %+v", v)
	}
}

func TestA1Synthetic(t *testing.T) {
	pol := rules.DefaultPolicy()
	refused := func(id int) observe.RelayTest {
		return observe.RelayTest{ID: id, Result: observe.RelayRefused, MailCommand: "MAIL FROM:<>", RcptCommand: "RCPT TO:<x@d>",
			RcptReply: &observe.SMTPReply{Code: 554, Lines: []string{"554 5.7.1 Relay access denied"}}}
	}
	base := func() *observe.SMTP {
		o := &observe.SMTP{Endpoint: observe.Endpoint{Service: "smtp", Address: "192.0.2.1", Port: 25, Reachable: true},
			Greeting: &observe.SMTPReply{Code: 220, Lines: []string{"220 mx ESMTP"}},
			Relay:    &observe.Relay{Planned: 16}}
		for id := 1; id <= 16; id++ {
			o.Relay.Tests = append(o.Relay.Tests, refused(id))
		}
		return o
	}
	if v := rules.A1OpenRelay([]*observe.SMTP{base()}, pol); v.Outcome != scoring.Pass {
		t.Errorf("all refused: %+v", v)
	}
	// A missing test is not a pass.
	o := base()
	o.Relay.Tests = o.Relay.Tests[:15]
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "test 16 not attempted") {
		t.Errorf("missing test: %+v", v)
	}
	// Planned beyond 16 counts too.
	o = base()
	o.Relay.Planned = 17
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown {
		t.Errorf("missing local test: %+v", v)
	}
	// An untested attempt followed by a refused one (another sender)
	// is refused; an accepted attempt anywhere fails.
	o = base()
	o.Relay.Tests = append([]observe.RelayTest{{ID: 5, Result: observe.RelayUntested, Why: "sender refused"}}, o.Relay.Tests...)
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Pass {
		t.Errorf("retried test: %+v", v)
	}
	o.Relay.Tests = append(o.Relay.Tests, observe.RelayTest{ID: 9, Result: observe.RelayAccepted, Sender: "a@[192.0.2.1]", Recipient: "relaytest@d@[192.0.2.1]",
		MailCommand: "MAIL FROM:<a@[192.0.2.1]>", RcptCommand: "RCPT TO:<relaytest@d@[192.0.2.1]>",
		RcptReply: &observe.SMTPReply{Code: 250, Lines: []string{"250 2.1.5 Ok"}}})
	v := rules.A1OpenRelay([]*observe.SMTP{o}, pol)
	if v.Outcome != scoring.Fail || len(v.Evidence) != 3 || v.Evidence[2] != "192.0.2.1:25 smtp S: 250 2.1.5 Ok" {
		t.Errorf("accepted: %+v", v)
	}
	// Greeting 554, 421, unreachable, relay not run.
	o = base()
	o.Greeting = &observe.SMTPReply{Code: 554, Lines: []string{"554 5.7.1 go away"}}
	o.Relay = nil
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "554") ||
		len(v.Evidence) != 1 {
		t.Errorf("554: %+v", v)
	}
	o.Greeting = &observe.SMTPReply{Code: 421, Lines: []string{"421 4.3.2 busy"}}
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "temporary") {
		t.Errorf("421: %+v", v)
	}
	o = &observe.SMTP{Endpoint: observe.Endpoint{Service: "smtp", Address: "2001:db8::1", Port: 25, Error: "connect: timeout"}}
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "[2001:db8::1]:25 smtp: unreachable: connect: timeout") {
		t.Errorf("unreachable: %+v", v)
	}
	o = base()
	o.Relay = nil
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown {
		t.Errorf("relay not run: %+v", v)
	}
}

// TestA1RecipientDomain: a server that refuses the relay-test domain
// as unroutable never decided about relaying; the reason says how to
// scan so that it does.
func TestA1RecipientDomain(t *testing.T) {
	pol := rules.DefaultPolicy()
	for _, p := range []smtpd.Profile{smtpd.UnknownDomain, smtpd.NullMX, smtpd.Unrouteable} {
		o := scanFleet(t, smtpd.Config{Profile: p, TLS: true}, "smtp")
		v := rules.A1OpenRelay([]*observe.SMTP{o}, pol)
		if v.Outcome != scoring.Unknown {
			t.Errorf("%s: A1 %s: %s", p, v.Outcome, v.Reason)
			continue
		}
		for _, want := range []string{"--relay-domain", "--helo", "kensa-relay-test.example has none"} {
			if !strings.Contains(v.Reason, want) {
				t.Errorf("%s: reason does not say %q: %s", p, want, v.Reason)
			}
		}
		checkVerdict(t, v, o)
	}
	// A closed server's reason has no such advice.
	o := scanFleet(t, smtpd.Config{Profile: smtpd.Greylist}, "smtp")
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown || strings.Contains(v.Reason, "--relay-domain") {
		t.Errorf("greylist: %+v", v)
	}
}

// TestA1ClientRejected: the standard submission configuration refuses
// relay (A1 and X1 pass, with the caveat); the same reply on port 25,
// or a hostname check, proves nothing.
func TestA1ClientRejected(t *testing.T) {
	pol := rules.DefaultPolicy()
	sub := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionClientRejected, TLS: true}, "submission")
	v := rules.A1OpenRelay([]*observe.SMTP{sub}, pol)
	if v.Outcome != scoring.Pass || !strings.Contains(v.Reason, "Client host rejected: Access denied") ||
		!strings.Contains(v.Reason, "could not be told apart") {
		t.Errorf("submission A1: %+v", v)
	}
	checkVerdict(t, v, sub)
	if x := rules.X1SubmissionAuth([]*observe.SMTP{sub}, pol, time.Time{}); x.Outcome != scoring.Pass || !strings.Contains(x.Reason, "could not be told apart") {
		t.Errorf("submission X1: %+v", x)
	}
	smtps := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionClientRejected, ImplicitTLS: true}, "smtps")
	if v := rules.A1OpenRelay([]*observe.SMTP{smtps}, pol); v.Outcome != scoring.Pass {
		t.Errorf("smtps A1: %+v", v)
	}
	port25 := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionClientRejected, TLS: true}, "smtp")
	if v := rules.A1OpenRelay([]*observe.SMTP{port25}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "refuses the scanner's address") {
		t.Errorf("port 25 A1: %+v", v)
	}
	// Without TLS no AUTH is offered: nothing says the refusal is
	// about authentication.
	noTLS := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionClientRejected}, "submission")
	if v := rules.A1OpenRelay([]*observe.SMTP{noTLS}, pol); v.Outcome != scoring.Unknown {
		t.Errorf("submission without TLS A1: %+v", v)
	}
	host := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionHostnameRejected, TLS: true}, "submission")
	if v := rules.A1OpenRelay([]*observe.SMTP{host}, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "450 4.7.25") {
		t.Errorf("hostname check A1: %+v", v)
	}
	if x := rules.X1SubmissionAuth([]*observe.SMTP{host}, pol, time.Time{}); x.Outcome != scoring.Unknown {
		t.Errorf("hostname check X1: %+v", x)
	}
}

// submissionWith is a submission observation offering AUTH after
// STARTTLS whose 16 tests got reply rcpt at RCPT.
func submissionWith(rcpt string, auth bool) *observe.SMTP {
	r, _ := observe.ParseSMTPReply([]string{rcpt})
	ok, _ := observe.ParseSMTPReply([]string{"250 2.1.0 Ok"})
	o := &observe.SMTP{Endpoint: observe.Endpoint{Service: "submission", Address: "192.0.2.1", Port: 587, Reachable: true},
		Greeting: &observe.SMTPReply{Code: 220, Lines: []string{"220 mx ESMTP"}},
		Hello:    &observe.SMTPHello{Command: "EHLO", Reply: &observe.SMTPReply{Code: 250, Lines: []string{"250-mx", "250 STARTTLS"}}, StartTLS: true},
		StartTLS: &observe.SMTPStartTLS{OK: true},
		TLS:      &observe.TLS{Version: "TLS 1.3"},
		HelloTLS: &observe.SMTPHello{Command: "EHLO", Reply: &observe.SMTPReply{Code: 250, Lines: []string{"250-mx", "250 AUTH PLAIN"}}, Auth: auth, TLS: true},
		Relay:    &observe.Relay{Domain: "kensa-relay-test.example", Planned: 16}}
	if !auth {
		o.HelloTLS.Reply = &observe.SMTPReply{Code: 250, Lines: []string{"250-mx", "250 8BITMIME"}}
	}
	for id := 1; id <= 16; id++ {
		o.Relay.Tests = append(o.Relay.Tests, observe.RelayTest{ID: id, Recipient: "relaytest@kensa-relay-test.example",
			MailCommand: "MAIL FROM:<>", MailReply: ok, RcptCommand: "RCPT TO:<relaytest@kensa-relay-test.example>", RcptReply: r,
			Result: observe.RelayUntested, TLS: true, Session: 1})
	}
	return o
}

func TestA1ClientRejectedSynthetic(t *testing.T) {
	pol := rules.DefaultPolicy()
	cases := []struct {
		name  string
		o     *observe.SMTP
		want  scoring.Outcome
		smtps bool
	}{
		{"postfix reject", submissionWith("554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", true), scoring.Pass, false},
		{"no AUTH offered", submissionWith("554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", false), scoring.Unknown, false},
		{"temporary", submissionWith("450 4.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", true), scoring.Unknown, false},
		{"blocklist", submissionWith("554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org", true), scoring.Unknown, false},
		{"hostname", submissionWith("550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]", true), scoring.Unknown, false},
	}
	for _, c := range cases {
		if v := rules.A1OpenRelay([]*observe.SMTP{c.o}, pol); v.Outcome != c.want {
			t.Errorf("%s: A1 %s: %s", c.name, v.Outcome, v.Reason)
		}
	}
	// On port 25 the same reply proves nothing.
	o := submissionWith("554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", true)
	o.Service, o.Port = "smtp", 25
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Unknown {
		t.Errorf("smtp: A1 %s: %s", v.Outcome, v.Reason)
	}
	// An accepted attempt still fails.
	o = submissionWith("554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", true)
	o.Relay.Tests[3].RcptReply = &observe.SMTPReply{Code: 250, Lines: []string{"250 2.1.5 Ok"}}
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, pol); v.Outcome != scoring.Fail {
		t.Errorf("accepted: A1 %s: %s", v.Outcome, v.Reason)
	}
}

// TestA1RejudgesStoredAttempts: an observation recorded by a probe that
// counted every test of a session as refused after one "authentication
// required" is judged again from its replies (grade --regrade).
func TestA1RejudgesStoredAttempts(t *testing.T) {
	o := submissionWith("451 4.3.5 Server configuration problem", true)
	o.Service, o.Port = "smtp", 25
	auth, _ := observe.ParseSMTPReply([]string{"530 5.7.0 Authentication required"})
	o.Relay.Tests[0].RcptReply = auth
	for i := range o.Relay.Tests {
		o.Relay.Tests[i].Result = observe.RelayRefused
		o.Relay.Tests[i].Why = "session requires authentication (530 5.7.0 Authentication required); was: temporary failure"
	}
	v := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "15 of 16 relay tests untested") || !strings.Contains(v.Reason, "451 4.3.5") {
		t.Errorf("A1 %s: %s", v.Outcome, v.Reason)
	}
	// The same for a bare 4.7.1 the old probe called a refusal.
	o = submissionWith("451 4.7.1 Rate limit exceeded, try in 60 seconds", true)
	o.Service, o.Port = "smtp", 25
	for i := range o.Relay.Tests {
		o.Relay.Tests[i].Result = observe.RelayRefused
	}
	if v := rules.A1OpenRelay([]*observe.SMTP{o}, rules.DefaultPolicy()); v.Outcome != scoring.Unknown {
		t.Errorf("rate limit: A1 %s: %s", v.Outcome, v.Reason)
	}
}
