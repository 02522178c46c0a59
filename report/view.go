package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/remediation"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// Options choose what the HTML report and the workbook show.
type Options struct {
	// By groups the grade table: scoring.ByOrg (the default), ByUnit or
	// ByAll. The findings are listed per organisation whatever the
	// grouping.
	By scoring.GroupBy
	// Org, when not empty, restricts the report to one organisation: no
	// other organisation's servers, hosts, addresses or grades, and not
	// the scan's scope.
	Org string
	// Trends, when not nil, are each organisation's grades over the
	// scans of a history database: the HTML report draws them.
	Trends map[string][]TrendPoint
	// Promises, when not nil, are the remediation plan checked against
	// these records: the HTML report lists them, overdue first.
	Promises []remediation.Checked
}

// ForOrg returns the input restricted to the servers and records of one
// organisation. The unattributed count stays: servers whose group is not
// known may belong to org, so its grade is the one of the full table.
func ForOrg(in Input, org string) (Input, error) {
	var orgs []string
	seen := map[string]bool{}
	for _, s := range in.Servers {
		if !seen[s.Org] {
			seen[s.Org] = true
			orgs = append(orgs, s.Org)
		}
	}
	if !seen[org] {
		return in, fmt.Errorf("organisation %q has no server in %s (organisations: %s)", org, in.Results.Name, strings.Join(orgs, ", "))
	}
	out := in
	set := *in.Results
	set.Records = nil
	set.Warnings = nil
	for _, r := range in.Results.Records {
		if r.Server.Org == org {
			set.Records = append(set.Records, r)
		}
	}
	out.Results = &set
	out.Servers = nil
	for _, s := range in.Servers {
		if s.Org == org {
			out.Servers = append(out.Servers, s)
		}
	}
	out.Org = org
	return out, nil
}

// metaRow is one line of the scan metadata.
type metaRow struct{ Label, Value string }

// verdictView is one item of one server that failed or stayed unknown.
type verdictView struct {
	Code, Name    string
	Supplementary bool
	Outcome       scoring.Outcome
	Word, Source  string
	Reason        string
	Evidence      []string
	// Discrepancy says what the probe and the declaration said, when
	// they disagree; Exception names the exception used.
	Discrepancy, Exception string
}

// softwareView is what one service's banners showed of its software.
type softwareView struct {
	Where, What string
	Banners     []string
}

// serverView is one server with items that failed or stayed unknown.
type serverView struct {
	ID, Org, Unit, Host string
	Addresses           string
	// Missing marks a server of the inventory without a record.
	Missing         bool
	Fails, Unknowns int
	// Counts says how many items failed and stayed unknown.
	Counts   string
	Verdicts []verdictView
	// Software lists what the banners showed (when the records were read
	// with their observations).
	Software []softwareView
}

// undeclaredView is one server's answering services the inventory
// omits.
type undeclaredView struct {
	ID, Host string
	Services []string
}

// appliedView is one exception applied to one item of one server.
type appliedView struct {
	ID, Item, Outcome, Exception string
}

// expiredView is one expired exception a server's verdicts ignored.
type expiredView struct{ ID, Text string }

// orgView is what the report lists for one organisation.
type orgView struct {
	Name, Anchor   string
	Grade, Overall string
	Servers        []serverView
	Discrepancies  []Discrepancy
	Undeclared     []undeclaredView
	Applied        []appliedView
	Expired        []expiredView
}

// view is the content of the HTML report and the workbook, computed
// once from the records: report shows what the records concluded and
// never judges.
type view struct {
	in      Input
	opts    Options
	l       *labels
	table   *scoring.Table // by opts.By
	byOrg   *scoring.Table
	partial string
	meta    []metaRow
	orgs    []orgView
	// notes are the lines under the grade table.
	notes []string
}

// expiredPrefix starts the findings that name an expired exception.
const expiredPrefix = "expired exception ignored: "

func newView(in Input, opts Options) (*view, error) {
	if opts.By == "" {
		opts.By = scoring.ByOrg
	}
	if opts.Org != "" {
		var err error
		if in, err = ForOrg(in, opts.Org); err != nil {
			return nil, err
		}
	}
	v := &view{in: in, opts: opts, l: labelsFor(in.Lang)}
	v.table = scoring.Grade(in.Catalog, in.Servers, opts.By, in.Policy, in.Unattributed)
	v.byOrg = v.table
	if opts.By != scoring.ByOrg {
		v.byOrg = scoring.Grade(in.Catalog, in.Servers, scoring.ByOrg, in.Policy, in.Unattributed)
	}
	v.partial = partialLine(v.l, v.table)
	g := &GradeReport{In: in, Table: v.table}
	v.notes = g.footer(v.l)
	v.meta = v.metaRows()
	v.orgs = v.orgViews()
	return v, nil
}

// scanPeriod returns the first start and the last end of the records.
func scanPeriod(recs []*results.Record) string {
	var first, last time.Time
	for _, r := range recs {
		end := r.Started.Add(time.Duration(r.DurationMS) * time.Millisecond)
		if first.IsZero() || r.Started.Before(first) {
			first = r.Started
		}
		if end.After(last) {
			last = end
		}
	}
	if first.IsZero() {
		return "-"
	}
	const layout = "2006-01-02 15:04:05 UTC"
	return first.UTC().Format(layout) + " – " + last.UTC().Format(layout)
}

func (v *view) metaRows() []metaRow {
	l, m, in := v.l, v.in.Results.Meta, v.in
	recorded := 0
	for _, s := range in.Servers {
		if !s.Missing {
			recorded++
		}
	}
	// Servers without a record whose group is unknown belong to the
	// whole scan, not to one organisation's report.
	inventoryCount := len(in.Servers)
	if in.Org == "" {
		inventoryCount += in.Unattributed
	}
	scope := m.Scope
	switch {
	case in.Org != "":
		scope = l.ScopeOrg
	case scope == "":
		scope = l.ScopeDefault
	}
	partial := l.No
	if v.partial != "" {
		partial = l.Yes
	}
	rows := []metaRow{
		{l.KensaVersion, orDash(m.KensaVersion)},
		{l.ScanID, orDash(m.ScanID)},
		{l.ScanPeriod, scanPeriod(in.Results.Records)},
		{l.AdvisoriesAs, orDash(m.AdvisoriesAsOf)},
		{l.EvaluatedAs, orDash(m.AsOf)},
		{l.CatalogName, in.Catalog.Name},
		{l.UnknownPolicy, l.policy(in.Policy)},
		{l.ServersCounted, strconv.Itoa(recorded)},
		{l.InventoryCount, strconv.Itoa(inventoryCount)},
		{l.Partial, partial},
		{l.InventoryFile, orDash(m.InventoryPath)},
		{l.InventoryDigest, orDash(m.InventoryDigest)},
		{l.ResultsFile, in.Results.Name},
		{l.SourceAddress, orDash(m.SourceAddress)},
		{l.Scope, scope},
	}
	return rows
}

// orgViews lists, per organisation in the order of the table, the
// servers with items that failed or stayed unknown and everything every
// report lists beside the grades.
func (v *view) orgViews() []orgView {
	l, in := v.l, v.in
	byID := map[string]*results.Record{}
	for _, r := range in.Results.Records {
		byID[r.Server.ID] = r
	}
	index := map[string]int{}
	var out []orgView
	for i, gr := range v.byOrg.Groups {
		index[gr.Org] = i
		out = append(out, orgView{Name: gr.Org, Anchor: fmt.Sprintf("org-%d", i+1), Grade: gradeCell(gr), Overall: scoring.FormatRate(gr.Overall)})
	}
	for _, s := range in.Servers {
		i, ok := index[s.Org]
		if !ok {
			continue
		}
		o := &out[i]
		sv := serverView{ID: s.ID, Org: s.Org, Unit: s.Unit, Missing: s.Missing}
		rec := byID[s.ID]
		if rec != nil {
			sv.Host = rec.Server.Host
			if len(rec.Server.Addresses) > 0 && !(len(rec.Server.Addresses) == 1 && rec.Server.Addresses[0] == rec.Server.Host) {
				sv.Addresses = strings.Join(rec.Server.Addresses, ", ")
			}
		}
		for _, it := range in.Catalog.Items {
			vd, ok := s.Items[it.Code]
			if !ok {
				vd = scoring.Verdict{Outcome: scoring.Unknown, Reason: "no verdict recorded"}
			}
			if vd.Exception != "" && rec != nil {
				o.Applied = append(o.Applied, appliedView{ID: s.ID, Item: it.Code, Outcome: l.outcome(vd.Outcome), Exception: vd.Exception})
			}
			if vd.Outcome != scoring.Fail && vd.Outcome != scoring.Unknown {
				continue
			}
			vv := verdictView{Code: it.Code, Name: it.Name(in.Lang), Supplementary: !it.Graded, Outcome: vd.Outcome,
				Word: l.outcome(vd.Outcome), Source: l.source(vd.Source), Reason: vd.Reason, Evidence: vd.Evidence, Exception: vd.Exception}
			if s.Missing {
				vv.Reason, vv.Source = l.NoRecord, "-"
			}
			if vd.Discrepancy {
				vv.Discrepancy = fmt.Sprintf("%s %s, %s %s", l.Probe, l.outcome(vd.Probed), l.Declared, l.outcome(vd.Declared))
			}
			if vd.Outcome == scoring.Fail {
				sv.Fails++
			} else {
				sv.Unknowns++
			}
			sv.Verdicts = append(sv.Verdicts, vv)
		}
		sv.Counts = fmt.Sprintf(l.ServerCounts, sv.Fails, sv.Unknowns)
		if len(sv.Verdicts) > 0 && rec != nil {
			sv.Software = softwareOf(rec, l)
		}
		if len(sv.Verdicts) > 0 {
			o.Servers = append(o.Servers, sv)
		}
		if rec == nil {
			continue
		}
		if len(rec.Undeclared) > 0 {
			o.Undeclared = append(o.Undeclared, undeclaredView{ID: s.ID, Host: rec.Server.Host, Services: rec.Undeclared})
		}
		for _, f := range rec.Findings {
			if t, ok := strings.CutPrefix(f, expiredPrefix); ok {
				o.Expired = append(o.Expired, expiredView{ID: s.ID, Text: t})
			}
		}
	}
	for _, d := range Discrepancies(in.Results, in.Catalog) {
		if i, ok := index[d.Org]; ok {
			out[i].Discrepancies = append(out[i].Discrepancies, d)
		}
	}
	return out
}

// findingRow is one row of the findings sheet: a server and an item that
// failed or stayed unknown.
type findingRow struct {
	Org, Unit, ID, Host, Item, ItemName, Outcome, Source, Reason, Evidence string
}

// findings flattens the organisations' servers into rows.
func (v *view) findings() []findingRow {
	var out []findingRow
	for _, o := range v.orgs {
		for _, s := range o.Servers {
			for _, vd := range s.Verdicts {
				first := ""
				if len(vd.Evidence) > 0 {
					first = vd.Evidence[0]
				}
				out = append(out, findingRow{Org: s.Org, Unit: s.Unit, ID: s.ID, Host: s.Host, Item: vd.Code, ItemName: vd.Name,
					Outcome: vd.Word, Source: vd.Source, Reason: vd.Reason, Evidence: first})
			}
		}
	}
	return out
}

// appliesTo says which services make an item apply.
func (v *view) appliesTo(it scoring.Item) string {
	if len(it.AppliesTo) == 0 {
		return v.l.AppliesToAll
	}
	return strings.Join(it.AppliesTo, ", ")
}
