package scan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// countingListener counts the connections open at once, overall and per
// remote address, and remembers the remote addresses.
type countingListener struct {
	net.Listener
	mu      sync.Mutex
	open    int
	maxOpen int
	total   int
	remotes map[string]bool
	shared  *gauge
}

// gauge counts open connections across several listeners.
type gauge struct {
	mu   sync.Mutex
	open int
	max  int
}

func (g *gauge) add(d int) {
	g.mu.Lock()
	g.open += d
	if g.open > g.max {
		g.max = g.open
	}
	g.mu.Unlock()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.total++
	if l.open > l.maxOpen {
		l.maxOpen = l.open
	}
	if l.remotes == nil {
		l.remotes = map[string]bool{}
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	l.remotes[host] = true
	l.mu.Unlock()
	if l.shared != nil {
		l.shared.add(1)
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
		if c.l.shared != nil {
			c.l.shared.add(-1)
		}
	})
	return c.Conn.Close()
}

// serveSMTP starts a simulated SMTP server on addr behind a counting
// listener.
func serveSMTP(t *testing.T, addr string, cfg smtpd.Config, g *gauge) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln, shared: g}
	ctx, cancel := context.WithCancel(context.Background())
	go smtpd.Serve(ctx, cl, cfg)
	t.Cleanup(cancel)
	return cl
}

// inventoryOf writes and loads a CSV inventory.
func inventoryOf(t *testing.T, rows ...string) *inventory.Inventory {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inv.csv")
	os.WriteFile(path, []byte("id,org,unit,host,services,declared,notes\n"+strings.Join(rows, "\n")+"\n"), 0o644)
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// config returns an engine configuration with short limits that collects
// records in order.
func config(t *testing.T, inv *inventory.Inventory, readTimeout time.Duration) (scan.Config, func() []*results.Record) {
	t.Helper()
	judge, err := scan.NewJudge(scan.JudgeConfig{Catalog: scoring.MailCatalog, Policy: rules.DefaultPolicy(), AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var recs []*results.Record
	b := scan.DefaultBounds()
	b.Limits = wire.Limits{DialTimeout: time.Second, ReadTimeout: readTimeout}
	b.HostRate = 100
	cfg := scan.Config{
		Inventory: inv, Bounds: b,
		Probe: scan.MailProbe(scan.ProbeOptions{RelayDomain: "kensa-relay-test.example", HeloName: "kensa.invalid"}),
		Judge: judge.JudgeServer,
		Write: func(r *results.Record) error {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
			return nil
		},
	}
	return cfg, func() []*results.Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]*results.Record(nil), recs...)
	}
}

func TestScopeRefusesOutside(t *testing.T) {
	in := serveSMTP(t, "127.3.0.1:2525", smtpd.Config{Profile: smtpd.Closed}, nil)
	out := serveSMTP(t, "127.3.0.2:2525", smtpd.Config{Profile: smtpd.OpenRelay}, nil)
	inv := inventoryOf(t,
		"in,総務省,本省,127.3.0.1,smtp:2525,,",
		"out,総務省,本省,127.3.0.2,smtp:2525,,",
	)
	cfg, recs := config(t, inv, 2*time.Second)
	sc, err := scan.ParseScope("127.3.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scope = sc
	if _, err := scan.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if out.total != 0 {
		t.Fatalf("an address outside the scope was contacted %d times", out.total)
	}
	if in.total == 0 {
		t.Fatal("the address inside the scope was not scanned")
	}
	for _, r := range recs() {
		if r.Server.ID != "out" {
			continue
		}
		a1 := r.Items["A1"]
		if a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "outside the scope") {
			t.Fatalf("out-of-scope server: A1 %s: %s", a1.Outcome, a1.Reason)
		}
	}
}

// TestListedServiceNotAnsweringIsUnknown: a listed service that does not
// answer makes its item unknown, never na.
func TestListedServiceNotAnsweringIsUnknown(t *testing.T) {
	inv := inventoryOf(t, "mx,総務省,本省,127.3.1.1,smtp:2525 imap:2143 pop3:2110,,")
	serveSMTP(t, "127.3.1.1:2525", smtpd.Config{Profile: smtpd.Closed}, nil)
	cfg, recs := config(t, inv, 2*time.Second)
	scan.Run(context.Background(), cfg)
	r := recs()[0]
	if p1 := r.Items["P1"]; p1.Outcome != scoring.Unknown {
		t.Fatalf("P1 %s: %s", p1.Outcome, p1.Reason)
	}
	if a1 := r.Items["A1"]; a1.Outcome != scoring.Pass {
		t.Fatalf("A1 %s: %s", a1.Outcome, a1.Reason)
	}
}

// TestDiscoveryFindsUndeclaredService: an answering service on its
// standard port that the inventory omits makes its items apply and is
// reported.
func TestDiscoveryFindsUndeclaredService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.3.2.1:25")
	if err != nil {
		itest.Need(t, fmt.Errorf("cannot listen on port 25 here (needs root or CAP_NET_BIND_SERVICE): %w", err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go smtpd.Serve(ctx, ln, smtpd.Config{Profile: smtpd.OpenRelay})
	inv := inventoryOf(t, "mx,総務省,本省,127.3.2.1,,,")
	cfg, recs := config(t, inv, 2*time.Second)
	cfg.Discover = true
	scan.Run(context.Background(), cfg)
	r := recs()[0]
	if len(r.Undeclared) != 1 || r.Undeclared[0] != "smtp:25" {
		t.Fatalf("undeclared %v", r.Undeclared)
	}
	if a1 := r.Items["A1"]; a1.Outcome != scoring.Fail {
		t.Fatalf("A1 on the undeclared open relay: %s: %s", a1.Outcome, a1.Reason)
	}
	if p1 := r.Items["P1"]; p1.Outcome != scoring.NA {
		t.Fatalf("P1 with no receive service: %s", p1.Outcome)
	}
	// Without discovery nothing is seen and nothing is listed: nothing
	// shows which items apply, so none is na.
	cfg, recs = config(t, inv, 2*time.Second)
	scan.Run(context.Background(), cfg)
	if a1 := recs()[0].Items["A1"]; a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "no service answered") {
		t.Fatalf("A1 without discovery: %s (%s)", a1.Outcome, a1.Reason)
	}
}

// TestBounds: never more open connections than the global bound, nor per
// server than the per-host bound.
func TestBounds(t *testing.T) {
	var rows []string
	for i := 1; i <= 12; i++ {
		addr := fmt.Sprintf("127.3.3.%d", i)
		serveSMTP(t, addr+":2525", smtpd.Config{Profile: smtpd.Closed, Latency: 5 * time.Millisecond}, nil)
		serveSMTP(t, addr+":2587", smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true, Latency: 5 * time.Millisecond}, nil)
		serveSMTP(t, addr+":2465", smtpd.Config{Profile: smtpd.Closed, ImplicitTLS: true, Latency: 5 * time.Millisecond}, nil)
		rows = append(rows, fmt.Sprintf("mx%d,総務省,本省,%s,smtp:2525 submission:2587 smtps:2465,,", i, addr))
	}
	inv := inventoryOf(t, rows...)
	cfg, recs := config(t, inv, 2*time.Second)
	cfg.Bounds.MaxConns = 5
	cfg.Bounds.HostConns = 2
	// Count the connections the scanner holds open, overall and per
	// server address, as it opens and closes them.
	cd := &countingDialer{perHost: map[string]*gauge{}}
	cfg.Dialer = cd
	if _, err := scan.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(recs()) != 12 {
		t.Fatalf("%d records", len(recs()))
	}
	if cd.all.max > 5 {
		t.Errorf("%d connections open at once, bound 5", cd.all.max)
	}
	if cd.all.max < 2 {
		t.Errorf("only %d connection at once: the scan did not run concurrently", cd.all.max)
	}
	for host, hg := range cd.perHost {
		if hg.max > 2 {
			t.Errorf("%s: %d connections at once, bound 2", host, hg.max)
		}
	}
	if len(cd.perHost) != 12 {
		t.Errorf("%d servers dialled", len(cd.perHost))
	}
	for _, r := range recs() {
		if a1 := r.Items["A1"]; a1.Outcome != scoring.Pass {
			t.Errorf("%s A1 %s: %s", r.Server.ID, a1.Outcome, a1.Reason)
		}
	}
}

// TestSilentServerCostsOnlyItsOwnTime: a silent server does not hold up
// the others; their records are written while it is still being waited
// for, and it ends unknown.
func TestSilentServerCostsOnlyItsOwnTime(t *testing.T) {
	serveSMTP(t, "127.3.4.1:2525", smtpd.Config{Profile: smtpd.Silent}, nil)
	rows := []string{"silent,総務省,本省,127.3.4.1,smtp:2525,,"}
	for i := 2; i <= 9; i++ {
		addr := fmt.Sprintf("127.3.4.%d", i)
		serveSMTP(t, addr+":2525", smtpd.Config{Profile: smtpd.Closed}, nil)
		rows = append(rows, fmt.Sprintf("mx%d,総務省,本省,%s,smtp:2525,,", i, addr))
	}
	inv := inventoryOf(t, rows...)
	cfg, recs := config(t, inv, 3*time.Second)
	// A silent SMTP service is waited for as a held-back greeting would
	// be: the whole probe budget (here 10 s; the server hangs up after
	// 60).
	cfg.Bounds.ProbeTimeout = 10 * time.Second
	scan.Run(context.Background(), cfg)
	all := recs()
	if len(all) != 9 || all[len(all)-1].Server.ID != "silent" {
		var order []string
		for _, r := range all {
			order = append(order, r.Server.ID)
		}
		t.Fatalf("records in order %v: the silent server must finish last", order)
	}
	if a1 := all[len(all)-1].Items["A1"]; a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "timeout") {
		t.Fatalf("silent A1 %s: %s", a1.Outcome, a1.Reason)
	}
}

// TestInterruptKeepsFinishedRecords: stopping a scan abandons the servers
// in progress without a record, keeps every finished one, and says so.
func TestInterruptKeepsFinishedRecords(t *testing.T) {
	var rows []string
	for i := 1; i <= 6; i++ {
		addr := fmt.Sprintf("127.3.5.%d", i)
		serveSMTP(t, addr+":2525", smtpd.Config{Profile: smtpd.Closed}, nil)
		rows = append(rows, fmt.Sprintf("fast%d,総務省,本省,%s,smtp:2525,,", i, addr))
	}
	for i := 11; i <= 14; i++ {
		addr := fmt.Sprintf("127.3.5.%d", i)
		serveSMTP(t, addr+":2525", smtpd.Config{Profile: smtpd.Silent}, nil)
		rows = append(rows, fmt.Sprintf("slow%d,総務省,本省,%s,smtp:2525,,", i, addr))
	}
	inv := inventoryOf(t, rows...)
	cfg, recs := config(t, inv, 30*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	write := cfg.Write
	n := 0
	cfg.Write = func(r *results.Record) error {
		n++
		if n == 6 {
			cancel() // every fast server done, the slow ones in progress
		}
		return write(r)
	}
	sum, err := scan.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Done != 6 || sum.Abandoned+sum.Pending != 4 {
		t.Fatalf("summary %+v", sum)
	}
	for _, r := range recs() {
		if strings.HasPrefix(r.Server.ID, "slow") {
			t.Fatalf("abandoned server %s has a record", r.Server.ID)
		}
	}
}

// TestSourceAddress: --source-ip binds the scanner's address.
func TestSourceAddress(t *testing.T) {
	l := serveSMTP(t, "127.3.6.1:2525", smtpd.Config{Profile: smtpd.Closed}, nil)
	inv := inventoryOf(t, "mx,総務省,本省,127.3.6.1,smtp:2525,,")
	cfg, recs := config(t, inv, 2*time.Second)
	cfg.Source = netip.MustParseAddr("127.3.6.200")
	scan.Run(context.Background(), cfg)
	if len(recs()) != 1 || len(l.remotes) != 1 || !l.remotes["127.3.6.200"] {
		t.Fatalf("remote addresses seen by the server: %v", l.remotes)
	}
}

// TestIPv6EndToEnd scans a server on ::1 by its IPv6 literal.
func TestIPv6EndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go smtpd.Serve(ctx, ln, smtpd.Config{Profile: smtpd.OpenRelay})
	port := ln.Addr().(*net.TCPAddr).Port
	inv := inventoryOf(t, fmt.Sprintf("v6,総務省,本省,::1,smtp:%d,,", port))
	cfg, recs := config(t, inv, 2*time.Second)
	scan.Run(context.Background(), cfg)
	r := recs()[0]
	a1 := r.Items["A1"]
	if a1.Outcome != scoring.Fail || !strings.Contains(strings.Join(a1.Evidence, "\n"), "[IPv6:::1]") && !strings.Contains(a1.Reason, "::1") {
		t.Fatalf("A1 %s: %s\n%s", a1.Outcome, a1.Reason, strings.Join(a1.Evidence, "\n"))
	}
	if len(r.Server.Addresses) != 1 || r.Server.Addresses[0] != "::1" {
		t.Fatalf("addresses %v", r.Server.Addresses)
	}
}

// TestTraceAndResultsHoldNoPassword: the fake login's password never
// reaches the trace or the results.
func TestTraceAndResultsHoldNoPassword(t *testing.T) {
	_, inv := startMix(t, 24, fleetMixForTrace())
	cfg, recs := config(t, inv, 5*time.Second)
	var trace strings.Builder
	var mu sync.Mutex
	cfg.Tracer = wire.NewTracer(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return trace.Write(b)
	}))
	cfg.Discover = false
	scan.Run(context.Background(), cfg)
	secret := regexp.MustCompile(`kensa-[0-9a-f]{24}`)
	mu.Lock()
	tr := trace.String()
	mu.Unlock()
	if !strings.Contains(tr, "PASS "+wire.Redacted) && !strings.Contains(tr, "LOGIN") {
		t.Fatalf("the trace shows no login attempt:\n%.2000s", tr)
	}
	if m := secret.FindString(tr); m != "" {
		t.Fatalf("the trace holds the password %s", m)
	}
	for _, r := range recs() {
		line, _ := results.Encode(r)
		if m := secret.Find(line); m != nil {
			t.Fatalf("the record of %s holds the password %s", r.Server.ID, m)
		}
	}
}

// countingDialer dials the system and counts open connections.
type countingDialer struct {
	mu      sync.Mutex
	all     gauge
	perHost map[string]*gauge
}

func (d *countingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(address)
	d.mu.Lock()
	g := d.perHost[host]
	if g == nil {
		g = &gauge{}
		d.perHost[host] = g
	}
	d.mu.Unlock()
	d.all.add(1)
	g.add(1)
	return &gaugedConn{Conn: c, gs: []*gauge{&d.all, g}}, nil
}

type gaugedConn struct {
	net.Conn
	gs   []*gauge
	once sync.Once
}

func (c *gaugedConn) Close() error {
	c.once.Do(func() {
		for _, g := range c.gs {
			g.add(-1)
		}
	})
	return c.Conn.Close()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// fakeDNS answers A queries for one name from a UDP socket on loopback,
// so that name resolution is tested without asking any real name server.
func fakeDNS(t *testing.T, name string, addrs ...netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.3.7.53:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			if strings.EqualFold(q.Name.String(), name+".") && q.Type == dnsmessage.TypeA {
				for _, a := range addrs {
					b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a.As4()})
				}
			}
			msg, _ := b.Finish()
			pc.WriteTo(msg, from)
		}
	}()
	server := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
}

// TestNameResolvedOnceEveryAddressScanned: a DNS name's addresses are all
// scanned, an item passes only if it passes on every one, and an address
// outside an explicit scope is refused and reported.
func TestNameResolvedOnceEveryAddressScanned(t *testing.T) {
	serveSMTP(t, "127.3.7.1:2525", smtpd.Config{Profile: smtpd.Closed}, nil)
	open := serveSMTP(t, "127.3.7.2:2525", smtpd.Config{Profile: smtpd.OpenRelay}, nil)
	res := fakeDNS(t, "mx.kensa-test.example", netip.MustParseAddr("127.3.7.1"), netip.MustParseAddr("127.3.7.2"))
	inv := inventoryOf(t, "mx,総務省,本省,mx.kensa-test.example,smtp:2525,,")

	cfg, recs := config(t, inv, 2*time.Second)
	cfg.Resolver = res
	scan.Run(context.Background(), cfg)
	r := recs()[0]
	if len(r.Server.Addresses) != 2 {
		t.Fatalf("addresses %v", r.Server.Addresses)
	}
	if a1 := r.Items["A1"]; a1.Outcome != scoring.Fail || !strings.Contains(a1.Reason, "127.3.7.2") {
		t.Fatalf("A1 %s: %s", a1.Outcome, a1.Reason)
	}

	before := open.total
	cfg, recs = config(t, inv, 2*time.Second)
	cfg.Resolver = res
	cfg.Scope, _ = scan.ParseScope("127.3.7.1/32")
	scan.Run(context.Background(), cfg)
	r = recs()[0]
	if open.total != before {
		t.Fatal("the address outside the scope was contacted")
	}
	if len(r.Server.Addresses) != 1 || r.Server.Addresses[0] != "127.3.7.1" {
		t.Fatalf("addresses %v", r.Server.Addresses)
	}
	var obs struct{ Problems []string }
	json.Unmarshal(r.Observations, &obs)
	if len(obs.Problems) != 1 || !strings.Contains(obs.Problems[0], "127.3.7.2") || !strings.Contains(obs.Problems[0], "outside the scope") {
		t.Fatalf("problems %v", obs.Problems)
	}
	// Passing on the one address in scope proves nothing of the other.
	if a1 := r.Items["A1"]; a1.Outcome != scoring.Unknown || !strings.Contains(a1.Reason, "outside the scope") {
		t.Fatalf("A1 with an address out of scope: %s: %s", a1.Outcome, a1.Reason)
	}
}
