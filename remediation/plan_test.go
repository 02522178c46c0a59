package remediation

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestParseErrors: every problem of a plan is listed with its line and
// column, and the file is refused whole.
func TestParseErrors(t *testing.T) {
	src := `promises:
  - org: 総務省
    item: A1
    due: 2026-12-31
  - org: 総務省
    server: mx-1
    item: Z9
    due: 2026-13-01
  - item: M2
    due: 2026-11-30
    colour: blue
  - org: 総務省
    item: A1
    due: 2027-01-31
`
	_, err := Parse("plan.yaml", []byte(src), scoring.MailCatalog)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%v", err)
	}
	want := []string{
		"plan.yaml:5:5: promise: both org and server",
		`plan.yaml:7:11: item: unknown item "Z9"`,
		`plan.yaml:8:10: due: bad date "2026-13-01": want YYYY-MM-DD`,
		"plan.yaml:9:5: promise: no org or server",
		"plan.yaml:11:5: colour: unknown key",
		"plan.yaml:12:5: promise: 総務省 promised A1 twice (first at line 2)",
	}
	got := strings.Split(err.Error(), "\n")
	if got[0] != "plan.yaml: plan refused: 6 problems" || len(got) != len(want)+1 {
		t.Fatalf("%s", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i+1], w) {
			t.Errorf("problem %d: %q, want %q…", i+1, got[i+1], w)
		}
	}
	for _, bad := range []string{"", "- org: x", "promises: {a: 1}", "promises:\n  - org: x\n    item: A1\n", "promises: [\n"} {
		if _, err := Parse("p.yaml", []byte(bad), scoring.MailCatalog); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	inv, err := inventory.Parse("inv.csv", []byte("id,org,unit,host,services,declared,notes\nmx-1,総務省,本省,127.0.6.1,smtp:25,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("p.yaml", []byte("promises:\n  - server: mx-2\n    item: A1\n    due: 2026-01-01\n  - org: 外務省\n    item: A1\n    due: 2026-01-01\n"), scoring.MailCatalog)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckInventory(inv); err == nil || !strings.Contains(err.Error(), `p.yaml:2:5: server: server "mx-2" is not in inv.csv`) ||
		!strings.Contains(err.Error(), `p.yaml:5:5: org: organisation "外務省" is not in inv.csv`) {
		t.Errorf("inventory check: %v", err)
	}
}

// TestCheck: each status from hand-made verdicts at the evaluation date
// 2026-12-01, listed overdue first.
func TestCheck(t *testing.T) {
	src := `promises:
  - org: 総務省
    item: S2
    due: 2026-12-31
    note: backups
  - server: mx-2
    item: A1
    due: 2026-11-30
    note: close the relay
  - server: mx-1
    item: A1
    due: 2026-11-30
  - org: 財務省
    item: M2
    due: 2026-12-01
  - org: 総務省
    item: P1
    due: 2026-10-01
  - org: 外務省
    item: A1
    due: 2026-10-01
  - org: 財務省
    item: A1
    due: 2026-11-01
`
	p, err := Parse("p.yaml", []byte(src), scoring.MailCatalog)
	if err != nil {
		t.Fatal(err)
	}
	v := func(o scoring.Outcome, src scoring.Source) scoring.Verdict {
		return scoring.Verdict{Outcome: o, Source: src}
	}
	servers := []scoring.ServerOutcomes{
		{ID: "mx-1", Org: "総務省", Items: map[string]scoring.Verdict{"A1": v(scoring.Pass, scoring.FromProbe), "S2": v(scoring.Pass, scoring.FromDeclared), "P1": v(scoring.NA, scoring.FromProbe)}},
		{ID: "mx-2", Org: "総務省", Items: map[string]scoring.Verdict{"A1": v(scoring.Fail, scoring.FromProbe), "S2": v(scoring.Pass, scoring.FromProbe), "P1": v(scoring.NA, scoring.FromProbe)}},
		{ID: "mx-3", Org: "財務省", Items: map[string]scoring.Verdict{"M2": v(scoring.Fail, scoring.FromProbe), "A1": v(scoring.Pass, scoring.FromProbe)}},
		{ID: "mx-4", Org: "財務省", Missing: true, Items: map[string]scoring.Verdict{"M2": v(scoring.Unknown, scoring.FromProbe), "A1": v(scoring.Unknown, scoring.FromProbe)}},
	}
	got := p.Check(servers, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	want := []struct {
		who, item string
		status    Status
		reason    string
	}{
		{"server mx-2", "A1", Overdue, "due 2026-11-30, still failing on mx-2"},
		{"財務省", "M2", OnTrack, "due 2026-12-01, still failing on mx-3"}, // due today: not passed
		{"外務省", "A1", Unverified, "no server of 外務省"},
		{"総務省", "P1", Unverified, "no server of 総務省 in the scan where P1 applies"},
		{"財務省", "A1", Unverified, "unknown on mx-4"},
		{"総務省", "S2", DeclaredDone, "by declaration only on mx-1"},
		{"server mx-1", "A1", Done, "passes by probe on 1 servers"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d checked", len(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Who() != w.who || g.Item != w.item || g.Status != w.status || !strings.Contains(g.Reason, w.reason) {
			t.Errorf("%d: %s %s %s %q, want %s %s %s %q", i, g.Who(), g.Item, g.Status, g.Reason, w.who, w.item, w.status, w.reason)
		}
	}
	if Overdue.Label("ja") != "期限超過" || Done.Label("en") == "" {
		t.Error("labels")
	}
}
