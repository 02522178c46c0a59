package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/results"
)

const (
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `"><img src=x onerror=alert(1)>`
)

// scanHostile scans a simulated open relay on 127.0.4.1 whose greeting
// carries markup, with the real probes, and returns the results file:
// the markup reaches the record through the server's own words.
func scanHostile(t *testing.T) string {
	t.Helper()
	srv, err := smtpd.Start("127.0.4.1:0", smtpd.Config{Profile: smtpd.OpenRelay, Hostname: "mx.hostile.example",
		Banner: "{host} ESMTP " + hostileScript + " " + hostileImg})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.csv")
	port := strconv.Itoa(int(srv.AddrPort().Port()))
	os.WriteFile(inv, []byte("id,org,unit,host,services,declared,notes\nevil-01,悪意省,本省,127.0.4.1,smtp:"+port+",S2=pass,hostile banner\n"), 0o644)
	res := filepath.Join(dir, "results.jsonl")
	code, _, errs := runKensa(t, "scan", "-i", inv, "-o", res, "--quiet", "--no-discover", "--read-timeout", "5s", "--lang", "en")
	if code != 0 {
		t.Fatalf("scan: exit %d: %s", code, errs)
	}
	set, err := results.ReadFile(res)
	if err != nil || len(set.Records) != 1 {
		t.Fatalf("%v", err)
	}
	// The greeting reaches the record among the banners of the
	// observations, which the report shows verbatim.
	var obs observe.Observations
	if err := json.Unmarshal(set.Records[0].Observations, &obs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range obs.Banners() {
		if b.Kind == "greeting" && strings.Contains(b.Text, hostileScript+" "+hostileImg) {
			found = true
		}
	}
	if !found {
		t.Fatalf("the hostile greeting is in no banner of the record: the test would prove nothing\n%+v", obs.Banners())
	}
	return res
}

// TestReportHostileBanner: markup a server wrote in its greeting comes
// out of the HTML report as text, in the page as written and in the DOM
// a real browser builds from it: no script, no image, an unchanged
// Content-Security-Policy.
func TestReportHostileBanner(t *testing.T) {
	res := scanHostile(t)
	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, errs := runKensa(t, "report", res, "--html", page); code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	written, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, b []byte) {
		doc, err := htmlcheck.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range htmlcheck.Inert(doc) {
			t.Errorf("%s: %s", what, p)
		}
		if txt := htmlcheck.Text(doc); !strings.Contains(txt, hostileScript+" "+hostileImg) {
			t.Errorf("%s: the greeting is not shown as text", what)
		}
		ids, _ := htmlcheck.ServersWith(doc, "fail")
		if len(ids) != 1 || ids[0] != "evil-01" {
			t.Errorf("%s: failing servers %v, want the open relay evil-01", what, ids)
		}
	}
	check("written page", written)
	bin := needChromium(t)
	itest.Ran(t, "Chromium")
	check("rendered DOM", chromium(t, bin, "--dump-dom", fileURL(page)))
}

// TestReportOrg: the report for one organisation names no other
// organisation, nor any of their servers, hosts or addresses, in HTML
// and in the workbook; an unknown organisation is bad input.
func TestReportOrg(t *testing.T) {
	dir := t.TempDir()
	page, book := filepath.Join(dir, "houmu.html"), filepath.Join(dir, "houmu.xlsx")
	if code, _, errs := runKensa(t, "report", sampleResults, "--inventory", sampleInventory, "--org", "法務省", "--by", "unit", "--html", page, "--xlsx", book); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	set, err := results.ReadFile(sampleResults)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(page)
	cells := strings.Join(workbookStrings(t, book), "\n")
	for _, r := range set.Records {
		if r.Server.Org == "法務省" {
			continue
		}
		for _, s := range append([]string{r.Server.ID, r.Server.Host, r.Server.Org}, r.Server.Addresses...) {
			if strings.Contains(string(b), s) {
				t.Errorf("HTML for 法務省 names %q of %s", s, r.Server.Org)
			}
			if strings.Contains(cells, s) {
				t.Errorf("workbook for 法務省 names %q of %s", s, r.Server.Org)
			}
		}
	}
	for _, own := range []string{"mx-houmu-01", "mx-houmu-04", "192.0.2.30"} {
		if !strings.Contains(string(b), own) {
			t.Errorf("HTML for 法務省 lacks its own %s", own)
		}
	}
	code, _, errs := runKensa(t, "report", sampleResults, "--org", "外務省", "--html", filepath.Join(dir, "x.html"))
	if code != 2 || !strings.Contains(errs, `organisation "外務省" has no server`) || !strings.Contains(errs, "法務省") {
		t.Errorf("unknown --org: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.html")); err == nil {
		t.Error("a report was written for an unknown organisation")
	}
}

// TestReportBadInput: every mistake is exit 2 with a message that says
// what to do.
func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		err  string
	}{
		{[]string{"report", sampleResults}, "nothing to write"},
		{[]string{"report", sampleResults, "--html", filepath.Join(dir, "a"), "--xlsx", filepath.Join(dir, "a")}, "same file"},
		{[]string{"report", sampleResults, "--xlsx", "-"}, "binary"},
		{[]string{"report", sampleResults, "--html", filepath.Join(dir, "a.html"), "--by", "ministry"}, "--by"},
		{[]string{"report", sampleResults, "--html", filepath.Join(dir, "a.html"), "--lang", "fr"}, "--lang"},
		{[]string{"report", "missing.jsonl", "--html", filepath.Join(dir, "a.html")}, "missing.jsonl"},
		{[]string{"report", sampleResults, "--html", filepath.Join(dir, "no", "such", "dir", "a.html")}, "cannot write"},
		{[]string{"questionnaire", sampleResults, "--xlsx", "-"}, "binary"},
		{[]string{"completion", "tcsh"}, "bash, zsh or fish"},
	}
	for _, c := range cases {
		code, _, errs := runKensa(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d: %s; want 2 and %q", c.args, code, errs, c.err)
		}
	}
}
