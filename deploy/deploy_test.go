package deploy

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kensa-inspect/kensa/internal/itest"
)

// verify runs systemd-analyze verify on the units in dir and returns
// its exit error and everything it wrote on stderr: systemd only warns
// (on stderr, exit 0) about an unknown key such as a misspelt
// ProtectSytem, so a clean verify is one that says nothing.
func verify(t *testing.T, bin, dir string) (error, string) {
	t.Helper()
	cmd := exec.Command(bin, "verify", "--man=no", filepath.Join(dir, "kensa-scan.service"), filepath.Join(dir, "kensa-scan.timer"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	return err, stderr.String()
}

// unitsIn copies the units and the wrapper into a new directory, the
// service's ExecStart pointing at the wrapper's copy (verify fails when
// the ExecStart binary is missing), and applies edit to the service.
func unitsIn(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "kensa-scheduled-scan")
	for _, name := range []string{"kensa-scan.service", "kensa-scan.timer", "kensa-scheduled-scan"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/local/bin/kensa-scheduled-scan", wrapper)
		if name == "kensa-scan.service" {
			s = edit(s)
		}
		mode := os.FileMode(0o644) // systemd warns about executable unit files
		if name == "kensa-scheduled-scan" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSystemdUnits: systemd-analyze verify accepts the service and the
// timer without a word on stderr; the units are hardened and scheduled
// as documented; and the check itself catches a misspelt key.
func TestSystemdUnits(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	itest.Need(t, err)
	dir := unitsIn(t, func(s string) string { return s })
	err, stderr := verify(t, bin, dir)
	itest.Ran(t, "systemd-analyze verify")
	if err != nil || stderr != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr)
	}
	service, _ := os.ReadFile(filepath.Join("systemd", "kensa-scan.service"))
	timer, _ := os.ReadFile(filepath.Join("systemd", "kensa-scan.timer"))
	for _, want := range []string{"\nDynamicUser=yes\n", "\nProtectSystem=strict\n", "\nReadWritePaths=-/var/lib/prometheus/node-exporter\n",
		"\nCapabilityBoundingSet=\n", "\nStateDirectory=kensa\n", "\nNoNewPrivileges=yes\n", "\nType=oneshot\n"} {
		if !strings.Contains(string(service), want) {
			t.Errorf("kensa-scan.service lacks %q", strings.TrimSpace(want))
		}
	}
	for _, want := range []string{"\nOnCalendar=monthly\n", "\nPersistent=true\n", "\nRandomizedDelaySec="} {
		if !strings.Contains(string(timer), want) {
			t.Errorf("kensa-scan.timer lacks %q", strings.TrimSpace(want))
		}
	}
	// The check catches what verify only warns about, and a missing
	// ExecStart.
	typo := unitsIn(t, func(s string) string { return strings.Replace(s, "ProtectSystem=strict", "ProtectSytem=strict", 1) })
	if err, stderr := verify(t, bin, typo); err == nil && stderr == "" {
		t.Error("a misspelt ProtectSytem passed the check")
	}
	missing := unitsIn(t, func(s string) string {
		return regexp.MustCompile(`(?m)^ExecStart=.*$`).ReplaceAllString(s, "ExecStart=/nonexistent/kensa-scheduled-scan")
	})
	if err, stderr := verify(t, bin, missing); err == nil && stderr == "" {
		t.Error("a missing ExecStart binary passed the check")
	}
}

// TestScheduledScanWrapper runs the wrapper with a stand-in kensa that
// logs its arguments: the scan goes to the day's results file with
// --resume, into the history database, with the metrics and the flags
// of scan.env; the reports are named by the day; the diff compares the
// previous results file with today's.
func TestScheduledScanWrapper(t *testing.T) {
	dir := t.TempDir()
	state, conf, metrics := filepath.Join(dir, "state"), filepath.Join(dir, "conf"), filepath.Join(dir, "metrics")
	for _, d := range []string{filepath.Join(state, "results"), conf, metrics} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(state, "results", "2026-10-01.jsonl"), nil, 0o644)
	os.WriteFile(filepath.Join(state, "results", "2026-11-01.jsonl"), nil, 0o644)
	os.WriteFile(filepath.Join(conf, "plan.yaml"), []byte("promises: []\n"), 0o644)
	log := filepath.Join(dir, "calls")
	stub := filepath.Join(dir, "kensa")
	os.WriteFile(stub, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755)
	cmd := exec.Command("/bin/sh", filepath.Join("systemd", "kensa-scheduled-scan"))
	cmd.Env = append(os.Environ(), "KENSA="+stub, "STATE_DIRECTORY="+state, "CONFIGURATION_DIRECTORY="+conf,
		"KENSA_METRICS_DIR="+metrics, "KENSA_DAY=2026-12-01", "KENSA_SCAN_FLAGS=--scope 127.0.6.0/24 --source-ip 127.0.6.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	r := filepath.Join(state, "results", "2026-12-01.jsonl")
	plan := filepath.Join(conf, "plan.yaml")
	want := []string{
		fmt.Sprintf("scan -i %s -o %s --resume --quiet --history %s --metrics %s --scope 127.0.6.0/24 --source-ip 127.0.6.1",
			filepath.Join(conf, "inventory.csv"), r, filepath.Join(state, "history.db"), filepath.Join(metrics, "kensa.prom")),
		fmt.Sprintf("report %s --html %s --xlsx %s --history %s --plan %s", r, filepath.Join(state, "reports", "2026-12-01.html"),
			filepath.Join(state, "reports", "2026-12-01.xlsx"), filepath.Join(state, "history.db"), plan),
		fmt.Sprintf("diff %s %s --format html --plan %s", filepath.Join(state, "results", "2026-11-01.jsonl"), r, plan),
	}
	if got := strings.Split(strings.TrimSpace(string(calls)), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// buildKensa builds a static kensa (CGO_ENABLED=0), as the container
// build file does, and checks that it needs no dynamic loader.
func buildKensa(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kensa")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/kensa")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("kensa built with CGO_ENABLED=0 needs a dynamic loader")
		}
	}
	return bin
}

// manifest is what the test reads of a Kubernetes object.
type manifest struct {
	Kind string
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int
		Parallelism    int
		Template       struct {
			Spec struct {
				InitContainers []container `yaml:"initContainers"`
				Containers     []container
			}
		}
	}
}

type container struct {
	Name         string
	Image        string
	Args         []string
	VolumeMounts []struct {
		Name        string
		MountPath   string `yaml:"mountPath"`
		SubPathExpr string `yaml:"subPathExpr"`
	} `yaml:"volumeMounts"`
}

func readManifest(t *testing.T, name string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

var helpFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9-]+)`)

// TestKubernetesManifests: the scan is an Indexed Job whose completions
// and parallelism are the shards of --shard /N, each writing under its
// own JOB_COMPLETION_INDEX; the merge names every shard; every flag the
// manifests pass is one the command accepts, in a static kensa; the
// ConfigMap's inventory is valid.
func TestKubernetesManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kensa")
	}
	bin := buildKensa(t)
	scan := readManifest(t, "scan-job.yaml")
	merge := readManifest(t, "merge-job.yaml")
	if scan.Kind != "Job" || scan.Spec.CompletionMode != "Indexed" {
		t.Fatalf("scan-job: %s %q", scan.Kind, scan.Spec.CompletionMode)
	}
	c := scan.Spec.Template.Spec.Containers[0]
	n := 0
	for i, a := range c.Args {
		if a == "--shard" && i+1 < len(c.Args) {
			fmt.Sscanf(c.Args[i+1], "/%d", &n)
		}
	}
	if n < 2 || scan.Spec.Completions != n || scan.Spec.Parallelism != n {
		t.Errorf("--shard /%d with completions %d, parallelism %d", n, scan.Spec.Completions, scan.Spec.Parallelism)
	}
	perShard := false
	for _, m := range c.VolumeMounts {
		perShard = perShard || (m.MountPath == "/results" && m.SubPathExpr == "shard-$(JOB_COMPLETION_INDEX)")
	}
	if !perShard {
		t.Error("the shards do not write under their own JOB_COMPLETION_INDEX")
	}
	mc := merge.Spec.Template.Spec.InitContainers[0]
	for k := 0; k < n; k++ {
		if !strings.Contains(strings.Join(mc.Args, " "), fmt.Sprintf("/results/shard-%d/results.jsonl", k)) {
			t.Errorf("the merge does not read shard %d", k)
		}
	}
	for _, c := range append(append([]container{c}, merge.Spec.Template.Spec.InitContainers...), merge.Spec.Template.Spec.Containers...) {
		out, err := exec.Command(bin, c.Args[0], "--help").Output()
		if err != nil {
			t.Fatalf("kensa %s --help: %v", c.Args[0], err)
		}
		known := map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
			known[m[1]] = true
		}
		for _, a := range c.Args[1:] {
			if !strings.HasPrefix(a, "-") {
				continue
			}
			if name := strings.TrimLeft(a, "-"); !known[name] {
				t.Errorf("%s: kensa %s has no flag %s", c.Name, c.Args[0], a)
			}
		}
	}
	// The sample inventory of the ConfigMap is one kensa accepts.
	var cm struct {
		Data map[string]string
	}
	b, _ := os.ReadFile(filepath.Join("kubernetes", "configmap.yaml"))
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "inventory.csv")
	os.WriteFile(inv, []byte(cm.Data["inventory.csv"]), 0o644)
	if out, err := exec.Command(bin, "inventory", "check", inv).CombinedOutput(); err != nil {
		t.Errorf("the ConfigMap's inventory: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join("kubernetes", "Containerfile")); err != nil {
		t.Error(err)
	}
}
