package scoring

import (
	"fmt"
	"math/big"
)

// UnknownPolicy says how unknown outcomes enter a rate.
type UnknownPolicy string

// Unknown policies. Under either, a group with an unknown outcome never
// gets an A.
const (
	// CountUnknown counts unknown outcomes in the denominator (the
	// default, as XCCDF's default model scores unknown as 0).
	CountUnknown UnknownPolicy = "count"
	// ExcludeUnknown leaves unknown outcomes out of the denominator.
	ExcludeUnknown UnknownPolicy = "exclude"
)

// ParseUnknownPolicy reads "count" or "exclude".
func ParseUnknownPolicy(s string) (UnknownPolicy, error) {
	switch p := UnknownPolicy(s); p {
	case CountUnknown, ExcludeUnknown:
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q (want count or exclude)", s)
}

// GroupBy says how servers are grouped for grading.
type GroupBy string

// Groupings. Units are never pooled across organisations: every ministry
// has a 本省.
const (
	ByOrg  GroupBy = "org"
	ByUnit GroupBy = "unit" // by organisation and unit together
	ByAll  GroupBy = "all"
)

// ParseGroupBy reads "org", "unit" or "all".
func ParseGroupBy(s string) (GroupBy, error) {
	switch g := GroupBy(s); g {
	case ByOrg, ByUnit, ByAll:
		return g, nil
	}
	return "", fmt.Errorf("unknown grouping %q (want org, unit or all)", s)
}

// AllKey is the key of the single group of ByAll.
const AllKey = "all"

// ServerOutcomes is what the engine needs of one server: where it belongs
// and its verdict per item code.
type ServerOutcomes struct {
	ID, Org, Unit string
	Items         map[string]Verdict
	// Missing marks a server of the inventory that has no record; its
	// items are unknown (see MissingVerdicts).
	Missing bool
}

// MissingVerdicts returns the verdicts of a server that has no record: every
// item that applies to its listed services is unknown, the others na; with
// no service listed, every item is unknown.
func MissingVerdicts(cat *Catalog, services map[string]bool) map[string]Verdict {
	out := make(map[string]Verdict, len(cat.Items))
	for _, it := range cat.Items {
		// With no service listed nothing shows which items apply: every
		// one is unknown, as for a scanned server where nothing answered.
		if len(services) == 0 || it.Applies(services) {
			out[it.Code] = Verdict{Outcome: Unknown, Source: FromProbe, Reason: "no record: the server was not scanned (scan stopped or incomplete)"}
		} else {
			out[it.Code] = Verdict{Outcome: NA, Source: FromProbe, Reason: "no service the item applies to"}
		}
	}
	return out
}

// Tally counts the outcomes of one item within a group.
type Tally struct {
	Pass    int `json:"pass"`
	Fail    int `json:"fail"`
	Unknown int `json:"unknown"`
	NA      int `json:"na"`
	// PassProbe and PassDeclared split Pass by source: verified by
	// measurement versus self-reported.
	PassProbe    int `json:"pass_probe"`
	PassDeclared int `json:"pass_declared"`
	// Discrepancies counts servers where probe and declaration disagree.
	Discrepancies int `json:"discrepancies"`
	// Exceptions counts passes granted by an exception.
	Exceptions int `json:"exceptions"`
}

// Applicable returns pass + fail + unknown.
func (t Tally) Applicable() int { return t.Pass + t.Fail + t.Unknown }

func (t *Tally) add(v Verdict) {
	switch v.Outcome {
	case Pass:
		t.Pass++
		if v.Source == FromDeclared {
			t.PassDeclared++
		} else {
			t.PassProbe++
		}
		if v.Exception != "" {
			t.Exceptions++
		}
	case Fail:
		t.Fail++
	case Unknown:
		t.Unknown++
	default:
		t.NA++
	}
	if v.Discrepancy {
		t.Discrepancies++
	}
}

// Rate returns the item rate under policy p, nil when nothing applies.
func (t Tally) Rate(p UnknownPolicy) *big.Rat {
	den := t.Applicable()
	if p == ExcludeUnknown {
		den -= t.Unknown
	}
	return Percent(t.Pass, den)
}

// ItemResult is one item's result within a group.
type ItemResult struct {
	Item  Item
	Tally Tally
	// Rate is nil when no server of the group is counted for the item.
	Rate *big.Rat
}

// CategoryResult is one category's result within a group.
type CategoryResult struct {
	Category Category
	// Rate is the mean of the rates of its items that have one; nil when
	// none has.
	Rate *big.Rat
}

// Group is the graded result of one group of servers.
type Group struct {
	// Key is the organisation, "org/unit", or AllKey.
	Key       string
	Org, Unit string
	Servers   int
	// Missing counts servers of the group that have no record.
	Missing    int
	Items      []ItemResult     // catalog order, supplementary included
	Categories []CategoryResult // catalog order, graded categories only
	// Overall is the mean of the category rates; nil when no graded item
	// applies to any server of the group.
	Overall *big.Rat
	// Grade is A–D, or "-" when Overall is nil.
	Grade string
	// Unknowns counts unknown outcomes of graded items in the group.
	Unknowns int
	// AWithheld is set when the rate is 100 % but the grade is B because
	// an outcome of the group is unknown or servers may be missing.
	AWithheld bool
	// Exceptions counts graded passes granted by an exception.
	Exceptions int
}

// Item returns the result of the item with the given code.
func (g *Group) Item(code string) (ItemResult, bool) {
	for _, ir := range g.Items {
		if ir.Item.Code == code {
			return ir, true
		}
	}
	return ItemResult{}, false
}

// Table is a graded table: one group per organisation, unit, or all.
type Table struct {
	Catalog *Catalog
	By      GroupBy
	Policy  UnknownPolicy
	Groups  []*Group
	// Missing counts servers of the inventory without a record, counted
	// unknown in their groups; Unattributed counts missing servers whose
	// group is not known (the inventory could not be read). Either makes
	// the table PARTIAL.
	Missing      int
	Unattributed int
}

// Partial reports whether servers of the inventory have no record.
func (t *Table) Partial() bool { return t.Missing > 0 || t.Unattributed > 0 }

// Grade grades servers with the category-average method. Groups appear in
// the order their first server appears. unattributed is the number of
// servers known to be missing but not known to belong to any group: no
// group gets an A while it is non-zero.
func Grade(cat *Catalog, servers []ServerOutcomes, by GroupBy, p UnknownPolicy, unattributed int) *Table {
	t := &Table{Catalog: cat, By: by, Policy: p, Unattributed: unattributed}
	type acc struct {
		g       *Group
		tallies []Tally
	}
	index := map[string]*acc{}
	var order []string
	for _, s := range servers {
		key, org, unit := groupKey(by, s)
		a := index[key]
		if a == nil {
			a = &acc{g: &Group{Key: key, Org: org, Unit: unit}, tallies: make([]Tally, len(cat.Items))}
			index[key] = a
			order = append(order, key)
		}
		a.g.Servers++
		if s.Missing {
			a.g.Missing++
			t.Missing++
		}
		for i, it := range cat.Items {
			v, ok := s.Items[it.Code]
			if !ok {
				// A record without the item: it was not decided.
				v = Verdict{Outcome: Unknown, Reason: "no verdict recorded"}
			}
			a.tallies[i].add(v)
		}
	}
	for _, key := range order {
		a := index[key]
		finish(cat, a.g, a.tallies, p, unattributed > 0)
		t.Groups = append(t.Groups, a.g)
	}
	return t
}

func groupKey(by GroupBy, s ServerOutcomes) (key, org, unit string) {
	switch by {
	case ByUnit:
		return s.Org + "/" + s.Unit, s.Org, s.Unit
	case ByAll:
		return AllKey, "", ""
	}
	return s.Org, s.Org, ""
}

func finish(cat *Catalog, g *Group, tallies []Tally, p UnknownPolicy, mayMiss bool) {
	catRates := map[string][]*big.Rat{}
	for i, it := range cat.Items {
		ir := ItemResult{Item: it, Tally: tallies[i], Rate: tallies[i].Rate(p)}
		g.Items = append(g.Items, ir)
		if !it.Graded {
			continue
		}
		g.Unknowns += ir.Tally.Unknown
		g.Exceptions += ir.Tally.Exceptions
		catRates[it.Category] = append(catRates[it.Category], ir.Rate)
	}
	var overall []*big.Rat
	for _, c := range cat.Categories {
		cr := CategoryResult{Category: c, Rate: Mean(catRates[c.Code])}
		if _, graded := catRates[c.Code]; !graded {
			continue // no graded item in this category at all
		}
		g.Categories = append(g.Categories, cr)
		overall = append(overall, cr.Rate)
	}
	g.Overall = Mean(overall)
	if g.Overall == nil {
		g.Grade = "-"
		return
	}
	g.Grade = GradeOf(g.Overall)
	if g.Grade == "A" && (g.Unknowns > 0 || mayMiss) {
		g.Grade = "B"
		g.AWithheld = true
	}
}
