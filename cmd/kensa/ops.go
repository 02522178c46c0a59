package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/diff"
	"github.com/kensa-inspect/kensa/history"
	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/metrics"
	"github.com/kensa-inspect/kensa/remediation"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// opsFlags are the flags of scheduled and sharded scans: which part of
// the inventory, the scan id shared by the parts, the history database
// and the metrics file.
type opsFlags struct {
	shard, shardBy, only, scanID string
	history, metrics             string
}

func (o *opsFlags) register(fs *flagSet) {
	fs.StringVar(&o.shard, "shard", "", "scan shard K of N only (K from 0 to N-1; '/N' takes K from $JOB_COMPLETION_INDEX); merge the shards with kensa merge")
	fs.StringVar(&o.shardBy, "shard-by", scan.ShardByID, "how --shard assigns servers: id (a stable hash of the server id) or org (each organisation whole in one shard)")
	fs.StringVar(&o.only, "only", "", "scan only the servers selected, e.g. org=総務省,unit=本省 (for scanners placed per network segment)")
	fs.StringVar(&o.scanID, "scan-id", "", "the scan id of the records (every shard of one scan gives the same; default: a new one)")
	o.registerOutputs(fs)
}

// registerOutputs registers --history and --metrics, which merge shares.
func (o *opsFlags) registerOutputs(fs *flagSet) {
	fs.StringVar(&o.history, "history", "", "record the scan in this history database (SQLite; created when missing)")
	fs.StringVar(&o.metrics, "metrics", "", "write the scan's metrics to this file in the Prometheus text format (atomically, for node_exporter's textfile collector)")
}

// apply chooses the servers of this scan (--shard, --only) and its scan
// id before anything is scanned: servers outside the selection go into
// the engine's Skip, and the records say which part they are. A resumed
// scan must keep the part and the scan id of its records.
func (o *opsFlags) apply(en *engine, inv *inventory.Inventory, rs *scan.Resume) error {
	var sh *results.Shard
	var err error
	switch {
	case o.shard != "" && o.only != "":
		return badInput("scan: --shard and --only choose the servers two ways: give one")
	case o.shard != "":
		sh, err = scan.ParseShard(o.shard, o.shardBy, os.Getenv)
	case o.only != "":
		sh, err = scan.ParseOnly(o.only)
	}
	if err != nil {
		return wrapBadInput(fmt.Errorf("--shard: %w", err))
	}
	resumed := rs != nil && len(rs.Set.Records) > 0
	if resumed && scan.ShardLabel(sh) != scan.ShardLabel(rs.Set.Meta.Shard) {
		return badInput("--resume: %s holds %s, and this scan would scan %s: give the same --shard or --only", rs.Path, scan.ShardLabel(rs.Set.Meta.Shard), scan.ShardLabel(sh))
	}
	if o.scanID != "" {
		if resumed && rs.ScanID != o.scanID {
			return badInput("--resume: %s holds scan %s, not --scan-id %s", rs.Path, rs.ScanID, o.scanID)
		}
		en.cfg.Meta.ScanID = o.scanID
	}
	if sh == nil {
		return nil
	}
	in, err := scan.Select(inv, sh)
	if err != nil {
		return wrapBadInput(err)
	}
	en.cfg.Meta.Shard = sh
	en.cfg.Skip = map[string]bool{}
	for _, s := range inv.Servers {
		if !in[s.ID] {
			en.cfg.Skip[s.ID] = true
		}
	}
	return nil
}

// openHistory opens the history database given, before a scan starts,
// so that a bad one is refused (exit 2) before anything is scanned.
func openHistory(path string) (*history.DB, error) {
	if path == "" {
		return nil, nil
	}
	db, err := history.Open(path)
	if err != nil {
		return nil, wrapBadInput(fmt.Errorf("--history: %w", err))
	}
	return db, nil
}

// record stores a results file in the history database and grades the
// scan as it now stands there (a shard adds to the scan of its id).
func record(e *env, db *history.DB, rf *reportFlags, path string) error {
	set, err := results.ReadFile(path)
	if err != nil {
		return wrapBadInput(err)
	}
	if len(set.Records) == 0 {
		fmt.Fprintf(e.stderr, "kensa: history: %s has no records: nothing recorded\n", path)
		return nil
	}
	im, err := db.Import(set, path)
	if err != nil {
		return wrapBadInput(fmt.Errorf("history %s: %w", db.Path, err))
	}
	whole, err := db.Load(im.ScanID, true)
	if err != nil {
		return err
	}
	in, err := rf.input(&env{ctx: e.ctx, stderr: &bytes.Buffer{}}, whole)
	if err != nil {
		return err
	}
	g := report.NewGrade(in, scoring.ByOrg)
	var grades []history.Grade
	for _, gr := range g.Table.Groups {
		hg := history.Grade{Group: gr.Key, Grade: gr.Grade, Overall: scoring.FormatRate(gr.Overall), Servers: gr.Servers,
			Missing: gr.Missing, Unknowns: gr.Unknowns, Categories: map[string]string{}}
		if gr.AWithheld {
			hg.Grade += "*"
		}
		for _, c := range gr.Categories {
			hg.Categories[c.Category.Code] = scoring.FormatRate(c.Rate)
		}
		grades = append(grades, hg)
	}
	if err := db.SetGrades(im.ScanID, grades); err != nil {
		return err
	}
	what := "recorded"
	if !im.New {
		what = "added to"
	}
	fmt.Fprintf(e.stderr, "kensa: history: %s %s scan %s in %s (%d records added, %d replaced, %d unchanged)\n",
		path, what, im.ScanID, db.Path, im.Added, im.Replaced, im.Same)
	return nil
}

// writeMetricsFile writes the metrics of a report input (read from
// path, whose observations it adds) atomically to file.
func writeMetricsFile(file string, in report.Input, path string, wall time.Duration) error {
	if err := withObservations(in.Results, path); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := metrics.Write(&b, in, wall); err != nil {
		return err
	}
	return writeFileAtomic(file, b.Bytes())
}

// finish records a finished (or stopped) scan's results in the history
// database and writes its metrics, as --history and --metrics ask.
func (o *opsFlags) finish(e *env, db *history.DB, rf *reportFlags, in report.Input, path string, wall time.Duration) error {
	if db != nil {
		if err := record(e, db, rf, path); err != nil {
			return err
		}
	}
	if o.metrics != "" {
		if err := writeMetricsFile(o.metrics, in, path, wall); err != nil {
			return err
		}
	}
	return nil
}

func cmdHistory(e *env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "import":
		return cmdHistoryImport(e, args[1:])
	case "list":
		return cmdHistoryList(e, args[1:])
	case "-h", "--help":
		fmt.Fprintln(e.stdout, "Usage: kensa history import RESULTS… --db DB | kensa history list --db DB [--format text|json]")
		return errHelp
	}
	return badInput("history: want a subcommand: kensa history import RESULTS… --db DB, or kensa history list --db DB")
}

func cmdHistoryImport(e *env, args []string) error {
	fs := newFlags("history import", "kensa history import RESULTS… --db DB [--inventory FILE]",
		"Record results files in a history database (SQLite; created when missing): each scan with its records,\n"+
			"observations, verdicts and the grade of each organisation. A file of a scan already recorded adds the\n"+
			"servers it lacked (another shard) and replaces changed records; the same file twice changes nothing.\n"+
			"The results files stay the primary record: the database can be rebuilt from them.")
	var rf reportFlags
	rf.register(fs)
	dbPath := fs.String("db", "", "the history database")
	pos, err := fs.parse(e, args, 1, -1)
	if err != nil {
		return err
	}
	if *dbPath == "" {
		return badInput("history import: --db DB is required")
	}
	db, err := openHistory(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, p := range pos {
		if err := record(e, db, &rf, p); err != nil {
			return err
		}
	}
	return nil
}

func cmdHistoryList(e *env, args []string) error {
	fs := newFlags("history list", "kensa history list --db DB [--format text|json]",
		"List the scans of a history database, oldest first: scan id, start, evaluation date, inventory,\nservers with a record, and the grade of each organisation.")
	dbPath := fs.String("db", "", "the history database")
	format := fs.String("format", "text", "output format: text or json")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	if *dbPath == "" {
		return badInput("history list: --db DB is required")
	}
	if _, err := os.Stat(*dbPath); err != nil {
		return badInput("history list: %v", err)
	}
	db, err := openHistory(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	scans, err := db.Scans()
	if err != nil {
		return err
	}
	if *format == "json" {
		if scans == nil {
			scans = []history.Scan{}
		}
		return writeJSON(e, map[string]any{"scans": scans})
	}
	t := textable.New(5)
	t.Row("scan", "started", "as of", "inventory", "servers", "grades")
	for _, s := range scans {
		servers := fmt.Sprintf("%d/%d", s.Records, s.InventoryServers)
		if s.Partial() {
			servers += " PARTIAL"
		}
		t.Row(s.ScanID, s.Started.UTC().Format("2006-01-02 15:04"), s.AsOf, s.InventoryPath, servers, gradeSummary(s.Grades))
	}
	return t.Write(e.stdout)
}

// gradeSummary counts the organisations per grade: "A 10, B 9".
func gradeSummary(gs []history.Grade) string {
	n := map[string]int{}
	var order []string
	for _, g := range gs {
		letter := strings.TrimSuffix(g.Grade, "*")
		if n[letter] == 0 {
			order = append(order, letter)
		}
		n[letter]++
	}
	var parts []string
	for _, l := range []string{"A", "B", "C", "D", "-"} {
		if n[l] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, n[l]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// loadSide reads one side of a diff: a results file, or else a scan id
// of the history database, with observations.
func loadSide(arg string, db *history.DB, dbPath string) (*results.Set, error) {
	if _, err := os.Stat(arg); err == nil {
		set, err := results.ReadFile(arg)
		return set, wrapBadInput(err)
	}
	if db == nil {
		return nil, badInput("diff: %s: no such results file (give --db DB to compare scan ids of a history database)", arg)
	}
	set, err := db.Load(arg, false)
	var ne *history.NoScanError
	if errors.As(err, &ne) {
		return nil, badInput("diff: %s is neither a results file nor a scan of %s (kensa history list --db %s)", arg, dbPath, dbPath)
	}
	return set, err
}

func cmdDiff(e *env, args []string) error {
	fs := newFlags("diff", "kensa diff OLD NEW [--db DB] [--format text|json|md|html] [--fail-on-regression] [--plan FILE] [--lang ja|en]",
		"Say what changed from OLD to NEW — two results files, or two scan ids of a history database (--db): per\n"+
			"organisation the grade and overall rate, per server the items that newly fail, newly pass or became\n"+
			"unknown, servers added and gone, new undeclared services, new discrepancies, and with --plan what became\n"+
			"of each promise. Scans judged with another policy, advisory data, exceptions or evaluation date are\n"+
			"re-graded under one judge first (the judge flags given, else NEW's); where that cannot be done, every\n"+
			"change says \"rules changed\", never \"server changed\".")
	var rf reportFlags
	rf.registerTable(fs)
	dbPath := fs.String("db", "", "history database whose scan ids OLD and NEW may name")
	format := fs.String("format", "text", "output format: text, json, md or html")
	failOn := fs.Bool("fail-on-regression", false, "exit 1 when anything got worse (a grade or rate, an item, a new undeclared service or discrepancy)")
	planPath := fs.String("plan", "", "remediation plan YAML: mark each promise against NEW")
	var jf judgeFlags
	jf.register(fs)
	pos, err := fs.parse(e, args, 2, 2)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json", "md", "html"); err != nil {
		return err
	}
	given, err := jf.choice()
	if err != nil {
		return err
	}
	var plan *remediation.Plan
	if *planPath != "" {
		if plan, err = remediation.Load(*planPath, scoring.MailCatalog); err != nil {
			return wrapBadInput(err)
		}
	}
	var db *history.DB
	if *dbPath != "" {
		if _, err := os.Stat(*dbPath); err != nil {
			return badInput("diff: --db: %v", err)
		}
		if db, err = openHistory(*dbPath); err != nil {
			return err
		}
		defer db.Close()
	}
	older, err := loadSide(pos[0], db, *dbPath)
	if err != nil {
		return err
	}
	newer, err := loadSide(pos[1], db, *dbPath)
	if err != nil {
		return err
	}
	regraded, differ, notes, err := scan.OneJudge(older, newer, given)
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "kensa: note: diff: %s\n", n)
	}
	if err != nil {
		if given != (scan.JudgeChoice{}) {
			return wrapBadInput(fmt.Errorf("diff: %w", err))
		}
		fmt.Fprintf(e.stderr, "kensa: note: diff: the scans were judged with different %s and cannot be re-graded under one judge (%v): every change says \"rules changed\"\n", scan.FieldNames(differ), err)
	}
	var sides [2]diff.Side
	for i, set := range []*results.Set{older, newer} {
		in, err := rf.input(e, set)
		if err != nil {
			return err
		}
		sides[i] = diff.Side{Set: set, Servers: in.Servers, Unattributed: in.Unattributed}
	}
	opts := diff.Options{Catalog: scoring.MailCatalog, Regraded: regraded}
	opts.Policy, _ = scoring.ParseUnknownPolicy(rf.unknown)
	for _, f := range differ {
		opts.Differ = append(opts.Differ, f.String())
	}
	if plan != nil {
		opts.Promises = plan.Check(sides[1].Servers, evaluationDate(newer))
	}
	d := diff.Compare(sides[0], sides[1], opts)
	switch *format {
	case "json":
		err = d.WriteJSON(e.stdout)
	case "md":
		err = d.WriteMarkdown(e.stdout, rf.lang)
	case "html":
		err = d.WriteHTML(e.stdout, rf.lang)
	default:
		err = d.WriteText(e.stdout, rf.lang)
	}
	if err != nil {
		return err
	}
	if *failOn && d.Regression() {
		return &exitError{exitBelowGrade, fmt.Errorf("diff: %d things got worse (--fail-on-regression)", len(d.Regressions))}
	}
	return nil
}

// evaluationDate is the evaluation date of a set's records, or today
// (UTC) when they name none.
func evaluationDate(set *results.Set) time.Time {
	if t, err := time.Parse(time.DateOnly, set.Meta.AsOf); err == nil {
		return t
	}
	return scan.Day(time.Now())
}

// writeJSON writes v as indented JSON for people and programs, with
// < > & as they are.
func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func cmdPlan(e *env, args []string) error {
	args, err := subcommand(args, "plan", "check", "kensa plan check FILE [--inventory FILE] [--format text|json]")
	if err != nil {
		return err
	}
	fs := newFlags("plan check", "kensa plan check FILE [--inventory FILE] [--format text|json]",
		"Validate a remediation plan (YAML: promises, each with org or server, item, due YYYY-MM-DD and a note).\n"+
			"A bad file is refused whole, with file, line and column of every problem; with --inventory, every\n"+
			"organisation and server it names must be in the inventory.")
	invPath := fs.String("inventory", "", "inventory whose organisations and servers the promises must name")
	format := fs.String("format", "text", "output format: text or json")
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	plan, err := remediation.Load(pos[0], scoring.MailCatalog)
	if err != nil {
		return wrapBadInput(err)
	}
	if *invPath != "" {
		inv, err := loadInventory(*invPath)
		if err != nil {
			return err
		}
		if err := plan.CheckInventory(inv); err != nil {
			return wrapBadInput(err)
		}
	}
	if *format == "json" {
		type promise struct {
			remediation.Promise
			Due string `json:"due"`
		}
		out := []promise{}
		for _, p := range plan.Promises {
			out = append(out, promise{p, p.DueDate()})
		}
		return writeJSON(e, map[string]any{"plan": plan.Path, "promises": out})
	}
	fmt.Fprintf(e.stdout, "plan  %s\npromises  %d\n\n", plan.Path, len(plan.Promises))
	t := textable.New()
	t.Row("who", "item", "due", "note")
	for _, p := range plan.Promises {
		t.Row(p.Who(), p.Item, p.DueDate(), p.Note)
	}
	return t.Write(e.stdout)
}

func cmdMerge(e *env, args []string) error {
	fs := newFlags("merge", "kensa merge SHARD… -o RESULTS [--overwrite] [--format text|json|csv|md] [--history DB] [--metrics FILE]",
		"Put the results files of the shards of one scan (kensa scan --shard K/N or --only) together into one\n"+
			"results file, and print its grade table. Shards of different scans, inventories, policies, advisory\n"+
			"data, exceptions or evaluation dates are refused; missing shards are named, the table is PARTIAL and\n"+
			"the exit code 3 until every shard is there. A merge of all shards grades exactly as one scan.")
	var rf reportFlags
	rf.registerTable(fs)
	var of opsFlags
	of.registerOutputs(fs)
	out := fs.String("o", "", "the merged results file")
	overwrite := fs.Bool("overwrite", false, "replace an existing results file")
	format := fs.String("format", "text", "grade table format: text, json, csv or md")
	pos, err := fs.parse(e, args, 1, -1)
	if err != nil {
		return err
	}
	if *out == "" {
		return badInput("merge: -o RESULTS is required")
	}
	if err := oneOf("format", *format, "text", "json", "csv", "md"); err != nil {
		return err
	}
	for _, p := range pos {
		if p == *out {
			return badInput("merge: -o %s is one of the shards", *out)
		}
	}
	if !*overwrite {
		if err := results.CheckNew(*out); err != nil {
			return badInput("%v: pass --overwrite to replace it", err)
		}
	}
	var parts []*results.Set
	for _, p := range pos {
		set, err := results.ReadFile(p)
		if err != nil {
			return wrapBadInput(err)
		}
		for _, w := range set.Warnings {
			fmt.Fprintf(e.stderr, "kensa: warning: %s\n", w)
		}
		parts = append(parts, set)
	}
	m, err := scan.Merge(parts)
	if err != nil {
		return wrapBadInput(fmt.Errorf("merge: %w", err))
	}
	if len(m.Records) == 0 {
		return badInput("merge: the shards hold no records")
	}
	db, err := openHistory(of.history)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	// Records in the inventory's order, as one scan's tables show them.
	records := m.Records
	if inv, _, err := report.MatchInventory(&results.Set{Meta: m.Meta, Records: m.Records}, ""); err == nil && inv != nil {
		records = inventoryOrder(inv, m.Records)
	}
	var b bytes.Buffer
	for _, r := range records {
		line, err := results.Encode(r)
		if err != nil {
			return err
		}
		b.Write(line)
	}
	if err := writeFileAtomic(*out, b.Bytes()); err != nil {
		return err
	}
	in, err := rf.load(e, *out)
	if err != nil {
		return err
	}
	if err := writeGrade(e, report.NewGrade(in, scoring.ByOrg), *format); err != nil {
		return err
	}
	if err := of.finish(e, db, &rf, in, *out, 0); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "merged: %d records of %d parts into %s\n", len(m.Records), len(parts), *out)
	if !m.Complete() {
		msg := fmt.Sprintf("merge incomplete: %d servers of the inventory have no record", m.MissingServers)
		if len(m.Missing) > 0 {
			msg += fmt.Sprintf("; shards missing: %s", m.MissingLabel())
		}
		return &exitError{exitIncomplete, errors.New(msg + "; merge again when every shard is there")}
	}
	return nil
}

// inventoryOrder returns the records in the order of the inventory's
// servers, records of servers it does not list last.
func inventoryOrder(inv *inventory.Inventory, recs []*results.Record) []*results.Record {
	byID := map[string]*results.Record{}
	for _, r := range recs {
		byID[r.Server.ID] = r
	}
	out := make([]*results.Record, 0, len(recs))
	for _, s := range inv.Servers {
		if r, ok := byID[s.ID]; ok {
			out = append(out, r)
			delete(byID, s.ID)
		}
	}
	for _, r := range recs {
		if _, left := byID[r.Server.ID]; left {
			out = append(out, r)
		}
	}
	return out
}

// reportOps are the flags of kensa report that read the history
// database (the trend of each organisation) and the remediation plan.
type reportOps struct {
	history, plan string
}

func (r *reportOps) register(fs *flagSet) {
	fs.StringVar(&r.history, "history", "", "history database: draw each organisation's trend over its scans (HTML)")
	fs.StringVar(&r.plan, "plan", "", "remediation plan YAML: list each promise, overdue first, against these results (HTML)")
}

// apply reads the trend and checks the plan into the report's options.
func (r *reportOps) apply(opts *report.Options, in report.Input) error {
	if r.history != "" {
		if _, err := os.Stat(r.history); err != nil {
			return badInput("report: --history: %v", err)
		}
		db, err := openHistory(r.history)
		if err != nil {
			return err
		}
		defer db.Close()
		trends, err := db.Trends()
		if err != nil {
			return err
		}
		opts.Trends = map[string][]report.TrendPoint{}
		for org, pts := range trends {
			for _, p := range pts {
				opts.Trends[org] = append(opts.Trends[org], report.TrendPoint{ScanID: p.ScanID, Date: p.Started, Grade: p.Grade, Overall: p.Overall})
			}
		}
	}
	if r.plan != "" {
		plan, err := remediation.Load(r.plan, in.Catalog)
		if err != nil {
			return wrapBadInput(err)
		}
		opts.Promises = plan.Check(in.Servers, evaluationDate(in.Results))
	}
	return nil
}
