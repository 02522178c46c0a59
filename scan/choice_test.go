package scan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
)

// judgeFiles writes an advisory data file and an exceptions file into
// a new directory.
type judgeFiles struct {
	dir, adv, exc string
}

func newJudgeFiles(t *testing.T) judgeFiles {
	t.Helper()
	dir := t.TempDir()
	f := judgeFiles{dir: dir, adv: filepath.Join(dir, "adv.json"), exc: filepath.Join(dir, "exc.yaml")}
	writeAdvisories(t, f.adv, "judge test data")
	writeExceptions(t, f.exc, "r-a")
	return f
}

// writeAdvisories writes the embedded advisory data with its own
// description, which gives the file a digest of its own.
func writeAdvisories(t *testing.T, path, description string) {
	t.Helper()
	db := advisory.Default().Clone()
	db.Description = description
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// writeExceptions writes an exceptions file with one exception for
// server.
func writeExceptions(t *testing.T, path, server string) {
	t.Helper()
	data := "exceptions:\n  - server: " + server + "\n    advisories: [CVE-2023-51764]\n    justification: test\n    expires: 2026-12-31\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPolicyChoiceOver(t *testing.T) {
	base := rules.DefaultPolicy()
	base.TLSWeakFails = true
	if (PolicyChoice{}).Given() {
		t.Error("the zero choice says it gives a policy")
	}
	if got := (PolicyChoice{}).Over(base); got.Digest() != base.Digest() {
		t.Errorf("the zero choice changes the base: %+v", got)
	}
	c := PolicyChoice{NTPMaxOffset: 2 * time.Second, WeakSSHFails: true}
	got := c.Over(base)
	if !c.Given() || got.NTPMaxOffset.D() != 2*time.Second || !got.SSHWeakAlgorithmsFail || !got.TLSWeakFails || got.SSHToleratePasswords {
		t.Errorf("switches over the base: %+v", got)
	}
	file := rules.DefaultPolicy()
	file.SSHToleratePasswords = true
	c = PolicyChoice{File: &file, WeakTLSFails: true}
	got = c.Over(base)
	if !c.Given() || !got.SSHToleratePasswords || !got.TLSWeakFails || got.NTPMaxOffset.D() != time.Second {
		t.Errorf("file and switch: %+v", got)
	}
	// A file replaces the base: the base's switch does not survive it.
	if got := (PolicyChoice{File: &file}).Over(base); got.TLSWeakFails {
		t.Errorf("the file's policy kept a setting of the base: %+v", got)
	}
	for _, c := range []PolicyChoice{{TolerateSSHPasswords: true}, {WeakTLSFails: true}, {File: &file}} {
		if !c.Given() {
			t.Errorf("%+v: not given", c)
		}
	}
}

func TestJudgeChoiceJudge(t *testing.T) {
	f := newJudgeFiles(t)
	j, err := JudgeChoice{AsOf: date("2026-01-15"), AdvisoriesFile: f.adv, ExceptionsFile: f.exc,
		Policy: PolicyChoice{TolerateSSHPasswords: true}}.Judge(false)
	if err != nil {
		t.Fatal(err)
	}
	var m results.ScanMeta
	j.Stamp(&m)
	want := rules.DefaultPolicy()
	want.SSHToleratePasswords = true
	if m.AsOf != "2026-01-15" || m.PolicyDigest != want.Digest() || m.AdvisoriesPath != f.adv || m.ExceptionsPath != f.exc ||
		m.AdvisoriesDigest == advisory.Default().Digest() || m.ExceptionsDigest == "" || j.Clock() != nil {
		t.Fatalf("judge %+v", m)
	}

	// Nothing given: the defaults, today.
	before := Day(time.Now())
	j, err = JudgeChoice{}.Judge(false)
	after := Day(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a := j.AsOf(); a.Before(before) || a.After(after) || j.Policy().Digest() != rules.DefaultPolicy().Digest() ||
		j.AdvisoriesDigest() != advisory.Default().Digest() || j.ExceptionsDigest() != "" {
		t.Fatalf("default judge: as of %s, policy %+v", a, j.Policy())
	}

	// A file that cannot be loaded says which it is.
	for _, c := range []struct {
		choice JudgeChoice
		field  JudgeField
	}{
		{JudgeChoice{AdvisoriesFile: filepath.Join(f.dir, "none.json")}, JudgeAdvisories},
		{JudgeChoice{ExceptionsFile: filepath.Join(f.dir, "none.yaml")}, JudgeExceptions},
	} {
		_, err := c.choice.Judge(false)
		var de *JudgeDataError
		if !errors.As(err, &de) || de.Field != c.field || !errors.Is(err, os.ErrNotExist) || err.Error() != de.Err.Error() {
			t.Errorf("%+v: %v", c.choice, err)
		}
	}
}

func TestJudgeFieldNames(t *testing.T) {
	for f, want := range map[JudgeField][2]string{
		JudgeAsOf:       {"evaluation date", "--as-of"},
		JudgePolicy:     {"policy", "--policy"},
		JudgeAdvisories: {"advisory data", "--advisories"},
		JudgeExceptions: {"exceptions", "--exceptions"},
	} {
		if f.String() != want[0] || f.Flag() != want[1] {
			t.Errorf("%d: %q %q", f, f.String(), f.Flag())
		}
	}
}
