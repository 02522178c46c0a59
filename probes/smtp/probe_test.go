package smtp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// nextHost hands each test server its own loopback address.
var nextHost atomic.Uint32

func loopback() string {
	n := nextHost.Add(1)
	return fmt.Sprintf("127.0.%d.%d", 40+n/250, 1+n%250)
}

func startFleet(t *testing.T, cfg smtpd.Config) *smtpd.Server {
	t.Helper()
	srv, err := smtpd.Start(loopback()+":0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// env returns test limits: reads time out after rt.
func env(rt time.Duration) wire.Env {
	return wire.Env{Limits: wire.Limits{ReadTimeout: rt, DialTimeout: 2 * time.Second}}
}

func probe(t *testing.T, e wire.Env, service string, ap netip.AddrPort, opts smtp.Options) *observe.SMTP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The trace holds every line, also those the transcript leaves to
	// the relay tests.
	var trace bytes.Buffer
	if e.Tracer == nil {
		e.Tracer = wire.NewTracer(&trace)
	}
	obs := smtp.Probe(ctx, e, observe.Target{Service: service, Addr: ap}, opts)
	if obs == nil {
		t.Fatal("Probe returned nil")
	}
	traces.Store(obs, traceLines(trace.String()))
	rawTraces.Store(obs, trace.String())
	if _, err := json.Marshal(obs); err != nil {
		t.Fatalf("observation does not marshal: %v", err)
	}
	return obs
}

func results(o *observe.SMTP) map[observe.RelayOutcome]int {
	m := map[observe.RelayOutcome]int{}
	if o.Relay != nil {
		for _, t := range o.Relay.Tests {
			m[t.Result]++
		}
	}
	return m
}

// traceLines2 returns the whole trace of o as "cN DIR: line", each line
// with the connection it went over.
func traceLines2(o *observe.SMTP) []string {
	v, _ := rawTraces.Load(o)
	s, _ := v.(string)
	re := regexp.MustCompile(`^\S+ \S+ (c\d+) \+\d+ms (.*)$`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+" "+m[2])
		}
	}
	return out
}

// traces holds the whole conversation of each observation probe made,
// rawTraces its trace as written.
var traces, rawTraces sync.Map

// traceLines turns trace output ("address service C: line") into
// transcript lines ("C: line").
func traceLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		for _, dir := range []string{" C: ", " S: ", " *: "} {
			if i := strings.Index(l, dir); i >= 0 {
				out = append(out, l[i+1:])
				break
			}
		}
	}
	return out
}

// conversation returns every line of o's conversation: the trace when
// probe recorded one, the transcript otherwise.
func conversation(o *observe.SMTP) []string {
	if v, ok := traces.Load(o); ok {
		return v.([]string)
	}
	return o.Transcript
}

// neverData checks the conversation: no DATA (nor BDAT) ever, RSET
// between tests, QUIT at the end when the session ended normally.
func neverData(t *testing.T, o *observe.SMTP) {
	t.Helper()
	if _, ok := traces.Load(o); !ok {
		t.Fatal("neverData needs the whole conversation: probe with a tracer")
	}
	for _, l := range conversation(o) {
		u := strings.ToUpper(l)
		if strings.HasPrefix(u, "C: DATA") || strings.HasPrefix(u, "C: BDAT") {
			t.Fatalf("probe sent %q", l)
		}
	}
}

func TestProbeClosed(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Closed, TLS: true, Hostname: "mx1.soumu.example"})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{})
	if o.Error != "" || !o.Reachable {
		t.Fatalf("error %q reachable %v", o.Error, o.Reachable)
	}
	if o.Greeting.Code != 220 || o.ServerName != "mx1.soumu.example" || o.ServerNameFrom != "greeting" {
		t.Errorf("greeting %v name %q from %q", o.Greeting, o.ServerName, o.ServerNameFrom)
	}
	if o.Hello == nil || o.Hello.Command != "EHLO" || !o.Hello.StartTLS || o.Hello.Auth || o.Hello.TLS {
		t.Errorf("hello %+v", o.Hello)
	}
	if o.StartTLS == nil || !o.StartTLS.OK || o.TLS == nil || o.TLS.Error != "" || o.TLS.Version == "" {
		t.Errorf("starttls %+v tls %+v", o.StartTLS, o.TLS)
	}
	if !o.TLS.SelfSigned || !o.TLS.NameChecked || o.TLS.CheckedName != "mx1.soumu.example" {
		t.Errorf("certificate checks %+v", o.TLS)
	}
	if o.HelloTLS == nil || !o.HelloTLS.TLS || !o.HelloTLS.OK() || o.HelloTLS.StartTLS {
		t.Errorf("hello after TLS %+v", o.HelloTLS)
	}
	if o.Relay == nil || o.Relay.Planned != 17 || o.Relay.Literal != "["+srv.AddrPort().Addr().String()+"]" {
		t.Fatalf("relay %+v", o.Relay)
	}
	if r := results(o); r[observe.RelayRefused] != 17 || len(o.Relay.Tests) != 17 {
		t.Errorf("results %v", r)
	}
	if got := o.Relay.LocalDomains; len(got) != 1 || got[0] != "soumu.example" {
		t.Errorf("local domains %q", got)
	}
	// The raw forms went on the wire verbatim.
	want := map[int]string{
		7:  `RCPT TO:<"relaytest@kensa-relay-test.example">`,
		12: "RCPT TO:<@[" + srv.AddrPort().Addr().String() + "]:relaytest@kensa-relay-test.example>",
		16: "RCPT TO:<kensa-relay-test.example!relaytest@mx1.soumu.example>",
		17: "RCPT TO:<relaytest@kensa-relay-test.example>",
	}
	for _, tt := range o.Relay.Tests {
		if w, ok := want[tt.ID]; ok && tt.RcptCommand != w {
			t.Errorf("test %d sent %q, want %q", tt.ID, tt.RcptCommand, w)
		}
	}
	if tt := o.Relay.Tests[16]; tt.MailCommand != "MAIL FROM:<antispam@soumu.example>" {
		t.Errorf("local-sender test sent %q", tt.MailCommand)
	}
	neverData(t, o)
	rsets, mails := 0, 0
	for _, l := range conversation(o) {
		switch {
		case l == "C: RSET":
			rsets++
		case strings.HasPrefix(l, "C: MAIL FROM"):
			mails++
		}
	}
	// Transactions of one sender each (<>, antispam@D, antispam@S,
	// antispam@[I] for tests 4 to 16, the local sender), cut so that no
	// session gets more than 9 error replies; each ends with RSET, every
	// test has its RCPT, and every session ends with QUIT.
	rcpts, quits, sessions := 0, 0, 0
	perSession := map[string]int{}
	for _, l := range traceLines2(o) {
		conn, line, _ := strings.Cut(l, " ")
		switch {
		case strings.HasPrefix(line, "C: RCPT TO"):
			rcpts++
		case line == "C: QUIT":
			quits++
		case strings.HasPrefix(line, "S: 220 ") && !strings.Contains(line, "TLS"):
			sessions++
		case strings.HasPrefix(line, "S: 4") || strings.HasPrefix(line, "S: 5"):
			perSession[conn]++
		}
	}
	if rsets != mails || mails < 5 || rcpts != 17 || quits != sessions || sessions != o.Relay.Sessions {
		t.Errorf("%d MAIL, %d RCPT, %d RSET, %d QUIT, %d sessions (observation: %d)", mails, rcpts, rsets, quits, sessions, o.Relay.Sessions)
	}
	for conn, n := range perSession {
		if n > 9 {
			t.Errorf("connection %s received %d error replies", conn, n)
		}
	}
	kinds := []string{}
	for _, b := range o.Banners() {
		kinds = append(kinds, b.Kind)
	}
	if strings.Join(kinds, ",") != "greeting,ehlo,ehlo" {
		t.Errorf("banners %q", kinds)
	}
}

func TestProbeGreetingTime(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	srv := startFleet(t, smtpd.Config{
		Profile: smtpd.Closed, Hostname: "mail.example.go.jp",
		Banner:      "{host} ESMTP Sendmail 8.15.2/8.15.2; {time}",
		TimeZone:    jst,
		ClockOffset: -90 * time.Second,
	})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{SkipRelay: true})
	ts := o.GreetingTime
	if ts == nil {
		t.Fatalf("no greeting time in %v", o.Greeting)
	}
	off := ts.Server.Sub(ts.Received)
	if off > -88*time.Second || off < -92*time.Second {
		t.Errorf("offset %v, want about -90s (%+v)", off, ts)
	}
	if _, z := ts.Server.Zone(); z != 9*3600 || ts.ResolutionMS != 1000 || ts.Service != "smtp" || ts.Port != int(srv.AddrPort().Port()) {
		t.Errorf("sample %+v", ts)
	}
	if o.Relay != nil {
		t.Error("relay test ran although skipped")
	}
}

func TestProbeSMTPS(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, ImplicitTLS: true})
	o := probe(t, env(3*time.Second), "smtps", srv.AddrPort(), smtp.Options{})
	if !o.ImplicitTLS || o.TLS == nil || o.TLS.Error != "" || o.StartTLS != nil {
		t.Fatalf("implicit %v tls %+v starttls %+v err %q", o.ImplicitTLS, o.TLS, o.StartTLS, o.Error)
	}
	if o.Hello == nil || !o.Hello.TLS || !o.Hello.Auth || len(o.Hello.AuthMechanisms) != 2 {
		t.Errorf("hello %+v", o.Hello)
	}
	if r := results(o); r[observe.RelayRefused] != 17 || !o.Relay.AuthRequired {
		t.Errorf("results %v", r)
	}
	for _, tt := range o.Relay.Tests {
		if !tt.TLS {
			t.Errorf("test %d not inside TLS", tt.ID)
		}
	}
}

// TestProbeTLSResumes: the relay test's later TLS sessions resume an
// earlier one, over implicit TLS and over STARTTLS, while the session
// the probe observes is a full one with the certificate. One session at
// a time, so that a session's ticket has arrived before the next opens
// (sessions opened side by side at the start cannot resume each other),
// against servers whose limits make the test take several sessions (a
// Sendmail throttle over implicit TLS; over STARTTLS, a submission
// server that wants TLS first: the check of STARTTLS and the relay test
// take sessions of their own).
func TestProbeTLSResumes(t *testing.T) {
	for _, c := range []struct {
		service string
		cfg     smtpd.Config
	}{
		{"smtps", smtpd.Config{Profile: smtpd.Closed, ImplicitTLS: true, Limits: smtpd.SendmailLimits}},
		{"submission", smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true, Limits: smtpd.EximLimits}},
	} {
		t.Run(c.service, func(t *testing.T) {
			srv := startFleet(t, c.cfg)
			o := probe(t, env(3*time.Second), c.service, srv.AddrPort(), smtp.Options{Parallel: 1})
			if r := results(o); r[observe.RelayRefused] != 17 {
				t.Errorf("results %v", r)
			}
			resumedTLS(t, o)
		})
	}
}

// resumedTLS checks that the TLS session the probe observes is a full
// one, with the server's certificate, and that the relay test's
// sessions resumed it instead of making the server sign again.
func resumedTLS(t *testing.T, o *observe.SMTP) {
	t.Helper()
	if o.TLS == nil || o.TLS.Subject == "" || o.TLS.Fingerprint == "" {
		t.Errorf("observed TLS session without its certificate: %+v", o.TLS)
	}
	var full, resumed int
	for _, l := range traceLines2(o) {
		if strings.Contains(l, "TLS established") {
			if strings.HasSuffix(l, "(resumed)") {
				resumed++
			} else {
				full++
			}
		}
	}
	// One session at a time: the observed session is full and keeps
	// its ticket; every later one resumes.
	if o.Relay.Sessions < 3 || resumed == 0 || full != 1 {
		t.Errorf("%d sessions: %d full TLS handshakes, %d resumed; want the observed one full, every later one resumed", o.Relay.Sessions, full, resumed)
	}
}

func TestProbeStartTLSRequired(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true})
	o := probe(t, env(3*time.Second), "submission", srv.AddrPort(), smtp.Options{})
	if o.Hello.Auth || !o.HelloTLS.Auth {
		t.Errorf("auth before %v after %v", o.Hello.Auth, o.HelloTLS.Auth)
	}
	if !o.Relay.StartTLSRequired {
		t.Error("STARTTLS requirement not seen")
	}
	inTLS := 0
	for _, tt := range o.Relay.Tests {
		if tt.TLS {
			inTLS++
			if tt.Result != observe.RelayRefused {
				t.Errorf("test %d in TLS: %s %s", tt.ID, tt.Result, tt.Why)
			}
		}
	}
	if inTLS != 17 {
		t.Errorf("%d tests inside TLS", inTLS)
	}
	// Without TLS on offer, the tests stay untested.
	srv = startFleet(t, smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS})
	o = probe(t, env(3*time.Second), "submission", srv.AddrPort(), smtp.Options{})
	if r := results(o); r[observe.RelayUntested] != 17 || o.Relay.Error == "" {
		t.Errorf("results %v error %q", r, o.Relay.Error)
	}
}

func TestProbeReconnect(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		srv := startFleet(t, smtpd.Config{Profile: smtpd.Closed, DropAfter: 3, DropQuietly: quiet})
		o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{MaxSessions: 12})
		r := results(o)
		refused := map[int]bool{}
		for _, tt := range o.Relay.Tests {
			if tt.Result == observe.RelayRefused {
				refused[tt.ID] = true
			}
		}
		if len(refused) != 17 || r[observe.RelayAccepted] != 0 {
			t.Errorf("quiet=%v: %d of 17 tests refused (%v), error %q", quiet, len(refused), r, o.Relay.Error)
		}
		if o.Relay.Sessions < 5 {
			t.Errorf("quiet=%v: %d sessions, want at least 5", quiet, o.Relay.Sessions)
		}
		neverData(t, o)
	}
	// The bound on sessions holds.
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Closed, DropAfter: 1, DropQuietly: true})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{MaxSessions: 4})
	if o.Relay.Sessions > 5 || !strings.Contains(o.Relay.Error, "limit of 4 sessions") {
		t.Errorf("sessions %d error %q", o.Relay.Sessions, o.Relay.Error)
	}
	if r := results(o); r[observe.RelayUntested] == 0 {
		t.Errorf("results %v", r)
	}
}

func TestProbeLatency(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.OpenRelay, Latency: 20 * time.Millisecond})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{SkipRelay: false})
	if r := results(o); r[observe.RelayAccepted] < 13 {
		t.Errorf("results %v", r)
	}
	// The server offers PIPELINING: a transaction (MAIL, the RCPTs of
	// the tests with that sender, RSET) goes in one write, so the 17
	// tests take 5 round trips of at least 20 ms each.
	for _, tt := range o.Relay.Tests {
		if !tt.Pipelined {
			t.Errorf("test %d not pipelined", tt.ID)
		}
	}
	if o.DurationMS < 5*20 {
		t.Errorf("took %d ms: latency not applied", o.DurationMS)
	}
}

func TestProbeHostile(t *testing.T) {
	cases := []struct {
		cfg  smtpd.Config
		want string
	}{
		{smtpd.Config{Profile: smtpd.Silent}, "greeting: timeout"},
		{smtpd.Config{Profile: smtpd.Drip}, "greeting: timeout"},
		{smtpd.Config{Profile: smtpd.Drip, DripInterval: 10 * time.Millisecond}, "not complete within the time limit"},
		{smtpd.Config{Profile: smtpd.EndlessLine}, "longer than the limit"},
		{smtpd.Config{Profile: smtpd.Garbage}, "greeting:"},
		{smtpd.Config{Profile: smtpd.Reset}, ""},
		// Held back longer than a patient client waits.
		{smtpd.Config{Profile: smtpd.SlowGreeting, GreetingDelay: 10 * time.Second}, "greeting: timeout"},
	}
	for _, c := range cases {
		t.Run(string(c.cfg.Profile), func(t *testing.T) {
			srv := startFleet(t, c.cfg)
			start := time.Now()
			// A silent server is waited for as long as a greeting may
			// take: here 1 s, in a scan the probe's budget.
			o := probe(t, env(300*time.Millisecond), "smtp", srv.AddrPort(), smtp.Options{GreetingTimeout: time.Second})
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v", d)
			}
			if o.Reachable || o.Error == "" || !strings.Contains(o.Error, c.want) {
				t.Errorf("reachable %v error %q, want %q", o.Reachable, o.Error, c.want)
			}
			if o.Relay != nil {
				t.Errorf("relay test ran: %+v", o.Relay)
			}
		})
	}
}

// crowdDialer dials as the scan engine's dialer does while other probes
// of the server hold connections: every connection says that one other
// connection of the scan to the server was open when it was made.
type crowdDialer struct{ wire.NetDialer }

type crowdConn struct{ net.Conn }

func (crowdConn) Siblings() int { return 1 }

func (d *crowdDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.NetDialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return crowdConn{c}, nil
}

// TestProbeSilentHangUpIsNotCrowding: a server that says nothing and
// hangs up after its idle time (the bench's silent servers, after 30 s)
// is not refusing the scanner's parallel connections, even while the
// scan holds others to it: a refusal of one connection too many comes
// at once. The probe must not try its sessions again (it did, doubling
// the time a silent server takes).
func TestProbeSilentHangUpIsNotCrowding(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Silent, IdleTimeout: 1500 * time.Millisecond})
	var trace bytes.Buffer
	e := env(time.Second)
	e.Dialer = &crowdDialer{}
	e.Tracer = wire.NewTracer(&trace)
	o := probe(t, e, "smtp", srv.AddrPort(), smtp.Options{GreetingTimeout: 10 * time.Second})
	if o.Error == "" || o.Relay != nil {
		t.Errorf("error %q relay %+v", o.Error, o.Relay)
	}
	if strings.Contains(trace.String(), "trying again") {
		t.Errorf("a hang-up after a long silence was taken for the scanner's crowding:\n%s", trace.String())
	}
}

func TestProbeSlowGreeting(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.SlowGreeting, GreetingDelay: 500 * time.Millisecond})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{})
	if o.Error != "" || results(o)[observe.RelayRefused] != 17 {
		t.Errorf("error %q results %v", o.Error, results(o))
	}
}

func TestProbeGreeting554(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Greeting554})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{})
	if o.Greeting == nil || o.Greeting.Code != 554 || o.Relay != nil || o.Hello != nil || o.Error != "" {
		t.Errorf("greeting %v relay %v hello %v error %q", o.Greeting, o.Relay, o.Hello, o.Error)
	}
	// On every connection (the probe may have opened spare ones beside
	// the first), a 554 greeting is answered by QUIT alone.
	sent := map[string][]string{}
	for _, l := range traceLines2(o) {
		conn, line, _ := strings.Cut(l, " ")
		if strings.HasPrefix(line, "C: ") {
			sent[conn] = append(sent[conn], line)
		}
	}
	if len(sent) == 0 {
		t.Fatal("nothing sent")
	}
	for conn, lines := range sent {
		if len(lines) != 1 || lines[0] != "C: QUIT" {
			t.Errorf("connection %s: after a 554 greeting the probe sent %q", conn, lines)
		}
	}
}

func TestProbeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", loopback()+":0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	o := probe(t, env(time.Second), "smtp", ap, smtp.Options{})
	if o.Reachable || o.Error != "connect: refused" {
		t.Errorf("reachable %v error %q", o.Reachable, o.Error)
	}
}

func TestProbeIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go smtpd.Serve(ctx, ln, smtpd.Config{Profile: smtpd.OpenRelay})
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	o := probe(t, env(3*time.Second), "smtp", ap, smtp.Options{})
	if o.Relay == nil || o.Relay.Literal != "[IPv6:::1]" || o.Address != "::1" {
		t.Fatalf("relay %+v address %q error %q", o.Relay, o.Address, o.Error)
	}
	for _, tt := range o.Relay.Tests {
		if tt.ID == 4 && tt.MailCommand != "MAIL FROM:<antispam@[IPv6:::1]>" {
			t.Errorf("test 4 sent %q", tt.MailCommand)
		}
		if tt.ID == 12 && tt.RcptCommand != "RCPT TO:<@[IPv6:::1]:relaytest@kensa-relay-test.example>" {
			t.Errorf("test 12 sent %q", tt.RcptCommand)
		}
	}
	if results(o)[observe.RelayAccepted] == 0 {
		t.Errorf("open relay over IPv6 not seen: %v", results(o))
	}
}

func TestProbeDeadline(t *testing.T) {
	// 17 pipelined tests of at least 300 ms each cannot fit in 2 s.
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Closed, Latency: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	o := smtp.Probe(ctx, env(3*time.Second), observe.Target{Service: "smtp", Addr: srv.AddrPort()}, smtp.Options{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after a 2 s budget", d)
	}
	if o.Relay == nil || o.Relay.Error == "" {
		t.Fatalf("relay %+v error %q", o.Relay, o.Error)
	}
	ids := map[int]bool{}
	for _, tt := range o.Relay.Tests {
		ids[tt.ID] = true
	}
	if len(ids) != 17 || results(o)[observe.RelayUntested] == 0 {
		t.Errorf("tests %d results %v", len(ids), results(o))
	}
}

// fake is a scripted SMTP server for behaviours the fleet does not
// have. handle answers one command line; it returns the reply lines
// (with CRLF added) and whether to hang up after them.
type fake struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startFake(t *testing.T, greeting string, handle func(line string, c net.Conn) (string, bool)) *fake {
	t.Helper()
	ln, err := net.Listen("tcp", loopback()+":0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprint(c, greeting)
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					out, hang := handle(line, c)
					if out != "" {
						fmt.Fprint(c, out)
					}
					if hang || strings.EqualFold(line, "QUIT") {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fake) addr() netip.AddrPort { return f.ln.Addr().(*net.TCPAddr).AddrPort() }

// basic answers the commands every session needs.
func basic(line string) (string, bool) {
	u := strings.ToUpper(line)
	switch {
	case strings.HasPrefix(u, "EHLO"):
		return "250-fake.example.jp\r\n250 8BITMIME\r\n", true
	case strings.HasPrefix(u, "HELO"):
		return "250 fake.example.jp\r\n", true
	case u == "RSET":
		return "250 2.0.0 Ok\r\n", true
	case u == "QUIT":
		return "221 2.0.0 Bye\r\n", true
	}
	return "", false
}

func TestProbeSenderRefused(t *testing.T) {
	f := startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, _ net.Conn) (string, bool) {
		if out, ok := basic(line); ok {
			return out, false
		}
		switch {
		case strings.HasPrefix(line, "MAIL FROM:<antispam@["):
			return "553 5.1.7 <antispam@[x]>: Sender address rejected: address literal\r\n", false
		case strings.HasPrefix(line, "MAIL FROM:<>"):
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "MAIL"):
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "RCPT TO:<relaytest@kensa-relay-test.example>"):
			// The null sender is refused at RCPT time.
			return "554 5.7.1 Relay access denied\r\n", false
		case strings.HasPrefix(line, "RCPT"):
			return "550 5.7.1 Relay access denied\r\n", false
		}
		return "502 5.5.2 what\r\n", false
	})
	o := probe(t, env(3*time.Second), "smtp", f.addr(), smtp.Options{})
	refused := map[int]bool{}
	substituted := 0
	for _, tt := range o.Relay.Tests {
		if tt.Result == observe.RelayRefused {
			refused[tt.ID] = true
			if tt.Substitute {
				substituted++
				if tt.Sender != "antispam@kensa-relay-test.example" {
					t.Errorf("test %d substituted sender %q", tt.ID, tt.Sender)
				}
			}
		}
	}
	if len(refused) != 17 || substituted != 13 {
		t.Errorf("%d tests refused, %d with a substitute sender; relay %+v", len(refused), substituted, o.Relay.Tests)
	}
}

func TestProbeAuthSession(t *testing.T) {
	// The first RCPT of each session says authentication is required;
	// later ones are deferred. Each test is judged on its own reply:
	// the deferred ones are untested, not refused.
	var mu sync.Mutex
	first := map[net.Conn]bool{}
	f := startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, c net.Conn) (string, bool) {
		if out, ok := basic(line); ok {
			return out, false
		}
		switch {
		case strings.HasPrefix(line, "MAIL"):
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "RCPT"):
			mu.Lock()
			defer mu.Unlock()
			if !first[c] {
				first[c] = true
				return "530 5.7.0 Authentication required\r\n", false
			}
			return "451 4.3.5 Server configuration problem\r\n", false
		}
		return "502 5.5.2 what\r\n", false
	})
	o := probe(t, env(3*time.Second), "smtp", f.addr(), smtp.Options{})
	decided := map[int]observe.RelayOutcome{}
	for _, tt := range o.Relay.Tests {
		if tt.Result != observe.RelayUntested {
			decided[tt.ID] = tt.Result
		}
	}
	// A test is refused only by the 530 its own session gave first;
	// the deferred ones wait for one retry in new sessions, and stay
	// untested when deferred again.
	firstOf := map[int]bool{}
	for _, tt := range o.Relay.Tests {
		if tt.Result == observe.RelayRefused {
			if firstOf[tt.Session] || tt.RcptReply == nil || tt.RcptReply.Code != 530 {
				t.Errorf("test %d refused in session %d by %v", tt.ID, tt.Session, tt.RcptReply)
			}
			firstOf[tt.Session] = true
		}
	}
	if decided[1] != observe.RelayRefused || len(decided) < 2 || len(decided) == 17 || !o.Relay.AuthRequired {
		t.Errorf("decided %v, sessions %d", decided, o.Relay.Sessions)
	}
	for _, tt := range o.Relay.Tests {
		if tt.Result == observe.RelayUntested && tt.Kind != observe.ReplyTemporary {
			t.Errorf("test %d: %s %s %q", tt.ID, tt.Result, tt.Kind, tt.Why)
		}
	}
	neverData(t, o)
}

// TestProbeAuthAtMail: authentication required at MAIL refuses the
// tests of that transaction, and only those.
func TestProbeAuthAtMail(t *testing.T) {
	f := startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, _ net.Conn) (string, bool) {
		if out, ok := basic(line); ok {
			return out, false
		}
		switch {
		case line == "MAIL FROM:<>":
			return "530 5.7.0 Authentication required\r\n", false
		case strings.HasPrefix(line, "MAIL"):
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "RCPT"):
			return "451 4.7.1 Rate limit exceeded, try in 60 seconds\r\n", false
		}
		return "502 5.5.2 what\r\n", false
	})
	o := probe(t, env(3*time.Second), "smtp", f.addr(), smtp.Options{})
	for _, tt := range o.Relay.Tests {
		want := observe.RelayUntested
		if tt.ID == 1 {
			want = observe.RelayRefused
		}
		if tt.Result != want {
			t.Errorf("test %d (%s): %s %q, want %s", tt.ID, tt.MailCommand, tt.Result, tt.Why, want)
		}
	}
}

// TestProbeAuthAtMailPipelined: a pipelining server that refuses MAIL
// for want of authentication gets no recipients behind a MAIL the probe
// expects it to refuse. Recipients pipelined behind a refused MAIL are
// refused too ("need MAIL command", a syntax error to Exim) and fill a
// session's limits while they tell nothing; only the first transaction
// of each phase, before any refusal was seen, may carry them. Every
// test is still judged on its own transaction's reply, and a sender the
// server accepts after all gets its recipients as usual.
func TestProbeAuthAtMailPipelined(t *testing.T) {
	for _, acceptSome := range []bool{false, true} {
		t.Run(fmt.Sprintf("accept-some=%v", acceptSome), func(t *testing.T) {
			var mu sync.Mutex
			inMail := map[net.Conn]bool{}  // a MAIL was accepted and not reset
			refused := map[net.Conn]bool{} // the last MAIL was refused
			wasted := 0                    // transactions with RCPTs behind a refused MAIL
			counted := map[net.Conn]bool{} // this refused MAIL's RCPTs were counted
			sessions := 0
			f := startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, c net.Conn) (string, bool) {
				mu.Lock()
				defer mu.Unlock()
				u := strings.ToUpper(line)
				switch {
				case strings.HasPrefix(u, "EHLO"):
					sessions++
					return "250-fake.example.jp\r\n250-PIPELINING\r\n250 8BITMIME\r\n", false
				case u == "RSET":
					inMail[c], refused[c], counted[c] = false, false, false
					return "250 2.0.0 Ok\r\n", false
				case u == "QUIT":
					return "221 2.0.0 Bye\r\n", false
				case strings.HasPrefix(u, "MAIL"):
					if acceptSome && line != "MAIL FROM:<>" {
						inMail[c] = true
						return "250 2.1.0 Ok\r\n", false
					}
					refused[c], counted[c] = true, false
					return "530 5.7.0 Authentication required\r\n", false
				case strings.HasPrefix(u, "RCPT"):
					if !inMail[c] {
						if refused[c] && !counted[c] {
							wasted++
							counted[c] = true
						}
						return "503 5.5.1 Error: need MAIL command\r\n", false
					}
					return "554 5.7.1 Relay access denied\r\n", false
				}
				return "502 5.5.2 what\r\n", false
			})
			o := probe(t, env(3*time.Second), "smtp", f.addr(), smtp.Options{})
			mu.Lock()
			defer mu.Unlock()
			t.Logf("%d sessions, %d transactions with recipients behind a refused MAIL", sessions, wasted)
			if wasted > 1 {
				t.Errorf("%d transactions sent recipients behind a refused MAIL after the first", wasted)
			}
			n := 0
			for _, tt := range o.Relay.Tests {
				if tt.Result != observe.RelayRefused {
					t.Errorf("test %d (%s): %s %q, want refused", tt.ID, tt.MailCommand, tt.Result, tt.Why)
					continue
				}
				n++
				byMail := tt.MailReply != nil && tt.MailReply.Code == 530
				if byMail != (tt.MailCommand == "MAIL FROM:<>" || !acceptSome) {
					t.Errorf("test %d (%s): MAIL reply %v, RCPT reply %v", tt.ID, tt.MailCommand, tt.MailReply, tt.RcptReply)
				}
				if !byMail && (tt.RcptReply == nil || tt.RcptReply.Code != 554) {
					t.Errorf("test %d (%s) refused by %v", tt.ID, tt.MailCommand, tt.RcptReply)
				}
			}
			if n != 17 || !o.Relay.AuthRequired {
				t.Errorf("%d tests refused, auth required %v", n, o.Relay.AuthRequired)
			}
			neverData(t, o)
		})
	}
}

// TestProbeRateLimit: a 451 4.7.1 rate limit is no refusal, and a
// deferral is retried once in a new session.
func TestProbeRateLimit(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.RateLimit, TLS: true})
	o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{})
	if r := results(o); r[observe.RelayRefused] != 0 || r[observe.RelayAccepted] != 0 || r[observe.RelayUntested] < 17 {
		t.Errorf("results %v", r)
	}
	// Every test ends deferred; once a whole transaction was deferred,
	// the tests left wait for the one retry in a new session instead of
	// collecting more deferrals, and are not retried a second time.
	retried := false
	ids := map[int]bool{}
	for _, tt := range o.Relay.Tests {
		ids[tt.ID] = true
		if tt.Kind != observe.ReplyTemporary {
			t.Errorf("test %d: %s %q", tt.ID, tt.Kind, tt.Why)
		}
		if strings.HasPrefix(tt.Why, "not run:") {
			retried = true
		}
	}
	if len(ids) != 17 || !retried {
		t.Errorf("%d tests, retried %v", len(ids), retried)
	}
	neverData(t, o)
}

// TestProbeGreetPause: a greeting held back longer than the read
// timeout (Sendmail's greet_pause) is waited for, and nothing is sent
// before it: the server would greet an early talker with 554.
func TestProbeGreetPause(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.GreetPause, TLS: true, GreetingDelay: 2 * time.Second})
	o := probe(t, env(300*time.Millisecond), "smtp", srv.AddrPort(), smtp.Options{})
	if o.Error != "" || o.Greeting == nil || o.Greeting.Code != 220 {
		t.Fatalf("error %q greeting %v", o.Error, o.Greeting)
	}
	if r := results(o); r[observe.RelayRefused] != 17 || len(o.Relay.Tests) != 17 {
		t.Errorf("results %v", r)
	}
	if o.StartTLS == nil || !o.StartTLS.OK {
		t.Errorf("starttls %+v", o.StartTLS)
	}
}

// TestProbePostscreen: postscreen's greeting pauses between its first
// line and its last; its deep protocol tests defer every RCPT of a new
// client's first session with 450 4.3.2, and let the client through
// when it comes back.
func TestProbePostscreen(t *testing.T) {
	srv := startFleet(t, smtpd.Config{Profile: smtpd.Postscreen, TLS: true, GreetingDelay: 2 * time.Second,
		Banner: "{host} ESMTP Postfix {time}"})
	o := probe(t, env(300*time.Millisecond), "smtp", srv.AddrPort(), smtp.Options{})
	if o.Error != "" || o.Greeting == nil || len(o.Greeting.Lines) != 2 || !strings.HasPrefix(o.Greeting.Lines[0], "220-") {
		t.Fatalf("error %q greeting %v", o.Error, o.Greeting)
	}
	// As real postscreen: 450 4.3.2 to every RCPT until the 21st command
	// of the session, answered 421; the client reconnects, goes straight
	// to smtpd, and runs the deferred tests once more.
	refused := map[int]bool{}
	deferred := 0
	firstRefusal := 0
	for _, tt := range o.Relay.Tests {
		if tt.Result == observe.RelayRefused && (firstRefusal == 0 || tt.Session < firstRefusal) {
			firstRefusal = tt.Session
		}
	}
	for _, tt := range o.Relay.Tests {
		switch {
		case tt.Result == observe.RelayRefused && tt.Session > 1:
			refused[tt.ID] = true
		case tt.Result == observe.RelayUntested && tt.Session < firstRefusal && (strings.Contains(tt.Why, "450 4.3.2") || tt.Kind == observe.ReplyClosing):
			deferred++
		default:
			t.Errorf("test %d session %d: %s %q", tt.ID, tt.Session, tt.Result, tt.Why)
		}
	}
	if len(refused) != 17 || deferred == 0 {
		t.Errorf("%d refused in later sessions, %d deferred before, %d sessions", len(refused), deferred, o.Relay.Sessions)
	}
	// The first line's clock is taken when that line came, not after
	// the pause.
	if ts := o.GreetingTime; ts == nil {
		t.Error("no greeting time")
	} else if off := ts.Server.Sub(ts.Received); off < -1500*time.Millisecond {
		t.Errorf("greeting clock %v off: the pause was counted", off)
	}
	neverData(t, o)
}

// TestProbeSlowReplies: a server may hold back its replies to MAIL and
// RCPT (an Exim ACL delay); a patient client waits for them.
func TestProbeSlowReplies(t *testing.T) {
	f := startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, _ net.Conn) (string, bool) {
		if out, ok := basic(line); ok {
			return out, false
		}
		switch {
		case strings.HasPrefix(line, "MAIL FROM:<>"):
			time.Sleep(1500 * time.Millisecond)
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "MAIL"):
			return "250 2.1.0 Ok\r\n", false
		case strings.HasPrefix(line, "RCPT"):
			return "550 5.7.1 Relaying denied\r\n", false
		}
		return "502 5.5.2 what\r\n", false
	})
	o := probe(t, env(300*time.Millisecond), "smtp", f.addr(), smtp.Options{})
	if r := results(o); r[observe.RelayRefused] != 17 || o.Relay.Error != "" {
		t.Errorf("results %v sessions %d error %q", r, o.Relay.Sessions, o.Relay.Error)
	}
	// A slow reply before any error is the server's pace, not a tarpit.
	for _, l := range conversation(o) {
		if strings.Contains(l, "delay its replies") {
			t.Errorf("taken for a tarpit: %s", l)
		}
	}
}

func TestProbeEHLOFallbackAndStartTLSFailure(t *testing.T) {
	f := startFake(t, "220-fake.example.jp ESMTP\r\n220 second line\r\n", func(line string, c net.Conn) (string, bool) {
		u := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(u, "EHLO"):
			return "502 5.5.1 EHLO not implemented\r\n", false
		case strings.HasPrefix(u, "HELO"):
			return "250 fake.example.jp\r\n", false
		case u == "QUIT":
			return "221 Bye\r\n", true
		case strings.HasPrefix(u, "MAIL"):
			return "250 Ok\r\n", false
		case strings.HasPrefix(u, "RCPT"):
			return "554 5.7.1 Relay access denied\r\n", false
		case u == "RSET":
			return "250 Ok\r\n", false
		}
		return "500 what\r\n", false
	})
	o := probe(t, env(3*time.Second), "smtp", f.addr(), smtp.Options{})
	if o.Hello.Command != "HELO" || o.Hello.EHLOReply == nil || o.Hello.EHLOReply.Code != 502 || o.StartTLS != nil {
		t.Errorf("hello %+v starttls %+v", o.Hello, o.StartTLS)
	}
	if len(o.Greeting.Lines) != 2 || results(o)[observe.RelayRefused] != 17 {
		t.Errorf("greeting %v results %v", o.Greeting, results(o))
	}
	if b := o.Banners(); len(b) != 3 || b[1].Kind != "ehlo" || b[2].Kind != "helo" {
		t.Errorf("banners %+v", b)
	}

	// STARTTLS offered, then the handshake fails: the after-TLS checks
	// stay unknown and the failure is recorded.
	f = startFake(t, "220 fake.example.jp ESMTP\r\n", func(line string, c net.Conn) (string, bool) {
		u := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(u, "EHLO"):
			return "250-fake.example.jp\r\n250 STARTTLS\r\n", false
		case u == "STARTTLS":
			return "220 2.0.0 Ready to start TLS\r\nthis is not TLS\r\n", true
		case strings.HasPrefix(u, "MAIL"):
			return "250 Ok\r\n", false
		case strings.HasPrefix(u, "RCPT"):
			return "554 5.7.1 Relay access denied\r\n", false
		case u == "RSET":
			return "250 Ok\r\n", false
		}
		return "500 what\r\n", false
	})
	o = probe(t, env(3*time.Second), "submission", f.addr(), smtp.Options{})
	if o.StartTLS == nil || o.StartTLS.OK || o.StartTLS.Error == "" || o.TLS == nil || o.TLS.Error == "" || o.HelloTLS != nil {
		t.Errorf("starttls %+v tls %+v hello after %+v", o.StartTLS, o.TLS, o.HelloTLS)
	}
}

// TestProbeServerLimits: against the stock limits of real daemons the
// relay test finishes with every test refused by a reply of its own,
// and the server's own counts show it kept under them: no session past
// Postfix's soft error limit (no reply slept, at most 9 errors in a
// session), none dropped for Exim's syntax errors, and a Sendmail
// throttle recognised as it began (a reply or two slowed, then sessions
// that stay under it).
func TestProbeServerLimits(t *testing.T) {
	for _, l := range smtpd.LimitsNames() {
		t.Run(string(l), func(t *testing.T) {
			srv := startFleet(t, smtpd.Config{Profile: smtpd.Closed, TLS: true, Limits: l})
			o := probe(t, env(3*time.Second), "smtp", srv.AddrPort(), smtp.Options{})
			refused := map[int]bool{}
			for _, tt := range o.Relay.Tests {
				if tt.Result == observe.RelayRefused {
					refused[tt.ID] = true
				}
			}
			st := srv.Stats()
			t.Logf("%d sessions, at most %d errors in one, %d replies slept, %d sessions dropped", st.Sessions, st.MaxErrors, st.Slept, st.Dropped)
			if len(refused) != 17 || o.Relay.Error != "" {
				t.Errorf("%d tests refused, error %q", len(refused), o.Relay.Error)
			}
			if st.Dropped != 0 {
				t.Errorf("%d sessions dropped by the server's limits", st.Dropped)
			}
			switch l {
			case smtpd.PostfixLimits:
				if st.MaxErrors > 9 || st.Slept != 0 {
					t.Errorf("a session got %d errors, %d replies slept", st.MaxErrors, st.Slept)
				}
			case smtpd.SendmailLimits:
				if st.Slept > smtp.DefaultParallel {
					t.Errorf("%d replies slept: the throttle was not recognised as it began", st.Slept)
				}
			}
			if o.StartTLS == nil || !o.StartTLS.OK {
				t.Errorf("STARTTLS %+v", o.StartTLS)
			}
		})
	}
}
