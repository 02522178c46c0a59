package main

import (
	"fmt"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// reportFlags are the flags grade and questionnaire share.
type reportFlags struct {
	unknown   string
	lang      string
	inventory string
	catalog   string
	// regrade, when set, re-derives the verdicts with this judge.
	regrade *judgeFlags
}

func (r *reportFlags) register(fs *flagSet) {
	r.registerTable(fs)
	fs.StringVar(&r.inventory, "inventory", "", "inventory the scan read (default: the path the results name, if its digest matches); servers without a record count as unknown")
	fs.StringVar(&r.catalog, "catalog", "", "catalog YAML file for another inspection type (default: the built-in mail-server catalog)")
}

// registerTable registers the flags of the table itself, which scan
// shares.
func (r *reportFlags) registerTable(fs *flagSet) {
	fs.StringVar(&r.unknown, "unknown", "count", "unknown outcomes: count (in the denominator) or exclude")
	fs.StringVar(&r.lang, "lang", "ja", "language of headings and item names: ja or en (plain CSV column names and JSON keys stay English)")
}

// load reads the results and builds the report input.
func (r *reportFlags) load(e *env, path string) (report.Input, error) {
	if _, err := r.base(); err != nil {
		return report.Input{}, err
	}
	set, err := results.ReadFileWith(path, results.ReadOptions{SkipObservations: r.regrade == nil})
	if err != nil {
		return report.Input{}, wrapBadInput(err)
	}
	return r.input(e, set)
}

// base checks the table flags and returns the input without results:
// unknown policy, language, catalog.
func (r *reportFlags) base() (report.Input, error) {
	in := report.Input{Lang: r.lang}
	pol, err := scoring.ParseUnknownPolicy(r.unknown)
	if err != nil {
		return in, wrapBadInput(fmt.Errorf("--unknown: %w", err))
	}
	in.Policy = pol
	if err := oneOf("lang", r.lang, "ja", "en"); err != nil {
		return in, err
	}
	in.Catalog = scoring.MailCatalog
	if r.catalog != "" {
		if in.Catalog, err = scoring.LoadCatalog(r.catalog); err != nil {
			return in, wrapBadInput(err)
		}
	}
	return in, nil
}

// input builds the report input of a results set already read (a file,
// or a scan of the history database): its warnings, a re-grade when
// asked, the inventory that places missing servers.
func (r *reportFlags) input(e *env, set *results.Set) (report.Input, error) {
	in, err := r.base()
	if err != nil {
		return in, err
	}
	in.Results = set
	for _, w := range set.Warnings {
		fmt.Fprintf(e.stderr, "kensa: warning: %s\n", w)
	}
	if r.regrade != nil {
		if err := regradeSet(e, set, r.regrade); err != nil {
			return in, err
		}
	}
	inv, note, err := report.MatchInventory(set, r.inventory)
	if err != nil {
		return in, wrapBadInput(err)
	}
	if note != "" {
		in.Notes = append(in.Notes, note)
	}
	var servers []inventory.Server
	if inv != nil {
		servers = inv.Servers
	}
	in.Servers, in.Unattributed = report.Outcomes(set, in.Catalog, servers)
	return in, nil
}

func cmdGrade(e *env, args []string) error {
	fs := newFlags("grade", "kensa grade RESULTS [--by org|unit|all] [--format text|json|csv|md] [--fail-under GRADE] [--unknown count|exclude]",
		"Grade a results file with the category-average method: item rates, category means, overall mean, A–D.")
	var rf reportFlags
	rf.register(fs)
	by := fs.String("by", "org", "group by org, unit (organisation and unit together) or all")
	format := fs.String("format", "text", "output format: text, json, csv or md")
	failUnder := fs.String("fail-under", "", "exit 1 when any group's grade is below this grade (A, B, C or D)")
	regrade := fs.Bool("regrade", false, "re-derive every verdict and finding from the stored observations, without rescanning, under --policy, --advisories, --exceptions, --as-of and the policy flags; what they do not give is the records' own (their evaluation date, policy, advisory data, exceptions)")
	var jf judgeFlags
	jf.register(fs)
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if *regrade {
		rf.regrade = &jf
	}
	groupBy, err := scoring.ParseGroupBy(*by)
	if err != nil {
		return wrapBadInput(fmt.Errorf("--by: %w", err))
	}
	if err := oneOf("format", *format, "text", "json", "csv", "md"); err != nil {
		return err
	}
	if *failUnder != "" {
		if err := oneOf("fail-under", *failUnder, "A", "B", "C", "D"); err != nil {
			return err
		}
	}
	in, err := rf.load(e, pos[0])
	if err != nil {
		return err
	}
	g := report.NewGrade(in, groupBy)
	if err := writeGrade(e, g, *format); err != nil {
		return err
	}
	return checkFailUnder(g, *failUnder)
}

func writeGrade(e *env, g *report.GradeReport, format string) error {
	switch format {
	case "json":
		return g.WriteJSON(e.stdout)
	case "csv":
		return g.WriteCSV(e.stdout)
	case "md":
		return g.WriteMarkdown(e.stdout)
	}
	return g.WriteText(e.stdout)
}

// checkFailUnder returns exit 1 when a group's grade is worse than min.
func checkFailUnder(g *report.GradeReport, min string) error {
	if min == "" {
		return nil
	}
	if worst := g.Lowest(); worst > min {
		return &exitError{exitBelowGrade, fmt.Errorf("grade %s is below --fail-under %s", worst, min)}
	}
	return nil
}

func cmdQuestionnaire(e *env, args []string) error {
	fs := newFlags("questionnaire", "kensa questionnaire RESULTS [--format csv|json] [--excel] [--xlsx FILE] [--lang ja|en]",
		"Per organisation and item: 対象数 (applicable), 実施数 (implemented), rate, verified and declared counts, unknowns, discrepancies.\n--xlsx writes an Excel workbook instead (questionnaire, grades, item rates, findings per server).")
	var rf reportFlags
	rf.register(fs)
	format := fs.String("format", "csv", "output format: csv or json")
	excel := fs.Bool("excel", false, "CSV for Excel in Japan: UTF-8 with a byte order mark, CRLF lines, column headings in --lang (JSON never gets a byte order mark)")
	xlsx := fs.String("xlsx", "", "write an Excel workbook to this file instead of CSV or JSON on stdout")
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "csv", "json"); err != nil {
		return err
	}
	if *excel && *format == "json" {
		return badInput("questionnaire: --excel is for CSV: JSON is for programs and never gets a byte order mark")
	}
	in, err := rf.load(e, pos[0])
	if err != nil {
		return err
	}
	if in.Partial() {
		fmt.Fprintln(e.stderr, "kensa: warning: PARTIAL: servers of the inventory have no record; their items count as unknown")
	}
	if *xlsx != "" {
		return writeWorkbook(e, *xlsx, in, report.Options{By: scoring.ByOrg}, report.SheetQuestionnaire)
	}
	rows := report.Questionnaire(in)
	if *format == "json" {
		return report.WriteQuestionnaireJSON(e.stdout, in, rows)
	}
	return report.WriteQuestionnaireCSV(e.stdout, rows, *excel, in.Lang)
}

// regradeSet re-derives every record's verdicts and findings from its
// observations, with the judge scan.RegradeJudge chooses: the command
// line's values, or else the records' own.
func regradeSet(e *env, set *results.Set, jf *judgeFlags) error {
	given, err := jf.choice()
	if err != nil {
		return err
	}
	judge, notes, err := scan.RegradeJudge(set, given)
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "kensa: note: --regrade: %s\n", n)
	}
	if err != nil {
		return wrapBadInput(fmt.Errorf("--regrade: %w", err))
	}
	for _, x := range judge.Expired {
		fmt.Fprintf(e.stderr, "kensa: warning: expired exception ignored: %s\n", x)
	}
	if err := judge.RegradeSet(set); err != nil {
		return wrapBadInput(fmt.Errorf("--regrade: %w", err))
	}
	return nil
}
