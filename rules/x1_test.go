package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestX1Truth scans every profile as a submission service with
// STARTTLS, and the configurations whose truth differs (implicit TLS,
// no TLS), and compares X1 (and A1) with the truth.
func TestX1Truth(t *testing.T) {
	pol := rules.DefaultPolicy()
	type run struct {
		name    string
		cfg     smtpd.Config
		service string
	}
	var runs []run
	for _, p := range smtpd.Profiles() {
		cfg := smtpd.Config{Profile: p, TLS: true}
		if cfg.Profile.GreetingDelay() > 0 {
			// Held back longer than the 2 s read timeout.
			cfg.GreetingDelay = 5 * time.Second
		}
		runs = append(runs, run{"submission/" + string(p), cfg, "submission"})
	}
	for _, p := range []smtpd.Profile{smtpd.SubmissionAuthAfterTLS, smtpd.SubmissionAuthBeforeTLS, smtpd.SubmissionNoAuth, smtpd.AuthRequired, smtpd.Closed, smtpd.OpenRelay,
		smtpd.AuthThenDefer, smtpd.SubmissionClientRejected, smtpd.SubmissionHostnameRejected} {
		runs = append(runs, run{"smtps/" + string(p), smtpd.Config{Profile: p, ImplicitTLS: true}, "smtps"})
	}
	for _, p := range []smtpd.Profile{smtpd.SubmissionAuthAfterTLS, smtpd.SubmissionAuthBeforeTLS, smtpd.SubmissionClientRejected, smtpd.SubmissionHostnameRejected} {
		runs = append(runs, run{"plain-submission/" + string(p), smtpd.Config{Profile: p}, "submission"})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			o := scanFleet(t, r.cfg, r.service)
			want := r.cfg.Truth()
			// Served canonically, a profile's X1 is Truth's; its A1 may
			// differ from Truth's, which is the A1 on port 25, where
			// refusing every unauthenticated client proves nothing.
			if r.service == "submission" && r.cfg.TLS && !r.cfg.ImplicitTLS && want.X1 != smtpd.Truth(r.cfg.Profile).X1 {
				t.Fatalf("Config.Truth %+v differs from Truth %+v for the canonical setting", want, smtpd.Truth(r.cfg.Profile))
			}
			v := rules.X1SubmissionAuth([]*observe.SMTP{o}, pol, time.Time{})
			if v.Outcome != want.X1 {
				t.Errorf("X1 %s (%s), truth %s (%s)", v.Outcome, v.Reason, want.X1, want.Why)
			}
			checkVerdict(t, v, o)
			if a := rules.A1OpenRelay([]*observe.SMTP{o}, pol); a.Outcome != want.A1 {
				t.Errorf("A1 %s (%s), truth %s (%s)", a.Outcome, a.Reason, want.A1, want.Why)
			}
		})
	}
}

func TestX1Services(t *testing.T) {
	pol := rules.DefaultPolicy()
	good := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true}, "submission")
	smtps := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, ImplicitTLS: true}, "smtps")
	bad := scanFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthBeforeTLS, TLS: true}, "submission")
	v := rules.X1SubmissionAuth([]*observe.SMTP{good, smtps}, pol, time.Time{})
	if v.Outcome != scoring.Pass || len(v.Evidence) < 2 {
		t.Errorf("both proper: %+v", v)
	}
	v = rules.X1SubmissionAuth([]*observe.SMTP{good, bad}, pol, time.Time{})
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "AUTH offered before STARTTLS") {
		t.Errorf("one offers AUTH in the clear: %+v", v)
	}
	if !strings.Contains(strings.Join(v.Evidence, "\n"), "S: 250-AUTH PLAIN LOGIN") {
		t.Errorf("evidence %q", v.Evidence)
	}
	if v := rules.X1SubmissionAuth(nil, pol, time.Time{}); v.Outcome != scoring.NA {
		t.Errorf("no service: %+v", v)
	}
}

func TestX1Synthetic(t *testing.T) {
	pol := rules.DefaultPolicy()
	authEHLO := &observe.SMTPReply{Code: 250, Lines: []string{"250-mx", "250 AUTH PLAIN"}}
	plainEHLO := &observe.SMTPReply{Code: 250, Lines: []string{"250-mx", "250 STARTTLS"}}
	base := func() *observe.SMTP {
		o := &observe.SMTP{Endpoint: observe.Endpoint{Service: "submission", Address: "192.0.2.1", Port: 587, Reachable: true},
			Greeting: &observe.SMTPReply{Code: 220, Lines: []string{"220 mx ESMTP"}},
			Hello:    &observe.SMTPHello{Command: "EHLO", Reply: plainEHLO, StartTLS: true},
			StartTLS: &observe.SMTPStartTLS{OK: true},
			TLS:      &observe.TLS{Version: "TLS 1.3"},
			HelloTLS: &observe.SMTPHello{Command: "EHLO", Reply: authEHLO, Auth: true, AuthMechanisms: []string{"PLAIN"}, TLS: true},
			Relay:    &observe.Relay{Planned: 16}}
		for id := 1; id <= 16; id++ {
			o.Relay.Tests = append(o.Relay.Tests, observe.RelayTest{ID: id, Result: observe.RelayRefused})
		}
		return o
	}
	check := func(name string, o *observe.SMTP, p rules.Policy, want scoring.Outcome, reason string) {
		t.Helper()
		v := rules.X1SubmissionAuth([]*observe.SMTP{o}, p, time.Time{})
		if v.Outcome != want || !strings.Contains(v.Reason, reason) {
			t.Errorf("%s: %s %q, want %s %q", name, v.Outcome, v.Reason, want, reason)
		}
	}
	check("proper", base(), pol, scoring.Pass, "only after STARTTLS")

	o := base()
	o.TLS.Version, o.TLS.Weak = "TLS 1.0", []string{"protocol TLS 1.0 is obsolete"}
	check("weak TLS, default policy", o, pol, scoring.Pass, "")
	strict := pol
	strict.TLSWeakFails = true
	check("weak TLS, strict policy", o, strict, scoring.Fail, "weak TLS: protocol TLS 1.0 is obsolete")

	o = base()
	o.StartTLS = &observe.SMTPStartTLS{Reply: &observe.SMTPReply{Code: 220}, Error: "starttls: TLS handshake failed"}
	o.TLS = wire.TLSFailure(errString("remote error: tls: handshake failure"))
	o.HelloTLS = nil
	check("handshake failed", o, pol, scoring.Unknown, "AUTH after STARTTLS not seen")

	o = base()
	o.Hello.StartTLS = false
	o.StartTLS, o.TLS, o.HelloTLS = nil, nil, nil
	check("no STARTTLS", o, pol, scoring.Fail, "no STARTTLS")

	o = base()
	o.HelloTLS.Auth = false
	check("no AUTH after TLS", o, pol, scoring.Fail, "no AUTH offered after STARTTLS")

	o = base()
	o.Hello = &observe.SMTPHello{Command: "HELO", Reply: &observe.SMTPReply{Code: 250, Lines: []string{"250 mx"}},
		EHLOReply: &observe.SMTPReply{Code: 502, Lines: []string{"502 5.5.1 no"}}}
	check("EHLO refused", o, pol, scoring.Fail, "EHLO refused")
	o.Hello.EHLOReply = &observe.SMTPReply{Code: 421, Lines: []string{"421 4.3.2 busy"}}
	check("EHLO deferred", o, pol, scoring.Unknown, "EHLO not answered")

	o = base()
	o.Relay.Tests[3].Result = observe.RelayUntested
	o.Relay.Tests[3].Why = "temporary failure: 451"
	check("relay untested", o, pol, scoring.Unknown, "not fully tested")
	o.Relay.Tests[5].Result = observe.RelayAccepted
	check("relay accepted", o, pol, scoring.Fail, "accepts relay")

	o = base()
	o.Service, o.ImplicitTLS = "smtps", true
	o.Hello = &observe.SMTPHello{Command: "EHLO", Reply: authEHLO, Auth: true, TLS: true}
	o.StartTLS, o.HelloTLS = nil, nil
	check("smtps", o, pol, scoring.Pass, "AUTH offered, unauthenticated")
	o.Hello = nil
	o.TLS = wire.TLSFailure(errString("first record does not look like a TLS handshake"))
	o.Reachable = false
	o.Error = "TLS handshake: error"
	check("smtps handshake failed", o, pol, scoring.Unknown, "unreachable")
}

type errString string

func (e errString) Error() string { return string(e) }
