package pop3d

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/servertest"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestBannerAndCapa(t *testing.T) {
	cases := []struct {
		p        Profile
		implicit bool
		capa     string
	}{
		{TLSRequired, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE STLS IMPLEMENTATION kensa-fleet"},
		{Plaintext, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE STLS USER SASL PLAIN LOGIN IMPLEMENTATION kensa-fleet"},
		{NoTLS, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE USER SASL PLAIN LOGIN IMPLEMENTATION kensa-fleet"},
		{LoginDisabledLie, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE STLS IMPLEMENTATION kensa-fleet"},
		{Anonymous, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE STLS SASL ANONYMOUS IMPLEMENTATION kensa-fleet"},
		{TLSRequired, true, "TOP UIDL RESP-CODES AUTH-RESP-CODE USER SASL PLAIN LOGIN IMPLEMENTATION kensa-fleet"},
		{BareRefusal, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE STLS IMPLEMENTATION kensa-fleet"},
		{ChallengeOnly, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE SASL CRAM-MD5 IMPLEMENTATION kensa-fleet"},
		{NoTLSBare, false, "TOP UIDL RESP-CODES AUTH-RESP-CODE USER IMPLEMENTATION kensa-fleet"},
		{BareRefusal, true, "TOP UIDL RESP-CODES AUTH-RESP-CODE USER SASL PLAIN LOGIN IMPLEMENTATION kensa-fleet"},
		{ChallengeOnly, true, "TOP UIDL RESP-CODES AUTH-RESP-CODE USER SASL PLAIN LOGIN IMPLEMENTATION kensa-fleet"},
	}
	for _, c := range cases {
		srv, err := Start("127.0.0.1:0", Config{Profile: c.p, ImplicitTLS: c.implicit, Banner: "Dovecot ready.", APOP: true})
		if err != nil {
			t.Fatal(err)
		}
		conn, br, g := servertest.DialGreeting(t, srv.Addr().String(), c.implicit)
		if !strings.HasPrefix(g, "+OK Dovecot ready. <") || !strings.HasSuffix(g, "@pop3d.kensa.test>") {
			t.Errorf("%s: greeting %q", c.p, g)
		}
		fmt.Fprintf(conn, "CAPA\r\n")
		var capa []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			l = strings.TrimRight(l, "\r\n")
			if l == "." {
				break
			}
			capa = append(capa, l)
		}
		if got := strings.Join(capa[1:], " "); got != c.capa {
			t.Errorf("%s (implicit %v): CAPA %q, want %q", c.p, c.implicit, got, c.capa)
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
	servertest.Latency(t, srv, "NOOP")
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
		Silent: scoring.Unknown, Garbage: scoring.Unknown, EndlessLine: scoring.Unknown, Flood: scoring.Unknown, Reset: scoring.Unknown,
	}
	hostile := map[Profile]bool{Silent: true, Garbage: true, EndlessLine: true, Flood: true, Reset: true}
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
		return Start(fmt.Sprintf("127.0.%d.%d:0", 50+i/250, 1+i%250), Config{Profile: p, ImplicitTLS: i%2 == 1})
	})
}
