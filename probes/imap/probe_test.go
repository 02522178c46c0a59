package imap

import (
	"context"
	"encoding/json"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/internal/probetest"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// testEnv has short limits, so hostile servers end tests quickly.
func testEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 500 * time.Millisecond, MaxLine: 4096, MaxBytes: 256 << 10}}
}

func start(t *testing.T, cfg imapd.Config) observe.Target {
	t.Helper()
	srv, err := imapd.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	service := "imap"
	if cfg.ImplicitTLS {
		service = "imaps"
	}
	return observe.Target{Service: service, Addr: netip.MustParseAddrPort(srv.Addr().String())}
}

func probe(t *testing.T, cfg imapd.Config) *observe.IMAP {
	t.Helper()
	tg := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	obs := Probe(ctx, testEnv(), tg, Options{})
	if testing.Verbose() {
		b, _ := json.MarshalIndent(obs, "", "  ")
		t.Logf("%s", b)
	}
	return obs
}

func results(obs *observe.IMAP) map[string]observe.LoginResult {
	m := map[string]observe.LoginResult{}
	for _, a := range obs.Attempts {
		key := a.Method
		if a.TLS {
			key += "/tls"
		}
		m[key] = a.Result
	}
	return m
}

func TestTLSRequired(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.TLSRequired, Banner: "Dovecot ready."})
	if obs.Error != "" || !obs.Reachable {
		t.Fatalf("error %q", obs.Error)
	}
	if !strings.HasSuffix(obs.Greeting, "Dovecot ready.") || obs.PreAuth {
		t.Errorf("greeting %q", obs.Greeting)
	}
	if !observe.HasIMAPCap(obs.Capabilities, "LOGINDISABLED") || !observe.HasIMAPCap(obs.Capabilities, "STARTTLS") {
		t.Errorf("capabilities %v", obs.Capabilities)
	}
	if obs.StartTLS == nil || obs.StartTLS.Result != "ok" || obs.TLS == nil || obs.TLS.Version == "" {
		t.Fatalf("starttls %+v tls %+v", obs.StartTLS, obs.TLS)
	}
	if !observe.HasIMAPCap(obs.CapabilitiesAfterTLS, "AUTH=PLAIN") || observe.HasIMAPCap(obs.CapabilitiesAfterTLS, "LOGINDISABLED") {
		t.Errorf("capabilities after TLS %v", obs.CapabilitiesAfterTLS)
	}
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginRefused, "AUTHENTICATE PLAIN": observe.LoginRefused, "AUTHENTICATE ANONYMOUS": observe.LoginRefused, "LOGIN/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	for _, a := range obs.Attempts {
		if !a.TLS && !strings.Contains(a.Reply, "PRIVACYREQUIRED") {
			t.Errorf("reply %q", a.Reply)
		}
	}
	if obs.AnonymousOffered() {
		t.Error("anonymous offered")
	}
	if len(obs.Banners()) != 1 {
		t.Errorf("banners %v", obs.Banners())
	}
}

func TestPlaintext(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.Plaintext})
	// After the first cleartext password taken, only anonymous login.
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginChecked, "AUTHENTICATE ANONYMOUS": observe.LoginRefused, "LOGIN/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" {
		t.Errorf("attempts %v, want %v; error %q", got, want, obs.Error)
	}
}

func TestNoTLS(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.NoTLS})
	if obs.StartTLS != nil || obs.TLS != nil || obs.Error != "" {
		t.Errorf("starttls %+v tls %+v error %q", obs.StartTLS, obs.TLS, obs.Error)
	}
	if r := results(obs); r["LOGIN"] != observe.LoginChecked {
		t.Errorf("attempts %v", r)
	}
}

func TestLoginDisabledLie(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.LoginDisabledLie})
	if !observe.HasIMAPCap(obs.Capabilities, "LOGINDISABLED") {
		t.Errorf("capabilities %v", obs.Capabilities)
	}
	r := results(obs)
	if r["LOGIN"] != observe.LoginRefused || r["AUTHENTICATE PLAIN"] != observe.LoginChecked {
		t.Errorf("attempts %v", r)
	}
}

// TestBareRefusal: a NO or BAD without code or text before STARTTLS is
// not a refusal, LOGINDISABLED or not.
func TestBareRefusal(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.BareRefusal})
	if !observe.HasIMAPCap(obs.Capabilities, "LOGINDISABLED") || !observe.HasIMAPCap(obs.Capabilities, "STARTTLS") {
		t.Errorf("capabilities %v", obs.Capabilities)
	}
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginUnclear, "AUTHENTICATE PLAIN": observe.LoginUnclear, "AUTHENTICATE ANONYMOUS": observe.LoginUnclear, "LOGIN/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" {
		t.Errorf("attempts %v, want %v; error %q", got, want, obs.Error)
	}
	for _, a := range obs.Attempts {
		if a.TLS {
			continue
		}
		if f := strings.Fields(a.Reply); len(f) != 2 || (f[1] != "NO" && f[1] != "BAD") || !strings.Contains(a.Why, "without a reason") {
			t.Errorf("%s: reply %q why %q", a.Method, a.Reply, a.Why)
		}
	}
}

// TestChallengeOnly: Dovecot's refusals without TLS are refusals.
func TestChallengeOnly(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.ChallengeOnly})
	if obs.StartTLS != nil || obs.TLS != nil || obs.Error != "" || !observe.HasIMAPCap(obs.Capabilities, "LOGINDISABLED") || !observe.HasIMAPCap(obs.Capabilities, "AUTH=CRAM-MD5") {
		t.Errorf("starttls %+v tls %+v error %q capabilities %v", obs.StartTLS, obs.TLS, obs.Error, obs.Capabilities)
	}
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginRefused, "AUTHENTICATE PLAIN": observe.LoginRefused, "AUTHENTICATE ANONYMOUS": observe.LoginRefused}
	if got := results(obs); !maps.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
}

// TestNoTLSBare: a bare NO to LOGIN and AUTHENTICATE is not a refusal.
func TestNoTLSBare(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.NoTLSBare})
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginUnclear, "AUTHENTICATE PLAIN": observe.LoginUnclear, "AUTHENTICATE LOGIN": observe.LoginUnclear, "AUTHENTICATE ANONYMOUS": observe.LoginRefused}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" {
		t.Errorf("attempts %v, want %v; error %q", got, want, obs.Error)
	}
}

func TestPreAuth(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.PreAuth})
	if !obs.PreAuth || obs.GreetingStatus != "PREAUTH" || obs.Error != "" {
		t.Errorf("preauth %v status %q error %q", obs.PreAuth, obs.GreetingStatus, obs.Error)
	}
}

func TestAnonymous(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.Anonymous})
	r := results(obs)
	if r["AUTHENTICATE ANONYMOUS/tls"] != observe.LoginLoggedIn || !obs.AnonymousOffered() {
		t.Errorf("attempts %v", r)
	}
}

func TestImplicitTLS(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.TLSRequired, ImplicitTLS: true})
	if obs.Error != "" || obs.TLS == nil || obs.TLS.Version != "TLS 1.3" || !obs.ImplicitTLS {
		t.Fatalf("error %q tls %+v", obs.Error, obs.TLS)
	}
	if r := results(obs); !maps.Equal(r, map[string]observe.LoginResult{"LOGIN/tls": observe.LoginChecked, "AUTHENTICATE ANONYMOUS/tls": observe.LoginRefused}) {
		t.Errorf("attempts %v", r)
	}
	obs = probe(t, imapd.Config{Profile: imapd.Anonymous, ImplicitTLS: true})
	if r := results(obs); r["AUTHENTICATE ANONYMOUS/tls"] != observe.LoginLoggedIn {
		t.Errorf("attempts %v", r)
	}
}

func TestWeakTLS(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.WeakTLS})
	// The probe records the raw facts; rules judges them (at the
	// evaluation date), so the observation carries no weakness itself.
	if obs.TLS == nil || obs.TLS.Version != "TLS 1.0" || obs.TLS.Cipher == "" || obs.TLS.NotAfter.IsZero() || len(obs.TLS.Weak) != 0 {
		t.Fatalf("tls %+v", obs.TLS)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	obs := probe(t, imapd.Config{Profile: imapd.LoginDisabledLie})
	b, _ := json.Marshal(obs)
	all := strings.Join(obs.Transcript, "\n")
	if !strings.Contains(all, "LOGIN \"kensa-probe-nonexistent\" \""+wire.Redacted) || !strings.Contains(all, "AUTHENTICATE PLAIN "+wire.Redacted) {
		t.Errorf("credentials not redacted in the transcript:\n%s", all)
	}
	if strings.Contains(string(b), "kp-") {
		t.Errorf("password in the observation: %s", b)
	}
}

// TestHostile checks that every hostile server gives an error, in time
// and with bounded memory.
func TestHostile(t *testing.T) {
	for _, p := range []imapd.Profile{imapd.Silent, imapd.Garbage, imapd.EndlessLine, imapd.HugeLiteral, imapd.Reset} {
		for _, implicit := range []bool{false, true} {
			name := string(p)
			if implicit {
				name += "/imaps"
			}
			t.Run(name, func(t *testing.T) {
				tg := start(t, imapd.Config{Profile: p, ImplicitTLS: implicit, IdleTimeout: 30 * time.Second})
				probetest.Bounded(t, func(ctx context.Context) *observe.Endpoint { return &Probe(ctx, testEnv(), tg, Options{}).Endpoint })
			})
		}
	}
}

// TestLoginsSideBySide: against a server that delays failed logins and
// delays each later one from the same address more (Dovecot's auth
// penalty), the login over TLS goes side by side with the cleartext
// one, which the server checks too: the server sees one failed login
// begin while the other is delayed. The attempts are those of the
// probe run one after the other, none twice.
func TestLoginsSideBySide(t *testing.T) {
	// A second to overlap in: a TLS handshake under the race detector
	// can take a good part of it.
	pen := imapd.NewPenalty(time.Second)
	ctx, env := probetest.Patient(t, testEnv())
	obs := Probe(ctx, env, start(t, imapd.Config{Profile: imapd.Plaintext, Penalty: pen}), Options{})
	want := map[string]observe.LoginResult{"LOGIN": observe.LoginChecked, "AUTHENTICATE ANONYMOUS": observe.LoginRefused, "LOGIN/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || len(obs.Attempts) != 3 {
		t.Errorf("results %v (%d attempts), want %v", got, len(obs.Attempts), want)
	}
	if obs.StartTLS == nil || obs.StartTLS.Result != "ok" || len(obs.CapabilitiesAfterTLS) == 0 {
		t.Errorf("starttls %+v capabilities after TLS %v", obs.StartTLS, obs.CapabilitiesAfterTLS)
	}
	if n := pen.Overlapped(); n < 1 {
		t.Errorf("the server saw no failed login begin while another was delayed: the logins ran one after the other")
	}
}
