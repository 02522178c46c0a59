package rules

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/pop3"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/scoring"
)

func p1Env() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 500 * time.Millisecond, MaxLine: 4096, MaxBytes: 256 << 10}}
}

func target(t *testing.T, service, addr string) observe.Target {
	t.Helper()
	return observe.Target{Service: service, Addr: netip.MustParseAddrPort(addr)}
}

func probeIMAP(t *testing.T, p imapd.Profile, implicit bool) *observe.IMAP {
	t.Helper()
	srv, err := imapd.Start("127.0.0.1:0", imapd.Config{Profile: p, ImplicitTLS: implicit, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	service := "imap"
	if implicit {
		service = "imaps"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return imap.Probe(ctx, p1Env(), target(t, service, srv.Addr().String()), imap.Options{})
}

func probePOP3(t *testing.T, p pop3d.Profile, implicit bool) *observe.POP3 {
	t.Helper()
	srv, err := pop3d.Start("127.0.0.1:0", pop3d.Config{Profile: p, ImplicitTLS: implicit, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	service := "pop3"
	if implicit {
		service = "pop3s"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return pop3.Probe(ctx, p1Env(), target(t, service, srv.Addr().String()), pop3.Options{})
}

// TestP1FleetIMAP scans every IMAP profile, as imap with imaps and as
// imaps alone, under both TLS policies, and compares with the profile's
// truth.
func TestP1FleetIMAP(t *testing.T) {
	for _, p := range imapd.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			plain, implicit := probeIMAP(t, p, false), probeIMAP(t, p, true)
			for _, weakFails := range []bool{false, true} {
				pol := DefaultPolicy()
				pol.TLSWeakFails = weakFails
				v := P1ReceiveAuth([]*observe.IMAP{plain, implicit}, nil, pol, time.Time{})
				if want := imapd.TruthFor(p, false, weakFails); v.Outcome != want {
					t.Errorf("imap+imaps, weak fails %v: %s (%s), truth %s; evidence %q", weakFails, v.Outcome, v.Reason, want, v.Evidence)
				}
				v = P1ReceiveAuth([]*observe.IMAP{implicit}, nil, pol, time.Time{})
				if want := imapd.TruthFor(p, true, weakFails); v.Outcome != want {
					t.Errorf("imaps only, weak fails %v: %s (%s), truth %s", weakFails, v.Outcome, v.Reason, want)
				}
			}
			checkVerdict(t, P1ReceiveAuth([]*observe.IMAP{plain, implicit}, nil, DefaultPolicy(), time.Time{}))
		})
	}
}

// TestP1FleetPOP3 does the same for POP3.
func TestP1FleetPOP3(t *testing.T) {
	for _, p := range pop3d.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			plain, implicit := probePOP3(t, p, false), probePOP3(t, p, true)
			for _, weakFails := range []bool{false, true} {
				pol := DefaultPolicy()
				pol.TLSWeakFails = weakFails
				v := P1ReceiveAuth(nil, []*observe.POP3{plain, implicit}, pol, time.Time{})
				if want := pop3d.TruthFor(p, false, weakFails); v.Outcome != want {
					t.Errorf("pop3+pop3s, weak fails %v: %s (%s), truth %s; evidence %q", weakFails, v.Outcome, v.Reason, want, v.Evidence)
				}
				v = P1ReceiveAuth(nil, []*observe.POP3{implicit}, pol, time.Time{})
				if want := pop3d.TruthFor(p, true, weakFails); v.Outcome != want {
					t.Errorf("pop3s only, weak fails %v: %s (%s), truth %s", weakFails, v.Outcome, v.Reason, want)
				}
			}
			checkVerdict(t, P1ReceiveAuth(nil, []*observe.POP3{plain, implicit}, DefaultPolicy(), time.Time{}))
		})
	}
}

// checkVerdict checks the form every verdict must have.
func checkVerdict(t *testing.T, v scoring.Verdict) {
	t.Helper()
	if v.Source != scoring.FromProbe || v.Reason == "" || strings.Contains(v.Reason, "\n") {
		t.Errorf("verdict form: %+v", v)
	}
	if v.Outcome != scoring.Unknown && len(v.Evidence) == 0 {
		t.Errorf("%s without evidence: %s", v.Outcome, v.Reason)
	}
	for _, e := range v.Evidence {
		if !strings.HasPrefix(e, "127.0.0.1:") {
			t.Errorf("evidence without its service: %q", e)
		}
		if strings.Contains(e, "kp-") {
			t.Errorf("credential in evidence: %q", e)
		}
	}
	if testing.Verbose() {
		t.Logf("%s: %s", v.Outcome, v.Reason)
		for _, e := range v.Evidence {
			t.Logf("  %s", e)
		}
	}
}

// TestP1Mixed checks that one bad service fails the server, that an
// unknown one keeps it from passing, and that IMAP and POP3 combine.
func TestP1Mixed(t *testing.T) {
	good := probeIMAP(t, imapd.TLSRequired, false)
	bad := probePOP3(t, pop3d.Plaintext, false)
	silent := probePOP3(t, pop3d.Silent, false)
	goodPOP := probePOP3(t, pop3d.TLSRequired, false)
	pol := DefaultPolicy()
	if v := P1ReceiveAuth([]*observe.IMAP{good}, []*observe.POP3{bad, silent}, pol, time.Time{}); v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "pop3") {
		t.Errorf("good imap, plaintext pop3: %s (%s)", v.Outcome, v.Reason)
	}
	if v := P1ReceiveAuth([]*observe.IMAP{good}, []*observe.POP3{silent}, pol, time.Time{}); v.Outcome != scoring.Unknown {
		t.Errorf("good imap, silent pop3: %s (%s)", v.Outcome, v.Reason)
	}
	v := P1ReceiveAuth([]*observe.IMAP{good}, []*observe.POP3{goodPOP}, pol, time.Time{})
	if v.Outcome != scoring.Pass {
		t.Errorf("good imap and pop3: %s (%s)", v.Outcome, v.Reason)
	}
	checkVerdict(t, v)
}

func TestP1NotApplicable(t *testing.T) {
	if v := P1ReceiveAuth(nil, nil, DefaultPolicy(), time.Time{}); v.Outcome != scoring.NA {
		t.Errorf("no service: %s", v.Outcome)
	}
	if v := P1ReceiveAuth([]*observe.IMAP{nil}, nil, DefaultPolicy(), time.Time{}); v.Outcome != scoring.Unknown {
		t.Errorf("nil observation: %s", v.Outcome)
	}
}

// TestP1Observations checks the rule on hand-made observations: cases
// the fleet does not produce.
func TestP1Observations(t *testing.T) {
	base := func() *observe.IMAP {
		return &observe.IMAP{
			Endpoint:       observe.Endpoint{Service: "imap", Address: "192.0.2.1", Port: 143, Reachable: true},
			Greeting:       "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",
			GreetingStatus: "OK",
			Capabilities:   []string{"IMAP4REV1", "STARTTLS", "LOGINDISABLED"},
			CapabilityLine: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",
			StartTLS:       &observe.IMAPStartTLS{Result: "ok", Reply: "K1 OK go"},
			TLS:            &observe.TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256"},
			LoginTested:    true,
			Attempts: []observe.LoginAttempt{
				{Method: "LOGIN", Result: observe.LoginRefused, Reply: "T1 NO [PRIVACYREQUIRED] no"},
				{Method: "AUTHENTICATE PLAIN", Result: observe.LoginRefused, Reply: "T2 NO [PRIVACYREQUIRED] no"},
				{Method: "AUTHENTICATE ANONYMOUS", Result: observe.LoginRefused, Reply: "T3 NO [PRIVACYREQUIRED] no"},
				{Method: "LOGIN", TLS: true, Result: observe.LoginChecked, Reply: "T1 NO [AUTHENTICATIONFAILED] x"},
			},
		}
	}
	pol := DefaultPolicy()
	cases := []struct {
		name   string
		change func(o *observe.IMAP)
		want   scoring.Outcome
		reason string
	}{
		{"pass", func(*observe.IMAP) {}, scoring.Pass, "cleartext passwords refused"},
		{"unclear answer", func(o *observe.IMAP) { o.Attempts[1].Result = observe.LoginUnclear }, scoring.Unknown, "unclear"},
		{"plain not tried", func(o *observe.IMAP) { o.Attempts = o.Attempts[:1] }, scoring.Unknown, "AUTHENTICATE PLAIN not tried"},
		{"no login over TLS", func(o *observe.IMAP) { o.Attempts = o.Attempts[:3] }, scoring.Unknown, "no login tried over TLS"},
		{"fake user logged in over TLS", func(o *observe.IMAP) { o.Attempts[3].Result = observe.LoginLoggedIn }, scoring.Fail, "logged in"},
		{"login skipped", func(o *observe.IMAP) { o.LoginTested, o.Attempts = false, nil }, scoring.Unknown, "login attempts not made"},
		{"starttls failed", func(o *observe.IMAP) { o.StartTLS = &observe.IMAPStartTLS{Result: "failed", Error: "handshake"} }, scoring.Unknown, "STARTTLS"},
		{"probe error", func(o *observe.IMAP) { o.Error = "capability: timeout" }, scoring.Unknown, "timeout"},
		{"checked after error", func(o *observe.IMAP) {
			o.Error = "AUTHENTICATE PLAIN: no answer: timeout"
			o.Attempts[0].Result = observe.LoginChecked
		}, scoring.Fail, "cleartext password"},
		{"anonymous advertised", func(o *observe.IMAP) {
			o.Capabilities = append(o.Capabilities, "AUTH=ANONYMOUS")
		}, scoring.Fail, "anonymous"},
		{"weak TLS finding", func(o *observe.IMAP) { o.TLS.Weak = []string{"protocol TLS 1.0 is obsolete"} }, scoring.Pass, "finding: weak TLS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			c.change(o)
			v := P1ReceiveAuth([]*observe.IMAP{o}, nil, pol, time.Time{})
			if v.Outcome != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("%s (%s), want %s containing %q", v.Outcome, v.Reason, c.want, c.reason)
			}
			for _, e := range v.Evidence {
				if !strings.HasPrefix(e, "192.0.2.1:143 imap ") {
					t.Errorf("evidence %q", e)
				}
			}
		})
	}
	o := base()
	o.TLS.Weak = []string{"protocol TLS 1.0 is obsolete"}
	pol.TLSWeakFails = true
	if v := P1ReceiveAuth([]*observe.IMAP{o}, nil, pol, time.Time{}); v.Outcome != scoring.Fail {
		t.Errorf("weak TLS under tls_weak_fails: %s (%s)", v.Outcome, v.Reason)
	}
}

// TestP1NoTLSObservations checks the judgement of services without any
// TLS on hand-made observations: they fail when they offer a login that
// sends the password in the clear, whatever the fake user was answered,
// and pass only when they offer none and refused every cleartext attempt.
func TestP1NoTLSObservations(t *testing.T) {
	imapObs := func(caps string) *observe.IMAP {
		line := "* OK [CAPABILITY " + caps + "] ready"
		return &observe.IMAP{
			Endpoint:       observe.Endpoint{Service: "imap", Address: "192.0.2.1", Port: 143, Reachable: true},
			Greeting:       line,
			GreetingStatus: "OK",
			Capabilities:   imap.ParseCapabilities(caps),
			CapabilityLine: line,
			LoginTested:    true,
			Attempts: []observe.LoginAttempt{
				{Method: "LOGIN", Result: observe.LoginRefused, Reply: "T1 NO [PRIVACYREQUIRED] no"},
				{Method: "AUTHENTICATE PLAIN", Result: observe.LoginRefused, Reply: "T2 NO [ALERT] Unsupported authentication mechanism."},
				{Method: "AUTHENTICATE ANONYMOUS", Result: observe.LoginRefused, Reply: "T3 NO [ALERT] Unsupported authentication mechanism."},
			},
		}
	}
	pop3Obs := func(capa ...string) *observe.POP3 {
		return &observe.POP3{
			Endpoint:    observe.Endpoint{Service: "pop3", Address: "192.0.2.1", Port: 110, Reachable: true},
			Greeting:    "+OK ready",
			Capa:        capa,
			LoginTested: true,
			Attempts: []observe.LoginAttempt{
				{Method: "USER/PASS", Result: observe.LoginRefused, Step: "USER", Reply: "-ERR [AUTH] Plaintext authentication disallowed"},
				{Method: "AUTH PLAIN", Result: observe.LoginRefused, Step: "AUTH", Reply: "-ERR [AUTH] Unsupported authentication mechanism."},
				{Method: "AUTH ANONYMOUS", Result: observe.LoginRefused, Step: "AUTH", Reply: "-ERR [AUTH] Unsupported authentication mechanism."},
			},
		}
	}
	cases := []struct {
		name   string
		imap   *observe.IMAP
		pop3   *observe.POP3
		want   scoring.Outcome
		reason string
	}{
		{"imap challenge-response only", imapObs("IMAP4rev1 LOGINDISABLED AUTH=CRAM-MD5"), nil, scoring.Pass,
			"no TLS, and no login that sends a password in the clear is offered (LOGINDISABLED, AUTH=CRAM-MD5): no password can cross in the clear"},
		{"imap no login at all", imapObs("IMAP4rev1 LOGINDISABLED"), nil, scoring.Pass, "(LOGINDISABLED, no AUTH= mechanism)"},
		{"imap LOGIN offered", imapObs("IMAP4rev1 AUTH=CRAM-MD5"), nil, scoring.Fail, "offers LOGIN (no LOGINDISABLED)"},
		{"imap AUTH=PLAIN offered", imapObs("IMAP4rev1 LOGINDISABLED AUTH=PLAIN"), nil, scoring.Fail, "offers AUTH=PLAIN"},
		{"imap bearer token offered", imapObs("IMAP4rev1 LOGINDISABLED AUTH=XOAUTH2"), nil, scoring.Fail, "offers AUTH=XOAUTH2"},
		{"imap offer seen, then an error", func() *observe.IMAP {
			o := imapObs("IMAP4rev1 AUTH=PLAIN")
			o.Error, o.Attempts = "LOGIN: no answer: timeout", nil
			return o
		}(), nil, scoring.Fail, "password crosses in the clear"},
		{"imap cleartext password checked", func() *observe.IMAP {
			o := imapObs("IMAP4rev1 LOGINDISABLED AUTH=CRAM-MD5")
			o.Attempts[0] = observe.LoginAttempt{Method: "LOGIN", Result: observe.LoginChecked, Reply: "T1 NO [AUTHENTICATIONFAILED] x"}
			return o
		}(), nil, scoring.Fail, "accepts a cleartext password"},
		{"imap answer unclear", func() *observe.IMAP {
			o := imapObs("IMAP4rev1 LOGINDISABLED AUTH=CRAM-MD5")
			o.Attempts[0] = observe.LoginAttempt{Method: "LOGIN", Result: observe.LoginUnclear, Reply: "T1 NO", Why: "NO without a reason"}
			return o
		}(), nil, scoring.Unknown, "LOGIN answer unclear"},
		{"pop3 challenge-response only", nil, pop3Obs("TOP", "SASL CRAM-MD5"), scoring.Pass,
			"(no USER, SASL CRAM-MD5): no password can cross in the clear"},
		{"pop3 no login at all", nil, pop3Obs("TOP", "UIDL"), scoring.Pass, "(no USER, no SASL mechanism)"},
		{"pop3 USER offered", nil, pop3Obs("USER", "SASL CRAM-MD5"), scoring.Fail, "offers USER:"},
		{"pop3 SASL PLAIN offered", nil, pop3Obs("SASL CRAM-MD5 PLAIN"), scoring.Fail, "offers SASL PLAIN:"},
		{"pop3 without CAPA", nil, func() *observe.POP3 {
			o := pop3Obs()
			o.CapaError = "-ERR Unknown command."
			return o
		}(), scoring.Unknown, "no CAPA (-ERR Unknown command.): which logins it offers is not known"},
		{"pop3 bare refusal", nil, func() *observe.POP3 {
			o := pop3Obs("SASL CRAM-MD5")
			o.Attempts[0] = observe.LoginAttempt{Method: "USER/PASS", Result: observe.LoginUnclear, Step: "USER", Reply: "-ERR", Why: "-ERR without a reason"}
			return o
		}(), scoring.Unknown, "USER/PASS answer unclear"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var im []*observe.IMAP
			var po []*observe.POP3
			if c.imap != nil {
				im = append(im, c.imap)
			}
			if c.pop3 != nil {
				po = append(po, c.pop3)
			}
			v := P1ReceiveAuth(im, po, DefaultPolicy(), time.Time{})
			if v.Outcome != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("%s (%s), want %s containing %q", v.Outcome, v.Reason, c.want, c.reason)
			}
			if v.Outcome != scoring.Unknown && len(v.Evidence) == 0 {
				t.Errorf("%s without evidence", v.Outcome)
			}
			for _, e := range v.Evidence {
				if !strings.HasPrefix(e, "192.0.2.1:") {
					t.Errorf("evidence %q", e)
				}
			}
		})
	}
}

// TestP1Refusals scans the fleet's servers whose answers before TLS
// decide P1 by what they say: a TLS-capable server that refuses without
// a reason leaves P1 unknown, a server without TLS that offers only a
// challenge-response login passes with the reason, and one without TLS
// that offers cleartext logins fails, whatever it answered the fake user.
func TestP1Refusals(t *testing.T) {
	cases := []struct {
		imap   imapd.Profile
		pop3   pop3d.Profile
		want   scoring.Outcome
		reason string
	}{
		{imap: imapd.BareRefusal, want: scoring.Unknown, reason: "LOGIN answer unclear (NO without a reason: not a recognisable refusal)"},
		{pop3: pop3d.BareRefusal, want: scoring.Unknown, reason: "USER/PASS answer unclear (-ERR without a reason: not a recognisable refusal)"},
		{imap: imapd.ChallengeOnly, want: scoring.Pass, reason: "(LOGINDISABLED, AUTH=CRAM-MD5): no password can cross in the clear"},
		{pop3: pop3d.ChallengeOnly, want: scoring.Pass, reason: "(no USER, SASL CRAM-MD5): no password can cross in the clear"},
		{imap: imapd.NoTLSBare, want: scoring.Fail, reason: "no TLS (no STARTTLS or STLS) and offers LOGIN (no LOGINDISABLED), AUTH=PLAIN, AUTH=LOGIN"},
		{pop3: pop3d.NoTLSBare, want: scoring.Fail, reason: "no TLS (no STARTTLS or STLS) and offers USER"},
		// The Dovecot-like refusals without TLS, and NoTLS's checks.
		{imap: imapd.NoTLS, want: scoring.Fail, reason: "accepts a cleartext password"},
		{pop3: pop3d.NoTLS, want: scoring.Fail, reason: "accepts a cleartext password"},
	}
	for _, c := range cases {
		name := "imap " + string(c.imap)
		if c.pop3 != "" {
			name = "pop3 " + string(c.pop3)
		}
		t.Run(name, func(t *testing.T) {
			var v scoring.Verdict
			if c.imap != "" {
				v = P1ReceiveAuth([]*observe.IMAP{probeIMAP(t, c.imap, false)}, nil, DefaultPolicy(), time.Time{})
			} else {
				v = P1ReceiveAuth(nil, []*observe.POP3{probePOP3(t, c.pop3, false)}, DefaultPolicy(), time.Time{})
			}
			if v.Outcome != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("%s (%s), want %s containing %q", v.Outcome, v.Reason, c.want, c.reason)
			}
			checkVerdict(t, v)
		})
	}
}

// TestP1RegradesOldReadings checks that attempts an older kensa stored
// as refusals are read again from their replies: a bare -ERR, NO or BAD
// stored as "refused" leaves P1 unknown when the results are graded
// again, while a refusal that says why still counts.
func TestP1RegradesOldReadings(t *testing.T) {
	im := &observe.IMAP{
		Endpoint:       observe.Endpoint{Service: "imap", Address: "192.0.2.1", Port: 143, Reachable: true},
		Greeting:       "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",
		GreetingStatus: "OK",
		Capabilities:   []string{"IMAP4REV1", "STARTTLS", "LOGINDISABLED"},
		CapabilityLine: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",
		StartTLS:       &observe.IMAPStartTLS{Result: "ok", Reply: "K1 OK go"},
		TLS:            &observe.TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256"},
		LoginTested:    true,
		Attempts: []observe.LoginAttempt{
			{Method: "LOGIN", Result: observe.LoginRefused, Reply: "T1 NO", Why: "LOGINDISABLED advertised and LOGIN not accepted"},
			{Method: "AUTHENTICATE PLAIN", Result: observe.LoginRefused, Reply: "T2 BAD", Why: "BAD: the command was not processed"},
			{Method: "AUTHENTICATE ANONYMOUS", Result: observe.LoginRefused, Reply: "T3 NO [PRIVACYREQUIRED] no"},
			{Method: "LOGIN", TLS: true, Result: observe.LoginChecked, Reply: "T1 NO [AUTHENTICATIONFAILED] x"},
		},
	}
	po := &observe.POP3{
		Endpoint:    observe.Endpoint{Service: "pop3", Address: "192.0.2.1", Port: 110, Reachable: true},
		Greeting:    "+OK ready",
		Capa:        []string{"STLS", "SASL"},
		STLS:        &observe.POP3STLS{Result: "ok", Reply: "+OK go"},
		TLS:         &observe.TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256"},
		LoginTested: true,
		Attempts: []observe.LoginAttempt{
			{Method: "USER/PASS", Result: observe.LoginRefused, Step: "USER", Reply: "-ERR", Why: "refused before any password was sent"},
			{Method: "AUTH PLAIN", Result: observe.LoginRefused, Step: "AUTH", Reply: "-ERR [AUTH] Plaintext authentication disallowed."},
			{Method: "AUTH ANONYMOUS", Result: observe.LoginRefused, Step: "AUTH", Reply: "-ERR [AUTH] Unsupported authentication mechanism."},
			{Method: "USER/PASS", TLS: true, Result: observe.LoginChecked, Step: "PASS", Reply: "-ERR [AUTH] Authentication failed."},
		},
	}
	pol := DefaultPolicy()
	v := P1ReceiveAuth([]*observe.IMAP{im}, nil, pol, time.Time{})
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "LOGIN answer unclear (NO without a reason: not a recognisable refusal; the scan had read it as a refusal)") {
		t.Errorf("imap: %s (%s)", v.Outcome, v.Reason)
	}
	v = P1ReceiveAuth(nil, []*observe.POP3{po}, pol, time.Time{})
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "USER/PASS answer unclear (-ERR without a reason") {
		t.Errorf("pop3: %s (%s)", v.Outcome, v.Reason)
	}
	// With refusals that say why, the same records pass.
	im.Attempts[0].Reply, im.Attempts[1].Reply = "T1 NO [PRIVACYREQUIRED] no", "T2 BAD invalid command"
	po.Attempts[0].Reply = "-ERR [AUTH] USER command only available under a layer"
	if v := P1ReceiveAuth([]*observe.IMAP{im}, []*observe.POP3{po}, pol, time.Time{}); v.Outcome != scoring.Pass {
		t.Errorf("refusals with reasons: %s (%s)", v.Outcome, v.Reason)
	}
}
