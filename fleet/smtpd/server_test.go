package smtpd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/scoring"
)

// client is a raw SMTP client for checking the servers line by line.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// reply reads one reply and returns its lines.
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("after %q: %v", lines, err)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

func (c *client) cmd(line string) string {
	c.t.Helper()
	fmt.Fprintf(c.c, "%s\r\n", line)
	r := c.reply()
	return r[len(r)-1]
}

func start(t *testing.T, addr string, cfg Config) *Server {
	t.Helper()
	s, err := Start(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStartRefusesWildcard(t *testing.T) {
	for _, a := range []string{"0.0.0.0:0", "[::]:0", ":25", "localhost:2525"} {
		if s, err := Start(a, Config{}); err == nil {
			s.Close()
			t.Errorf("Start(%q) accepted", a)
		}
	}
	if _, err := Start("127.0.0.1:0", Config{Profile: "nonesuch"}); err == nil || !strings.Contains(err.Error(), "unknown SMTP fleet profile") {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestGreeting(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{
		Hostname:    "mx9.example.go.jp",
		Banner:      "{host} ESMTP Sendmail 8.15.2/8.15.2; {time}\nsecond line",
		TimeZone:    time.FixedZone("JST", 9*3600),
		ClockOffset: 2 * time.Hour,
	})
	c := dial(t, s)
	g := c.reply()
	if len(g) != 2 || !strings.HasPrefix(g[0], "220-mx9.example.go.jp ESMTP Sendmail 8.15.2/8.15.2; ") || g[1] != "220 second line" {
		t.Fatalf("greeting %q", g)
	}
	stamp := strings.TrimPrefix(g[0], "220-mx9.example.go.jp ESMTP Sendmail 8.15.2/8.15.2; ")
	when, err := time.Parse(DefaultTimeLayout, stamp)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(when); d < 2*time.Hour-5*time.Second || d > 2*time.Hour+5*time.Second {
		t.Errorf("clock offset %v, want 2h", d)
	}
	if _, off := when.Zone(); off != 9*3600 {
		t.Errorf("zone %d", off)
	}
	if r := c.cmd("EHLO probe.example"); !strings.HasPrefix(r, "250 ") {
		t.Errorf("EHLO %q", r)
	}

	s = start(t, "127.0.0.1:0", Config{Profile: Greeting554})
	if g := dial(t, s).reply(); len(g) != 1 || !strings.HasPrefix(g[0], "554 5.7.1 mx.fleet.example") {
		t.Errorf("554 greeting %q", g)
	}
}

func TestRelayAnswers(t *testing.T) {
	cases := []struct {
		p     Profile
		from  string
		rcpt  string
		reply string
	}{
		{Closed, "a@ext.example", "<b@other.example>", "554 5.7.1 <b@other.example>: Relay access denied"},
		{Closed, "a@ext.example", "<postmaster@fleet.example>", "250 "},
		{Closed, "a@ext.example", "<b%other.example@fleet.example>", "554 5.7.1"},
		{Closed, "a@ext.example", `<"b@other.example">`, "501 5.5.2"},
		{OpenRelay, "a@ext.example", "<b@other.example>", "250 "},
		{LocalSender, "a@fleet.example", "<b@other.example>", "250 "},
		{LocalSender, "a@mx.fleet.example", "<b@other.example>", "554 5.7.1"},
		{AddressTrick, "a@ext.example", `<"b@other.example">`, "250 "},
		{AddressTrick, "a@ext.example", `<"b%other.example"@[127.0.0.1]>`, "250 "},
		{AddressTrick, "a@ext.example", `<"b@fleet.example">`, "501 5.5.2"},
		{AddressTrick, "a@ext.example", "<b@other.example>", "554 5.7.1"},
		{RelayDenied454, "a@ext.example", "<b@other.example>", "454 4.7.1 <b@other.example>: Relay access denied"},
		{Greylist, "a@ext.example", "<b@other.example>", "450 4.2.0"},
		{AuthRequired, "a@ext.example", "", "530 5.7.0 Authentication required"},
		{SubmissionAuthBeforeTLS, "a@ext.example", "", "530 5.7.0 Authentication required"},
		{SubmissionAuthAfterTLS, "a@ext.example", "", "530 5.7.0 Must issue a STARTTLS command first"},
		{SubmissionNoAuth, "a@ext.example", "<b@other.example>", "554 5.7.1"},
	}
	for _, tc := range cases {
		s := start(t, "127.0.0.1:0", Config{Profile: tc.p, TLS: true})
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		r := c.cmd("MAIL FROM:<" + tc.from + ">")
		if tc.rcpt != "" {
			if !strings.HasPrefix(r, "250 ") {
				t.Errorf("%s: MAIL answered %q", tc.p, r)
				continue
			}
			r = c.cmd("RCPT TO:" + tc.rcpt)
		}
		if !strings.HasPrefix(r, tc.reply) {
			t.Errorf("%s: %s -> %s: %q, want %q", tc.p, tc.from, tc.rcpt, r, tc.reply)
		}
		// DATA never delivers.
		if r := c.cmd("DATA"); strings.HasPrefix(r, "354") {
			fmt.Fprint(c.c, "Subject: x\r\n\r\nx\r\n.\r\n")
			if r := c.reply(); !strings.HasPrefix(r[0], "554") {
				t.Errorf("%s: message taken: %q", tc.p, r)
			}
		}
	}
}

func TestAddressTrickNeedsMail(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{Profile: AddressTrick})
	c := dial(t, s)
	c.reply()
	c.cmd("EHLO probe.example")
	if r := c.cmd(`RCPT TO:<"b@other.example">`); !strings.HasPrefix(r, "502") {
		t.Errorf("RCPT before MAIL: %q", r)
	}
	c.cmd("MAIL FROM:<>")
	c.cmd("RSET")
	if r := c.cmd(`RCPT TO:<"b@other.example">`); !strings.HasPrefix(r, "502") {
		t.Errorf("RCPT after RSET: %q", r)
	}
}

func TestAuthOffers(t *testing.T) {
	ehlo := func(cfg Config) string {
		s := start(t, "127.0.0.1:0", cfg)
		c := dial(t, s)
		c.reply()
		fmt.Fprintf(c.c, "EHLO probe.example\r\n")
		return strings.Join(c.reply(), "\n")
	}
	if e := ehlo(Config{Profile: SubmissionAuthAfterTLS, TLS: true}); strings.Contains(e, "AUTH") || !strings.Contains(e, "STARTTLS") {
		t.Errorf("auth-after-tls in the clear: %s", e)
	}
	if e := ehlo(Config{Profile: SubmissionAuthBeforeTLS, TLS: true}); !strings.Contains(e, "AUTH PLAIN LOGIN") || !strings.Contains(e, "STARTTLS") {
		t.Errorf("auth-before-tls: %s", e)
	}
	if e := ehlo(Config{Profile: SubmissionNoAuth, TLS: true}); strings.Contains(e, "AUTH") {
		t.Errorf("no-auth: %s", e)
	}
}

func TestDropAfter(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		s := start(t, "127.0.0.1:0", Config{DropAfter: 2, DropQuietly: quiet})
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		c.cmd("MAIL FROM:<>")
		if r := c.cmd("RCPT TO:<a@other.example>"); !strings.HasPrefix(r, "554") {
			t.Fatalf("first refusal %q", r)
		}
		fmt.Fprint(c.c, "RCPT TO:<b@other.example>\r\n")
		if r := c.reply(); !strings.HasPrefix(r[0], "554") {
			t.Fatalf("second refusal %q", r)
		}
		l, err := c.br.ReadString('\n')
		if quiet {
			if err == nil {
				t.Errorf("quiet drop said %q", l)
			}
		} else if !strings.HasPrefix(l, "421 4.7.0") {
			t.Errorf("drop said %q %v", l, err)
		}
		if _, err := c.br.ReadString('\n'); err == nil {
			t.Error("connection still open")
		}
	}
}

func TestTruth(t *testing.T) {
	for _, p := range Profiles() {
		if q, err := ParseProfile(string(p)); err != nil || q != p {
			t.Errorf("ParseProfile(%q) = %q, %v", p, q, err)
		}
		e := Truth(p)
		if !e.A1.Valid() || e.A1 == scoring.NA || !e.X1.Valid() || e.Why == "" || e.Why == "unknown profile" {
			t.Errorf("%s: %+v", p, e)
		}
		if p.Hostile() && (e.A1 != scoring.Unknown || e.X1 != scoring.Unknown) {
			t.Errorf("hostile %s: %+v", p, e)
		}
	}
	if e := (Config{Profile: SubmissionAuthAfterTLS}).Truth(); e.A1 != scoring.Unknown || e.X1 != scoring.Fail {
		t.Errorf("auth-after-tls without TLS: %+v", e)
	}
	if e := (Config{Profile: AuthRequired, ImplicitTLS: true}).Truth(); e.X1 != scoring.Pass {
		t.Errorf("auth-required on smtps: %+v", e)
	}
}

func TestHostileClose(t *testing.T) {
	for _, p := range []Profile{Silent, Drip, EndlessLine, Garbage, Reset} {
		s, err := Start("127.0.0.1:0", Config{Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil && p != Reset {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: Close hangs with a client connected", p)
		}
		if c != nil {
			c.Close()
		}
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, Config{Profile: Closed}) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q %v", l, err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	c.Close()
}

// TestManyServers checks that servers are cheap: a few hundred on their
// own addresses, each answering, and nothing left once closed.
func TestManyServers(t *testing.T) {
	const n = 300
	baseG := runtime.NumGoroutine()
	baseFD := countFDs()
	var servers []*Server
	for i := range n {
		s, err := Start(fmt.Sprintf("127.0.%d.%d:0", 100+i/250, 1+i%250), Config{Profile: Profiles()[i%4], TLS: i%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
	}
	if g := runtime.NumGoroutine() - baseG; g > 2*n {
		t.Errorf("%d goroutines for %d idle servers", g, n)
	}
	if fd := countFDs() - baseFD; baseFD > 0 && fd > n+10 {
		t.Errorf("%d descriptors for %d idle servers", fd, n)
	}
	for _, s := range servers[:20] {
		c := dial(t, s)
		if g := c.reply(); !strings.HasPrefix(g[0], "220 ") {
			t.Errorf("greeting %q", g)
		}
		c.c.Close()
	}
	for _, s := range servers {
		s.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseG+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine() - baseG; g > 5 {
		t.Errorf("%d goroutines left after closing", g)
	}
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// TestAddressTrickPipelined: with pipelined commands the replies come in
// order, the trick recipient accepted in its turn.
func TestAddressTrickPipelined(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{Profile: AddressTrick})
	c := dial(t, s)
	c.reply()
	c.cmd("EHLO probe.example")
	fmt.Fprint(c.c, "MAIL FROM:<a@ext.example>\r\nRCPT TO:<b@other.example>\r\nRCPT TO:<\"b@other.example\">\r\nRCPT TO:<c@other.example>\r\nRSET\r\n")
	want := []string{"250 ", "5", "250 ", "5", "250 "}
	for i, w := range want {
		lines := c.reply()
		if r := lines[len(lines)-1]; !strings.HasPrefix(r, w) {
			t.Fatalf("reply %d: %q, want %q…", i, r, w)
		}
	}
}
