package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// The tests of this file build records by hand and check the report's
// logic against values worked out by hand in the comments: which group a
// server lands in, where a server without a record is counted, the
// rates, grades and counts of the tables. They use a small catalog of
// their own, so that the expected numbers do not move with the built-in
// catalog:
//
//	M  M1 (every server), M2 (every server)
//	A  A1 (smtp)
//	P  P1 (imap, pop3)
//	X1 supplementary (submission), never graded
var testCatalog = func() *scoring.Catalog {
	c, err := scoring.ParseCatalog([]byte(`
name: test-catalog
categories:
  - {code: M, name_ja: 不正プログラム対策, name_en: Malware}
  - {code: A, name_ja: 不正アクセス対策, name_en: Access}
  - {code: P, name_ja: 情報保護対策, name_en: Protection}
items:
  - {code: M1, category: M, graded: true, name_ja: OS, name_en: OS patches, method: m1}
  - {code: M2, category: M, graded: true, name_ja: ソフト, name_en: Mail software patches, method: m2}
  - {code: A1, category: A, graded: true, name_ja: 中継, name_en: Open relay, applies_to: [smtp], method: a1}
  - {code: P1, category: P, graded: true, name_ja: 受信, name_en: Receiving, applies_to: [imap, pop3], method: p1}
  - {code: X1, category: X, graded: false, name_ja: 送信, name_en: Submission, applies_to: [submission], method: x1}
`))
	if err != nil {
		panic(err)
	}
	return c
}()

// Shorthands for verdicts.
var (
	vPass    = scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "seen"}
	vFail    = scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "seen failing"}
	vUnknown = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Reason: "not seen"}
	vNA      = scoring.Verdict{Outcome: scoring.NA, Source: scoring.FromProbe, Reason: "no service the item applies to"}
)

// record returns a record of server id with the given verdicts.
func record(id, org, unit string, items map[string]scoring.Verdict) *results.Record {
	return &results.Record{Schema: results.Schema,
		Scan:   results.ScanMeta{ScanID: "scan-1", InventoryServers: 5, AdvisoriesAsOf: "2026-11-29", AsOf: "2026-11-01"},
		Server: results.ServerRef{ID: id, Org: org, Unit: unit, Host: "192.0.2.1"},
		Items:  items}
}

// The fixture, by organisation (inventory order a1, a2, a3, b1, c1):
//
//	甲省/本省 a1  M1 pass (declared; the probe could not decide)
//	             M2 pass (by exception)
//	             A1 fail (probe fail, declared pass: a discrepancy)
//	             P1 pass, X1 na
//	甲省/地方 a2  M1 unknown, M2 pass, A1 pass, P1 na, X1 pass
//	甲省/地方 a3  no record; the inventory lists smtp:25 and imap:143
//	乙省/本省 b1  every graded item pass, X1 unknown
//	丙省/本省 c1  M1 pass, M2 unknown, A1 pass, P1 na, X1 na
func fixtureRecords() []*results.Record {
	a1M1 := scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromDeclared, Reason: "declared pass; probe could not decide: banner",
		Probed: scoring.Unknown, Declared: scoring.Pass}
	a1M2 := scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "no finding is left after the exceptions",
		Exception: "a1: CVE-2026-0001 until 2027-03-31"}
	a1A1 := scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "probe saw fail, declared pass: relayed",
		Probed: scoring.Fail, Declared: scoring.Pass, Discrepancy: true,
		Evidence: []string{"192.0.2.1:25 smtp C: RCPT TO:<relaytest@kensa-relay-test.example>", "192.0.2.1:25 smtp S: 250 2.1.5 Ok"}}
	return []*results.Record{
		record("a1", "甲省", "本省", map[string]scoring.Verdict{"M1": a1M1, "M2": a1M2, "A1": a1A1, "P1": vPass, "X1": vNA}),
		record("a2", "甲省", "地方", map[string]scoring.Verdict{"M1": vUnknown, "M2": vPass, "A1": vPass, "P1": vNA, "X1": vPass}),
		record("b1", "乙省", "本省", map[string]scoring.Verdict{"M1": vPass, "M2": vPass, "A1": vPass, "P1": vPass, "X1": vUnknown}),
		record("c1", "丙省", "本省", map[string]scoring.Verdict{"M1": vPass, "M2": vUnknown, "A1": vPass, "P1": vNA, "X1": vNA}),
	}
}

func fixtureInventory() []inventory.Server {
	svc := func(list ...string) []inventory.Service {
		var out []inventory.Service
		for _, s := range list {
			name, port, _ := strings.Cut(s, ":")
			p := 0
			for _, c := range port {
				p = p*10 + int(c-'0')
			}
			out = append(out, inventory.Service{Name: name, Port: p})
		}
		return out
	}
	return []inventory.Server{
		{ID: "a1", Org: "甲省", Unit: "本省", Host: "192.0.2.1", Services: svc("smtp:25", "imap:143")},
		{ID: "a2", Org: "甲省", Unit: "地方", Host: "192.0.2.2", Services: svc("smtp:25", "submission:587")},
		{ID: "a3", Org: "甲省", Unit: "地方", Host: "192.0.2.3", Services: svc("smtp:25", "imap:143")},
		{ID: "b1", Org: "乙省", Unit: "本省", Host: "192.0.2.4", Services: svc("smtp:25", "pop3:110")},
		{ID: "c1", Org: "丙省", Unit: "本省", Host: "192.0.2.5", Services: svc("smtp:25")},
	}
}

// fixture returns the input of the fixture, read with its inventory
// (inv) or without it.
func fixture(t *testing.T, withInventory bool, p scoring.UnknownPolicy) Input {
	t.Helper()
	set := &results.Set{Name: "results.jsonl", Records: fixtureRecords()}
	set.Meta = set.Records[len(set.Records)-1].Scan
	in := Input{Catalog: testCatalog, Results: set, Policy: p, Lang: "en"}
	var inv []inventory.Server
	if withInventory {
		inv = fixtureInventory()
	}
	in.Servers, in.Unattributed = Outcomes(set, testCatalog, inv)
	return in
}

// TestOutcomesPlacesMissingServers: with the inventory, servers come in
// its order, and a3, which has no record, is placed in its own
// organisation and unit, unknown for every item its listed services
// (smtp, imap) make apply — M1, M2, A1, P1 — and na for X1
// (submission). A record whose server the inventory does not hold comes
// last.
func TestOutcomesPlacesMissingServers(t *testing.T) {
	set := &results.Set{Name: "r", Records: append(fixtureRecords(), record("x1", "丁省", "本省", map[string]scoring.Verdict{"M1": vFail}))}
	servers, unattributed := Outcomes(set, testCatalog, fixtureInventory())
	if unattributed != 0 {
		t.Errorf("unattributed %d with the inventory, want 0", unattributed)
	}
	var got []string
	for _, s := range servers {
		got = append(got, s.ID+" "+s.Org+"/"+s.Unit)
	}
	want := []string{"a1 甲省/本省", "a2 甲省/地方", "a3 甲省/地方", "b1 乙省/本省", "c1 丙省/本省", "x1 丁省/本省"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("servers %v, want %v", got, want)
	}
	a3 := servers[2]
	if !a3.Missing {
		t.Fatal("a3 is not marked missing")
	}
	for code, o := range map[string]scoring.Outcome{"M1": scoring.Unknown, "M2": scoring.Unknown, "A1": scoring.Unknown, "P1": scoring.Unknown, "X1": scoring.NA} {
		v := a3.Items[code]
		if v.Outcome != o {
			t.Errorf("a3 %s %s, want %s", code, v.Outcome, o)
		}
		if o == scoring.Unknown && !strings.Contains(v.Reason, "no record") {
			t.Errorf("a3 %s reason %q does not say there is no record", code, v.Reason)
		}
	}
	for i, s := range servers {
		if i != 2 && s.Missing {
			t.Errorf("%s marked missing", s.ID)
		}
	}

	// Without the inventory: the records in their order, and the servers
	// the records say the inventory holds (5) less the records (4) are
	// unattributed.
	servers, unattributed = Outcomes(&results.Set{Name: "r", Records: fixtureRecords(), Meta: fixtureRecords()[0].Scan}, testCatalog, nil)
	if len(servers) != 4 || unattributed != 1 {
		t.Errorf("without inventory: %d servers, %d unattributed; want 4 and 1", len(servers), unattributed)
	}
}

// jsonTable is what the tests read of grade --format json.
type jsonTable struct {
	Partial      bool `json:"partial"`
	Missing      int  `json:"missing"`
	Unattributed int  `json:"unattributed"`
	Groups       []struct {
		Key        string            `json:"key"`
		Grade      string            `json:"grade"`
		Overall    *string           `json:"overall"`
		AWithheld  bool              `json:"a_withheld"`
		Categories map[string]string `json:"categories"`
		Items      map[string]struct {
			Applicable int     `json:"applicable"`
			Pass       int     `json:"pass"`
			Rate       *string `json:"rate"`
		} `json:"items"`
		Servers    int `json:"servers"`
		Missing    int `json:"missing"`
		Unknowns   int `json:"unknowns"`
		Exceptions int `json:"exceptions"`
	} `json:"groups"`
	Discrepancies []Discrepancy `json:"discrepancies"`
}

func gradeJSON(t *testing.T, in Input, by scoring.GroupBy) jsonTable {
	t.Helper()
	var b bytes.Buffer
	if err := NewGrade(in, by).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var out jsonTable
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// TestGradeTableByOrg checks the table by organisation under both
// unknown policies.
//
// Counting unknown outcomes (the default):
//
//	甲省  M1 1/3 = 33.3, M2 2/3 = 66.7, so M = (1/3 + 2/3)/2 × 100 = 50.0
//	     A1 1/3 = 33.3 = A; P1 1/2 = 50.0 = P (a2 is na)
//	     overall (50 + 33.33 + 50)/3 = 44.44 → 44.4, D
//	     unknowns: M1 2, M2 1, A1 1, P1 1 = 5 (X1 is not graded)
//	乙省  every graded item 1/1: 100.0, A; X1 0/1 = 0.0 changes nothing
//	丙省  M1 100, M2 0/1 = 0, so M = 50.0; A = 100.0; P has no
//	     applicable item and is left out: overall (50 + 100)/2 = 75.0, C
//
// Excluding them:
//
//	甲省  M1 1/1, M2 2/2: M = 100.0; A1 1/2 = 50.0; P1 1/1 = 100.0
//	     overall (100 + 50 + 100)/3 = 83.3, B
//	丙省  M1 100, M2 0/0 (no rate): M = 100.0, A = 100.0: overall
//	     100.0, but an unknown outcome withholds the A: B*
func TestGradeTableByOrg(t *testing.T) {
	type want struct {
		key, grade, overall string
		withheld            bool
		cats                map[string]string
		rates               map[string]string
		servers, missing    int
		unknowns, exc       int
	}
	check := func(t *testing.T, got jsonTable, wants []want) {
		t.Helper()
		if len(got.Groups) != len(wants) {
			t.Fatalf("%d groups, want %d", len(got.Groups), len(wants))
		}
		for i, w := range wants {
			g := got.Groups[i]
			if g.Key != w.key || g.Grade != w.grade || str(g.Overall) != w.overall || g.AWithheld != w.withheld {
				t.Errorf("group %d: %s %s %s withheld=%v, want %s %s %s withheld=%v", i, g.Key, g.Grade, str(g.Overall), g.AWithheld,
					w.key, w.grade, w.overall, w.withheld)
			}
			if !reflect.DeepEqual(g.Categories, w.cats) {
				t.Errorf("%s categories %v, want %v", w.key, g.Categories, w.cats)
			}
			for code, r := range w.rates {
				if got := str(g.Items[code].Rate); got != r {
					t.Errorf("%s %s rate %s, want %s", w.key, code, got, r)
				}
			}
			if g.Servers != w.servers || g.Missing != w.missing || g.Unknowns != w.unknowns || g.Exceptions != w.exc {
				t.Errorf("%s servers %d missing %d unknowns %d exceptions %d, want %d %d %d %d", w.key,
					g.Servers, g.Missing, g.Unknowns, g.Exceptions, w.servers, w.missing, w.unknowns, w.exc)
			}
		}
	}

	count := gradeJSON(t, fixture(t, true, scoring.CountUnknown), scoring.ByOrg)
	if !count.Partial || count.Missing != 1 || count.Unattributed != 0 {
		t.Errorf("partial %v missing %d unattributed %d, want true 1 0", count.Partial, count.Missing, count.Unattributed)
	}
	check(t, count, []want{
		{"甲省", "D", "44.4", false, map[string]string{"M": "50.0", "A": "33.3", "P": "50.0"},
			map[string]string{"M1": "33.3", "M2": "66.7", "A1": "33.3", "P1": "50.0", "X1": "100.0"}, 3, 1, 5, 1},
		{"乙省", "A", "100.0", false, map[string]string{"M": "100.0", "A": "100.0", "P": "100.0"},
			map[string]string{"M1": "100.0", "M2": "100.0", "A1": "100.0", "P1": "100.0", "X1": "0.0"}, 1, 0, 0, 0},
		{"丙省", "C", "75.0", false, map[string]string{"M": "50.0", "A": "100.0"},
			map[string]string{"M1": "100.0", "M2": "0.0", "A1": "100.0", "P1": "null", "X1": "null"}, 1, 0, 1, 0},
	})
	if len(count.Discrepancies) != 1 || count.Discrepancies[0] != (Discrepancy{ID: "a1", Org: "甲省", Unit: "本省", Item: "A1",
		Probed: scoring.Fail, Declared: scoring.Pass, Counted: scoring.Fail, Reason: "probe saw fail, declared pass: relayed"}) {
		t.Errorf("discrepancies %+v", count.Discrepancies)
	}
	if g := NewGrade(fixture(t, true, scoring.CountUnknown), scoring.ByOrg).Lowest(); g != "D" {
		t.Errorf("lowest grade %s, want D", g)
	}

	exclude := gradeJSON(t, fixture(t, true, scoring.ExcludeUnknown), scoring.ByOrg)
	check(t, exclude, []want{
		{"甲省", "B", "83.3", false, map[string]string{"M": "100.0", "A": "50.0", "P": "100.0"},
			map[string]string{"M1": "100.0", "M2": "100.0", "A1": "50.0", "P1": "100.0", "X1": "100.0"}, 3, 1, 5, 1},
		{"乙省", "A", "100.0", false, map[string]string{"M": "100.0", "A": "100.0", "P": "100.0"},
			map[string]string{"X1": "null"}, 1, 0, 0, 0},
		{"丙省", "B", "100.0", true, map[string]string{"M": "100.0", "A": "100.0"},
			map[string]string{"M1": "100.0", "M2": "null"}, 1, 0, 1, 0},
	})
	if g := NewGrade(fixture(t, true, scoring.ExcludeUnknown), scoring.ByOrg).Lowest(); g != "B" {
		t.Errorf("lowest grade %s, want B", g)
	}
}

// TestGradeTableByUnit: the missing server a3 counts in its own unit.
//
//	甲省/本省 (a1)     M 100, A1 0/1 = 0, P 100: overall 200/3 = 66.7, C
//	甲省/地方 (a2, a3) M1 0/2 = 0, M2 1/2 = 50, M = 25; A1 1/2 = 50;
//	                  P1 0/1 = 0 (a2 na, a3 unknown): overall 75/3 = 25.0, D
func TestGradeTableByUnit(t *testing.T) {
	got := gradeJSON(t, fixture(t, true, scoring.CountUnknown), scoring.ByUnit)
	var keys []string
	for _, g := range got.Groups {
		keys = append(keys, g.Key)
	}
	if want := []string{"甲省/本省", "甲省/地方", "乙省/本省", "丙省/本省"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("groups %v, want %v", keys, want)
	}
	g := got.Groups[0]
	if g.Grade != "C" || str(g.Overall) != "66.7" || g.Categories["A"] != "0.0" {
		t.Errorf("甲省/本省: %s %s A %s, want C 66.7 A 0.0", g.Grade, str(g.Overall), g.Categories["A"])
	}
	g = got.Groups[1]
	if g.Grade != "D" || str(g.Overall) != "25.0" || g.Servers != 2 || g.Missing != 1 ||
		!reflect.DeepEqual(g.Categories, map[string]string{"M": "25.0", "A": "50.0", "P": "0.0"}) {
		t.Errorf("甲省/地方: %s %s servers %d missing %d categories %v, want D 25.0, 2, 1, M 25.0 A 50.0 P 0.0",
			g.Grade, str(g.Overall), g.Servers, g.Missing, g.Categories)
	}
	if p1 := g.Items["P1"]; p1.Applicable != 1 || p1.Pass != 0 {
		t.Errorf("甲省/地方 P1: %d applicable, %d pass; want 1 and 0", p1.Applicable, p1.Pass)
	}
}

// TestGradeCSV checks every cell of the CSV table, as worked out for
// TestGradeTableByOrg. partial is the table's: true on every row.
func TestGradeCSV(t *testing.T) {
	var b bytes.Buffer
	if err := NewGrade(fixture(t, true, scoring.CountUnknown), scoring.ByOrg).WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"key", "org", "unit", "grade", "a_withheld", "overall", "M", "A", "P", "M1", "M2", "A1", "P1", "X1",
			"servers", "missing", "unknown", "discrepancies", "partial", "unknown_policy"},
		{"甲省", "甲省", "", "D", "false", "44.4", "50.0", "33.3", "50.0", "33.3", "66.7", "33.3", "50.0", "100.0", "3", "1", "5", "1", "true", "count"},
		{"乙省", "乙省", "", "A", "false", "100.0", "100.0", "100.0", "100.0", "100.0", "100.0", "100.0", "100.0", "0.0", "1", "0", "0", "0", "true", "count"},
		{"丙省", "丙省", "", "C", "false", "75.0", "50.0", "100.0", "-", "100.0", "0.0", "100.0", "-", "-", "1", "0", "1", "0", "true", "count"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("CSV\n got %q\nwant %q", rows, want)
	}
}

// TestGradeTextPartial: the text table says PARTIAL above the table,
// shows the missing server in its organisation's servers column, notes
// the exception, and lists the discrepancy.
func TestGradeTextPartial(t *testing.T) {
	var b bytes.Buffer
	if err := NewGrade(fixture(t, true, scoring.CountUnknown), scoring.ByOrg).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	lines := strings.Split(text, "\n")
	wantLines := []string{
		"kensa grade — catalog test-catalog, by org; unknown outcomes counted in the denominators (--unknown count, the default)",
		"results results.jsonl: 4 servers of 5 in the inventory, scan scan-1",
		"advisory data as of 2026-11-29; evaluated as of 2026-11-01",
		"*** PARTIAL: no record for 1 server of the inventory; their items count as unknown ***",
	}
	if len(lines) < len(wantLines) || !reflect.DeepEqual(lines[:len(wantLines)], wantLines) {
		t.Errorf("header\n got %q\nwant %q", lines[:min(len(lines), len(wantLines))], wantLines)
	}
	var row甲 string
	for _, l := range lines {
		if strings.HasPrefix(l, "甲省 ") {
			row甲 = l
			break
		}
	}
	if f := strings.Fields(row甲); !reflect.DeepEqual(f, []string{"甲省", "D", "44.4", "50.0", "33.3", "50.0", "3", "(1", "missing)", "5"}) {
		t.Errorf("甲省 row %q", row甲)
	}
	for _, want := range []string{
		"M Malware: M1 OS patches; M2 Mail software patches\n",
		"supplementary, not graded: X1 Submission\n",
		"甲省: 1 passes granted by exception\n",
		"discrepancies between probe and declaration: 1\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "B*") {
		t.Errorf("a withheld A where none is:\n%s", text)
	}
}

// TestGradeUnattributed: read without its inventory, the fixture has
// one server (5 in the inventory, 4 records) whose group is not known:
// the table is PARTIAL, and no group is graded A — 乙省, whose every
// item passed, shows B* — since the missing server may be its own.
func TestGradeUnattributed(t *testing.T) {
	in := fixture(t, false, scoring.CountUnknown)
	if in.Unattributed != 1 || !in.Partial() {
		t.Fatalf("unattributed %d, partial %v; want 1, true", in.Unattributed, in.Partial())
	}
	got := gradeJSON(t, in, scoring.ByOrg)
	if !got.Partial || got.Unattributed != 1 || got.Missing != 0 {
		t.Errorf("partial %v unattributed %d missing %d, want true 1 0", got.Partial, got.Unattributed, got.Missing)
	}
	// 甲省 without a3: M1 1/2, M2 2/2 → M 75; A1 1/2 = 50; P1 1/1 = 100:
	// overall 225/3 = 75.0, C.
	if g := got.Groups[0]; g.Key != "甲省" || g.Grade != "C" || str(g.Overall) != "75.0" || g.Servers != 2 {
		t.Errorf("甲省: %s %s %s servers %d, want C 75.0 2", g.Key, g.Grade, str(g.Overall), g.Servers)
	}
	if g := got.Groups[1]; g.Key != "乙省" || g.Grade != "B" || !g.AWithheld || str(g.Overall) != "100.0" {
		t.Errorf("乙省: %s %s withheld %v, want B 100.0 withheld", g.Grade, str(g.Overall), g.AWithheld)
	}
	var b bytes.Buffer
	if err := NewGrade(in, scoring.ByOrg).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"*** PARTIAL: no record for 1 server of the inventory, and the inventory could not be read to place them; no group is graded A ***\n",
		"乙省: B* = every counted item passed, but A is withheld: 0 unknown outcomes or servers without a record\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// TestQuestionnaireCounts checks every count of 甲省's rows (the missing
// a3 counts as unknown where its services make an item apply):
//
//	item  対象数 実施数 rate   verified declared fail unknown na disc exc
//	M1    3      1      33.3   0        1        0    2       0  0    0
//	M2    3      2      66.7   2        0        0    1       0  0    1
//	A1    3      1      33.3   1        0        1    1       0  1    0
//	P1    2      1      50.0   1        0        0    1       1  0    0
//	X1    1      1      100.0  1        0        0    0       2  0    0
func TestQuestionnaireCounts(t *testing.T) {
	in := fixture(t, true, scoring.CountUnknown)
	rows := Questionnaire(in)
	if len(rows) != 3*len(testCatalog.Items) {
		t.Fatalf("%d rows, want %d (3 organisations × 5 items)", len(rows), 3*len(testCatalog.Items))
	}
	rate := func(s string) *string { return &s }
	want := []QuestionnaireRow{
		{Org: "甲省", Category: "Malware", Item: "M1", ItemName: "OS patches", Graded: true, Applicable: 3, Implemented: 1, Rate: rate("33.3"),
			Verified: 0, Declared: 1, Fail: 0, Unknown: 2, NA: 0},
		{Org: "甲省", Category: "Malware", Item: "M2", ItemName: "Mail software patches", Graded: true, Applicable: 3, Implemented: 2, Rate: rate("66.7"),
			Verified: 2, Declared: 0, Fail: 0, Unknown: 1, NA: 0, Exceptions: 1},
		{Org: "甲省", Category: "Access", Item: "A1", ItemName: "Open relay", Graded: true, Applicable: 3, Implemented: 1, Rate: rate("33.3"),
			Verified: 1, Declared: 0, Fail: 1, Unknown: 1, NA: 0, Discrepancies: 1},
		{Org: "甲省", Category: "Protection", Item: "P1", ItemName: "Receiving", Graded: true, Applicable: 2, Implemented: 1, Rate: rate("50.0"),
			Verified: 1, Declared: 0, Fail: 0, Unknown: 1, NA: 1},
		{Org: "甲省", Category: "supplementary", Item: "X1", ItemName: "Submission", Graded: false, Applicable: 1, Implemented: 1, Rate: rate("100.0"),
			Verified: 1, NA: 2},
	}
	for i, w := range want {
		if !reflect.DeepEqual(rows[i], w) {
			t.Errorf("row %d\n got %+v (rate %s)\nwant %+v (rate %s)", i, rows[i], str(rows[i].Rate), w, str(w.Rate))
		}
	}
	// 丙省's P1 applies to no server: no rate.
	if r := rows[2*5+3]; r.Org != "丙省" || r.Item != "P1" || r.Applicable != 0 || r.NA != 1 || r.Rate != nil {
		t.Errorf("丙省 P1: %+v", r)
	}

	// The plain CSV carries the same counts under English keys.
	var b bytes.Buffer
	if err := WriteQuestionnaireCSV(&b, rows, false, "en"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "org,category,item,item_name,graded,applicable,implemented,rate,verified,declared,fail,unknown,na,discrepancies,exceptions" ||
		lines[3] != "甲省,Access,A1,Open relay,true,3,1,33.3,1,0,1,1,0,1,0" {
		t.Errorf("CSV:\n%s", b.String())
	}
	// The questionnaire's JSON says the counts are partial.
	b.Reset()
	if err := WriteQuestionnaireJSON(&b, in, rows); err != nil {
		t.Fatal(err)
	}
	var q struct {
		Partial       bool          `json:"partial"`
		Discrepancies []Discrepancy `json:"discrepancies"`
	}
	if err := json.Unmarshal(b.Bytes(), &q); err != nil {
		t.Fatal(err)
	}
	if !q.Partial || len(q.Discrepancies) != 1 || q.Discrepancies[0].ID != "a1" {
		t.Errorf("questionnaire JSON: partial %v, discrepancies %+v", q.Partial, q.Discrepancies)
	}
}

// TestReportViewListsMissingServer: the HTML report and the workbook
// list a3 among 甲省's servers with items that failed or stayed
// unknown, as a server without a record, with the four items its
// services make apply and no source; a1 is listed for its failed A1
// only (its M1 passed by declaration, its M2 by exception), with the
// exception applied noted.
func TestReportViewListsMissingServer(t *testing.T) {
	v, err := newView(fixture(t, true, scoring.CountUnknown), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.orgs) != 3 || v.orgs[0].Name != "甲省" || v.orgs[1].Name != "乙省" {
		t.Fatalf("organisations %+v", v.orgs)
	}
	o := v.orgs[0]
	var ids []string
	for _, s := range o.Servers {
		ids = append(ids, s.ID)
	}
	if !reflect.DeepEqual(ids, []string{"a1", "a2", "a3"}) {
		t.Fatalf("甲省 servers listed %v, want a1 a2 a3", ids)
	}
	a1, a3 := o.Servers[0], o.Servers[2]
	if a1.Fails != 1 || a1.Unknowns != 0 || len(a1.Verdicts) != 1 || a1.Verdicts[0].Code != "A1" ||
		a1.Verdicts[0].Discrepancy != "probe fail, declared pass" {
		t.Errorf("a1: %+v", a1)
	}
	if !a3.Missing || a3.Fails != 0 || a3.Unknowns != 4 || a3.Counts != "0 failed, 4 unknown" {
		t.Errorf("a3: %+v", a3)
	}
	for _, vd := range a3.Verdicts {
		if vd.Reason != "no record: the server was not scanned" || vd.Source != "-" {
			t.Errorf("a3 %s: reason %q source %q", vd.Code, vd.Reason, vd.Source)
		}
	}
	if len(o.Applied) != 1 || o.Applied[0] != (appliedView{ID: "a1", Item: "M2", Outcome: "pass", Exception: "a1: CVE-2026-0001 until 2027-03-31"}) {
		t.Errorf("exceptions applied %+v", o.Applied)
	}
	// b1's graded items all passed; its supplementary X1 stayed unknown,
	// and the report lists that too.
	if s := v.orgs[1].Servers; len(s) != 1 || s[0].ID != "b1" || len(s[0].Verdicts) != 1 ||
		s[0].Verdicts[0].Code != "X1" || !s[0].Verdicts[0].Supplementary {
		t.Errorf("乙省 lists %+v, want b1 for its supplementary X1 only", s)
	}
	if v.partial != "PARTIAL: no record for 1 server of the inventory; their items count as unknown" {
		t.Errorf("partial banner %q", v.partial)
	}
}
