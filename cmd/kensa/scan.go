package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// engineFlags are the flags of every command that probes: scan, probe,
// demo.
type engineFlags struct {
	scope      string
	hosts      string
	noDiscover bool
	sourceIP   string

	maxConns, hostConns   int
	hostRate, globalRate  float64
	dialTimeout, readTO   time.Duration
	probeTimeout, budget  time.Duration
	busy                  int
	relayDomain, heloName string
	trace                 string
	logLevel              string
	content               contentFlags
	judgeFlags
}

func (f *engineFlags) register(fs *flagSet) {
	d := scan.DefaultBounds()
	fs.StringVar(&f.scope, "scope", "", "CIDRs and addresses that may be contacted, comma-separated (default: the inventory's own addresses)")
	fs.StringVar(&f.hosts, "hosts", "", "hosts(5) file: names of the inventory resolved from it before DNS")
	fs.BoolVar(&f.noDiscover, "no-discover", false, "probe only the inventory's services, not the standard ports of the others")
	fs.StringVar(&f.sourceIP, "source-ip", "", "local address to scan from (a designated scanner address)")
	fs.IntVar(&f.maxConns, "max-conns", d.MaxConns, "open connections at once, whole scan")
	fs.IntVar(&f.hostConns, "host-conns", d.HostConns, "open connections at once per server")
	fs.Float64Var(&f.hostRate, "host-rate", d.HostRate, "new connections per second per server")
	fs.Float64Var(&f.globalRate, "rate", d.GlobalRate, "new connections per second, whole scan")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", d.Limits.DialTimeout, "timeout to establish one connection")
	fs.DurationVar(&f.readTO, "read-timeout", d.Limits.ReadTimeout, "timeout of each read: a server silent this long is silent (an SMTP greeting or reply to EHLO, MAIL or RCPT is awaited up to the probe's budget, as RFC 5321 allows)")
	fs.DurationVar(&f.probeTimeout, "probe-timeout", d.ProbeTimeout, "budget of one probe of one service")
	fs.DurationVar(&f.budget, "server-budget", d.ServerBudget, "budget of everything done to one server")
	fs.IntVar(&f.busy, "busy", d.Busy, "servers in progress at once")
	fs.StringVar(&f.relayDomain, "relay-domain", smtp.DefaultRelayDomain, "external test domain of the open-relay test: pass a domain the office controls that has an MX (servers that check recipient domains cannot be tested with the reserved default)")
	fs.StringVar(&f.heloName, "helo", smtp.DefaultHeloName, "name the scanner gives in EHLO: pass the scanner's own DNS name")
	f.judgeFlags.register(fs)
	f.content.register(fs)
	fs.StringVar(&f.trace, "trace", "", "write every protocol line exchanged to FILE (credentials redacted)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
}

func (f *engineFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, badInput("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// engine holds what was built from the flags.
type engine struct {
	cfg    scan.Config
	judge  *scan.Judge
	closer []func() error
}

func (en *engine) close() {
	for _, c := range en.closer {
		c()
	}
}

// build turns the flags into an engine configuration for inv. rs is
// the results file of a resumed scan (nil otherwise): when it holds
// records, the judge and the scan id are theirs (scan.OpenResume).
func (f *engineFlags) build(e *env, inv *inventory.Inventory, rs *scan.Resume) (*engine, error) {
	en := &engine{}
	log, err := f.logger(e.stderr)
	if err != nil {
		return nil, err
	}
	resumed := rs != nil && len(rs.Set.Records) > 0
	var judge *scan.Judge
	if resumed {
		judge = rs.Judge
	} else if judge, err = f.judge(true); err != nil {
		return nil, err
	}
	if c := judge.Clock(); c != nil && !c.Synced {
		fmt.Fprintf(e.stderr, "kensa: warning: this machine's clock looks unsynchronised (%s); the S3 offsets are measured against it\n", c.Reason)
	}
	for _, x := range judge.Expired {
		fmt.Fprintf(e.stderr, "kensa: warning: expired exception ignored: %s\n", x)
	}
	en.judge = judge
	b := scan.Bounds{MaxConns: f.maxConns, HostConns: f.hostConns, HostRate: f.hostRate, GlobalRate: f.globalRate,
		ProbeTimeout: f.probeTimeout, ServerBudget: f.budget, Busy: f.busy,
		Limits: wire.Limits{DialTimeout: f.dialTimeout, ReadTimeout: f.readTO}}
	if b.MaxConns < 1 || b.HostConns < 1 || b.HostRate <= 0 || b.GlobalRate <= 0 || b.Busy < 1 ||
		b.ProbeTimeout <= 0 || b.ServerBudget <= 0 || f.dialTimeout <= 0 || f.readTO <= 0 {
		return nil, badInput("connection bounds, rates and timeouts must be positive")
	}
	limitMemory(b.MaxConns)
	en.cfg = scan.Config{Inventory: inv, Discover: !f.noDiscover, Bounds: b, Log: log}
	if f.scope != "" {
		sc, err := scan.ParseScope(f.scope)
		if err != nil {
			return nil, wrapBadInput(fmt.Errorf("--scope: %w", err))
		}
		en.cfg.Scope = sc
	}
	if f.hosts != "" {
		h, err := scan.LoadHosts(f.hosts)
		if err != nil {
			return nil, wrapBadInput(fmt.Errorf("--hosts: %w", err))
		}
		en.cfg.Resolver = h
	}
	if f.sourceIP != "" {
		a, err := netip.ParseAddr(f.sourceIP)
		if err != nil {
			return nil, badInput("--source-ip %q: not an IP address", f.sourceIP)
		}
		en.cfg.Source = a
	}
	if f.trace != "" {
		tf, err := os.Create(f.trace)
		if err != nil {
			return nil, wrapBadInput(fmt.Errorf("--trace: %w", err))
		}
		en.closer = append(en.closer, tf.Close)
		en.cfg.Tracer = wire.NewTracer(tf)
	}
	en.cfg.Probe = scan.MailProbe(scan.ProbeOptions{RelayDomain: f.relayDomain, HeloName: f.heloName})
	en.cfg.Judge = judge.JudgeServer
	en.cfg.Meta = results.ScanMeta{
		KensaVersion: kensaVersion(), ScanID: scan.NewScanID(time.Now()),
		InventoryPath: inv.Path, InventoryDigest: inv.Digest, InventoryServers: len(inv.Servers),
		SourceAddress: f.sourceIP, Catalog: scoring.MailCatalog.Name, Scope: f.scope,
	}
	judge.Stamp(&en.cfg.Meta)
	if resumed {
		en.cfg.Meta.ScanID = rs.ScanID
	}
	if en.cfg.Content, err = f.content.config(inv, en.cfg.Meta.ScanID); err != nil {
		return nil, err
	}
	if en.cfg.Content != nil {
		en.cfg.Content.SMTP = smtp.Options{HeloName: f.heloName}
		fmt.Fprintln(e.stderr, describeContent(en.cfg.Content))
	}
	return en, nil
}

func cmdScan(e *env, args []string) error {
	fs := newFlags("scan", "kensa scan -i INVENTORY [-o results.jsonl] [flags]",
		"Scan every server of an inventory concurrently, append one kensa/v1 record per finished server to the\nresults file, show progress on stderr and print the grade table on stdout at the end. Ctrl-C stops cleanly:\nevery finished record stays, the table is PARTIAL and the exit code 3; --resume goes on where it stopped.")
	var ef engineFlags
	ef.register(fs)
	var rf reportFlags
	rf.registerTable(fs)
	invPath := fs.String("i", "", "inventory file (CSV or YAML)")
	out := fs.String("o", "results.jsonl", "results file (JSON Lines, appended as servers finish)")
	resume := fs.Bool("resume", false, "skip servers already complete in the results file (after cutting a cut last line)")
	overwrite := fs.Bool("overwrite", false, "replace an existing results file")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	by := fs.String("by", "org", "grade table grouping: org, unit or all")
	format := fs.String("format", "text", "grade table format: text, json, csv or md")
	failUnder := fs.String("fail-under", "", "exit 1 when any group's grade is below this grade")
	maxTime := fs.Duration("max-time", 0, "stop the scan after this long (exit 3, PARTIAL table); 0 means no limit")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scan to FILE (pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the scan to FILE (pprof)")
	var of opsFlags
	of.register(fs)
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	stop, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		return err
	}
	defer stop()
	if *invPath == "" {
		return badInput("scan: -i INVENTORY is required (see 'kensa scan --help')")
	}
	groupBy, err := scoring.ParseGroupBy(*by)
	if err != nil {
		return wrapBadInput(fmt.Errorf("--by: %w", err))
	}
	if err := oneOf("format", *format, "text", "json", "csv", "md"); err != nil {
		return err
	}
	inv, err := loadInventory(*invPath)
	if err != nil {
		return err
	}
	rs, err := ef.openResults(*out, inv, *resume, *overwrite)
	if err != nil {
		return err
	}
	en, err := ef.build(e, inv, rs)
	if err != nil {
		return err
	}
	defer en.close()
	if err := of.apply(en, inv, rs); err != nil {
		return err
	}
	db, err := openHistory(of.history)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	res, err := runScan(e, en, *out, rs, *overwrite && !*resume, *quiet, *maxTime)
	if err != nil {
		return err
	}
	rf.inventory = inv.Path
	in, err := rf.load(e, *out)
	if err != nil {
		return err
	}
	g := report.NewGrade(in, groupBy)
	if err := writeGrade(e, g, *format); err != nil {
		return err
	}
	if err := of.finish(e, db, &rf, in, *out, res.Wall); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "results: %s\n", *out)
	if res.Interrupted {
		return &exitError{exitIncomplete, fmt.Errorf("scan incomplete: %d servers finished, %d abandoned in progress, %d not started; rerun with --resume", res.Done, res.Abandoned, res.Pending)}
	}
	return checkFailUnder(g, *failUnder)
}

// openResults checks the results file of a scan before anything is
// built or changed: it refuses an existing file unless resume or
// overwrite, and for resume returns what the file holds
// (scan.OpenResume): records of inv only, judged as the flags given
// allow. It returns nil when the scan does not resume.
func (f *engineFlags) openResults(out string, inv *inventory.Inventory, resume, overwrite bool) (*scan.Resume, error) {
	if !resume {
		if overwrite {
			return nil, nil
		}
		if err := results.CheckNew(out); err != nil {
			return nil, badInput("%v: pass --resume to go on with it or --overwrite to replace it", err)
		}
		return nil, nil
	}
	given, err := f.choice()
	if err != nil {
		return nil, err
	}
	rs, err := scan.OpenResume(out, inv, given)
	if err != nil {
		return nil, wrapBadInput(fmt.Errorf("--resume: %w", err))
	}
	return rs, nil
}

// runScan runs the engine, writing to out, and reports progress. rs is
// the results file of a resumed scan (openResults; nil otherwise): an
// incomplete last record is cut from out first, and the servers with a
// record are skipped. replace removes out.
func runScan(e *env, en *engine, out string, rs *scan.Resume, replace, quiet bool, maxTime time.Duration) (scan.Summary, error) {
	inv := en.cfg.Inventory
	if replace {
		if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return scan.Summary{}, err
		}
	}
	skip := map[string]bool{}
	if rs != nil {
		cut, err := rs.Cut()
		if err != nil {
			return scan.Summary{}, wrapBadInput(fmt.Errorf("--resume: %w", err))
		}
		if cut > 0 {
			fmt.Fprintf(e.stderr, "kensa: resume: cut %d bytes of an incomplete last record from %s\n", cut, out)
		}
		skip = rs.Skip
	}
	done := len(skip)
	for id := range en.cfg.Skip { // servers outside this scan's --shard or --only
		skip[id] = true
	}
	w, err := results.Append(out)
	if err != nil {
		return scan.Summary{}, wrapBadInput(err)
	}
	defer w.Close()
	en.cfg.Skip = skip
	en.cfg.Write = w.Write
	todo := len(inv.Servers) - len(skip)
	p := newProgress(e.stderr, e.stderrTTY, quiet, todo, scoring.MailCatalog)
	en.cfg.Progress = p.server
	en.cfg.Probed = p.probed
	ctx := e.ctx
	if maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxTime)
		defer cancel()
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "kensa: scanning %d servers of %s (%d already done) into %s\n", todo, inv.Path, done, out)
	}
	sum, err := scan.Run(ctx, en.cfg)
	p.finish()
	if err != nil {
		return sum, err
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "kensa: %d servers scanned in %s", sum.Done, sum.Wall.Round(time.Millisecond))
		if sum.Interrupted {
			fmt.Fprintf(e.stderr, "; stopped: %d abandoned in progress, %d not started", sum.Abandoned, sum.Pending)
		}
		fmt.Fprintln(e.stderr)
	}
	return sum, nil
}

// parseServices reads --services "smtp:25,submission:587".
func parseServices(s string) ([]inventory.Service, error) {
	var out []inventory.Service
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, port, ok := strings.Cut(f, ":")
		def, known := probes.Lookup(name)
		if !known {
			return nil, fmt.Errorf("unknown service %q", name)
		}
		p := def.Port
		if ok {
			if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("bad port in %q", f)
			}
		}
		out = append(out, inventory.Service{Name: name, Port: p})
	}
	return out, nil
}

// loadInventory reads an inventory; a refused one is bad input.
func loadInventory(path string) (*inventory.Inventory, error) {
	inv, err := inventory.Load(path)
	if err != nil {
		return nil, wrapBadInput(err)
	}
	return inv, nil
}
