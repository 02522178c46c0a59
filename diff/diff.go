// Package diff says what changed between two scans (kensa diff): per
// organisation the grade and rate, per server the items that newly fail,
// newly pass or became unknown, servers added or gone, new undeclared
// services, new discrepancies, and what became of the remediation
// plan's promises.
//
// It compares verdicts and never judges: the caller re-grades both scans
// under one judge first (scan.OneJudge), so that a change is what a
// server did. Where that could not be done and the scans were judged
// differently, every change says "rules changed", never "server
// changed": the difference may be the judge's.
package diff

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/kensa-inspect/kensa/remediation"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// Causes of a change.
const (
	// ServerChanged: both scans were judged by one judge, so the change
	// is what the server did.
	ServerChanged = "server changed"
	// RulesChanged: the scans were judged differently and could not be
	// re-graded under one judge: the change may be the judge's.
	RulesChanged = "rules changed"
)

// Side is one of the two scans compared.
type Side struct {
	// Set is the results; Servers its outcomes per server, missing
	// servers of the inventory included (report.Outcomes), and
	// Unattributed the missing servers whose group is not known.
	Set          *results.Set
	Servers      []scoring.ServerOutcomes
	Unattributed int
}

// Options say how the two sides were judged and what else to show.
type Options struct {
	Catalog *scoring.Catalog
	Policy  scoring.UnknownPolicy
	// Regraded is set when both sides were re-graded under one judge;
	// Differ names the parts of the judge in which the two scans were
	// judged differently ("policy", "advisory data"). With Differ not
	// empty and Regraded unset, every change's cause is RulesChanged.
	Regraded bool
	Differ   []string
	// Promises are the remediation plan checked against the newer scan.
	Promises []remediation.Checked
}

// ScanInfo describes one side of the diff.
type ScanInfo struct {
	Name             string    `json:"name"`
	ScanID           string    `json:"scan_id"`
	Started          time.Time `json:"started"`
	AsOf             string    `json:"as_of"`
	AdvisoriesAsOf   string    `json:"advisories_as_of"`
	Records          int       `json:"records"`
	InventoryServers int       `json:"inventory_servers"`
	Partial          bool      `json:"partial"`
}

// OrgChange is one organisation's grade and overall rate in both scans
// (shown values; "-" where it has none).
type OrgChange struct {
	Org        string `json:"org"`
	OldGrade   string `json:"old_grade"`
	NewGrade   string `json:"new_grade"`
	OldOverall string `json:"old_overall"`
	NewOverall string `json:"new_overall"`
	// Delta is the change of the overall rate in points, shown with one
	// decimal and a sign ("+12.5", "-3.1", "0.0"); "-" when either is
	// missing.
	Delta   string `json:"delta"`
	Changed bool   `json:"changed"`
	Worse   bool   `json:"worse"`
	Cause   string `json:"cause,omitempty"`
}

// ItemChange is one item of one server whose outcome changed.
type ItemChange struct {
	Item   string          `json:"item"`
	From   scoring.Outcome `json:"from"`
	To     scoring.Outcome `json:"to"`
	Cause  string          `json:"cause"`
	Reason string          `json:"reason"`
}

// ServerChange lists the items of one server that changed.
type ServerChange struct {
	ID            string       `json:"id"`
	Org           string       `json:"org"`
	Unit          string       `json:"unit"`
	NewlyFailing  []ItemChange `json:"newly_failing,omitempty"`
	NewlyPassing  []ItemChange `json:"newly_passing,omitempty"`
	BecameUnknown []ItemChange `json:"became_unknown,omitempty"`
}

// ServerRef names a server added or gone.
type ServerRef struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Unit string `json:"unit"`
	Host string `json:"host"`
}

// Undeclared is one server's answering services that the inventory
// omits and the older scan did not find.
type Undeclared struct {
	ID       string   `json:"id"`
	Org      string   `json:"org"`
	Services []string `json:"services"`
}

// Discrepancy is a disagreement between probe and declaration that the
// older scan did not have.
type Discrepancy struct {
	ID       string          `json:"id"`
	Org      string          `json:"org"`
	Item     string          `json:"item"`
	Probed   scoring.Outcome `json:"probed"`
	Declared scoring.Outcome `json:"declared"`
	Reason   string          `json:"reason"`
}

// Diff is what changed from the older scan to the newer.
type Diff struct {
	Old ScanInfo `json:"old"`
	New ScanInfo `json:"new"`
	// Regraded and Differ: see Options.
	Regraded bool     `json:"regraded"`
	Differ   []string `json:"judge_differs,omitempty"`
	// Cause is the cause of every change: ServerChanged or
	// RulesChanged.
	Cause            string                `json:"cause"`
	Orgs             []OrgChange           `json:"orgs"`
	Servers          []ServerChange        `json:"servers"`
	Added            []ServerRef           `json:"servers_added"`
	Gone             []ServerRef           `json:"servers_gone"`
	NewUndeclared    []Undeclared          `json:"new_undeclared_services"`
	NewDiscrepancies []Discrepancy         `json:"new_discrepancies"`
	Promises         []remediation.Checked `json:"promises,omitempty"`
	// Regressions say, one a line, what got worse: a grade or rate
	// lower, an item newly failing, an item that passed and became
	// unknown, a new undeclared service, a new discrepancy.
	Regressions []string `json:"regressions"`

	catalog *scoring.Catalog
}

// Regression reports whether anything got worse.
func (d *Diff) Regression() bool { return len(d.Regressions) > 0 }

func info(s Side) ScanInfo {
	si := ScanInfo{Name: s.Set.Name, ScanID: s.Set.Meta.ScanID, AsOf: s.Set.Meta.AsOf, AdvisoriesAsOf: s.Set.Meta.AdvisoriesAsOf,
		Records: len(s.Set.Records), InventoryServers: s.Set.Meta.InventoryServers}
	for _, r := range s.Set.Records {
		if si.Started.IsZero() || r.Started.Before(si.Started) {
			si.Started = r.Started
		}
	}
	si.Partial = s.Unattributed > 0
	for _, sv := range s.Servers {
		si.Partial = si.Partial || sv.Missing
	}
	return si
}

// Compare says what changed from old to new.
func Compare(older, newer Side, o Options) *Diff {
	d := &Diff{Old: info(older), New: info(newer), Regraded: o.Regraded, Differ: o.Differ, Cause: ServerChanged,
		Promises: o.Promises, catalog: o.Catalog,
		Orgs: []OrgChange{}, Servers: []ServerChange{}, Added: []ServerRef{}, Gone: []ServerRef{},
		NewUndeclared: []Undeclared{}, NewDiscrepancies: []Discrepancy{}, Regressions: []string{}}
	if len(o.Differ) > 0 && !o.Regraded {
		d.Cause = RulesChanged
	}
	d.compareOrgs(older, newer, o)
	d.compareServers(older.Set, newer.Set)
	return d
}

func (d *Diff) regress(format string, a ...any) {
	d.Regressions = append(d.Regressions, fmt.Sprintf(format, a...))
}

func (d *Diff) compareOrgs(older, newer Side, o Options) {
	to := scoring.Grade(o.Catalog, older.Servers, scoring.ByOrg, o.Policy, older.Unattributed)
	tn := scoring.Grade(o.Catalog, newer.Servers, scoring.ByOrg, o.Policy, newer.Unattributed)
	byKey := map[string]*scoring.Group{}
	for _, g := range to.Groups {
		byKey[g.Key] = g
	}
	seen := map[string]bool{}
	add := func(key string, og, ng *scoring.Group) {
		c := OrgChange{Org: key, OldGrade: "-", NewGrade: "-", OldOverall: "-", NewOverall: "-", Delta: "-"}
		if og != nil {
			c.OldGrade, c.OldOverall = gradeCell(og), scoring.FormatRate(og.Overall)
		}
		if ng != nil {
			c.NewGrade, c.NewOverall = gradeCell(ng), scoring.FormatRate(ng.Overall)
		}
		if og != nil && ng != nil && og.Overall != nil && ng.Overall != nil {
			delta := new(big.Rat).Sub(ng.Overall, og.Overall)
			c.Delta = signed(delta)
			c.Worse = delta.Sign() < 0 || (ng.Grade > og.Grade && ng.Grade != "-")
			c.Changed = delta.Sign() != 0 || c.OldGrade != c.NewGrade
		} else {
			c.Changed = c.OldGrade != c.NewGrade
		}
		if c.Changed {
			c.Cause = d.Cause
		}
		if c.Worse {
			d.regress("%s: grade %s → %s, overall %s → %s (%s)", key, c.OldGrade, c.NewGrade, c.OldOverall, c.NewOverall, c.Delta)
		}
		d.Orgs = append(d.Orgs, c)
	}
	for _, ng := range tn.Groups {
		seen[ng.Key] = true
		add(ng.Key, byKey[ng.Key], ng)
	}
	for _, og := range to.Groups {
		if !seen[og.Key] {
			add(og.Key, og, nil)
		}
	}
}

// gradeCell marks a withheld A as the grade table does.
func gradeCell(g *scoring.Group) string {
	if g.AWithheld {
		return g.Grade + "*"
	}
	return g.Grade
}

// signed shows a difference of rates in points with one decimal, half
// away from zero, and a sign.
func signed(r *big.Rat) string {
	s := new(big.Rat).Abs(r).FloatString(1)
	switch {
	case s == "0.0":
		return "0.0"
	case r.Sign() < 0:
		return "-" + s
	}
	return "+" + s
}

func (d *Diff) compareServers(older, newer *results.Set) {
	before := map[string]*results.Record{}
	for _, r := range older.Records {
		before[r.Server.ID] = r
	}
	after := map[string]bool{}
	for _, r := range newer.Records {
		after[r.Server.ID] = true
		o, ok := before[r.Server.ID]
		if !ok {
			d.Added = append(d.Added, ServerRef{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit, Host: r.Server.Host})
		}
		sc := ServerChange{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit}
		if ok {
			for _, code := range d.catalog.Codes() {
				was, is := o.Items[code], r.Items[code]
				if was.Outcome == is.Outcome || is.Outcome == "" {
					continue
				}
				c := ItemChange{Item: code, From: was.Outcome, To: is.Outcome, Cause: d.Cause, Reason: is.Reason}
				if c.From == "" {
					c.From = scoring.Unknown
				}
				switch is.Outcome {
				case scoring.Fail:
					sc.NewlyFailing = append(sc.NewlyFailing, c)
					d.regress("%s %s: %s → fail (%s)", r.Server.ID, code, c.From, c.Cause)
				case scoring.Pass:
					sc.NewlyPassing = append(sc.NewlyPassing, c)
				case scoring.Unknown:
					sc.BecameUnknown = append(sc.BecameUnknown, c)
					if c.From == scoring.Pass {
						d.regress("%s %s: pass → unknown (%s)", r.Server.ID, code, c.Cause)
					}
				}
			}
		}
		if len(sc.NewlyFailing)+len(sc.NewlyPassing)+len(sc.BecameUnknown) > 0 {
			d.Servers = append(d.Servers, sc)
		}
		var had []string
		if ok {
			had = o.Undeclared
		}
		if fresh := minus(r.Undeclared, had); len(fresh) > 0 {
			d.NewUndeclared = append(d.NewUndeclared, Undeclared{ID: r.Server.ID, Org: r.Server.Org, Services: fresh})
			d.regress("%s: new undeclared services %v", r.Server.ID, fresh)
		}
		for _, code := range r.Discrepancies(d.catalog) {
			if ok && o.Items[code].Discrepancy {
				continue
			}
			v := r.Items[code]
			d.NewDiscrepancies = append(d.NewDiscrepancies, Discrepancy{ID: r.Server.ID, Org: r.Server.Org, Item: code,
				Probed: v.Probed, Declared: v.Declared, Reason: v.Reason})
			d.regress("%s %s: new discrepancy: probe %s, declared %s", r.Server.ID, code, v.Probed, v.Declared)
		}
	}
	for _, r := range older.Records {
		if !after[r.Server.ID] {
			d.Gone = append(d.Gone, ServerRef{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit, Host: r.Server.Host})
		}
	}
	sort.SliceStable(d.Servers, func(i, j int) bool { return d.Servers[i].ID < d.Servers[j].ID })
}

// minus returns the elements of a not in b, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}
