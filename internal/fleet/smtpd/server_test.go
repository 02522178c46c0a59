package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
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
		{RateLimit, "a@ext.example", "<b@other.example>", "451 4.7.1 Rate limit exceeded, try in 60 seconds"},
		{RateLimit, "a@ext.example", `<"b@other.example">`, "451 4.7.1 Rate limit exceeded"},
		{RateLimit, "a@ext.example", "<postmaster@fleet.example>", "451 4.7.1 Rate limit exceeded"},
		{AuthThenDefer, "a@ext.example", "<b@other.example>", "530 5.7.0 Authentication required"},
		{UnknownDomain, "a@ext.example", "<b@other.example>", "450 4.1.2 <b@other.example>: Recipient address rejected: Domain not found"},
		{UnknownDomain, "a@ext.example", "<b%other.example@fleet.example>", "554 5.7.1"},
		{UnknownDomain, "a@ext.example", "<postmaster@fleet.example>", "250 "},
		{NullMX, "a@ext.example", "<b@other.example>", "556 5.1.10 <b@other.example>: Recipient address rejected: Domain other.example does not accept mail (nullMX)"},
		{Unrouteable, "a@ext.example", "<b@other.example>", "550 Unrouteable address"},
		{SubmissionClientRejected, "a@ext.example", "", "530 5.7.0 Must issue a STARTTLS command first"},
		{SubmissionHostnameRejected, "a@ext.example", "", "530 5.7.0 Must issue a STARTTLS command first"},
		{GreetPause, "a@ext.example", "<b@other.example>", "554 5.7.1 <b@other.example>: Relay access denied"},
	}
	for _, tc := range cases {
		s := start(t, "127.0.0.1:0", Config{Profile: tc.p, TLS: true, GreetingDelay: time.Millisecond})
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

// TestAuthThenDefer: the first recipient of a session is refused for
// want of authentication, the others deferred.
func TestAuthThenDefer(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{Profile: AuthThenDefer})
	for range 2 {
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		c.cmd("MAIL FROM:<>")
		if r := c.cmd("RCPT TO:<a@other.example>"); !strings.HasPrefix(r, "530 5.7.0 Authentication required") {
			t.Errorf("first RCPT %q", r)
		}
		for range 3 {
			if r := c.cmd("RCPT TO:<b@other.example>"); !strings.HasPrefix(r, "451 4.3.5 Server configuration problem") {
				t.Errorf("later RCPT %q", r)
			}
		}
		c.cmd("QUIT")
	}
}

// starttls upgrades c and says EHLO again; it returns the EHLO reply.
func (c *client) starttls(name string) string {
	c.t.Helper()
	if r := c.cmd("STARTTLS"); !strings.HasPrefix(r, "220 ") {
		c.t.Fatalf("STARTTLS %q", r)
	}
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true, ServerName: name})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	fmt.Fprintf(c.c, "EHLO probe.example\r\n")
	return strings.Join(c.reply(), "\n")
}

// TestClientRestrictions: Postfix's submission with
// smtpd_client_restrictions = permit_sasl_authenticated, reject (or
// reject_unknown_client_hostname): AUTH inside TLS only, every RCPT
// refused for the client's sake, local or not.
func TestClientRestrictions(t *testing.T) {
	cases := map[Profile]string{
		SubmissionClientRejected:   "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied",
		SubmissionHostnameRejected: "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.1]",
	}
	for p, want := range cases {
		s := start(t, "127.0.0.1:0", Config{Profile: p, TLS: true})
		c := dial(t, s)
		c.reply()
		fmt.Fprintf(c.c, "EHLO probe.example\r\n")
		if e := strings.Join(c.reply(), "\n"); strings.Contains(e, "AUTH") {
			t.Errorf("%s: AUTH in the clear: %s", p, e)
		}
		if e := c.starttls("mx.fleet.example"); !strings.Contains(e, "AUTH PLAIN LOGIN") {
			t.Errorf("%s: no AUTH inside TLS: %s", p, e)
		}
		if r := c.cmd("MAIL FROM:<a@ext.example>"); !strings.HasPrefix(r, "250 ") {
			t.Errorf("%s: MAIL %q", p, r)
		}
		for _, rcpt := range []string{"b@other.example", "postmaster@fleet.example"} {
			if r := c.cmd("RCPT TO:<" + rcpt + ">"); r != want {
				t.Errorf("%s: RCPT %s: %q, want %q", p, rcpt, r, want)
			}
		}
	}
}

// TestGreetPause: Sendmail's greet_pause greets a patient client after
// the pause, and one that speaks first with 554, refusing its commands.
func TestGreetPause(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{Profile: GreetPause, GreetingDelay: 300 * time.Millisecond})
	c := dial(t, s)
	if g := c.reply(); len(g) != 1 || !strings.HasPrefix(g[0], "220 mx.fleet.example") {
		t.Errorf("greeting %q", g)
	}
	c = dial(t, s)
	fmt.Fprintf(c.c, "EHLO early.example\r\n")
	if g := c.reply(); len(g) != 1 || g[0] != "554 mx.fleet.example ESMTP not accepting messages" {
		t.Errorf("greeting of an early talker %q", g)
	}
	c.reply() // the EHLO's reply
	if r := c.cmd("MAIL FROM:<a@ext.example>"); !strings.HasPrefix(r, "550 5.0.0") {
		t.Errorf("early talker's MAIL %q", r)
	}
}

// TestPostscreen: a new client gets the greeting in two parts with a
// pause, no PIPELINING, and 450 4.3.2 to every RCPT; when it comes back
// it talks to smtpd at once. A client that speaks during the pause is
// dropped.
func TestPostscreen(t *testing.T) {
	s := start(t, "127.0.0.1:0", Config{Profile: Postscreen, TLS: true, GreetingDelay: 300 * time.Millisecond})
	c := dial(t, s)
	if g := c.reply(); len(g) != 2 || g[0] != "220-mx.fleet.example ESMTP" || g[1] != "220 mx.fleet.example ESMTP" {
		t.Errorf("first greeting %q", g)
	}
	fmt.Fprintf(c.c, "EHLO probe.example\r\n")
	if e := strings.Join(c.reply(), "\n"); strings.Contains(e, "PIPELINING") || !strings.Contains(e, "STARTTLS") {
		t.Errorf("postscreen's EHLO: %s", e)
	}
	c.cmd("MAIL FROM:<a@ext.example>")
	for _, rcpt := range []string{"<b@other.example>", "<postmaster@fleet.example>", `<"b@other.example">`} {
		if r := c.cmd("RCPT TO:" + rcpt); r != "450 4.3.2 Service currently unavailable" {
			t.Errorf("postscreen's RCPT %s: %q", rcpt, r)
		}
	}
	c.cmd("QUIT")
	c = dial(t, s)
	if g := c.reply(); len(g) != 1 || g[0] != "220 mx.fleet.example ESMTP" {
		t.Errorf("greeting of a client that passed %q", g)
	}
	fmt.Fprintf(c.c, "EHLO probe.example\r\n")
	if e := strings.Join(c.reply(), "\n"); !strings.Contains(e, "PIPELINING") {
		t.Errorf("smtpd's EHLO: %s", e)
	}
	c.cmd("MAIL FROM:<a@ext.example>")
	if r := c.cmd("RCPT TO:<b@other.example>"); !strings.HasPrefix(r, "554 5.7.1") {
		t.Errorf("smtpd's RCPT %q", r)
	}

	s = start(t, "127.0.0.1:0", Config{Profile: Postscreen, GreetingDelay: 300 * time.Millisecond})
	c = dial(t, s)
	fmt.Fprintf(c.c, "EHLO early.example\r\n")
	if g, err := c.br.ReadString('\n'); err != nil || g != "220-mx.fleet.example ESMTP\r\n" {
		t.Fatalf("teaser %q %v", g, err)
	}
	if g, err := c.br.ReadString('\n'); err != nil || g != "521 5.5.1 Protocol error\r\n" {
		t.Errorf("early talker: %q %v", g, err)
	}
	if _, err := c.br.ReadString('\n'); err == nil {
		t.Error("early talker not dropped")
	}
}

// TestLimits: the real daemons' limits, as the servers play them:
// Postfix's error sleep past its soft limit and drop at its hard limit,
// Exim's drop past its syntax-error limit with its words, Sendmail's
// throttle of refused recipients; each counted in Stats.
func TestLimits(t *testing.T) {
	t.Run("postfix", func(t *testing.T) {
		s := start(t, "127.0.0.1:0", Config{Limits: PostfixLimits, SoftErrors: 2, ErrorSleep: 10 * time.Millisecond, DropAfter: 4})
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		c.cmd("MAIL FROM:<>")
		for i := 0; i < 3; i++ {
			if r := c.cmd("RCPT TO:<a@other.example>"); !strings.HasPrefix(r, "554") {
				t.Fatalf("refusal %d: %q", i, r)
			}
		}
		fmt.Fprint(c.c, "RCPT TO:<b@other.example>\r\n")
		c.reply()
		if l, _ := c.br.ReadString('\n'); !strings.Contains(l, "421 4.7.0") || !strings.Contains(l, "too many errors") {
			t.Errorf("after the hard limit: %q", l)
		}
		st := s.Stats()
		// Replies after the second error waited: the third and fourth
		// refusals.
		if st.Slept != 2 || st.Dropped != 1 || st.MaxErrors != 4 || st.Sessions != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("exim", func(t *testing.T) {
		s := start(t, "127.0.0.1:0", Config{Limits: EximLimits, SyntaxErrors: 1})
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		c.cmd("MAIL FROM:<>")
		if r := c.cmd(`RCPT TO:<"relaytest@elsewhere.example">`); !strings.HasPrefix(r, "501") {
			t.Fatalf("first syntax error: %q", r)
		}
		io.WriteString(c.c, `RCPT TO:<"relaytest%elsewhere.example">`+"\r\n")
		r := c.reply()
		if len(r) != 2 || !strings.HasPrefix(r[0], "501-") || r[1] != "501 Too many syntax or protocol errors" {
			t.Errorf("second syntax error: %q", r)
		}
		if _, err := c.br.ReadString('\n'); err == nil {
			t.Error("connection still open")
		}
		if st := s.Stats(); st.Dropped != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("sendmail", func(t *testing.T) {
		s := start(t, "127.0.0.1:0", Config{Limits: SendmailLimits, BadRcptThrottle: 2, ThrottleDelay: 10 * time.Millisecond})
		c := dial(t, s)
		c.reply()
		c.cmd("EHLO probe.example")
		c.cmd("MAIL FROM:<>")
		for i := 0; i < 4; i++ {
			c.cmd("RCPT TO:<a@other.example>")
		}
		if r := c.cmd("QUIT"); !strings.HasPrefix(r, "221") {
			t.Errorf("QUIT: %q", r)
		}
		if st := s.Stats(); st.Slept != 2 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}
