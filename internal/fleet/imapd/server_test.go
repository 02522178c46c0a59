package imapd

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/servertest"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestBannerAndCapabilities(t *testing.T) {
	cases := []struct {
		p        Profile
		implicit bool
		want     string
	}{
		{TLSRequired, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS LOGINDISABLED] Dovecot ready."},
		{Plaintext, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
		{NoTLS, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
		{LoginDisabledLie, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS LOGINDISABLED] Dovecot ready."},
		{PreAuth, false, "* PREAUTH [CAPABILITY IMAP4rev1 SASL-IR LITERAL- UNSELECT ENABLE IDLE UTF8=ACCEPT] Dovecot ready."},
		{TLSRequired, true, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
		{Anonymous, true, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN AUTH=ANONYMOUS] Dovecot ready."},
		{BareRefusal, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS LOGINDISABLED] Dovecot ready."},
		{ChallengeOnly, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- LOGINDISABLED AUTH=CRAM-MD5] Dovecot ready."},
		{NoTLSBare, false, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
		{BareRefusal, true, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
		{ChallengeOnly, true, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN AUTH=LOGIN] Dovecot ready."},
	}
	for _, c := range cases {
		srv, err := Start("127.0.0.1:0", Config{Profile: c.p, ImplicitTLS: c.implicit, Banner: "Dovecot ready."})
		if err != nil {
			t.Fatal(err)
		}
		conn, _, g := servertest.DialGreeting(t, srv.Addr().String(), c.implicit)
		if g != c.want {
			t.Errorf("%s (implicit %v): %q, want %q", c.p, c.implicit, g, c.want)
		}
		conn.Close()
		srv.Close()
	}
}

func TestLatency(t *testing.T) {
	srv, err := Start("127.0.0.1:0", Config{Profile: TLSRequired, Latency: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	servertest.Latency(t, srv, "a NOOP")
}

func TestCloseEndsConnections(t *testing.T) {
	servertest.CloseEndsConnections(t, []Profile{TLSRequired, Silent}, func(p Profile) (servertest.Server, error) {
		return Start("127.0.0.1:0", Config{Profile: p})
	})
}

func TestUnknownProfile(t *testing.T) {
	servertest.UnknownProfile(t, func(ctx context.Context, ln net.Listener) error {
		return Serve(ctx, ln, Config{Profile: "nonsense"})
	})
}

func TestTruth(t *testing.T) {
	want := map[Profile]scoring.Outcome{
		TLSRequired: scoring.Pass, Plaintext: scoring.Fail, NoTLS: scoring.Fail, LoginDisabledLie: scoring.Fail,
		PreAuth: scoring.Fail, Anonymous: scoring.Fail, WeakTLS: scoring.Pass,
		BareRefusal: scoring.Unknown, ChallengeOnly: scoring.Pass, NoTLSBare: scoring.Fail,
		Silent: scoring.Unknown, Garbage: scoring.Unknown, EndlessLine: scoring.Unknown, HugeLiteral: scoring.Unknown, Reset: scoring.Unknown,
	}
	hostile := map[Profile]bool{Silent: true, Garbage: true, EndlessLine: true, HugeLiteral: true, Reset: true}
	for _, p := range Profiles() {
		if got := Truth(p); got != want[p] {
			t.Errorf("%s: %s, want %s", p, got, want[p])
		}
		if p.Hostile() != hostile[p] {
			t.Errorf("%s: hostile %v", p, p.Hostile())
		}
	}
	if TruthFor(WeakTLS, false, true) != scoring.Fail || TruthFor(Plaintext, true, false) != scoring.Pass || TruthFor(PreAuth, true, false) != scoring.Fail {
		t.Error("TruthFor")
	}
}

// TestManyServers starts many servers in one process and checks that an
// idle server costs about one goroutine.
func TestManyServers(t *testing.T) {
	servertest.ManyServers(t, func(i int) (servertest.Server, error) {
		p := Profiles()[i%len(Profiles())]
		return Start(fmt.Sprintf("127.0.%d.%d:0", 40+i/250, 1+i%250), Config{Profile: p, ImplicitTLS: i%2 == 1})
	})
}
