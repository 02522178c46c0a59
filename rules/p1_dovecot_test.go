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
	itest.Need(t, daemon.DovecotMissing())
	d, err := daemon.StartDovecot(daemon.DovecotConfig{Dir: t.TempDir(), Addr: addr, Plaintext: plaintext})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Dovecot")
	return &dovecot{addr: d.Addr, imap: d.IMAP, imaps: d.IMAPS, pop3: d.POP3, pop3s: d.POP3S, log: d.LogPath}
}

// scanDovecot probes the four services from 127.0.0.1.
func scanDovecot(t *testing.T, d *dovecot) ([]*imap.Observation, []*pop3.Observation) {
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
	tg := func(service string, port uint16) wire.Target {
		return wire.Target{Service: service, Addr: netip.AddrPortFrom(d.addr, port)}
	}
	im := []*imap.Observation{
		imap.Probe(ctx, env, tg("imap", d.imap), imap.Options{Password: pass}),
		imap.Probe(ctx, env, tg("imaps", d.imaps), imap.Options{Password: pass}),
	}
	po := []*pop3.Observation{
		pop3.Probe(ctx, env, tg("pop3", d.pop3), pop3.Options{Password: pass}),
		pop3.Probe(ctx, env, tg("pop3s", d.pop3s), pop3.Options{Password: pass}),
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

func attemptResult(attempts []imap.Attempt, method string, tls bool) imap.AuthResult {
	for _, a := range attempts {
		if a.Method == method && a.TLS == tls {
			return a.Result
		}
	}
	return ""
}

func pop3Result(attempts []pop3.Attempt, method string, tls bool) pop3.AuthResult {
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
			attemptResult(o.Attempts, "LOGIN", false) != imap.Refused || attemptResult(o.Attempts, "AUTHENTICATE PLAIN", false) != imap.Refused ||
			attemptResult(o.Attempts, "LOGIN", true) != imap.Checked {
			t.Errorf("imap: capabilities %v attempts %+v", o.Capabilities, o.Attempts)
		}
		if o := po[0]; o.Error != "" || !pop3.HasCapa(o.Capa, "STLS") || pop3Result(o.Attempts, "USER/PASS", false) != pop3.Refused ||
			pop3Result(o.Attempts, "AUTH PLAIN", false) != pop3.Refused || pop3Result(o.Attempts, "USER/PASS", true) != pop3.Checked {
			t.Errorf("pop3: error %q capa %v attempts %+v", o.Error, o.Capa, o.Attempts)
		}
		v := P1(im, po, DefaultPolicy())
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
		if o := im[0]; attemptResult(o.Attempts, "LOGIN", false) != imap.Checked {
			t.Errorf("imap: attempts %+v error %q", o.Attempts, o.Error)
		}
		if o := po[0]; pop3Result(o.Attempts, "USER/PASS", false) != pop3.Checked {
			t.Errorf("pop3: attempts %+v error %q", o.Attempts, o.Error)
		}
		v := P1(im, po, DefaultPolicy())
		if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "cleartext password") {
			t.Errorf("P1 %s: %s", v.Outcome, v.Reason)
		}
		checkDovecotVerdict(t, v, d)
		// Over implicit TLS alone the same server protects passwords.
		if v := P1(im[1:], po[1:], DefaultPolicy()); v.Outcome != scoring.Pass {
			t.Errorf("imaps and pop3s alone: %s (%s)", v.Outcome, v.Reason)
		}
	})
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
