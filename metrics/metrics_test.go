package metrics

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// sampleInput is the report input of the sample results with their
// inventory, as kensa grade builds it.
func sampleInput(t *testing.T) report.Input {
	t.Helper()
	set, err := results.ReadFile("../testdata/sample-results.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load("../testdata/sample-inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	in := report.Input{Catalog: scoring.MailCatalog, Results: set, Policy: scoring.CountUnknown, Lang: "en"}
	in.Servers, in.Unattributed = report.Outcomes(set, in.Catalog, inv.Servers)
	return in
}

// sampleRE is a sample line: a name, optional labels, one value and
// nothing after it — no timestamp.
var sampleRE = regexp.MustCompile(`^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+$`)

// Metrics writes the sample results' metrics and returns them.
func metricsOf(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, sampleInput(t), 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMetricsContent: the grade table's values, as shown, and the
// counts; every sample line has no timestamp; every family has HELP
// and TYPE.
func TestMetricsContent(t *testing.T) {
	out := metricsOf(t)
	in := sampleInput(t)
	g := report.NewGrade(in, scoring.ByOrg)
	for _, gr := range g.Table.Groups {
		want := fmt.Sprintf(`kensa_org_grade{org="%s",grade="%s"} %d`, gr.Key, gradeCellOf(gr), gradeValues[gr.Grade])
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q", want)
		}
		ir, _ := gr.Item("A1")
		want = fmt.Sprintf(`kensa_item_outcomes{org="%s",item="A1",outcome="fail"} %d`, gr.Key, ir.Tally.Fail)
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q", want)
		}
	}
	for _, want := range []string{"kensa_scan_duration_seconds 1.5\n", fmt.Sprintf("kensa_servers_scanned %d\n", len(in.Results.Records)),
		"# TYPE kensa_org_overall_ratio gauge\n", `kensa_advisories_age_seconds `} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	helps := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if name, ok := strings.CutPrefix(line, "# HELP "); ok {
			helps[strings.Fields(name)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		if !sampleRE.MatchString(line) {
			t.Errorf("not a sample without timestamp: %q", line)
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if !helps[name] {
			t.Errorf("%s: no HELP before its samples", name)
		}
	}
	// Rates are the shown values as ratios: 99.9 %, never 100 %, beside
	// a B.
	if strings.Contains(out, `grade="B"} 3`) && regexp.MustCompile(`kensa_org_overall_ratio\{org="[^"]+"\} 1\n`).MatchString(out) &&
		!strings.Contains(out, `grade="A"`) {
		t.Error("an overall ratio of 1 with no A")
	}
	if got := ratio(nil); got != "" {
		t.Errorf("ratio(nil) = %q", got)
	}
}

func gradeCellOf(gr *scoring.Group) string {
	if gr.AWithheld {
		return gr.Grade + "*"
	}
	return gr.Grade
}

// TestPromtoolCheckMetrics: Prometheus's own linter accepts the file.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	itest.Need(t, err)
	path := filepath.Join(t.TempDir(), "kensa.prom")
	if err := os.WriteFile(path, []byte(metricsOf(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = f
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	err = cmd.Run()
	itest.Ran(t, "promtool check metrics")
	if err != nil || strings.TrimSpace(outb.String()) != "" {
		t.Fatalf("promtool check metrics: %v\n%s", err, outb.String())
	}
}
