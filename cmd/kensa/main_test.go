package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/scoring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// runKensa runs the command line in-process.
func runKensa(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code = run(e, args)
	return code, out.String(), errb.String()
}

const (
	sampleResults   = "../../testdata/sample-results.jsonl"
	sampleInventory = "../../testdata/sample-inventory.csv"
)

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/kensa -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./cmd/kensa -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenOutputs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"grade-org.txt", []string{"grade", sampleResults, "--inventory", sampleInventory}, 0},
		{"grade-unit-en.txt", []string{"grade", "--by", "unit", "--lang", "en", sampleResults, "--inventory", sampleInventory}, 0},
		{"grade-all-exclude.txt", []string{"grade", sampleResults, "--by", "all", "--unknown", "exclude", "--inventory", sampleInventory}, 0},
		{"grade-org.json", []string{"grade", sampleResults, "--format", "json", "--inventory", sampleInventory}, 0},
		{"grade-org.csv", []string{"grade", sampleResults, "--format", "csv", "--inventory", sampleInventory}, 0},
		{"grade-org.md", []string{"grade", sampleResults, "--format=md", "--inventory", sampleInventory}, 0},
		{"grade-no-inventory.txt", []string{"grade", sampleResults, "--inventory", ""}, 0},
		{"questionnaire.csv", []string{"questionnaire", sampleResults, "--inventory", sampleInventory}, 0},
		{"questionnaire-en.json", []string{"questionnaire", sampleResults, "--format", "json", "--lang", "en", "--inventory", sampleInventory}, 0},
		{"questionnaire-excel.csv", []string{"questionnaire", "--excel", sampleResults, "--inventory", sampleInventory}, 0},
		// Japanese headings are the default; --lang en keeps English ones.
		{"grade-org-en.txt", []string{"grade", sampleResults, "--lang", "en", "--inventory", sampleInventory}, 0},
		{"grade-org-en.md", []string{"grade", sampleResults, "--format", "md", "--lang", "en", "--inventory", sampleInventory}, 0},
		{"questionnaire-excel-en.csv", []string{"questionnaire", "--excel", "--lang", "en", sampleResults, "--inventory", sampleInventory}, 0},
		{"report-org.html", []string{"report", sampleResults, "--html", "-", "--inventory", sampleInventory}, 0},
		{"report-unit-en.html", []string{"report", sampleResults, "--html", "-", "--by", "unit", "--lang", "en", "--inventory", sampleInventory}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runKensa(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, errs)
			}
			// The version of the kensa under test is not part of the
			// golden file.
			out = strings.ReplaceAll(out, "kensa "+kensaVersion(), "kensa VERSION")
			golden(t, c.name, out)
		})
	}
}

// TestExcelBOM: --excel CSV starts with a byte order mark and has CRLF
// lines and the headings of --lang; plain CSV keeps English column names
// and JSON never gets a byte order mark.
func TestExcelBOM(t *testing.T) {
	for _, c := range []struct{ lang, head string }{{"ja", "\ufeff組織,カテゴリー,項目,項目名,評価対象,対象数,実施数,実施率,"}, {"en", "\ufefforg,category,item,"}} {
		_, out, _ := runKensa(t, "questionnaire", sampleResults, "--excel", "--lang", c.lang, "--inventory", sampleInventory)
		if !strings.HasPrefix(out, c.head) || !strings.Contains(out, "\r\n") {
			t.Fatalf("%s: no BOM, CRLF or headings: %q", c.lang, out[:40])
		}
	}
	_, out, _ := runKensa(t, "questionnaire", sampleResults, "--inventory", sampleInventory)
	if !strings.HasPrefix(out, "org,category,item,item_name,graded,applicable,implemented,rate,") {
		t.Fatalf("plain CSV: %q", out[:40])
	}
	_, out, _ = runKensa(t, "questionnaire", sampleResults, "--format", "json", "--inventory", sampleInventory)
	if !strings.HasPrefix(out, "{") {
		t.Fatalf("JSON starts with %q", out[:4])
	}
	code, _, errs := runKensa(t, "questionnaire", sampleResults, "--format", "json", "--excel")
	if code != 2 || !strings.Contains(errs, "never gets a byte order mark") {
		t.Fatalf("--format json --excel: exit %d: %s", code, errs)
	}
}

func TestFailUnderAndExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"grade", sampleResults, "--fail-under", "D", "--inventory", sampleInventory}, 0, ""},
		{[]string{"grade", sampleResults, "--fail-under", "B", "--inventory", sampleInventory}, 1, "below --fail-under B"},
		{[]string{"grade", sampleResults, "--fail-under", "E"}, 2, "--fail-under"},
		{[]string{"grade", "missing.jsonl"}, 2, "missing.jsonl"},
		{[]string{"grade"}, 2, "want 1 arguments"},
		{[]string{"grade", sampleResults, "--by", "ministry"}, 2, "--by"},
		{[]string{"grade", sampleResults, "--format", "xml"}, 2, "--format"},
		{[]string{"grade", sampleResults, "--unknown", "ignore"}, 2, "--unknown"},
		{[]string{"grade", sampleResults, "--nope"}, 2, "flag provided but not defined"},
		{[]string{"questionnaire", sampleResults, "--format", "md"}, 2, "--format"},
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"grade", "--help"}, 0, ""},
		{[]string{"questionnaire", "--help"}, 0, ""},
	}
	for _, c := range cases {
		code, _, errs := runKensa(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d stderr %q; want %d and %q", c.args, code, errs, c.code, c.err)
		}
	}
}

func TestGradeRefusesOtherSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.jsonl")
	os.WriteFile(path, []byte(`{"schema":"other/v9","server":{"id":"x"}}`+"\n"), 0o644)
	code, _, errs := runKensa(t, "grade", path)
	if code != 2 || !strings.Contains(errs, "other/v9") || !strings.Contains(errs, ":1:") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestGradeCutResults(t *testing.T) {
	data, _ := os.ReadFile(sampleResults)
	path := filepath.Join(t.TempDir(), "cut.jsonl")
	os.WriteFile(path, data[:len(data)-100], 0o644)
	code, out, errs := runKensa(t, "grade", path, "--inventory", sampleInventory, "--lang", "en")
	if code != 0 || !strings.Contains(errs, "last line is cut") || !strings.Contains(out, "PARTIAL: no record for 2 servers") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestHostsFlag: --hosts resolves the inventory's names from a hosts(5)
// file (no name server asked), and a bad file is refused with its line
// and column.
func TestHostsFlag(t *testing.T) {
	srv, err := smtpd.Start("127.23.1.1:0", smtpd.Config{Profile: smtpd.Closed})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.23.1.1 mx.hosts-test.example\n"), 0o644)
	port := strconv.Itoa(int(srv.AddrPort().Port()))
	code, out, errs := runKensa(t, "probe", "mx.hosts-test.example", "--hosts", hosts, "--services", "smtp:"+port, "--format", "json", "--read-timeout", "2s")
	if code != 0 || !strings.Contains(out, `"addresses":["127.23.1.1"]`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("127.23.1.1 ok\nnot-an-address mx\n"), 0o644)
	code, _, errs = runKensa(t, "probe", "mx.hosts-test.example", "--hosts", bad, "--services", "smtp:"+port)
	if code != 2 || !strings.Contains(errs, bad+`:2:1: bad address "not-an-address"`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestProbeDeadHost: 'kensa probe' of a host where nothing answers on any
// standard port gives every item unknown ("no service answered"), never
// na: a dead host is not a host without relay or receive-side checks.
func TestProbeDeadHost(t *testing.T) {
	code, out, errs := runKensa(t, "probe", "127.23.2.1", "--format", "json", "--dial-timeout", "2s", "--read-timeout", "2s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rec struct {
		Items map[string]struct{ Outcome, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rec.Items) != len(scoring.MailCatalog.Items) {
		t.Fatalf("%d items", len(rec.Items))
	}
	for code, v := range rec.Items {
		if v.Outcome != "unknown" || !strings.Contains(v.Reason, "no service answered") {
			t.Errorf("%s: %s (%s)", code, v.Outcome, v.Reason)
		}
	}
}
