package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/pop3"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/scoring"
)

// dovecot is a Dovecot instance of a test (package daemon).
type dovecot struct {
	addr                     netip.Addr
	imap, imaps, pop3, pop3s uint16
	log                      string
}

// startDovecot runs Dovecot listening on addr (never the probe's own
// source address: Dovecot treats a connection from its own address as
// secure and allows plaintext there) for imap, imaps, pop3 and pop3s on
// free ports, stopped when the test ends. plaintext sets
// disable_plaintext_auth = no.
func startDovecot(t *testing.T, addr string, plaintext bool) *dovecot {
	t.Helper()
	return startDovecotConfig(t, daemon.DovecotConfig{Addr: addr, Plaintext: plaintext})
}

// startDovecotConfig is startDovecot with any configuration (Dir is the
// test's).
func startDovecotConfig(t *testing.T, cfg daemon.DovecotConfig) *dovecot {
	t.Helper()
	itest.Need(t, daemon.DovecotMissing())
	cfg.Dir = t.TempDir()
	d, err := daemon.StartDovecot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Dovecot")
	return &dovecot{addr: d.Addr, imap: d.IMAP, imaps: d.IMAPS, pop3: d.POP3, pop3s: d.POP3S, log: d.LogPath}
}

// scanDovecot probes the services from 127.0.0.1: imap, imaps, pop3 and
// pop3s, those with TLS only when the instance has them (the
// observations are then imap and pop3 alone).
func scanDovecot(t *testing.T, d *dovecot) ([]*observe.IMAP, []*observe.POP3) {
	t.Helper()
	env := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr("127.0.0.1")},
		// Dovecot delays failed logins (2.5 s once one has failed).
		Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, MaxLine: 4096, MaxBytes: 256 << 10},
	}
	// One password for every service, as the scan engine does, keeps
	// Dovecot's auth penalty at its first step.
	pass := fmt.Sprintf("kp-test-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := func(service string, port uint16) observe.Target {
		return observe.Target{Service: service, Addr: netip.AddrPortFrom(d.addr, port)}
	}
	im := []*observe.IMAP{imap.Probe(ctx, env, tg("imap", d.imap), imap.Options{Password: pass})}
	if d.imaps != 0 {
		im = append(im, imap.Probe(ctx, env, tg("imaps", d.imaps), imap.Options{Password: pass}))
	}
	po := []*observe.POP3{pop3.Probe(ctx, env, tg("pop3", d.pop3), pop3.Options{Password: pass})}
	if d.pop3s != 0 {
		po = append(po, pop3.Probe(ctx, env, tg("pop3s", d.pop3s), pop3.Options{Password: pass}))
	}
	for _, o := range im {
		checkNoSecret(t, o, pass)
	}
	for _, o := range po {
		checkNoSecret(t, o, pass)
	}
	return im, po
}

func checkNoSecret(t *testing.T, o any, pass string) {
	t.Helper()
	b, _ := json.Marshal(o)
	if strings.Contains(string(b), pass) {
		t.Errorf("password in observation: %s", b)
	}
	if testing.Verbose() {
		b, _ = json.MarshalIndent(o, "", "  ")
		t.Logf("%s", b)
	}
}

func attemptResult(attempts []observe.LoginAttempt, method string, tls bool) observe.LoginResult {
	for _, a := range attempts {
		if a.Method == method && a.TLS == tls {
			return a.Result
		}
	}
	return ""
}

func pop3Result(attempts []observe.LoginAttempt, method string, tls bool) observe.LoginResult {
	for _, a := range attempts {
		if a.Method == method && a.TLS == tls {
			return a.Result
		}
	}
	return ""
}

// TestP1Dovecot scans a real Dovecot that refuses plaintext
// authentication before TLS and one that allows it.
func TestP1Dovecot(t *testing.T) {
	t.Run("plaintext refused", func(t *testing.T) {
		t.Parallel()
		d := startDovecot(t, "127.0.0.2", false)
		im, po := scanDovecot(t, d)
		for _, o := range im {
			if o.Error != "" || !strings.Contains(o.Greeting, "Dovecot") {
				t.Errorf("%s: error %q greeting %q", o.Service, o.Error, o.Greeting)
			}
			if o.TLS == nil || o.TLS.Version == "" {
				t.Errorf("%s: no TLS %+v", o.Service, o.TLS)
			}
		}
		if o := im[0]; !containsFold(o.Capabilities, "LOGINDISABLED") || !containsFold(o.Capabilities, "STARTTLS") ||
			attemptResult(o.Attempts, "LOGIN", false) != observe.LoginRefused || attemptResult(o.Attempts, "AUTHENTICATE PLAIN", false) != observe.LoginRefused ||
			attemptResult(o.Attempts, "LOGIN", true) != observe.LoginChecked {
			t.Errorf("imap: capabilities %v attempts %+v", o.Capabilities, o.Attempts)
		}
		if o := po[0]; o.Error != "" || !observe.POP3HasCapa(o.Capa, "STLS") || pop3Result(o.Attempts, "USER/PASS", false) != observe.LoginRefused ||
			pop3Result(o.Attempts, "AUTH PLAIN", false) != observe.LoginRefused || pop3Result(o.Attempts, "USER/PASS", true) != observe.LoginChecked {
			t.Errorf("pop3: error %q capa %v attempts %+v", o.Error, o.Capa, o.Attempts)
		}
		v := P1ReceiveAuth(im, po, DefaultPolicy(), time.Time{})
		if v.Outcome != scoring.Pass {
			t.Errorf("P1 %s: %s", v.Outcome, v.Reason)
		}
		checkDovecotVerdict(t, v, d)
		checkFootprint(t, d)
	})
	t.Run("plaintext allowed", func(t *testing.T) {
		t.Parallel()
		d := startDovecot(t, "127.0.0.3", true)
		im, po := scanDovecot(t, d)
		if o := im[0]; attemptResult(o.Attempts, "LOGIN", false) != observe.LoginChecked {
			t.Errorf("imap: attempts %+v error %q", o.Attempts, o.Error)
		}
		if o := po[0]; pop3Result(o.Attempts, "USER/PASS", false) != observe.LoginChecked {
			t.Errorf("pop3: attempts %+v error %q", o.Attempts, o.Error)
		}
		v := P1ReceiveAuth(im, po, DefaultPolicy(), time.Time{})
		if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "cleartext password") {
			t.Errorf("P1 %s: %s", v.Outcome, v.Reason)
		}
		checkDovecotVerdict(t, v, d)
		// Over implicit TLS alone the same server protects passwords.
		if v := P1ReceiveAuth(im[1:], po[1:], DefaultPolicy(), time.Time{}); v.Outcome != scoring.Pass {
			t.Errorf("imaps and pop3s alone: %s (%s)", v.Outcome, v.Reason)
		}
	})
}

// TestP1DovecotNoTLS scans real Dovecot instances without any TLS (ssl =
// no): offering only CRAM-MD5, or no login at all (the plaintext
// mechanisms refused by disable_plaintext_auth), no password can cross in
// the clear and P1 passes with that reason; with plaintext allowed, it
// fails.
func TestP1DovecotNoTLS(t *testing.T) {
	cases := []struct {
		name, addr string
		cfg        daemon.DovecotConfig
		want       scoring.Outcome
		reason     string
	}{
		{"cram-md5 only", "127.0.2.10", daemon.DovecotConfig{NoTLS: true, Mechanisms: "cram-md5"}, scoring.Pass,
			"no TLS, and no login that sends a password in the clear is offered (LOGINDISABLED, AUTH=CRAM-MD5): no password can cross in the clear"},
		{"no login at all", "127.0.2.11", daemon.DovecotConfig{NoTLS: true}, scoring.Pass,
			"(no USER, no SASL mechanism): no password can cross in the clear"},
		{"plaintext allowed", "127.0.2.12", daemon.DovecotConfig{NoTLS: true, Plaintext: true}, scoring.Fail,
			"accepts a cleartext password and has no TLS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.cfg.Addr = c.addr
			d := startDovecotConfig(t, c.cfg)
			im, po := scanDovecot(t, d)
			if len(im) != 1 || len(po) != 1 {
				t.Fatalf("%d imap and %d pop3 observations", len(im), len(po))
			}
			for _, o := range im {
				if o.StartTLS != nil || o.TLS != nil || containsFold(o.Capabilities, "STARTTLS") {
					t.Errorf("imap has TLS: %v %+v", o.Capabilities, o.StartTLS)
				}
			}
			if o := po[0]; o.STLS != nil || observe.POP3HasCapa(o.Capa, "STLS") {
				t.Errorf("pop3 has TLS: %v", o.Capa)
			}
			if c.want == scoring.Pass {
				if o := im[0]; o.Error != "" || attemptResult(o.Attempts, "LOGIN", false) != observe.LoginRefused ||
					attemptResult(o.Attempts, "AUTHENTICATE PLAIN", false) != observe.LoginRefused || !containsFold(o.Capabilities, "LOGINDISABLED") {
					t.Errorf("imap: error %q capabilities %v attempts %+v", o.Error, o.Capabilities, o.Attempts)
				}
				if o := po[0]; o.Error != "" || observe.POP3HasCapa(o.Capa, "USER") || pop3Result(o.Attempts, "USER/PASS", false) != observe.LoginRefused ||
					pop3Result(o.Attempts, "AUTH PLAIN", false) != observe.LoginRefused {
					t.Errorf("pop3: error %q capa %v attempts %+v", o.Error, o.Capa, o.Attempts)
				}
			}
			v := P1ReceiveAuth(im, po, DefaultPolicy(), time.Time{})
			if v.Outcome != c.want || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("P1 %s (%s), want %s containing %q", v.Outcome, v.Reason, c.want, c.reason)
			}
			checkDovecotVerdict(t, v, d)
			checkFootprint(t, d)
		})
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func checkDovecotVerdict(t *testing.T, v scoring.Verdict, d *dovecot) {
	t.Helper()
	if len(v.Evidence) == 0 {
		t.Error("no evidence")
	}
	for _, e := range v.Evidence {
		if !strings.HasPrefix(e, d.addr.String()+":") {
			t.Errorf("evidence %q", e)
		}
	}
	if testing.Verbose() {
		t.Logf("%s: %s", v.Outcome, v.Reason)
		for _, e := range v.Evidence {
			t.Logf("  %s", e)
		}
	}
}

// checkFootprint checks that the server's log shows the fake user, as
// the README says.
func checkFootprint(t *testing.T, d *dovecot) {
	t.Helper()
	log, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("user=<kensa-probe-nonexistent>")) {
		t.Errorf("the fake user is not in Dovecot's log:\n%s", log)
	}
	if testing.Verbose() {
		t.Logf("dovecot log:\n%s", log)
	}
}
