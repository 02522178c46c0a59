package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// Defaults of the engine's bounds and budgets, documented in the README.
const (
	DefaultMaxConns       = 1024             // open connections, whole scan
	DefaultHostConns      = 6                // open connections per server
	DefaultHostRate       = 5.0              // new connections per second per server
	DefaultGlobalRate     = 4000.0           // new connections per second, whole scan
	DefaultProbeTimeout   = 60 * time.Second // one probe of one service
	DefaultServerBudget   = 3 * time.Minute  // everything of one server
	DefaultMaxServersBusy = 2048             // servers in progress at once
)

// Bounds limit what the scan spends.
type Bounds struct {
	// MaxConns bounds open connections; HostConns those of one server.
	MaxConns, HostConns int
	// HostRate and GlobalRate bound new connections per second.
	HostRate, GlobalRate float64
	// ProbeTimeout bounds one probe; ServerBudget one server's whole scan.
	ProbeTimeout, ServerBudget time.Duration
	// Busy bounds the servers in progress at once.
	Busy int
	// Limits bound each connection (dial, reads, sizes).
	Limits wire.Limits
}

// DefaultBounds returns the documented defaults.
func DefaultBounds() Bounds {
	return Bounds{
		MaxConns: DefaultMaxConns, HostConns: DefaultHostConns,
		HostRate: DefaultHostRate, GlobalRate: DefaultGlobalRate,
		ProbeTimeout: DefaultProbeTimeout, ServerBudget: DefaultServerBudget,
		Busy:   DefaultMaxServersBusy,
		Limits: wire.DefaultLimits(),
	}
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// withDefaults fills every unset bound with its default.
func (b Bounds) withDefaults() Bounds {
	def := DefaultBounds()
	b.MaxConns = orDefault(b.MaxConns, def.MaxConns)
	b.HostConns = orDefault(b.HostConns, def.HostConns)
	b.HostRate = orDefault(b.HostRate, def.HostRate)
	b.GlobalRate = orDefault(b.GlobalRate, def.GlobalRate)
	b.ProbeTimeout = orDefault(b.ProbeTimeout, def.ProbeTimeout)
	b.ServerBudget = orDefault(b.ServerBudget, def.ServerBudget)
	b.Busy = orDefault(b.Busy, def.Busy)
	b.Limits = wire.Env{Limits: b.Limits}.Lim()
	return b
}

// Target is one planned probe of one server.
type Target struct {
	observe.Target
	// Listed is set when the inventory lists the service; otherwise the
	// target is a standard port checked by discovery.
	Listed bool
}

// Outcome of a target once probed (see observe.ServiceState).
const (
	StateAnswered   = observe.StateAnswered   // the service is there (it accepted a connection or answered)
	StateNoAnswer   = observe.StateNoAnswer   // nothing answered
	StateNotProbed  = observe.StateNotProbed  // the budget ran out before the probe could try: nothing is known
	StateOutOfScope = observe.StateOutOfScope // the address is outside the scope: not contacted
)

// TargetResult is a target with what its probe returned.
type TargetResult struct {
	Target
	// State is what became of the target.
	State observe.ServiceState
	// Observation is what the probe returned (nil when not probed).
	Observation observe.Observation
}

// Server is everything the engine learnt of one server, handed to the
// Judge hook to become a record.
type Server struct {
	Inv       *inventory.Server
	Addresses []netip.Addr
	// OutOfScope are addresses of the server outside the scan's scope:
	// refused, never contacted.
	OutOfScope []netip.Addr
	// Problems are reasons that concern the whole server (resolution
	// failed, addresses outside the scope).
	Problems []string
	Targets  []TargetResult
	// Content is the opt-in content test, nil for a server without a
	// test recipient.
	Content  *observe.Content
	Started  time.Time
	Duration time.Duration
}

// Undeclared lists the answering services the inventory omits.
func (s *Server) Undeclared() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range s.Targets {
		if t.Listed || t.State != StateAnswered {
			continue
		}
		k := fmt.Sprintf("%s:%d", t.Service, t.Addr.Port())
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Config is a scan's configuration.
type Config struct {
	Inventory *inventory.Inventory
	// Scope limits the addresses contacted; nil means the inventory's own
	// addresses (its IP literals and what its names resolve to).
	Scope *Scope
	// Discover adds the standard port of every service the inventory
	// does not list for a server.
	Discover bool
	// Source is the local address to bind (zero: the system's choice).
	Source netip.Addr
	// Dialer, if not nil, replaces the system dialer under the engine's
	// bounds (tests count connections with it); Source is then ignored.
	Dialer wire.Dialer
	Bounds Bounds
	// Skip holds ids of servers already complete (--resume).
	Skip map[string]bool
	// Resolver resolves DNS names; nil means net.DefaultResolver. A
	// Hosts table answers for the names it holds first.
	Resolver Resolver
	Tracer   *wire.Tracer
	Log      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Probe examines one target. It returns the observation, and for
	// services over UDP whether anything answered.
	Probe func(ctx context.Context, env wire.Env, t Target) (obs observe.Observation, answered bool)
	// Judge turns a server's targets into a record (verdicts,
	// observations, findings): Judge.JudgeServer. The engine fills in
	// scan metadata.
	Judge func(s *Server) *results.Record
	// Content, if not nil, runs the opt-in content test of the servers
	// it names after their other probes (scan/content.go).
	Content *ContentConfig
	// Meta is copied into every record.
	Meta results.ScanMeta
	// Write receives each finished record.
	Write func(*results.Record) error
	// Progress, if not nil, is called after each finished server.
	Progress func(done int, rec *results.Record)
	// Probed, if not nil, is told of the probes (one per target of a
	// server): planned when a server's plan is made, finished after
	// each probe ends. It is called from many goroutines.
	Probed func(planned, finished int)
}

// Summary is what a finished or stopped scan did.
type Summary struct {
	Total, Skipped, Done int
	// Abandoned counts servers started but not finished when the scan was
	// stopped; Pending servers never started.
	Abandoned, Pending int
	Interrupted        bool
	Wall               time.Duration
}

// NewScanID returns a sortable unique scan id.
func NewScanID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Run scans every server of the inventory not in Skip. It returns when
// all are done, or soon after ctx ends: servers in progress are then
// abandoned (no record written), and every record already written stays.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	cfg.Bounds = cfg.Bounds.withDefaults()
	bd := cfg.Bounds

	sum := Summary{Total: len(cfg.Inventory.Servers)}
	var queue []*inventory.Server
	for i := range cfg.Inventory.Servers {
		s := &cfg.Inventory.Servers[i]
		if cfg.Skip[s.ID] {
			sum.Skipped++
			continue
		}
		queue = append(queue, s)
	}
	scope, resolved, refused, problems := cfg.resolveAll(ctx, queue)
	lim := bd.Limits
	if cfg.Dialer == nil {
		cfg.Dialer = &wire.NetDialer{Source: cfg.Source, Timeout: lim.DialTimeout}
	}
	b := &bounds{
		slots:       newSlots(bd.MaxConns),
		global:      rate.NewLimiter(rate.Limit(bd.GlobalRate), burst(bd.GlobalRate)),
		base:        cfg.Dialer,
		scope:       scope,
		dialTimeout: lim.DialTimeout,
		// A server's first worker is its own goroutine; the others
		// (up to HostConns in all) start only while the scan has
		// fewer than MaxConns of them: more could not connect anyway,
		// and each waiting one would hold its stack (crew).
		workers: newWorkforce(bd.MaxConns),
		pacer:   wire.NewLoginPacer(wire.DefaultPairSpacing),
	}

	concluding := make(chan struct{}, runtime.GOMAXPROCS(0))
	var (
		mu      sync.Mutex
		werr    error
		started int
		wg      sync.WaitGroup
		busy    = make(chan struct{}, bd.Busy)
	)
loop:
	for _, s := range queue {
		select {
		case busy <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		if ctx.Err() != nil {
			<-busy
			break
		}
		started++
		wg.Add(1)
		go func(s *inventory.Server) {
			defer wg.Done()
			defer func() { <-busy }()
			srv := cfg.scanServer(ctx, b, s, resolved[s.Host], problems[s.Host])
			srv.OutOfScope = refused[s.Host]
			if expired(ctx) {
				// Stopped while in progress: abandon, write nothing.
				mu.Lock()
				sum.Abandoned++
				mu.Unlock()
				return
			}
			// Servers that finish together conclude a few at a time:
			// concluding builds a record's JSON, and a burst of them at
			// once would be the scan's peak of memory.
			concluding <- struct{}{}
			rec := cfg.Judge(srv)
			<-concluding
			rec.Scan = cfg.Meta
			mu.Lock()
			defer mu.Unlock()
			if werr != nil {
				return
			}
			if err := cfg.Write(rec); err != nil {
				werr = err
				return
			}
			sum.Done++
			if cfg.Progress != nil {
				cfg.Progress(sum.Done, rec)
			}
		}(s)
	}
	wg.Wait()
	sum.Pending = len(queue) - started
	sum.Interrupted = expired(ctx) || sum.Abandoned > 0
	sum.Wall = time.Since(start)
	return sum, werr
}

// expired reports whether ctx is done or its deadline has passed. A
// connection's deadline is set from the context's, and a read cut by it
// returns as the deadline passes, possibly before the context's own
// timer has marked it done: without the deadline test, a server whose
// probes the scan's --max-time cut would be recorded as finished, with
// their timeouts taken for the server's.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func burst(r float64) int {
	if r < 1 {
		return 1
	}
	return int(r)
}

// resolveAll resolves every DNS name once and builds the scope.
func (cfg *Config) resolveAll(ctx context.Context, servers []*inventory.Server) (scope *Scope, resolved, refused map[string][]netip.Addr, problems map[string][]string) {
	resolved = map[string][]netip.Addr{}
	refused = map[string][]netip.Addr{}
	problems = map[string][]string{}
	scope = cfg.Scope
	own := &Scope{}
	for _, s := range servers {
		if _, done := resolved[s.Host]; done {
			continue
		}
		if a, err := netip.ParseAddr(s.Host); err == nil {
			resolved[s.Host] = []netip.Addr{a.Unmap()}
			own.Add(a)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.Bounds.Limits.DialTimeout+5*time.Second)
		addrs, err := cfg.Resolver.LookupNetIP(rctx, "ip", s.Host)
		cancel()
		if err != nil {
			problems[s.Host] = append(problems[s.Host], fmt.Sprintf("cannot resolve %s: %v", s.Host, err))
			resolved[s.Host] = nil
			continue
		}
		var list []netip.Addr
		for _, a := range addrs {
			list = append(list, a.Unmap())
			own.Add(a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Less(list[j]) })
		resolved[s.Host] = list
	}
	if scope == nil {
		scope = own
	}
	// Report resolved addresses outside an explicit scope.
	for host, addrs := range resolved {
		var in []netip.Addr
		for _, a := range addrs {
			if scope.Contains(a) {
				in = append(in, a)
			} else {
				refused[host] = append(refused[host], a)
				problems[host] = append(problems[host], fmt.Sprintf("address %s of %s is outside the scope (%s): not contacted", a, host, scope))
			}
		}
		resolved[host] = in
	}
	return scope, resolved, refused, problems
}

// plan lists the targets of one server, listed services first, each
// group in the registry's probe order (probes.Entry.Order).
func (cfg *Config) plan(s *inventory.Server, addrs []netip.Addr) []Target {
	out := cfg.planned(s, addrs)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Listed != out[j].Listed {
			return out[i].Listed
		}
		return order(out[i].Service) < order(out[j].Service)
	})
	return out
}

// crowded reorders the targets of a server that cannot start all its
// probes at once (the scan is crowded): the long conversations first
// (probes.Entry.Long: the SMTP relay tests, port 25 first), listed
// before discovered, then the rest in plan order.
func crowded(targets []Target) {
	long := func(t Target) bool {
		e, _ := probes.Lookup(t.Service)
		return e.Long
	}
	sort.SliceStable(targets, func(i, j int) bool {
		li, lj := long(targets[i]), long(targets[j])
		if li != lj {
			return li
		}
		if !li {
			return false
		}
		if targets[i].Listed != targets[j].Listed {
			return targets[i].Listed
		}
		// smtp, then submission, then smtps: their registry order
		// among the long ones, reversed.
		return order(targets[i].Service) > order(targets[j].Service)
	})
}

// weight says roughly how long the probe of t takes beside the others,
// for handing workers to the servers with the most work left (crew): a
// relay test holds several sessions (4), a login probe waits out the
// server's delay of failed logins (2), any other probe takes a few
// round trips or one handshake (1).
func weight(t Target) int {
	e, _ := probes.Lookup(t.Service)
	switch {
	case e.Long:
		return 4
	case e.Logins:
		return 2
	}
	return 1
}

// order is the place of a service in a server's probe order.
func order(service string) int {
	e, _ := probes.Lookup(service)
	return e.Order
}

// planned lists the targets of one server in inventory order.
func (cfg *Config) planned(s *inventory.Server, addrs []netip.Addr) []Target {
	var out []Target
	host := ""
	if _, err := netip.ParseAddr(s.Host); err != nil {
		host = s.Host
	}
	for _, a := range addrs {
		listed := map[string]bool{}
		for _, svc := range s.Services {
			out = append(out, Target{Target: observe.Target{Service: svc.Name, Addr: netip.AddrPortFrom(a, uint16(svc.Port)), Host: host}, Listed: true})
			listed[svc.Name] = true
		}
		if !cfg.Discover {
			continue
		}
		for _, def := range probes.Registry {
			if listed[def.Name] {
				continue
			}
			out = append(out, Target{Target: observe.Target{Service: def.Name, Addr: netip.AddrPortFrom(a, uint16(def.Port)), Host: host}})
		}
	}
	return out
}

// scanServer probes every target of one server within its budget, at
// most HostConns at a time.
func (cfg *Config) scanServer(ctx context.Context, b *bounds, s *inventory.Server, addrs []netip.Addr, problems []string) *Server {
	srv := &Server{Inv: s, Addresses: addrs, Problems: problems, Started: cfg.Now()}
	sctx, cancel := context.WithTimeout(ctx, cfg.Bounds.ServerBudget)
	defer cancel()
	d := newHostDialer(b, cfg.Bounds.HostRate, cfg.Bounds.HostConns)
	targets := cfg.plan(s, addrs)
	srv.Targets = make([]TargetResult, len(targets))
	if cfg.Probed != nil {
		cfg.Probed(len(targets), 0)
	}
	// Up to HostConns workers take the targets in order (crew). The
	// first target of each worker that starts at once and logs in is
	// expected at the server's login gate before any worker starts.
	gate := wire.NewLoginGate(wire.DefaultLoginWindow, b.pacer)
	expected := make([]bool, len(targets))
	// after[i]: target i, a TCP probe without logins on a server whose
	// first wave logs in, waits until the logins went (afterLogins).
	after := make([]bool, len(targets))
	c := newCrew(b.workers, cfg.Bounds.HostConns, len(targets), func(i int) {
		if after[i] {
			afterLogins(sctx, gate, d.slowed)
		}
		srv.Targets[i] = cfg.probeOne(sctx, d, gate, s, targets[i])
		if expected[i] {
			gate.Done()
		}
		if cfg.Probed != nil {
			cfg.Probed(0, 1)
		}
	})
	first := c.claim()
	if first < min(cfg.Bounds.HostConns, len(targets)) {
		crowded(targets)
	}
	weights := make([]int, len(targets))
	for i, t := range targets {
		weights[i] = weight(t)
	}
	c.weigh(weights)
	logins := false
	for i := 0; i < first && i < len(targets); i++ {
		if def, ok := probes.Lookup(targets[i].Service); ok && def.Logins {
			expected[i] = true
			logins = true
			gate.Expect()
		}
	}
	for i := 0; logins && i < len(targets); i++ {
		def, _ := probes.Lookup(targets[i].Service)
		after[i] = !def.Logins && def.Transport == probes.TCP
	}
	d.mu.Lock()
	d.onSlow = c.turnedSlow
	d.mu.Unlock()
	c.work()
	srv.Content = cfg.contentTest(ctx, d, s, srv)
	srv.Duration = cfg.Now().Sub(srv.Started)
	if expired(sctx) && !expired(ctx) {
		srv.Problems = append(srv.Problems, fmt.Sprintf("server budget of %s spent before every probe finished", cfg.Bounds.ServerBudget))
	}
	return srv
}

// loginHeadStart bounds how long a probe started beside a server's
// login probes waits for the first of them to come to the server's
// login gate (afterLogins). Dovecot's login probes reach it within a
// few hundred milliseconds, under the load of a scan's start too; a
// server whose login services are silent shows itself slow only after
// quietAfter, and its other probes (the SMTP probe, which waits 30 s or
// more for a silent server's greeting) should not wait that long
// (measured on the bench fleet: a silent server alone took 32.1 s
// instead of 30.1 s with the 3 s login window as the bound).
const loginHeadStart = time.Second

// afterLogins waits until the first fake logins of the server went, or
// none is expected any more. A probe that starts beside the login
// probes and needs a connection waits for them: the logins over TLS
// that go beside those in the clear (IMAP's and POP3's STARTTLS) need a
// connection each at once, within --host-conns, and one that finds none
// runs after the attempts in the clear, where a server that delays
// failed logins (Dovecot) delays it again (measured on bench/real: a
// POP3 probe of 12.8 s beside an SSH probe of 0.3 s); and the work its
// connection makes the server do (a key exchange, a TLS handshake)
// would slow down the server's login processes while the gate's pair
// of logins must reach its authentication process within a millisecond
// of each other (wire.LoginGate). It waits loginHeadStart for the first
// login to come to the gate, and then at most the gate's window for the
// logins to go. A server that turns slow (slowed) is not waited for:
// its logins may never come, and its other probes are what the scan
// waits for.
func afterLogins(ctx context.Context, gate *wire.LoginGate, slowed <-chan struct{}) {
	t := time.NewTimer(loginHeadStart)
	defer t.Stop()
	select {
	case <-gate.Started():
	case <-gate.Settled():
		return
	case <-slowed:
		return
	case <-t.C:
		return
	case <-ctx.Done():
		return
	}
	t.Reset(wire.DefaultLoginWindow)
	select {
	case <-gate.Settled():
	case <-slowed:
	case <-t.C:
	case <-ctx.Done():
	}
}

func (cfg *Config) probeOne(ctx context.Context, d *hostDialer, gate *wire.LoginGate, s *inventory.Server, t Target) TargetResult {
	tr := TargetResult{Target: t, State: StateNoAnswer}
	if ctx.Err() != nil {
		tr.State = StateNotProbed
		return tr
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.Bounds.ProbeTimeout)
	defer cancel()
	env := wire.Env{Dialer: d, Limits: cfg.Bounds.Limits, Tracer: cfg.Tracer, Now: cfg.Now,
		Log: cfg.Log.With("server", s.ID, "target", t.String()), Logins: gate}
	start := time.Now()
	obs, answered := cfg.Probe(pctx, env, t)
	if time.Since(start) >= cfg.Bounds.Limits.ReadTimeout {
		// Something made this probe wait for a timeout: the server is
		// likely among the slowest, and gets its connections first.
		d.markSlow()
	}
	network := "udp"
	if def, ok := probes.Lookup(t.Service); ok && def.Transport == probes.TCP {
		network = "tcp"
		answered = d.accepted(t.Addr.String())
	}
	switch {
	case answered:
		tr.State = StateAnswered
	case !d.tried(network, t.Addr.String()):
		// The bounds never let a connection go before the budget ran
		// out: nothing is known of the service, which is not the same
		// as a service that does not answer.
		tr.State = StateNotProbed
	}
	if answered || t.Listed {
		tr.Observation = obs
	}
	return tr
}

// ErrNoServers is returned when there is nothing to scan.
var ErrNoServers = errors.New("no server to scan")

// Outcomes counts the outcomes of a record's graded items, for progress.
func Outcomes(rec *results.Record, cat *scoring.Catalog) (pass, fail, unknown int) {
	for _, it := range cat.Items {
		switch rec.Items[it.Code].Outcome {
		case scoring.Pass:
			pass++
		case scoring.Fail:
			fail++
		case scoring.Unknown:
			unknown++
		}
	}
	return
}
