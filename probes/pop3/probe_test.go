package pop3

import (
	"context"
	"encoding/json"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/internal/probetest"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// testEnv has short limits, so hostile servers end tests quickly.
func testEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 500 * time.Millisecond, MaxLine: 4096, MaxBytes: 256 << 10}}
}

func start(t *testing.T, cfg pop3d.Config) observe.Target {
	t.Helper()
	srv, err := pop3d.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	service := "pop3"
	if cfg.ImplicitTLS {
		service = "pop3s"
	}
	return observe.Target{Service: service, Addr: netip.MustParseAddrPort(srv.Addr().String())}
}

func probe(t *testing.T, cfg pop3d.Config) *observe.POP3 {
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

func results(obs *observe.POP3) map[string]observe.LoginResult {
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
	obs := probe(t, pop3d.Config{Profile: pop3d.TLSRequired, Banner: "Dovecot ready.", APOP: true})
	if obs.Error != "" || !obs.Reachable {
		t.Fatalf("error %q", obs.Error)
	}
	if !strings.HasPrefix(obs.Greeting, "+OK Dovecot ready. <") || obs.APOPTimestamp == "" {
		t.Errorf("greeting %q timestamp %q", obs.Greeting, obs.APOPTimestamp)
	}
	if !observe.POP3HasCapa(obs.Capa, "STLS") || observe.POP3HasCapa(obs.Capa, "USER") {
		t.Errorf("capa %v", obs.Capa)
	}
	if obs.STLS == nil || obs.STLS.Result != "ok" || obs.TLS == nil || obs.TLS.Version == "" {
		t.Fatalf("stls %+v tls %+v", obs.STLS, obs.TLS)
	}
	if !observe.POP3HasCapa(obs.CapaAfterTLS, "USER") {
		t.Errorf("capa after TLS %v", obs.CapaAfterTLS)
	}
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginRefused, "AUTH PLAIN": observe.LoginRefused, "AUTH ANONYMOUS": observe.LoginRefused, "USER/PASS/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
	for _, a := range obs.Attempts {
		if !a.TLS && a.Step != "USER" && a.Step != "AUTH" {
			t.Errorf("%s answered at step %q", a.Method, a.Step)
		}
	}
	if obs.AnonymousOffered() {
		t.Error("anonymous offered")
	}
	if b := obs.Banners(); len(b) != 2 || b[1].Kind != "implementation" {
		t.Errorf("banners %v", b)
	}
}

func TestPlaintext(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.Plaintext})
	// After the first cleartext password taken, only anonymous login.
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginChecked, "AUTH ANONYMOUS": observe.LoginRefused, "USER/PASS/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" {
		t.Errorf("attempts %v, want %v; error %q", got, want, obs.Error)
	}
}

func TestNoTLS(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.NoTLS})
	if obs.STLS != nil || obs.TLS != nil || obs.Error != "" {
		t.Errorf("stls %+v tls %+v error %q", obs.STLS, obs.TLS, obs.Error)
	}
	if r := results(obs); r["USER/PASS"] != observe.LoginChecked {
		t.Errorf("attempts %v", r)
	}
}

func TestLoginDisabledLie(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.LoginDisabledLie})
	r := results(obs)
	if r["USER/PASS"] != observe.LoginRefused || r["AUTH PLAIN"] != observe.LoginChecked {
		t.Errorf("attempts %v", r)
	}
}

// TestBareRefusal: a bare -ERR before STLS, to USER or to the AUTH line
// itself, is not a refusal.
func TestBareRefusal(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.BareRefusal})
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginUnclear, "AUTH PLAIN": observe.LoginUnclear, "AUTH ANONYMOUS": observe.LoginUnclear, "USER/PASS/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" {
		t.Errorf("attempts %v, want %v; error %q", got, want, obs.Error)
	}
	for _, a := range obs.Attempts {
		if !a.TLS && (a.Reply != "-ERR" || (a.Step != "USER" && a.Step != "AUTH") || !strings.Contains(a.Why, "without a reason")) {
			t.Errorf("%s: step %q reply %q why %q", a.Method, a.Step, a.Reply, a.Why)
		}
	}
}

// TestChallengeOnly: Dovecot's refusals without TLS are refusals.
func TestChallengeOnly(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.ChallengeOnly})
	if obs.STLS != nil || obs.TLS != nil || obs.Error != "" || observe.POP3HasCapa(obs.Capa, "USER") {
		t.Errorf("stls %+v tls %+v error %q capa %v", obs.STLS, obs.TLS, obs.Error, obs.Capa)
	}
	if m := observe.POP3Mechanisms(obs.Capa); len(m) != 1 || m[0] != "CRAM-MD5" {
		t.Errorf("mechanisms %v", m)
	}
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginRefused, "AUTH PLAIN": observe.LoginRefused, "AUTH ANONYMOUS": observe.LoginRefused}
	if got := results(obs); !maps.Equal(got, want) {
		t.Errorf("attempts %v, want %v", got, want)
	}
}

// TestNoTLSBare: a bare -ERR to USER is not a refusal; AUTH without SASL
// is refused as an unknown command.
func TestNoTLSBare(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.NoTLSBare})
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginUnclear, "AUTH PLAIN": observe.LoginRefused, "AUTH ANONYMOUS": observe.LoginRefused}
	if got := results(obs); !maps.Equal(got, want) || obs.Error != "" || !observe.POP3HasCapa(obs.Capa, "USER") {
		t.Errorf("attempts %v, want %v; error %q capa %v", got, want, obs.Error, obs.Capa)
	}
}

func TestPreAuth(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.PreAuth})
	if r := results(obs); r["USER/PASS"] != observe.LoginLoggedIn || r["USER/PASS/tls"] != observe.LoginLoggedIn {
		t.Errorf("attempts %v", r)
	}
}

func TestAnonymous(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.Anonymous})
	r := results(obs)
	if r["AUTH ANONYMOUS"] != observe.LoginLoggedIn || !obs.AnonymousOffered() {
		t.Errorf("attempts %v", r)
	}
}

func TestImplicitTLS(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.TLSRequired, ImplicitTLS: true})
	if obs.Error != "" || obs.TLS == nil || obs.TLS.Version != "TLS 1.3" || !obs.ImplicitTLS || obs.STLS != nil {
		t.Fatalf("error %q tls %+v", obs.Error, obs.TLS)
	}
	if r := results(obs); !maps.Equal(r, map[string]observe.LoginResult{"USER/PASS/tls": observe.LoginChecked, "AUTH ANONYMOUS/tls": observe.LoginRefused}) {
		t.Errorf("attempts %v", r)
	}
}

func TestWeakTLS(t *testing.T) {
	obs := probe(t, pop3d.Config{Profile: pop3d.WeakTLS})
	// The probe records the raw facts; rules judges them (at the
	// evaluation date), so the observation carries no weakness itself.
	if obs.TLS == nil || obs.TLS.Version != "TLS 1.0" || obs.TLS.Cipher == "" || obs.TLS.NotAfter.IsZero() || len(obs.TLS.Weak) != 0 {
		t.Fatalf("tls %+v", obs.TLS)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	for p, want := range map[pop3d.Profile]string{pop3d.NoTLS: "C: PASS " + wire.Redacted, pop3d.LoginDisabledLie: "C: " + wire.Redacted} {
		obs := probe(t, pop3d.Config{Profile: p})
		all := strings.Join(obs.Transcript, "\n")
		if !strings.Contains(all, want) {
			t.Errorf("%s: no %q in the transcript:\n%s", p, want, all)
		}
		b, _ := json.Marshal(obs)
		if strings.Contains(string(b), "kp-") {
			t.Errorf("%s: password in the observation: %s", p, b)
		}
	}
}

// TestHostile checks that every hostile server gives an error, in time
// and with bounded memory.
func TestHostile(t *testing.T) {
	for _, p := range []pop3d.Profile{pop3d.Silent, pop3d.Garbage, pop3d.EndlessLine, pop3d.Flood, pop3d.Reset} {
		for _, implicit := range []bool{false, true} {
			name := string(p)
			if implicit {
				name += "/pop3s"
			}
			t.Run(name, func(t *testing.T) {
				tg := start(t, pop3d.Config{Profile: p, ImplicitTLS: implicit, IdleTimeout: 30 * time.Second})
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
	pen := pop3d.NewPenalty(time.Second)
	ctx, env := probetest.Patient(t, testEnv())
	obs := Probe(ctx, env, start(t, pop3d.Config{Profile: pop3d.Plaintext, Penalty: pen}), Options{})
	want := map[string]observe.LoginResult{"USER/PASS": observe.LoginChecked, "AUTH ANONYMOUS": observe.LoginRefused, "USER/PASS/tls": observe.LoginChecked}
	if got := results(obs); !maps.Equal(got, want) || len(obs.Attempts) != 3 {
		t.Errorf("results %v (%d attempts), want %v", got, len(obs.Attempts), want)
	}
	if obs.STLS == nil || obs.STLS.Result != "ok" || len(obs.CapaAfterTLS) == 0 {
		t.Errorf("stls %+v capa after TLS %v", obs.STLS, obs.CapaAfterTLS)
	}
	if n := pen.Overlapped(); n < 1 {
		t.Errorf("the server saw no failed login begin while another was delayed: the logins ran one after the other")
	}
}

// TestLoginPairAcrossServices: a POP3 login sends USER and waits for its
// answer before the PASS that carries the password, while an IMAP login
// carries it in its first line. Against a host whose mailbox services
// share one Dovecot-like penalty, and whose POP3 service answers slowly,
// the two first logins still reach it together (the server's login
// gate holds both password lines until both are ready), so that neither
// is recorded as a failure before the other began: no login waits for
// the penalty. Sent as soon as each probe was ready, the IMAP failure
// would be recorded 0.1 s after it came and the POP3 one, 0.3 s later,
// would wait for the penalty.
func TestLoginPairAcrossServices(t *testing.T) {
	pen := pop3d.NewPenalty(100 * time.Millisecond)
	pen.Lookup = 100 * time.Millisecond
	po := start(t, pop3d.Config{ImplicitTLS: true, Latency: 300 * time.Millisecond, Penalty: pen})
	srv, err := imapd.Start("127.0.0.1:0", imapd.Config{ImplicitTLS: true, Penalty: pen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	im := observe.Target{Service: "imaps", Addr: netip.MustParseAddrPort(srv.Addr().String())}

	gate := wire.NewLoginGate(wire.DefaultLoginWindow, nil)
	ctx, env := probetest.Patient(t, testEnv())
	env.Logins = gate
	opts := Options{Password: "kp-pair-test"}
	gate.Expect()
	gate.Expect()
	imDone := make(chan *observe.IMAP, 1)
	go func() {
		defer gate.Done()
		imDone <- imap.Probe(ctx, env, im, opts)
	}()
	poObs := Probe(ctx, env, po, opts)
	gate.Done()
	imObs := <-imDone
	if poObs.Error != "" || imObs.Error != "" {
		t.Fatalf("probe errors: pop3s %q, imaps %q", poObs.Error, imObs.Error)
	}
	if r := results(poObs)["USER/PASS/tls"]; r != observe.LoginChecked {
		t.Errorf("pop3s USER/PASS: %s", r)
	}
	if n := pen.Penalised(); n != 0 {
		t.Errorf("%d failed logins waited for the penalty: the first logins did not reach the server together", n)
	}
}
