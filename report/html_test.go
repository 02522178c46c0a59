package report

import (
	"bytes"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

const (
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `"><img src=x onerror=alert(1)>`
)

// sampleInput reads the sample results (without their inventory).
func sampleInput(t *testing.T, lang string) Input {
	t.Helper()
	set, err := results.ReadFile("../testdata/sample-results.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Catalog: scoring.MailCatalog, Results: set, Policy: scoring.CountUnknown, Lang: lang}
	in.Servers, in.Unattributed = Outcomes(set, scoring.MailCatalog, nil)
	return in
}

// hostileInput is the sample with one more organisation whose server
// wrote markup everywhere a server or an inventory can put text.
func hostileInput(t *testing.T) Input {
	t.Helper()
	in := sampleInput(t, "ja")
	bad := hostileScript + hostileImg
	rec := &results.Record{Schema: results.Schema, Scan: in.Results.Meta,
		Server:  results.ServerRef{ID: "evil-01" + hostileImg, Org: "悪意省" + hostileScript, Unit: "本省" + hostileImg, Host: "198.51.100.7", Addresses: []string{"198.51.100.7", "198.51.100.8"}},
		Started: time.Date(2026, 11, 1, 1, 2, 0, 0, time.UTC), DurationMS: 10,
		Items:      map[string]scoring.Verdict{},
		Undeclared: []string{"imap:143" + hostileImg},
		Findings:   []string{expiredPrefix + "evil-01: CVE-1 until 2026-01-01 — " + bad},
	}
	for _, it := range scoring.MailCatalog.Items {
		rec.Items[it.Code] = scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "banner " + bad,
			Evidence: []string{"198.51.100.7:25 smtp S: 220 " + bad, "198.51.100.7:25 smtp S: 250 " + hostileImg}}
	}
	v := rec.Items["M2"]
	v.Outcome, v.Exception = scoring.Unknown, "evil-01: CVE-2 "+bad
	rec.Items["M2"] = v
	v = rec.Items["A1"]
	v.Probed, v.Declared, v.Discrepancy = scoring.Fail, scoring.Pass, true
	rec.Items["A1"] = v
	in.Results.Records = append(in.Results.Records, rec)
	in.Servers, in.Unattributed = Outcomes(in.Results, scoring.MailCatalog, nil)
	return in
}

// parseHTML parses a page and returns its root.
func parseHTML(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := htmlcheck.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// checkInert fails unless the page is inert (htmlcheck.Inert).
func checkInert(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, p := range htmlcheck.Inert(doc) {
		t.Error(p)
	}
}

func TestHTMLHostileInputIsInert(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, hostileInput(t), Options{}, "test"); err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, b.Bytes())
	checkInert(t, doc)
	// What the server wrote is shown as text, verbatim.
	body := htmlcheck.Text(doc)
	for _, want := range []string{"220 " + hostileScript + hostileImg, "250 " + hostileImg, "evil-01" + hostileImg, "悪意省" + hostileScript, "imap:143" + hostileImg} {
		if !strings.Contains(body, want) {
			t.Errorf("text %q not shown", want)
		}
	}
}

func TestHTMLOrgLeavesOthersOut(t *testing.T) {
	in := hostileInput(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, in, Options{Org: "法務省", By: scoring.ByUnit}, "test"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkInert(t, parseHTML(t, b.Bytes()))
	for _, r := range in.Results.Records {
		if r.Server.Org == "法務省" {
			continue
		}
		leaks := append([]string{r.Server.ID, r.Server.Host, r.Server.Org}, r.Server.Addresses...)
		for _, s := range leaks {
			if strings.Contains(page, s) || strings.Contains(page, html.EscapeString(s)) {
				t.Errorf("the report for 法務省 names %q of %s", s, r.Server.Org)
			}
		}
	}
	if !strings.Contains(page, "mx-houmu-02") {
		t.Error("法務省's own failing server is missing")
	}
	if _, err := ForOrg(in, "外務省"); err == nil || !strings.Contains(err.Error(), "総務省") {
		t.Errorf("unknown organisation: %v", err)
	}
}

func TestHTMLNoExternalResource(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		var b bytes.Buffer
		if err := WriteHTML(&b, sampleInput(t, lang), Options{By: scoring.ByUnit}, "test"); err != nil {
			t.Fatal(err)
		}
		checkInert(t, parseHTML(t, b.Bytes()))
		for _, s := range []string{"http://", "https://", "//fonts", "@import", "@font-face"} {
			if strings.Contains(b.String(), s) {
				t.Errorf("%s: the page contains %q", lang, s)
			}
		}
	}
}

// TestLabelsComplete: every word has a Japanese and an English form.
func TestLabelsComplete(t *testing.T) {
	for name, l := range map[string]labels{"ja": labelsJA, "en": labelsEN} {
		v := reflect.ValueOf(l)
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).String() == "" {
				t.Errorf("%s: %s is empty", name, v.Type().Field(i).Name)
			}
		}
	}
}

// TestDisplayRuleInReports: an overall rate of exactly 99.96 % is shown
// 99.9 beside its B in the HTML report and written 99.9 in the workbook
// model, never 100.0.
func TestDisplayRuleInReports(t *testing.T) {
	in := nearlyPerfect(t)
	tab := scoring.Grade(in.Catalog, in.Servers, scoring.ByOrg, in.Policy, 0)
	if got := tab.Groups[0].Overall; got.Cmp(big.NewRat(9996, 100)) != 0 {
		t.Fatalf("overall %s, want exactly 99.96", got.FloatString(4))
	}
	v, err := newView(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	row := v.sheets()[SheetGrades].rows[0]
	if row[1].text != "B" || row[2].text != "99.9" {
		t.Fatalf("grades row %+v", row)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, in, Options{}, "test"); err != nil {
		t.Fatal(err)
	}
	rows := htmlcheck.GradeRows(parseHTML(t, b.Bytes()))
	if r := rows["省"]; len(rows) != 1 || len(r) < 3 || r[1] != "B" || r[2] != "99.9" {
		t.Errorf("grade table %q, want 省 B 99.9", rows)
	}
}

// nearlyPerfect is one organisation of 625 servers where one server
// fails P1: P = 624/625 = 99.84 %, overall (3 × 100 + 99.84) / 4 =
// exactly 99.96 %.
func nearlyPerfect(t *testing.T) Input {
	t.Helper()
	set := &results.Set{Name: "nearly-perfect"}
	var servers []scoring.ServerOutcomes
	for i := range 625 {
		items := map[string]scoring.Verdict{}
		for _, it := range scoring.MailCatalog.Items {
			items[it.Code] = scoring.Verdict{Outcome: scoring.Pass, Source: scoring.FromProbe, Reason: "verified by probe"}
		}
		if i == 0 {
			items["P1"] = scoring.Verdict{Outcome: scoring.Fail, Source: scoring.FromProbe, Reason: "cleartext login accepted"}
		}
		id := "s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		set.Records = append(set.Records, &results.Record{Schema: results.Schema, Server: results.ServerRef{ID: id, Org: "省", Unit: "本省", Host: "192.0.2.1"}, Items: items})
		servers = append(servers, scoring.ServerOutcomes{ID: id, Org: "省", Unit: "本省", Items: items})
	}
	return Input{Catalog: scoring.MailCatalog, Results: set, Servers: servers, Policy: scoring.CountUnknown, Lang: "ja"}
}
