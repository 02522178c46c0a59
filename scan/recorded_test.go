package scan

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

const testInventoryDigest = "sha256:inventory"

// judgedRecord returns a record of server id judged by the judge cfg
// makes, as a scan writes it (without a probe: no service answered).
func judgedRecord(t *testing.T, cfg JudgeConfig, id string) *results.Record {
	t.Helper()
	j, err := NewJudge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &results.Record{Schema: results.Schema, Server: results.ServerRef{ID: id, Org: "org", Unit: "u", Host: "127.0.3.1"},
		Scan:         results.ScanMeta{ScanID: "scan-1", InventoryDigest: testInventoryDigest, InventoryServers: 3},
		Items:        map[string]scoring.Verdict{},
		Observations: json.RawMessage("{}")}
	j.Stamp(&rec.Scan)
	return rec
}

// setOf returns a set of the records, as the reader makes it.
func setOf(recs ...*results.Record) *results.Set {
	set := &results.Set{Name: "res.jsonl", Records: recs}
	if len(recs) > 0 {
		set.Meta = recs[len(recs)-1].Scan
	}
	return set
}

// tolerant is the policy of the records of these tests.
func tolerant() rules.Policy {
	p := rules.DefaultPolicy()
	p.SSHToleratePasswords = true
	return p
}

func baseConfig(f judgeFiles) JudgeConfig {
	return JudgeConfig{Policy: tolerant(), AsOf: date("2026-01-15"), AdvisoriesFile: f.adv, ExceptionsFile: f.exc}
}

// sameJudge fails unless j is the judge that stamped m.
func sameJudge(t *testing.T, j *Judge, m results.ScanMeta) {
	t.Helper()
	var got results.ScanMeta
	j.Stamp(&got)
	if got.AsOf != m.AsOf || got.PolicyDigest != m.PolicyDigest || got.AdvisoriesDigest != m.AdvisoriesDigest ||
		got.AdvisoriesPath != m.AdvisoriesPath || got.ExceptionsDigest != m.ExceptionsDigest || got.ExceptionsPath != m.ExceptionsPath {
		t.Fatalf("judge differs from the records':\ngot     %+v\nrecords %+v", got, m)
	}
}

func TestRegradeJudgeRecordsOwn(t *testing.T) {
	f := newJudgeFiles(t)
	rec := judgedRecord(t, baseConfig(f), "r-a")
	j, notes, err := RegradeJudge(setOf(rec, judgedRecord(t, baseConfig(f), "r-b")), JudgeChoice{})
	if err != nil || len(notes) != 0 {
		t.Fatalf("%v; notes %q", err, notes)
	}
	sameJudge(t, j, rec.Scan)
	if j.Clock() != nil {
		t.Error("a re-grade read the scanner's clock")
	}

	// Given values replace the records'; policy switches apply on top of
	// the records' policy.
	other := f.dir + "/other.json"
	writeAdvisories(t, other, "other data")
	j, notes, err = RegradeJudge(setOf(rec), JudgeChoice{AsOf: date("2027-03-01"), AdvisoriesFile: other,
		Policy: PolicyChoice{WeakTLSFails: true}})
	if err != nil || len(notes) != 0 {
		t.Fatalf("%v; notes %q", err, notes)
	}
	if p := j.Policy(); !p.SSHToleratePasswords || !p.TLSWeakFails || j.AsOf() != date("2027-03-01") || j.AdvisoriesDigest() == rec.Scan.AdvisoriesDigest || j.ExceptionsDigest() != rec.Scan.ExceptionsDigest {
		t.Fatalf("given values: policy %+v, as of %s", p, j.AsOf())
	}
	// A policy file replaces the records' policy.
	file := rules.DefaultPolicy()
	if j, _, err = RegradeJudge(setOf(rec), JudgeChoice{Policy: PolicyChoice{File: &file}}); err != nil || j.Policy().SSHToleratePasswords {
		t.Fatalf("--policy: %v %+v", err, j.Policy())
	}
}

func TestRegradeJudgeSeveralJudges(t *testing.T) {
	f := newJudgeFiles(t)
	other := f.dir + "/other.json"
	writeAdvisories(t, other, "other data")
	otherExc := f.dir + "/exc2.yaml"
	writeExceptions(t, otherExc, "r-b")
	a := judgedRecord(t, baseConfig(f), "r-a")
	variants := map[JudgeField]JudgeConfig{}
	cfg := baseConfig(f)
	cfg.AsOf = date("2026-01-16")
	variants[JudgeAsOf] = cfg
	cfg = baseConfig(f)
	cfg.Policy = rules.DefaultPolicy()
	variants[JudgePolicy] = cfg
	cfg = baseConfig(f)
	cfg.AdvisoriesFile = other
	variants[JudgeAdvisories] = cfg
	cfg = baseConfig(f)
	cfg.ExceptionsFile = otherExc
	variants[JudgeExceptions] = cfg
	file := tolerant()
	choosing := map[JudgeField]JudgeChoice{
		JudgeAsOf:       {AsOf: date("2026-01-16")},
		JudgePolicy:     {Policy: PolicyChoice{File: &file}},
		JudgeAdvisories: {AdvisoriesFile: f.adv},
		JudgeExceptions: {ExceptionsFile: f.exc},
	}
	for field, cfg := range variants {
		set := setOf(a, judgedRecord(t, cfg, "r-b"))
		_, _, err := RegradeJudge(set, JudgeChoice{})
		var ce *RegradeChoiceError
		var me *MixedJudgeError
		if !errors.As(err, &ce) || ce.Field != field || !errors.As(err, &me) || me.Field != field || len(me.Values) != 2 ||
			!strings.HasPrefix(err.Error(), "res.jsonl: the records were judged ") || !strings.HasSuffix(err.Error(), ": pass "+field.Flag()+" to choose") {
			t.Errorf("%s: %v", field, err)
			continue
		}
		if _, _, err := RegradeJudge(set, choosing[field]); err != nil {
			t.Errorf("%s chosen: %v", field, err)
		}
	}
	// A policy switch alone does not choose among the records' policies.
	set := setOf(a, judgedRecord(t, variants[JudgePolicy], "r-b"))
	if _, _, err := RegradeJudge(set, JudgeChoice{Policy: PolicyChoice{WeakTLSFails: true}}); err == nil {
		t.Error("a policy switch chose among two policies")
	}
	// The dates are listed in order.
	set = setOf(judgedRecord(t, variants[JudgeAsOf], "r-b"), a)
	_, _, err := RegradeJudge(set, JudgeChoice{})
	if err == nil || !strings.Contains(err.Error(), "judged at 2 different evaluation dates (2026-01-15, 2026-01-16): pass --as-of to choose") {
		t.Errorf("dates: %v", err)
	}
}

func TestRegradeJudgeNotes(t *testing.T) {
	f := newJudgeFiles(t)
	rec := judgedRecord(t, baseConfig(f), "r-a")
	// The records' files changed since the scan: used as they are, with
	// a note each.
	writeAdvisories(t, f.adv, "changed data")
	writeExceptions(t, f.exc, "r-c")
	j, notes, err := RegradeJudge(setOf(rec), JudgeChoice{})
	if err != nil || len(notes) != 2 {
		t.Fatalf("%v; notes %q", err, notes)
	}
	if !strings.Contains(notes[0], "advisory data "+f.adv) || !strings.Contains(notes[0], "is not the data the records were judged with") ||
		!strings.Contains(notes[1], "exceptions "+f.exc+" have changed since the scan") {
		t.Errorf("notes %q", notes)
	}
	if j.AdvisoriesDigest() == rec.Scan.AdvisoriesDigest || j.ExceptionsDigest() == rec.Scan.ExceptionsDigest {
		t.Error("the judge has the records' old data")
	}

	// A legacy record: a policy named by digest only, advisory data by
	// its date only.
	legacy := judgedRecord(t, JudgeConfig{Policy: tolerant(), AsOf: date("2026-01-15")}, "r-a")
	legacy.Scan.Policy = nil
	legacy.Scan.AdvisoriesDigest = ""
	legacy.Scan.AdvisoriesAsOf = "2001-01-01"
	j, notes, err = RegradeJudge(setOf(legacy), JudgeChoice{})
	if err != nil || len(notes) != 2 {
		t.Fatalf("%v; notes %q", err, notes)
	}
	if !strings.Contains(notes[0], "name their policy only by its digest ("+tolerant().Digest()+")") ||
		!strings.Contains(notes[1], "judged with advisory data as of 2001-01-01; re-graded with this kensa's embedded advisory data") {
		t.Errorf("notes %q", notes)
	}
	if j.Policy().Digest() != rules.DefaultPolicy().Digest() {
		t.Errorf("legacy policy: %+v", j.Policy())
	}
}

func TestRegradeJudgeRefused(t *testing.T) {
	f := newJudgeFiles(t)
	rec := judgedRecord(t, baseConfig(f), "r-a")

	// The records' advisory data is gone.
	if err := os.Remove(f.adv); err != nil {
		t.Fatal(err)
	}
	_, _, err := RegradeJudge(setOf(rec), JudgeChoice{})
	var de *JudgeDataError
	if !errors.As(err, &de) || de.Field != JudgeAdvisories || !strings.Contains(err.Error(), "(the records name the file; pass --advisories or --exceptions to use another)") {
		t.Errorf("gone: %v", err)
	}
	// Another file given instead: no hint of the records.
	_, _, err = RegradeJudge(setOf(rec), JudgeChoice{AdvisoriesFile: f.adv, ExceptionsFile: f.exc})
	if err == nil || strings.Contains(err.Error(), "the records name the file") {
		t.Errorf("given: %v", err)
	}

	bad := judgedRecord(t, JudgeConfig{Policy: tolerant(), AsOf: date("2026-01-15")}, "r-a")
	bad.Scan.Policy = json.RawMessage(`{"ntp_max_offset":"soon"}`)
	if _, _, err := RegradeJudge(setOf(bad), JudgeChoice{}); err == nil || !strings.Contains(err.Error(), "res.jsonl: the records' policy cannot be read") {
		t.Errorf("bad policy: %v", err)
	}
	bad = judgedRecord(t, JudgeConfig{Policy: tolerant(), AsOf: date("2026-01-15")}, "r-a")
	bad.Scan.AsOf = "15.1.2026"
	_, _, err = RegradeJudge(setOf(bad), JudgeChoice{})
	var ce *RegradeChoiceError
	if !errors.As(err, &ce) || ce.Field != JudgeAsOf || !strings.Contains(err.Error(), `evaluation date "15.1.2026" is not a date: pass --as-of`) {
		t.Errorf("bad date: %v", err)
	}
	if _, _, err := RegradeJudge(setOf(bad), JudgeChoice{AsOf: date("2026-01-15")}); err != nil {
		t.Errorf("bad date, --as-of given: %v", err)
	}
}

func TestRegradeJudgeNoRecords(t *testing.T) {
	j, notes, err := RegradeJudge(setOf(), JudgeChoice{AsOf: date("2026-02-01"), Policy: PolicyChoice{WeakTLSFails: true}})
	if err != nil || len(notes) != 0 || j.AsOf() != date("2026-02-01") || !j.Policy().TLSWeakFails ||
		j.AdvisoriesDigest() != advisory.Default().Digest() {
		t.Fatalf("%v %q", err, notes)
	}
}

func TestRegradeSet(t *testing.T) {
	f := newJudgeFiles(t)
	set := setOf(judgedRecord(t, baseConfig(f), "r-a"), judgedRecord(t, baseConfig(f), "r-b"))
	j, err := NewJudge(JudgeConfig{Policy: rules.DefaultPolicy(), AsOf: date("2027-01-01")})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.RegradeSet(set); err != nil {
		t.Fatal(err)
	}
	for _, m := range []results.ScanMeta{set.Meta, set.Records[0].Scan, set.Records[1].Scan} {
		sameJudge(t, j, m)
	}
	if v := set.Records[1].Items["S1"]; v.Outcome != scoring.Unknown {
		t.Errorf("S1 of a server where nothing answered: %+v", v)
	}
	set.Records[1].Observations = json.RawMessage(`[]`)
	if err := j.RegradeSet(set); err == nil || !strings.Contains(err.Error(), "record of r-b: observations") {
		t.Errorf("bad observations: %v", err)
	}
}
