package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// chromiumHang is how long one headless Chromium run may take before the
// test gives up on it: a guard against a hung browser, not a timing
// assumption (a run takes about a second).
const chromiumHang = 3 * time.Minute

// needChromium returns the Chromium binary, skipping the test locally
// (failing it under CI) when there is none or no Japanese font.
func needChromium(t *testing.T) string {
	t.Helper()
	var path string
	err := errors.New("no chromium binary on the PATH (Debian: apt-get install chromium)")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, lerr := exec.LookPath(name); lerr == nil {
			path, err = p, nil
			break
		}
	}
	itest.Need(t, err)
	out, ferr := exec.Command("fc-list", ":lang=ja", "family").Output()
	if ferr == nil && len(bytes.TrimSpace(out)) == 0 {
		ferr = errors.New("no font covers Japanese: Japanese would render as empty boxes")
	}
	if ferr != nil {
		ferr = fmt.Errorf("fonts: %v (Debian: apt-get install fonts-noto-cjk)", ferr)
	}
	itest.Need(t, ferr)
	return path
}

// chromium runs headless Chromium once in a fresh profile, with the
// network features that reach out switched off, and returns its stdout.
// The browser runs in its own process group, which is killed when it
// ends (no helper process outlives the test) or when it hangs.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	profile, err := os.MkdirTemp("", "kensa-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio",
		"--user-data-dir=" + profile}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), chromiumHang)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Getenv("HOME") == "" {
		// Chromium writes under $HOME; CI may run without one.
		cmd.Env = append(os.Environ(), "HOME="+profile)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		// Helpers of ours that outlived the browser (the group is ours).
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func fileURL(path string) string {
	abs, _ := filepath.Abs(path)
	return (&url.URL{Scheme: "file", Path: abs}).String()
}

// gradeJSON is what the browser test compares with kensa grade --format
// json.
type gradeJSON struct {
	Groups []struct {
		Key, Grade string
		Overall    *string
		AWithheld  bool `json:"a_withheld"`
		Categories map[string]string
	}
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errs := runKensa(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// recordServers returns the ids of the records' servers with an item of
// the outcome, in record order, plus extra ids.
func recordServers(t *testing.T, path string, o scoring.Outcome, extra ...string) []string {
	t.Helper()
	set, err := results.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range set.Records {
		for _, v := range r.Items {
			if v.Outcome == o {
				ids = append(ids, r.Server.ID)
				break
			}
		}
	}
	ids = append(ids, extra...)
	slices.Sort(ids)
	return ids
}

// TestReportInBrowser renders the HTML report of the sample results in
// headless Chromium. The rendered DOM must show every group's grade and
// overall rate as 'kensa grade --format json' has them, by organisation
// and by unit, and list exactly the servers whose records failed or
// stayed unknown (and the inventory's server without a record); printed
// to PDF on A4, the grade table is in the text and the collapsed
// evidence is printed; a screenshot of the first screen is kept under
// the test's output directory (go test -artifacts).
func TestReportInBrowser(t *testing.T) {
	bin := needChromium(t)
	itest.Ran(t, "Chromium")
	dir := t.TempDir()
	for _, by := range []string{"org", "unit"} {
		page := filepath.Join(dir, "report-"+by+".html")
		if code, _, errs := runKensa(t, "report", sampleResults, "--inventory", sampleInventory, "--by", by, "--html", page); code != 0 {
			t.Fatalf("report: exit %d: %s", code, errs)
		}
		var g gradeJSON
		runJSON(t, &g, "grade", sampleResults, "--inventory", sampleInventory, "--by", by, "--format", "json")
		dom := chromium(t, bin, "--dump-dom", fileURL(page))
		doc, err := htmlcheck.Parse(dom)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range htmlcheck.Inert(doc) {
			t.Errorf("rendered DOM: %s", p)
		}
		rows := htmlcheck.GradeRows(doc)
		if len(rows) != len(g.Groups) {
			t.Errorf("by %s: %d rows rendered, grade has %d groups", by, len(rows), len(g.Groups))
		}
		for _, gr := range g.Groups {
			want := gr.Grade
			if gr.AWithheld {
				want += "*"
			}
			overall := "-"
			if gr.Overall != nil {
				overall = *gr.Overall
			}
			row := rows[gr.Key]
			if len(row) < 7 || row[1] != want || row[2] != overall {
				t.Errorf("by %s: %s rendered %q, kensa grade says %s %s", by, gr.Key, row, want, overall)
				continue
			}
			for i, c := range []string{"M", "S", "A", "P"} {
				if row[3+i] != gr.Categories[c] {
					t.Errorf("by %s: %s category %s rendered %q, kensa grade says %q", by, gr.Key, c, row[3+i], gr.Categories[c])
				}
			}
		}
		for _, c := range []struct {
			outcome scoring.Outcome
			extra   []string
		}{{scoring.Fail, nil}, {scoring.Unknown, []string{"mx-houmu-04"}}} {
			got, shown := htmlcheck.ServersWith(doc, string(c.outcome))
			slices.Sort(got)
			want := recordServers(t, sampleResults, c.outcome, c.extra...)
			if !slices.Equal(got, want) {
				t.Errorf("by %s: servers listed with %s %v, the records have %v", by, c.outcome, got, want)
			}
			for _, id := range got {
				if !shown[id] {
					t.Errorf("server %s is listed but its id is not in its summary", id)
				}
			}
		}
	}

	// Printed on A4: the grade table is in the text, and so is evidence
	// the screen keeps collapsed.
	page := filepath.Join(dir, "report-org.html")
	pdf := filepath.Join(dir, "report.pdf")
	chromium(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+pdf, fileURL(page))
	_, err := exec.LookPath("pdftotext")
	itest.Need(t, err)
	txt, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	var g gradeJSON
	runJSON(t, &g, "grade", sampleResults, "--inventory", sampleInventory, "--format", "json")
	for _, gr := range g.Groups {
		line := regexp.QuoteMeta(gr.Key) + `\s+` + regexp.QuoteMeta(gr.Grade) + `\s+` + regexp.QuoteMeta(*gr.Overall)
		for _, c := range []string{"M", "S", "A", "P"} {
			line += `\s+` + regexp.QuoteMeta(gr.Categories[c])
		}
		if !regexp.MustCompile(line).Match(txt) {
			t.Errorf("printed report: no grade row %s %s %s in\n%s", gr.Key, gr.Grade, *gr.Overall, txt)
		}
	}
	for _, ev := range []string{"192.0.2.11:123 ntp *: offset +0.004s stratum 3 leap 0", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"} {
		if !bytes.Contains(txt, []byte(ev)) {
			t.Errorf("printed report: collapsed evidence %q not printed", ev)
		}
	}
	if info, err := exec.Command("pdfinfo", pdf).Output(); err != nil || !bytes.Contains(info, []byte("(A4)")) {
		t.Errorf("printed report is not A4: %v\n%s", err, info)
	}

	// The first screen, kept for people to look at.
	shot := filepath.Join(t.ArtifactDir(), "report-first-screen.png")
	chromium(t, bin, "--window-size=1280,1024", "--hide-scrollbars", "--screenshot="+shot, fileURL(page))
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1024 {
		t.Errorf("screenshot %v", b)
	}
	// Something was drawn: dark pixels (text) on the page.
	dark := 0
	for y := 0; y < img.Bounds().Dy(); y += 4 {
		for x := 0; x < img.Bounds().Dx(); x += 4 {
			r, gg, b, _ := img.At(x, y).RGBA()
			if r+gg+b < 3*0x4000 {
				dark++
			}
		}
	}
	if dark < 200 {
		t.Errorf("screenshot looks empty: %d dark samples", dark)
	}
	t.Logf("screenshot of the first screen: %s", shot)
}
