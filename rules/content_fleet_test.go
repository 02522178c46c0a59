package rules_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/mailbox"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/content"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

const testMailboxPassword = "fleet-mailbox-s3cret\"pw"

// noWait stands for the wait between two looks into the mailbox: the
// simulated servers deliver before they answer the end of DATA, so no
// look depends on time.
func noWait(context.Context, time.Duration) error { return nil }

// fleetRoots trusts the fleet's certificate.
func fleetRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	c, err := smtpd.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return pool
}

// runContent sends the content test to a simulated server behind filter
// f (with a test mailbox when withMailbox) and returns the observation.
func runContent(t *testing.T, ip string, f smtpd.Filter, withMailbox bool) (*observe.Content, *smtpd.Server) {
	t.Helper()
	var mb *mailbox.Server
	cfg := smtpd.Config{Profile: smtpd.Closed, TLS: true, Filter: f}
	if withMailbox {
		cert, err := smtpd.Certificate()
		if err != nil {
			t.Fatal(err)
		}
		mb, err = mailbox.Start(ip+":0", "kensa-test", testMailboxPassword, cert)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mb.Close() })
		cfg.Deliver = mb.Deliver
	}
	srv, err := smtpd.Start(ip+":0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	opts := content.Options{ScanID: "20261205T000000Z-test", Server: "mx-test-01", Recipient: "kensa-test@fleet.example",
		SMTP: smtp.Options{HeloName: "kensa.invalid"}}
	if mb != nil {
		opts.Mailbox = &content.Mailbox{Addr: mb.AddrPort(), Host: ip, TLSName: "mailbox.fleet.example", RootCAs: fleetRoots(t),
			User: "kensa-test", Password: testMailboxPassword, Settle: 6 * time.Second, Interval: 2 * time.Second, Sleep: noWait}
	}
	env := wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tgt := observe.Target{Service: "smtp", Addr: srv.AddrPort()}
	return content.Run(ctx, env, tgt, opts), srv
}

// TestContentFilterTruth runs the content test against every filter
// behaviour of the simulated fleet, with and without a look into the
// test mailbox, and requires M3 and X2 to equal the behaviour's truth.
func TestContentFilterTruth(t *testing.T) {
	n := 10
	for _, f := range append(smtpd.Filters(), "") {
		for _, withMailbox := range []bool{false, true} {
			n++
			ip := fmt.Sprintf("127.0.7.%d", n)
			t.Run(fmt.Sprintf("%s/mailbox=%v", f, withMailbox), func(t *testing.T) {
				obs, srv := runContent(t, ip, f, withMailbox)
				cs := []*observe.Content{obs}
				wantM3, wantX2, why := smtpd.ContentTruth(f, withMailbox)
				m3, x2 := rules.M3ContentMalware(cs), rules.X2ContentSpam(cs)
				if m3.Outcome != wantM3 || x2.Outcome != wantX2 {
					t.Errorf("M3 %s (%s), X2 %s (%s); truth M3 %s, X2 %s: %s\n%s", m3.Outcome, m3.Reason, x2.Outcome, x2.Reason, wantM3, wantX2, why,
						strings.Join(obs.Transcript, "\n"))
				}
				for _, v := range []scoring.Verdict{m3, x2} {
					if len(v.Evidence) == 0 {
						t.Errorf("verdict without evidence: %+v", v)
					}
				}
				// Never more than the three messages.
				if d := srv.DataCommands(); d > 3 {
					t.Errorf("%d DATA commands, at most 3 allowed", d)
				}
				checkElided(t, obs)
			})
		}
	}
}

// checkElided requires that neither test string, in the clear or in
// base64, nor the mailbox password reaches the observation as stored.
func checkElided(t *testing.T, obs *observe.Content) {
	t.Helper()
	b, err := json.Marshal(obs)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]byte{
		"EICAR": content.EICAR(), "GTUBE": content.GTUBE(),
		"EICAR in base64": []byte(base64.StdEncoding.EncodeToString(content.EICAR())[:40]),
		"password":        []byte("s3cret"),
	} {
		if bytes.Contains(b, s) {
			t.Errorf("the observation holds the %s", name)
		}
	}
}

// TestContentControlRefused: a server that refuses the control message
// gets nothing more, and a 5xx to a test message counts only after an
// accepted control.
func TestContentControlRefused(t *testing.T) {
	obs, srv := runContent(t, "127.0.7.40", smtpd.FilterRefuseAll, false)
	if d := srv.DataCommands(); d != 1 {
		t.Errorf("%d DATA commands after a refused control message, want 1", d)
	}
	for _, kind := range []string{observe.ContentEICAR, observe.ContentGTUBE} {
		if m := obs.Message(kind); m == nil || m.Sent {
			t.Errorf("%s message sent after the control was refused: %+v", kind, m)
		}
	}
	v := rules.M3ContentMalware([]*observe.Content{obs})
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "control message was not accepted") {
		t.Errorf("M3 = %s: %s", v.Outcome, v.Reason)
	}
}
