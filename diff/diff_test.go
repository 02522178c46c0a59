package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// rec is a record of one server of 総務省 whose graded items all pass
// but those given.
func rec(id string, items map[string]scoring.Outcome, undeclared ...string) *results.Record {
	r := &results.Record{Schema: results.Schema, Server: results.ServerRef{ID: id, Org: "総務省", Unit: "本省", Host: "127.0.6.1"},
		Scan: results.ScanMeta{ScanID: "s", InventoryServers: 3}, Items: map[string]scoring.Verdict{}, Undeclared: undeclared}
	for _, it := range scoring.MailCatalog.Items {
		r.Items[it.Code] = scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "ok"}
	}
	for code, o := range items {
		r.Items[code] = scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: code + " is " + string(o)}
	}
	return r
}

func side(recs ...*results.Record) Side {
	set := &results.Set{Name: "x.jsonl", Records: recs, Meta: recs[0].Scan}
	var servers []scoring.ServerOutcomes
	for _, r := range recs {
		servers = append(servers, scoring.ServerOutcomes{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit, Items: r.Items})
	}
	return Side{Set: set, Servers: servers}
}

// TestCompare: hand-made scans. mx-1 starts relaying (A1 pass → fail)
// and finds a new undeclared telnet; mx-2 is patched (M2 fail → pass)
// and its S3 passes no more (pass → unknown); mx-3 is gone and mx-4
// added; mx-2's declared M1 pass is now refuted by the probe. The
// organisation's rates are worked out by hand below.
func TestCompare(t *testing.T) {
	old := side(rec("mx-1", nil), rec("mx-2", map[string]scoring.Outcome{"M2": scoring.Fail}), rec("mx-3", nil))
	m1 := rec("mx-2", map[string]scoring.Outcome{"S3": scoring.Unknown})
	m1.Items["M1"] = scoring.Combine(scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "EOL"}, scoring.Pass)
	newer := side(rec("mx-1", map[string]scoring.Outcome{"A1": scoring.Fail}, "telnet:23"), m1, rec("mx-4", nil))
	d := Compare(old, newer, Options{Catalog: scoring.MailCatalog, Policy: scoring.CountUnknown})
	if d.Cause != ServerChanged || len(d.Servers) != 2 {
		t.Fatalf("%+v", d.Servers)
	}
	s1, s2 := d.Servers[0], d.Servers[1]
	if len(s1.NewlyFailing) != 1 || s1.NewlyFailing[0].Item != "A1" || s1.NewlyFailing[0].From != scoring.Pass || len(s1.NewlyPassing)+len(s1.BecameUnknown) != 0 {
		t.Errorf("mx-1: %+v", s1)
	}
	if len(s2.NewlyPassing) != 1 || s2.NewlyPassing[0].Item != "M2" || len(s2.BecameUnknown) != 1 || s2.BecameUnknown[0].Item != "S3" ||
		len(s2.NewlyFailing) != 1 || s2.NewlyFailing[0].Item != "M1" {
		t.Errorf("mx-2: %+v", s2)
	}
	if len(d.Added) != 1 || d.Added[0].ID != "mx-4" || len(d.Gone) != 1 || d.Gone[0].ID != "mx-3" {
		t.Errorf("added %+v gone %+v", d.Added, d.Gone)
	}
	if len(d.NewUndeclared) != 1 || d.NewUndeclared[0].Services[0] != "telnet:23" {
		t.Errorf("undeclared %+v", d.NewUndeclared)
	}
	if len(d.NewDiscrepancies) != 1 || d.NewDiscrepancies[0].ID != "mx-2" || d.NewDiscrepancies[0].Item != "M1" {
		t.Errorf("discrepancies %+v", d.NewDiscrepancies)
	}
	// Old: M1 3/3, M2 2/3, M3 3/3 → M 88.89; S, A, P 100 → 97.22 B.
	// New: M1 2/3, M2 3/3, M3 3/3 → M 88.89; S1 3/3, S2 3/3, S3 2/3 →
	// S 88.89; A 2/3 = 66.67; P 100 → (88.89+88.89+66.67+100)/4 = 86.11 B.
	o := d.Orgs[0]
	if o.Org != "総務省" || o.OldGrade != "B" || o.NewGrade != "B" || o.OldOverall != "97.2" || o.NewOverall != "86.1" || o.Delta != "-11.1" || !o.Worse {
		t.Errorf("org %+v", o)
	}
	// Worse: the rate, mx-1 A1, mx-2 M1, mx-2 S3 pass → unknown, the
	// telnet, the discrepancy; M2 passing is not.
	if len(d.Regressions) != 6 {
		t.Errorf("regressions %q", d.Regressions)
	}
	// Judged differently and not re-graded: every change is "rules
	// changed", never "server changed".
	rd := Compare(old, newer, Options{Catalog: scoring.MailCatalog, Policy: scoring.CountUnknown, Differ: []string{"policy"}})
	var buf bytes.Buffer
	if err := rd.WriteText(&buf, "en"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), ServerChanged) || !strings.Contains(buf.String(), "(rules changed)") || rd.Orgs[0].Cause != RulesChanged {
		t.Errorf("rules changed:\n%s", buf.String())
	}
	for _, format := range []string{"text", "md", "json", "html"} {
		for _, lang := range []string{"ja", "en"} {
			var b bytes.Buffer
			var err error
			switch format {
			case "text":
				err = d.WriteText(&b, lang)
			case "md":
				err = d.WriteMarkdown(&b, lang)
			case "json":
				err = d.WriteJSON(&b)
			case "html":
				err = d.WriteHTML(&b, lang)
			}
			if err != nil {
				t.Fatalf("%s %s: %v", format, lang, err)
			}
			if !strings.Contains(b.String(), "mx-4") || !strings.Contains(b.String(), "telnet:23") {
				t.Errorf("%s %s: missing content\n%s", format, lang, b.String())
			}
			if format == "json" {
				var back Diff
				if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Regressions) != 6 {
					t.Errorf("json: %v", err)
				}
			}
			if format == "html" {
				doc, err := htmlcheck.Parse(b.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				if p := htmlcheck.Inert(doc); len(p) > 0 {
					t.Errorf("html: %v", p)
				}
			}
		}
	}
}
