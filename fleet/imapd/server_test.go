package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/scoring"
)

func dialGreeting(t *testing.T, addr string, implicit bool) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	var c net.Conn
	var err error
	if implicit {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return c, br, strings.TrimRight(line, "\r\n")
}

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
	}
	for _, c := range cases {
		srv, err := Start("127.0.0.1:0", Config{Profile: c.p, ImplicitTLS: c.implicit, Banner: "Dovecot ready."})
		if err != nil {
			t.Fatal(err)
		}
		conn, _, g := dialGreeting(t, srv.Addr().String(), c.implicit)
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
	defer srv.Close()
	begin := time.Now()
	conn, br, _ := dialGreeting(t, srv.Addr().String(), false)
	defer conn.Close()
	fmt.Fprintf(conn, "a NOOP\r\n")
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("two replies in %v, want at least 2 × 150ms", took)
	}
}

func TestCloseEndsConnections(t *testing.T) {
	for _, p := range []Profile{TLSRequired, Silent} {
		srv, err := Start("127.0.0.1:0", Config{Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if err := srv.Close(); err != nil {
			t.Errorf("%s: close: %v", p, err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("%s: connection still open after Close", p)
				}
				break
			}
		}
		conn.Close()
		if _, err := net.Dial("tcp", srv.Addr().String()); err == nil {
			t.Errorf("%s: still listening", p)
		}
	}
}

func TestUnknownProfile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), ln, Config{Profile: "nonsense"}); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestTruth(t *testing.T) {
	want := map[Profile]scoring.Outcome{
		TLSRequired: scoring.Pass, Plaintext: scoring.Fail, NoTLS: scoring.Fail, LoginDisabledLie: scoring.Fail,
		PreAuth: scoring.Fail, Anonymous: scoring.Fail, WeakTLS: scoring.Pass,
		Silent: scoring.Unknown, Garbage: scoring.Unknown, EndlessLine: scoring.Unknown, HugeLiteral: scoring.Unknown, Reset: scoring.Unknown,
	}
	for _, p := range Profiles() {
		if got := Truth(p); got != want[p] {
			t.Errorf("%s: %s, want %s", p, got, want[p])
		}
		if p.Hostile() != (want[p] == scoring.Unknown) {
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
	n := 400
	if testing.Short() {
		n = 50
	}
	before := runtime.NumGoroutine()
	var srvs []*Server
	for i := 0; i < n; i++ {
		p := Profiles()[i%len(Profiles())]
		srv, err := Start(fmt.Sprintf("127.0.%d.%d:0", 40+i/250, 1+i%250), Config{Profile: p, ImplicitTLS: i%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		srvs = append(srvs, srv)
	}
	if g := runtime.NumGoroutine() - before; g > 2*n {
		t.Errorf("%d goroutines for %d idle servers", g, n)
	}
	for _, s := range srvs {
		s.Close()
	}
}
