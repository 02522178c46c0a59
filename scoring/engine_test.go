package scoring

import (
	"fmt"
	"math/big"
	"testing"
)

// oneCategory is a catalog of one category with three graded items and a
// supplementary one, as in the source document's examples.
var oneCategory = mustCatalog([]byte(`
name: example
categories: [{code: C, name_ja: 例, name_en: Example}]
items:
  - {code: C1, category: C, graded: true}
  - {code: C2, category: C, graded: true}
  - {code: C3, category: C, graded: true}
  - {code: X1, category: X, graded: false}
`))

// serversWithRates builds ten servers per item whose pass counts give the
// wanted item rates (multiples of 10 %).
func serversWithRates(org string, rates ...int) []ServerOutcomes {
	var out []ServerOutcomes
	for s := 0; s < 10; s++ {
		items := map[string]Verdict{"X1": {Outcome: Fail}}
		for i, r := range rates {
			o := Fail
			if s < r/10 {
				o = Pass
			}
			items[fmt.Sprintf("C%d", i+1)] = Verdict{Outcome: o, Source: FromProbe}
		}
		out = append(out, ServerOutcomes{ID: fmt.Sprint(org, s), Org: org, Unit: "本省", Items: items})
	}
	return out
}

func TestSourceExamples(t *testing.T) {
	cases := []struct {
		rates []int
		shown string
		grade string
	}{
		{[]int{100, 100, 100}, "100.0", "A"},
		{[]int{100, 100, 70}, "90.0", "B"},
		{[]int{90, 90, 90}, "90.0", "B"},
		{[]int{100, 100, 0}, "66.7", "C"},
		{[]int{100, 60, 50}, "70.0", "C"},
		{[]int{100, 50, 20}, "56.7", "D"},
		{[]int{60, 40, 0}, "33.3", "D"},
	}
	for _, c := range cases {
		tab := Grade(oneCategory, serversWithRates("府省", c.rates...), ByOrg, CountUnknown, 0)
		g := tab.Groups[0]
		if got := FormatRate(g.Overall); got != c.shown || g.Grade != c.grade {
			t.Errorf("%v: got %s %s, want %s %s", c.rates, got, g.Grade, c.shown, c.grade)
		}
		if got := FormatRate(g.Categories[0].Rate); got != c.shown {
			t.Errorf("%v: category shown %s, want %s", c.rates, got, c.shown)
		}
	}
}

func TestMailCatalogOverall(t *testing.T) {
	// One server passing everything but A1: category A at 0 %, the other
	// three at 100 %: overall 75 %, C.
	items := map[string]Verdict{}
	for _, code := range MailCatalog.Codes() {
		items[code] = Verdict{Outcome: Pass}
	}
	items["A1"] = Verdict{Outcome: Fail}
	items["X1"] = Verdict{Outcome: Fail} // supplementary: no effect
	tab := Grade(MailCatalog, []ServerOutcomes{{ID: "a", Org: "o", Items: items}}, ByOrg, CountUnknown, 0)
	g := tab.Groups[0]
	if FormatRate(g.Overall) != "75.0" || g.Grade != "C" {
		t.Fatalf("got %s %s", FormatRate(g.Overall), g.Grade)
	}
	if len(g.Categories) != 4 {
		t.Fatalf("categories %d", len(g.Categories))
	}
}

func TestExactlyHundredOnlyWhenAllPass(t *testing.T) {
	// 999 passes and one fail in one item of many: 99.9..., never A, never
	// shown as 100.0.
	var servers []ServerOutcomes
	for i := 0; i < 1000; i++ {
		o := Pass
		if i == 0 {
			o = Fail
		}
		servers = append(servers, ServerOutcomes{ID: fmt.Sprint(i), Org: "o", Items: map[string]Verdict{
			"C1": {Outcome: o}, "C2": {Outcome: Pass}, "C3": {Outcome: Pass}}})
	}
	g := Grade(oneCategory, servers, ByOrg, CountUnknown, 0).Groups[0]
	if g.Grade != "B" || FormatRate(g.Overall) != "99.9" {
		t.Fatalf("got %s %s (%s)", g.Grade, FormatRate(g.Overall), g.Overall.FloatString(6))
	}
}

func TestNotApplicableLeftOut(t *testing.T) {
	// C3 applies to no server: the category is the mean of C1 and C2.
	servers := []ServerOutcomes{
		{ID: "1", Org: "o", Items: map[string]Verdict{"C1": {Outcome: Pass}, "C2": {Outcome: Fail}, "C3": {Outcome: NA}, "X1": {Outcome: NA}}},
	}
	g := Grade(oneCategory, servers, ByOrg, CountUnknown, 0).Groups[0]
	if FormatRate(g.Overall) != "50.0" {
		t.Fatalf("overall %s", FormatRate(g.Overall))
	}
	c3, _ := g.Item("C3")
	if c3.Rate != nil || FormatRate(c3.Rate) != "-" {
		t.Fatalf("C3 rate %v", c3.Rate)
	}
	// A category with no applicable item is left out of the overall mean.
	two := mustCatalog([]byte(`
categories: [{code: P}, {code: Q}]
items:
  - {code: P1, category: P, graded: true}
  - {code: Q1, category: Q, graded: true}
`))
	g = Grade(two, []ServerOutcomes{{ID: "1", Org: "o", Items: map[string]Verdict{"P1": {Outcome: Pass}, "Q1": {Outcome: NA}}}}, ByOrg, CountUnknown, 0).Groups[0]
	if g.Grade != "A" || FormatRate(g.Overall) != "100.0" || g.Categories[1].Rate != nil {
		t.Fatalf("got %s %s", g.Grade, FormatRate(g.Overall))
	}
	// Nothing applicable at all: no grade.
	g = Grade(two, []ServerOutcomes{{ID: "1", Org: "o", Items: map[string]Verdict{"P1": {Outcome: NA}, "Q1": {Outcome: NA}}}}, ByOrg, CountUnknown, 0).Groups[0]
	if g.Grade != "-" || g.Overall != nil {
		t.Fatalf("got %q", g.Grade)
	}
}

func TestUnknownPolicies(t *testing.T) {
	servers := []ServerOutcomes{
		{ID: "1", Org: "o", Items: map[string]Verdict{"C1": {Outcome: Pass}, "C2": {Outcome: Pass}, "C3": {Outcome: Pass}}},
		{ID: "2", Org: "o", Items: map[string]Verdict{"C1": {Outcome: Unknown}, "C2": {Outcome: Pass}, "C3": {Outcome: Pass}}},
	}
	g := Grade(oneCategory, servers, ByOrg, CountUnknown, 0).Groups[0]
	// C1 = 50 %, C2 = C3 = 100 %: 83.3 B.
	if FormatRate(g.Overall) != "83.3" || g.Grade != "B" || g.AWithheld {
		t.Fatalf("count: %s %s", FormatRate(g.Overall), g.Grade)
	}
	g = Grade(oneCategory, servers, ByOrg, ExcludeUnknown, 0).Groups[0]
	// Excluded: every rate is 100 %, but an unknown forbids the A.
	if FormatRate(g.Overall) != "100.0" || g.Grade != "B" || !g.AWithheld || g.Unknowns != 1 {
		t.Fatalf("exclude: %s %s withheld=%v", FormatRate(g.Overall), g.Grade, g.AWithheld)
	}
	// Only unknowns in an item under exclude: the item is left out, and
	// still no A.
	only := []ServerOutcomes{{ID: "1", Org: "o", Items: map[string]Verdict{"C1": {Outcome: Unknown}, "C2": {Outcome: Pass}, "C3": {Outcome: Pass}}}}
	g = Grade(oneCategory, only, ByOrg, ExcludeUnknown, 0).Groups[0]
	c1, _ := g.Item("C1")
	if c1.Rate != nil || g.Grade != "B" {
		t.Fatalf("exclude only-unknown: rate %v grade %s", c1.Rate, g.Grade)
	}
}

func TestSupplementaryNeverChangesGrade(t *testing.T) {
	base := serversWithRates("o", 100, 100, 100)
	for i := range base {
		base[i].Items["X1"] = Verdict{Outcome: Unknown}
	}
	g := Grade(oneCategory, base, ByOrg, CountUnknown, 0).Groups[0]
	if g.Grade != "A" || g.Unknowns != 0 {
		t.Fatalf("grade %s unknowns %d", g.Grade, g.Unknowns)
	}
	x1, _ := g.Item("X1")
	if x1.Tally.Unknown != 10 || FormatRate(x1.Rate) != "0.0" {
		t.Fatalf("X1 %+v %s", x1.Tally, FormatRate(x1.Rate))
	}
}

func TestGrouping(t *testing.T) {
	var servers []ServerOutcomes
	for _, org := range []string{"総務省", "財務省"} {
		for _, unit := range []string{"本省", "地方支分部局"} {
			o := Pass
			if org == "総務省" && unit == "本省" {
				o = Fail
			}
			servers = append(servers, ServerOutcomes{ID: org + unit, Org: org, Unit: unit,
				Items: map[string]Verdict{"C1": {Outcome: o}, "C2": {Outcome: Pass}, "C3": {Outcome: Pass}}})
		}
	}
	byUnit := Grade(oneCategory, servers, ByUnit, CountUnknown, 0)
	if len(byUnit.Groups) != 4 {
		t.Fatalf("unit groups %d: 本省 must not be pooled across organisations", len(byUnit.Groups))
	}
	if byUnit.Groups[0].Key != "総務省/本省" || byUnit.Groups[0].Grade != "C" || byUnit.Groups[2].Grade != "A" {
		t.Fatalf("unit: %s %s %s", byUnit.Groups[0].Key, byUnit.Groups[0].Grade, byUnit.Groups[2].Grade)
	}
	byOrg := Grade(oneCategory, servers, ByOrg, CountUnknown, 0)
	if len(byOrg.Groups) != 2 || FormatRate(byOrg.Groups[0].Overall) != "83.3" {
		t.Fatalf("org: %d %s", len(byOrg.Groups), FormatRate(byOrg.Groups[0].Overall))
	}
	all := Grade(oneCategory, servers, ByAll, CountUnknown, 0)
	if len(all.Groups) != 1 || all.Groups[0].Servers != 4 || FormatRate(all.Groups[0].Overall) != "91.7" {
		t.Fatalf("all: %d %s", len(all.Groups), FormatRate(all.Groups[0].Overall))
	}
}

func TestPartial(t *testing.T) {
	servers := serversWithRates("o", 100, 100, 100)
	missing := ServerOutcomes{ID: "gone", Org: "o", Missing: true,
		Items: MissingVerdicts(oneCategory, map[string]bool{})}
	tab := Grade(oneCategory, append(servers, missing), ByOrg, CountUnknown, 0)
	g := tab.Groups[0]
	if !tab.Partial() || tab.Missing != 1 || g.Missing != 1 || g.Grade != "B" {
		t.Fatalf("partial %v missing %d grade %s", tab.Partial(), tab.Missing, g.Grade)
	}
	// 10 of 11 pass each item: 90.9.
	if FormatRate(g.Overall) != "90.9" {
		t.Fatalf("overall %s", FormatRate(g.Overall))
	}
	// Missing servers of unknown group: no A anywhere.
	tab = Grade(oneCategory, servers, ByOrg, ExcludeUnknown, 3)
	if !tab.Partial() || tab.Groups[0].Grade != "B" || !tab.Groups[0].AWithheld {
		t.Fatalf("unattributed: %v %s", tab.Partial(), tab.Groups[0].Grade)
	}
}

func TestFormatRate(t *testing.T) {
	r := func(num, den int64) *big.Rat { return big.NewRat(num, den) }
	cases := []struct {
		rate *big.Rat
		want string
	}{
		{r(5995, 100), "59.9"},   // 59.95 rounds up to 60.0: shown 59.9
		{r(200, 3), "66.7"},      // 66.666…
		{r(7996, 100), "79.9"},   // 79.96 would be 80.0
		{r(99975, 1000), "99.9"}, // 99.975 would be 100.0
		{r(100, 1), "100.0"},
		{r(60, 1), "60.0"},
		{r(80, 1), "80.0"},
		{r(5994, 100), "59.9"},
		{r(6005, 100), "60.1"}, // half up
		{r(125, 100), "1.3"},   // 1.25 half up
		{r(0, 1), "0.0"},
		{r(1, 3), "0.3"},
		{r(9999, 100), "99.9"}, // 99.99
		{r(8994, 100), "89.9"},
		{r(8995, 100), "90.0"},
		{nil, "-"},
	}
	for _, c := range cases {
		if got := FormatRate(c.rate); got != c.want {
			t.Errorf("FormatRate(%v) = %s, want %s", c.rate, got, c.want)
		}
	}
}

func TestGradeOf(t *testing.T) {
	for _, c := range []struct {
		num, den int64
		want     string
	}{{100, 1, "A"}, {99999, 1000, "B"}, {80, 1, "B"}, {7999, 100, "C"}, {60, 1, "C"}, {5999, 100, "D"}, {0, 1, "D"}} {
		if got := GradeOf(big.NewRat(c.num, c.den)); got != c.want {
			t.Errorf("GradeOf(%d/%d) = %s, want %s", c.num, c.den, got, c.want)
		}
	}
}

// TestCatalogFromFile grades with a catalog loaded from a data file.
func TestCatalogFromFile(t *testing.T) {
	cat, err := LoadCatalog("../testdata/catalogs/example-terminal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	servers := []ServerOutcomes{
		{ID: "a", Org: "o", Items: map[string]Verdict{"T1": {Outcome: Pass}, "T2": {Outcome: Fail}, "T3": {Outcome: Pass}, "T9": {Outcome: Fail}}},
		{ID: "b", Org: "o", Items: map[string]Verdict{"T1": {Outcome: Pass}, "T2": {Outcome: Pass}, "T3": {Outcome: Pass}, "T9": {Outcome: Fail}}},
	}
	g := Grade(cat, servers, ByOrg, CountUnknown, 0).Groups[0]
	// M = mean(100, 50) = 75, S = 100: overall 87.5, B.
	if FormatRate(g.Overall) != "87.5" || g.Grade != "B" || len(g.Categories) != 2 {
		t.Fatalf("%s %s %d", FormatRate(g.Overall), g.Grade, len(g.Categories))
	}
}

// TestMissingVerdicts: a server without a record is unknown for every
// item its listed services make apply; one that lists none is unknown
// for every item (nothing shows what does not apply).
func TestMissingVerdicts(t *testing.T) {
	got := MissingVerdicts(MailCatalog, map[string]bool{"smtp": true})
	if got["A1"].Outcome != Unknown || got["P1"].Outcome != NA || got["S1"].Outcome != Unknown {
		t.Fatalf("smtp listed: A1 %s P1 %s S1 %s", got["A1"].Outcome, got["P1"].Outcome, got["S1"].Outcome)
	}
	for code, v := range MissingVerdicts(MailCatalog, nil) {
		if v.Outcome != Unknown {
			t.Errorf("nothing listed: %s %s", code, v.Outcome)
		}
	}
}
