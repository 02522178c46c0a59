package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestMain lets the test binary play kensa's fleet workers: the fleet
// starts its child processes from the running executable.
func TestMain(m *testing.M) {
	// A test that runs kensa in child processes (the shards of a scan)
	// starts this binary with KENSA_TEST_AS_KENSA=1: it is then kensa.
	if len(os.Args) > 1 && (os.Args[1] == "fleet-worker" || os.Getenv("KENSA_TEST_AS_KENSA") == "1") {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		os.Exit(run(e, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// liveEnv is an env whose child processes are this test binary.
func liveEnv(t *testing.T, ctx context.Context) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	return &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, self: self}, &out, &errb
}

// TestDemoSmall runs 'kensa demo' at a tenth of its size on its own
// network: every verdict must equal the fleet's truth and every
// organisation's grade the source's.
func TestDemoSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a fleet")
	}
	dir := t.TempDir()
	e, out, errb := liveEnv(t, context.Background())
	code := run(e, []string{"demo", "--servers", "190", "--net", "5", "--dir", dir, "--format", "json", "--quiet"})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var g struct {
		Groups []struct {
			Key, Grade string
		}
		Partial bool
	}
	if err := json.Unmarshal(out.Bytes(), &g); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := fleet.DemoGrades()
	if len(g.Groups) != 19 || g.Partial {
		t.Fatalf("%d groups, partial %v", len(g.Groups), g.Partial)
	}
	for _, gr := range g.Groups {
		if gr.Grade != want[gr.Key] {
			t.Errorf("%s graded %s, the source says %s", gr.Key, gr.Grade, want[gr.Key])
		}
	}
	compareTruth(t, filepath.Join(dir, "results.jsonl"), filepath.Join(dir, "truth.csv"))
	// The demo leaves the reports people read: the HTML page shows every
	// organisation's grade, and the workbook opens.
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := htmlcheck.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	if p := htmlcheck.Inert(doc); len(p) > 0 {
		t.Errorf("report.html: %v", p)
	}
	rows := htmlcheck.GradeRows(doc)
	for _, gr := range g.Groups {
		if r := rows[gr.Key]; len(r) < 2 || strings.TrimSuffix(r[1], "*") != gr.Grade {
			t.Errorf("report.html: %s %q, grade %s", gr.Key, r, gr.Grade)
		}
	}
	if cells := workbookStrings(t, filepath.Join(dir, "report.xlsx")); len(cells) < 19*11 {
		t.Errorf("report.xlsx: %d cells", len(cells))
	}
}

// compareTruth requires every verdict of a results file to equal the
// truth CSV.
func compareTruth(t *testing.T, resultsPath, truthPath string) {
	t.Helper()
	f, err := os.Open(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, code := range rows[0][3:] {
			m[code] = r[3+i]
		}
		truth[r[0]] = m
	}
	set, err := results.ReadFile(resultsPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != len(truth) {
		t.Fatalf("%d records, %d hosts", len(set.Records), len(truth))
	}
	bad := 0
	for _, r := range set.Records {
		for code, v := range r.Items {
			if string(v.Outcome) != truth[r.Server.ID][code] {
				bad++
				if bad < 10 {
					t.Errorf("%s %s: %s, truth %s: %s", r.Server.ID, code, v.Outcome, truth[r.Server.ID][code], v.Reason)
				}
			}
		}
	}
}

// startCLIFleet runs 'kensa fleet' until the test ends and returns the
// inventory and truth it wrote.
func startCLIFleet(t *testing.T, args ...string) (inv, truth string) {
	t.Helper()
	dir := t.TempDir()
	inv, truth = filepath.Join(dir, "inv.csv"), filepath.Join(dir, "truth.csv")
	ctx, cancel := context.WithCancel(context.Background())
	e, _, errb := liveEnv(t, ctx)
	pr, pw := io.Pipe()
	e.stdout = pw
	done := make(chan int)
	go func() {
		done <- run(e, append([]string{"fleet", "--inventory", inv, "--truth", truth}, args...))
		pw.Close()
	}()
	ready := make(chan bool)
	go func() {
		sc := bufio.NewScanner(pr)
		ok := false
		for sc.Scan() {
			if sc.Text() == "ready" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	if !<-ready {
		t.Fatalf("fleet did not start: %s", errb.String())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("fleet exit %d: %s", code, errb.String())
		}
	})
	return inv, truth
}

// TestScanInterruptResume: a scan stopped by its deadline exits 3 with a
// PARTIAL table and keeps its records; --resume finishes it without
// scanning a server twice, and every verdict equals the truth.
func TestScanInterruptResume(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a fleet")
	}
	// The bench fleet's host 17 is silent: it needs at least the default
	// 10 s read timeout, beyond the 6 s deadline, while most others
	// need a second or two.
	inv, truth := startCLIFleet(t, "--servers", "40", "--profile", "bench-no-tarpits", "--net", "6")
	res := filepath.Join(t.TempDir(), "res.jsonl")
	e, out, errb := liveEnv(t, context.Background())
	code := run(e, []string{"scan", "-i", inv, "-o", res, "--quiet", "--max-time", "6s"})
	if code != exitIncomplete || !strings.Contains(out.String(), "PARTIAL") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	first, err := results.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Records) == 0 || len(first.Records) >= 40 {
		t.Fatalf("%d records after the deadline", len(first.Records))
	}
	for _, r := range first.Records {
		if r.Server.ID == "bench-00017" {
			t.Fatal("the silent server has a record from before the deadline")
		}
	}
	// A second scan without --resume refuses to overwrite.
	e, _, errb = liveEnv(t, context.Background())
	if code := run(e, []string{"scan", "-i", inv, "-o", res, "--quiet"}); code != exitBadInput {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	e, out, errb = liveEnv(t, context.Background())
	if code := run(e, []string{"scan", "-i", inv, "-o", res, "--quiet", "--resume"}); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, errb.String())
	}
	if strings.Contains(out.String(), "PARTIAL") {
		t.Fatal("table still PARTIAL after --resume")
	}
	data, _ := os.ReadFile(res)
	if n := bytes.Count(data, []byte("\n")); n != 40 {
		t.Fatalf("%d lines: a server was scanned twice or not at all", n)
	}
	compareTruth(t, res, truth)
	// Regrading under another policy changes S1 where passwords are
	// offered (bench-00003, -00013, …), from the stored observations
	// alone.
	e, out, _ = liveEnv(t, context.Background())
	if code := run(e, []string{"grade", res, "--regrade", "--tolerate-ssh-passwords", "--format", "json"}); code != 0 {
		t.Fatalf("regrade exit %d", code)
	}
	e2, out2, _ := liveEnv(t, context.Background())
	run(e2, []string{"grade", res, "--format", "json"})
	if out.String() == out2.String() {
		t.Fatal("regrading with passwords tolerated changed nothing")
	}
}

// TestProbeJSONIsOneRecord: 'kensa probe --format json' prints exactly
// one kensa/v1 results line, with the host's verdicts.
func TestProbeJSONIsOneRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a fleet")
	}
	p := fleet.Mix(1, fleet.MixOptions{Net: 7, LowPorts: false})
	rs, err := fleet.Serve(p, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rs[0].Close()
	h := p.Hosts[0]
	svcs := "smtp:" + itoa(h.SMTP.Port)
	if h.IMAP != nil {
		svcs += ",imap:" + itoa(h.IMAP.Port)
	}
	e, out, errb := liveEnv(t, context.Background())
	if code := run(e, []string{"probe", h.Addr, "--services", svcs, "--format", "json", "--read-timeout", "5s"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Fatalf("%d lines", n)
	}
	set, err := results.Read(strings.NewReader(out.String()), "probe")
	if err != nil || len(set.Records) != 1 {
		t.Fatalf("%v", err)
	}
	truth := p.Truth(&h)
	if got := set.Records[0].Items["A1"].Outcome; got != truth["A1"] {
		t.Fatalf("A1 %s, truth %s", got, truth["A1"])
	}
	// The text form shows the evidence.
	e, out, _ = liveEnv(t, context.Background())
	run(e, []string{"probe", h.Addr, "--services", svcs, "--lang", "en"})
	if !strings.Contains(out.String(), "A1 "+string(truth["A1"])) || !strings.Contains(out.String(), "| ") {
		t.Fatalf("text:\n%s", out.String())
	}
	_ = scoring.Pass
	_ = time.Second
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
