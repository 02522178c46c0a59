package scan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
)

// resumeInventory is the inventory of the records judgedRecord makes.
func resumeInventory() *inventory.Inventory {
	return &inventory.Inventory{Path: "inv.csv", Digest: testInventoryDigest}
}

// writeResults writes the records to a new results file, and then tail
// (a cut last line, say).
func writeResults(t *testing.T, dir, tail string, recs ...*results.Record) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		line, err := results.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
	}
	b.WriteString(tail)
	path := filepath.Join(dir, "res.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenResume(t *testing.T) {
	f := newJudgeFiles(t)
	a, b := judgedRecord(t, baseConfig(f), "r-a"), judgedRecord(t, baseConfig(f), "r-b")
	line, _ := results.Encode(judgedRecord(t, baseConfig(f), "r-c"))
	cut := string(line[:len(line)/2])
	path := writeResults(t, t.TempDir(), cut, a, b)
	before, _ := os.ReadFile(path)

	rs, err := OpenResume(path, resumeInventory(), JudgeChoice{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Set.Records) != 2 || len(rs.Skip) != 2 || !rs.Skip["r-a"] || !rs.Skip["r-b"] || rs.Skip["r-c"] || rs.ScanID != "scan-1" || rs.Path != path {
		t.Fatalf("resume: %d records, skip %v, scan id %q", len(rs.Set.Records), rs.Skip, rs.ScanID)
	}
	if len(rs.Set.Records[0].Observations) != 0 {
		t.Error("the records were read with their observations")
	}
	sameJudge(t, rs.Judge, a.Scan)
	if rs.Judge.Clock() == nil {
		t.Error("a resumed scan's judge did not read the scanner's clock")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("OpenResume changed the file")
	}
	n, err := rs.Cut()
	if err != nil || n != int64(len(cut)) {
		t.Fatalf("cut %d bytes, %v; want %d", n, err, len(cut))
	}
	if after, _ := os.ReadFile(path); string(after) != strings.TrimSuffix(string(before), cut) {
		t.Fatal("Cut left the file wrong")
	}
	if n, err := rs.Cut(); n != 0 || err != nil {
		t.Fatalf("second cut: %d %v", n, err)
	}
}

func TestOpenResumeNothingToResume(t *testing.T) {
	dir := t.TempDir()
	// No file: nothing to resume, and nothing created.
	missing := filepath.Join(dir, "none.jsonl")
	rs, err := OpenResume(missing, resumeInventory(), JudgeChoice{AsOf: date("2026-01-15")})
	if err != nil || rs.Judge != nil || len(rs.Set.Records) != 0 || len(rs.Skip) != 0 || rs.ScanID != "" {
		t.Fatalf("missing file: %v %+v", err, rs)
	}
	if n, err := rs.Cut(); n != 0 || err != nil {
		t.Fatalf("cut of a missing file: %d %v", n, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the results file was created: %v", err)
	}
	// Only a cut line: no record, no judge of records.
	path := writeResults(t, dir, `{"schema":"kensa/v1","scan":{`)
	rs, err = OpenResume(path, resumeInventory(), JudgeChoice{})
	if err != nil || rs.Judge != nil || len(rs.Set.Records) != 0 || rs.ScanID != "" || len(rs.Set.Warnings) != 1 {
		t.Fatalf("cut line only: %v %+v", err, rs)
	}
}

func TestOpenResumeRefused(t *testing.T) {
	f := newJudgeFiles(t)
	a, b := judgedRecord(t, baseConfig(f), "r-a"), judgedRecord(t, baseConfig(f), "r-b")
	b.Scan.InventoryDigest = "sha256:other"
	path := writeResults(t, t.TempDir(), "", a, b)
	_, err := OpenResume(path, resumeInventory(), JudgeChoice{})
	var fe *ForeignInventoryError
	if !errors.As(err, &fe) || fe.ServerID != "r-b" || fe.Digest != "sha256:other" || fe.Path != path ||
		err.Error() != path+" was scanned from another inventory (sha256:other), not inv.csv" {
		t.Fatalf("foreign inventory: %v", err)
	}

	path = writeResults(t, t.TempDir(), "not a record\n", a)
	if _, err := OpenResume(path, resumeInventory(), JudgeChoice{}); err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("bad line: %v", err)
	}

	// The judge cannot be kept: the conflict is the resume's error.
	path = writeResults(t, t.TempDir(), "", a)
	_, err = OpenResume(path, resumeInventory(), JudgeChoice{AsOf: date("2026-01-16")})
	var rc *ResumeConflictError
	if !errors.As(err, &rc) || rc.Field != JudgeAsOf || !rc.Given {
		t.Fatalf("conflicting date: %v", err)
	}
}

// TestResumeJudgeConflicts: every way a resumed scan cannot keep the
// records' judge is refused, naming the part of the judge and whether
// the conflict is with a value given or with the records' own data.
func TestResumeJudgeConflicts(t *testing.T) {
	type conflict struct {
		name  string
		field JudgeField
		given bool
		msg   string
	}
	check := func(t *testing.T, c conflict, err error) {
		t.Helper()
		var rc *ResumeConflictError
		if !errors.As(err, &rc) || rc.Field != c.field || rc.Given != c.given || rc.Name != "res.jsonl" ||
			!strings.Contains(err.Error(), c.msg) || !strings.HasSuffix(err.Error(), "; a resumed scan keeps the judge of the records already there (scan into a new results file to judge differently)") {
			t.Errorf("%s: %v; want %s (given %v) and %q", c.name, err, c.field, c.given, c.msg)
		}
	}

	f := newJudgeFiles(t)
	rec := judgedRecord(t, baseConfig(f), "r-a")
	other := filepath.Join(f.dir, "other.json")
	writeAdvisories(t, other, "other data")
	otherExc := filepath.Join(f.dir, "exc2.yaml")
	writeExceptions(t, otherExc, "r-b")
	defaultPolicy := rules.DefaultPolicy()
	given := []struct {
		conflict
		choice JudgeChoice
	}{
		{conflict{"date", JudgeAsOf, true, "--as-of 2026-01-16 differs from the records' evaluation date 2026-01-15"}, JudgeChoice{AsOf: date("2026-01-16")}},
		{conflict{"switch", JudgePolicy, true, "the policy given (--policy and policy flags, "}, JudgeChoice{Policy: PolicyChoice{WeakTLSFails: true}}},
		{conflict{"policy file", JudgePolicy, true, "differs from the records' (" + tolerant().Digest() + ")"}, JudgeChoice{Policy: PolicyChoice{File: &defaultPolicy}}},
		{conflict{"advisories", JudgeAdvisories, true, "advisory data " + other + " ("}, JudgeChoice{AdvisoriesFile: other}},
		{conflict{"exceptions", JudgeExceptions, true, "exceptions " + otherExc + " ("}, JudgeChoice{ExceptionsFile: otherExc}},
		{conflict{"missing advisories", JudgeAdvisories, true, "none.json"}, JudgeChoice{AdvisoriesFile: filepath.Join(f.dir, "none.json")}},
	}
	for _, c := range given {
		_, err := ResumeJudge(setOf(rec), c.choice)
		check(t, c.conflict, err)
	}
	// The same values given, or none: the records' judge.
	pol := tolerant()
	for _, choice := range []JudgeChoice{{}, {AsOf: date("2026-01-15"), Policy: PolicyChoice{TolerateSSHPasswords: true}, AdvisoriesFile: f.adv, ExceptionsFile: f.exc},
		{Policy: PolicyChoice{File: &pol}}} {
		j, err := ResumeJudge(setOf(rec), choice)
		if err != nil {
			t.Fatalf("%+v: %v", choice, err)
		}
		sameJudge(t, j, rec.Scan)
	}

	// Records judged without exceptions, exceptions given.
	noExc := baseConfig(f)
	noExc.ExceptionsFile = ""
	_, err := ResumeJudge(setOf(judgedRecord(t, noExc, "r-a")), JudgeChoice{ExceptionsFile: f.exc})
	check(t, conflict{"exceptions added", JudgeExceptions, true, "judged without exceptions, and --exceptions " + f.exc + " was given"}, err)

	// Records of several judges.
	later := baseConfig(f)
	later.AsOf = date("2026-01-16")
	_, err = ResumeJudge(setOf(rec, judgedRecord(t, later, "r-b")), JudgeChoice{AsOf: date("2026-01-16")})
	check(t, conflict{"several dates", JudgeAsOf, false, "res.jsonl: the records were judged at 2 different evaluation dates (2026-01-15, 2026-01-16)"}, err)
	var me *MixedJudgeError
	if !errors.As(err, &me) || me.Field != JudgeAsOf {
		t.Errorf("several dates: %v", err)
	}

	// A policy recorded by digest only, not the default's.
	byDigest := judgedRecord(t, baseConfig(f), "r-a")
	byDigest.Scan.Policy = nil
	_, err = ResumeJudge(setOf(byDigest), JudgeChoice{})
	check(t, conflict{"policy by digest", JudgePolicy, false, "the records name their policy only by its digest (" + tolerant().Digest() + ")"}, err)
	if _, err := ResumeJudge(setOf(byDigest), JudgeChoice{Policy: PolicyChoice{TolerateSSHPasswords: true}}); err != nil {
		t.Errorf("policy by digest, the same given: %v", err)
	}

	// A legacy record: advisory data named by date only.
	legacy := judgedRecord(t, JudgeConfig{Policy: tolerant(), AsOf: date("2026-01-15")}, "r-a")
	legacy.Scan.AdvisoriesDigest = ""
	legacy.Scan.AdvisoriesAsOf = "2001-01-01"
	_, err = ResumeJudge(setOf(legacy), JudgeChoice{})
	check(t, conflict{"legacy advisories", JudgeAdvisories, false, "judged with advisory data as of 2001-01-01; the embedded advisory data is as of"}, err)

	// The records' files changed since the scan.
	writeExceptions(t, f.exc, "r-c")
	_, err = ResumeJudge(setOf(rec), JudgeChoice{})
	check(t, conflict{"exceptions changed", JudgeExceptions, false, "exceptions " + f.exc + " have changed since the scan"}, err)
	writeAdvisories(t, f.adv, "changed data")
	_, err = ResumeJudge(setOf(rec), JudgeChoice{})
	check(t, conflict{"advisories changed", JudgeAdvisories, false, "advisory data " + f.adv + " ("}, err)
	if err == nil || !strings.Contains(err.Error(), "has changed since the scan: it differs from the records'") {
		t.Errorf("advisories changed: %v", err)
	}
	if err := os.Remove(f.adv); err != nil {
		t.Fatal(err)
	}
	_, err = ResumeJudge(setOf(rec), JudgeChoice{})
	check(t, conflict{"advisories gone", JudgeAdvisories, false, f.adv}, err)
	var de *JudgeDataError
	if !errors.As(err, &de) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("advisories gone: %v", err)
	}

	if _, err := ResumeJudge(setOf(), JudgeChoice{}); err == nil {
		t.Error("a resume judge of no records")
	}
}
