package rules_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestTLSWeaknessesAtDate judges a certificate's validity at the
// evaluation day: expired before it, expiring during it (flagged), not
// valid before its end (flagged), valid throughout (not).
func TestTLSWeaknessesAtDate(t *testing.T) {
	info := &observe.TLS{Version: "TLS 1.3", Cipher: "TLS_AES_128_GCM_SHA256", KeyType: "ECDSA", KeyBits: 256, SigAlg: "ECDSA-SHA256",
		NotBefore: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	for at, want := range map[string]string{
		"2026-02-28": "certificate not valid before 2026-03-01",
		"2026-03-01": "",
		"2026-04-15": "",
		"2026-06-01": "certificate expires 2026-06-01T12:00:00Z, on the evaluation date",
		"2026-06-02": "certificate expired 2026-06-01 (evaluation date 2026-06-02)",
	} {
		got := strings.Join(rules.TLSWeaknesses(info, day(at)), "; ")
		if !strings.HasPrefix(got, want) || (want == "" && got != "") {
			t.Errorf("at %s: %q, want %q", at, got, want)
		}
	}
	if w := rules.TLSWeaknesses(info, time.Time{}); len(w) != 0 {
		t.Errorf("no date: %v", w)
	}
	weak := &observe.TLS{Version: "TLS 1.0", Cipher: "TLS_RSA_WITH_RC4_128_SHA", KeyType: "RSA", KeyBits: 1024, SigAlg: "SHA1-RSA"}
	got := strings.Join(rules.TLSWeaknesses(weak, day("2026-04-15")), "; ")
	for _, w := range []string{"protocol TLS 1.0 is obsolete", "cipher TLS_RSA_WITH_RC4_128_SHA is insecure", "RSA key of 1024 bits", "certificate signed with SHA1-RSA"} {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
	if w := rules.TLSWeaknesses(&observe.TLS{Version: "TLS 1.2", NoCertificate: true}, day("2026-04-15")); len(w) != 1 || w[0] != "no certificate" {
		t.Errorf("no certificate: %v", w)
	}
	if w := rules.TLSWeaknesses(wire.TLSFailure(errors.New("handshake failure")), day("2026-04-15")); w != nil {
		t.Errorf("failed handshake: %v", w)
	}
}

// TestTLSWeaknessesLegacyRecord: an old record's weaknesses are kept,
// except those about the certificate's dates, which the scan's clock
// decided: they are judged again at the evaluation date.
func TestTLSWeaknessesLegacyRecord(t *testing.T) {
	info := &observe.TLS{Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		NotBefore: day("2020-01-01"), NotAfter: day("2021-01-01"), Expired: true,
		Weak: []string{"certificate expired 2021-01-01", "RSA key of 1024 bits"}}
	got := rules.TLSWeaknesses(info, day("2020-06-01"))
	if len(got) != 1 || got[0] != "RSA key of 1024 bits" {
		t.Fatalf("valid at 2020-06-01: %v", got)
	}
	got = rules.TLSWeaknesses(info, day("2021-06-01"))
	if len(got) != 2 || !strings.HasPrefix(got[0], "certificate expired 2021-01-01") {
		t.Fatalf("expired at 2021-06-01: %v", got)
	}
}

// TestP1CertificateAtEvaluationDate probes a real IMAP server whose
// certificate is valid today for 30 days, and judges the same stored
// observation at two evaluation dates: today it is sound; 60 days on the
// certificate has expired, a finding, and a failure of P1 under
// tls_weak_fails, with the certificate's dates as evidence.
func TestP1CertificateAtEvaluationDate(t *testing.T) {
	now := time.Now()
	cert, err := imapd.SelfSigned("imap.kensa.test", now.Add(-time.Hour), now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := imapd.Start("127.0.0.1:0", imapd.Config{Profile: imapd.TLSRequired, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := wire.Env{Limits: wire.Limits{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}}
	o := imap.Probe(ctx, env, addrOf(t, "imap", srv.Addr()), imap.Options{})
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var stored observe.IMAP
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.TLS == nil || stored.TLS.NotAfter.IsZero() {
		t.Fatalf("no certificate recorded: %+v", stored.TLS)
	}
	today, later := now.UTC(), now.UTC().AddDate(0, 0, 60)
	pol := rules.DefaultPolicy()
	strict := pol
	strict.TLSWeakFails = true

	if v := rules.P1ReceiveAuth([]*observe.IMAP{&stored}, nil, strict, today); v.Outcome != scoring.Pass || strings.Contains(v.Reason, "weak TLS") {
		t.Fatalf("today: %s (%s)", v.Outcome, v.Reason)
	}
	v := rules.P1ReceiveAuth([]*observe.IMAP{&stored}, nil, pol, later)
	if v.Outcome != scoring.Pass || !strings.Contains(v.Reason, "finding: weak TLS: certificate expired") {
		t.Fatalf("in 60 days, default policy: %s (%s)", v.Outcome, v.Reason)
	}
	v = rules.P1ReceiveAuth([]*observe.IMAP{&stored}, nil, strict, later)
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "certificate expired") || !strings.Contains(strings.Join(v.Evidence, "\n"), "certificate valid ") {
		t.Fatalf("in 60 days, tls_weak_fails: %s (%s) %v", v.Outcome, v.Reason, v.Evidence)
	}

	// The record's findings are judged at the Context's date too.
	obs := &observe.Observations{IMAP: []*observe.IMAP{&stored}}
	c := rules.Context{Catalog: scoring.MailCatalog, Policy: pol, AsOf: today}
	for _, f := range rules.Findings(c, "mx", "127.0.0.1", obs, nil) {
		if strings.Contains(f, "certificate") {
			t.Errorf("today: finding %q", f)
		}
	}
	c.AsOf = later
	fs := rules.Findings(c, "mx", "127.0.0.1", obs, nil)
	if len(fs) != 1 || !strings.Contains(fs[0], "imap: TLS: certificate expired") {
		t.Errorf("in 60 days: findings %v", fs)
	}
}
