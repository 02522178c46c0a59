package scan

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
)

// Resume is what a scan that goes on with an existing results file
// (kensa scan --resume) takes from it: the servers to skip, the scan id
// and the judge of the records already there, so that every record of
// the file belongs to one scan, judged alike whatever the day it goes
// on.
type Resume struct {
	// Path is the results file.
	Path string
	// Set holds the complete records already there, without their
	// observations; it has no records when the file does not exist. A
	// cut last record (a scan that stopped while writing) is not among
	// them: Cut removes it from the file.
	Set *results.Set
	// Skip holds the id of every server with a record: the scan does
	// not scan them again (Config.Skip).
	Skip map[string]bool
	// ScanID is the scan id of the records, which the records the scan
	// adds reuse; "" when there are none.
	ScanID string
	// Judge is the records' judge (ResumeJudge); nil when there are no
	// records, and the scan judges like a new one.
	Judge *Judge
}

// OpenResume reads the results file at path for a scan of inv that goes
// on with it, and checks that it can: every record must come from inv
// (else a *ForeignInventoryError), and the records' judge must be
// available as it was and agree with every value given (ResumeJudge;
// else a *ResumeConflictError saying what conflicts). A file that is not
// there is nothing to resume: the Resume returned has no records. A file
// that cannot be read is an error naming it and the line at fault.
//
// OpenResume changes nothing: the file is left as it is until the
// caller, every check passed, calls Cut and appends.
func OpenResume(path string, inv *inventory.Inventory, given JudgeChoice) (*Resume, error) {
	r := &Resume{Path: path, Set: &results.Set{Name: path}, Skip: map[string]bool{}}
	if _, err := os.Stat(path); err != nil {
		return r, nil
	}
	set, err := results.ReadFileWith(path, results.ReadOptions{SkipObservations: true})
	if err != nil {
		return nil, err
	}
	for _, rec := range set.Records {
		if rec.Scan.InventoryDigest != inv.Digest {
			return nil, &ForeignInventoryError{Path: path, ServerID: rec.Server.ID, Digest: rec.Scan.InventoryDigest,
				Inventory: inv.Path, InventoryDigest: inv.Digest}
		}
	}
	r.Set = set
	if len(set.Records) == 0 {
		return r, nil
	}
	for _, rec := range set.Records {
		r.Skip[rec.Server.ID] = true
	}
	r.ScanID = set.Meta.ScanID
	if r.Judge, err = ResumeJudge(set, given); err != nil {
		return nil, err
	}
	return r, nil
}

// Cut cuts an incomplete last record (a scan that stopped while writing
// it) from the results file, so that the scan appends after the last
// complete one, and returns how many bytes it cut. Call it once
// OpenResume has accepted the file, before appending.
func (r *Resume) Cut() (int64, error) {
	return results.TruncateIncomplete(r.Path)
}

// ForeignInventoryError reports a results file with a record scanned
// from another inventory than the one a resumed scan reads.
type ForeignInventoryError struct {
	// Path is the results file; ServerID the server of the first record
	// from another inventory, Digest that inventory's digest.
	Path, ServerID, Digest string
	// Inventory and InventoryDigest are the inventory of the resumed
	// scan.
	Inventory, InventoryDigest string
}

func (e *ForeignInventoryError) Error() string {
	return fmt.Sprintf("%s was scanned from another inventory (%s), not %s", e.Path, e.Digest, e.Inventory)
}

// ResumeConflictError reports why a resumed scan cannot keep the judge
// of the records already there: they were judged with several values of
// one part (Err is a *MixedJudgeError), a value given differs from
// theirs (Given), or their own data cannot be had as it was — a file
// changed or gone since the scan, other embedded advisory data, a policy
// recorded by digest only.
type ResumeConflictError struct {
	// Name is the results file.
	Name string
	// Field is the part of the judge in conflict.
	Field JudgeField
	// Given is set when the conflict is with a value given (JudgeChoice).
	Given bool
	// Err says what conflicts.
	Err error
}

func (e *ResumeConflictError) Error() string {
	return fmt.Sprintf("%s: %v; a resumed scan keeps the judge of the records already there (scan into a new results file to judge differently)", e.Name, e.Err)
}

// Unwrap returns what conflicts.
func (e *ResumeConflictError) Unwrap() error { return e.Err }

// ResumeJudge returns the judge of a scan resumed on set's records: their
// evaluation date, policy, advisory data (the file they name, or the
// embedded data) and exceptions, so that every record of the scan is
// judged alike whatever the day it goes on. A value given must equal
// the records': a policy file or switch must make the records' policy,
// an advisory data or exceptions file given must have their digest. The
// records' own data must be had unchanged. Anything else is a
// *ResumeConflictError naming the part of the judge and saying what
// conflicts. The judge reads the scanner's clock status, as a live scan
// does. set must hold at least one record.
func ResumeJudge(set *results.Set, given JudgeChoice) (*Judge, error) {
	if len(set.Records) == 0 {
		return nil, fmt.Errorf("%s: no records to resume", set.Name)
	}
	rj := readRecordedJudge(set)
	refuse := func(field JudgeField, isGiven bool, format string, a ...any) error {
		return &ResumeConflictError{Name: set.Name, Field: field, Given: isGiven, Err: fmt.Errorf(format, a...)}
	}
	for _, f := range []JudgeField{JudgeAsOf, JudgePolicy, JudgeAdvisories, JudgeExceptions} {
		if m := rj.mixed(f); m != nil {
			return nil, &ResumeConflictError{Name: set.Name, Field: f, Err: m}
		}
	}
	cfg := JudgeConfig{CheckClock: true}

	// Evaluation date.
	asOf, err := time.Parse(time.DateOnly, rj.asOf[0])
	if err != nil {
		return nil, refuse(JudgeAsOf, false, "the records' evaluation date %q is not a date", rj.asOf[0])
	}
	if !given.AsOf.IsZero() && !Day(given.AsOf).Equal(asOf) {
		return nil, refuse(JudgeAsOf, true, "--as-of %s differs from the records' evaluation date %s", given.AsOf.UTC().Format(time.DateOnly), rj.asOf[0])
	}
	cfg.AsOf = asOf

	// Policy.
	digest := rj.policyDigests[0]
	base := rules.DefaultPolicy()
	if raw, full := rj.policies[digest]; full {
		if base, err = decodePolicy(raw); err != nil {
			return nil, refuse(JudgePolicy, false, "the records' policy cannot be read: %v", err)
		}
	}
	pol := given.Policy.Over(base)
	if pol.Digest() != digest {
		if given.Policy.Given() {
			return nil, refuse(JudgePolicy, true, "the policy given (--policy and policy flags, %s) differs from the records' (%s)", pol.Digest(), digest)
		}
		return nil, refuse(JudgePolicy, false, "the records name their policy only by its digest (%s), which is not the default policy's: pass the --policy file and policy flags the scan was started with", digest)
	}
	cfg.Policy = pol

	// Advisory data.
	key := rj.advKeys[0]
	legacy := strings.HasPrefix(key, legacyAdvisories)
	cfg.AdvisoriesFile = rj.advPath[key]
	if given.AdvisoriesFile != "" {
		cfg.AdvisoriesFile = given.AdvisoriesFile
	}
	// Exceptions.
	if given.ExceptionsFile != "" {
		cfg.ExceptionsFile = given.ExceptionsFile
	} else if rj.excKnown && len(rj.excKeys) == 1 {
		cfg.ExceptionsFile = rj.excPath[rj.excKeys[0]]
	}

	j, err := NewJudge(cfg)
	if err != nil {
		field, isGiven := JudgeAdvisories, given.AdvisoriesFile != ""
		var de *JudgeDataError
		if errors.As(err, &de) && de.Field == JudgeExceptions {
			field, isGiven = JudgeExceptions, given.ExceptionsFile != ""
		}
		return nil, &ResumeConflictError{Name: set.Name, Field: field, Given: isGiven, Err: err}
	}
	source := "the embedded advisory data"
	if cfg.AdvisoriesFile != "" {
		source = "advisory data " + cfg.AdvisoriesFile
	}
	advGiven := given.AdvisoriesFile != ""
	switch {
	case legacy && j.AdvisoriesAsOf() != rj.advAsOf[key]:
		return nil, refuse(JudgeAdvisories, advGiven, "the records were judged with advisory data as of %s; %s is as of %s (pass --advisories with the records' data)", rj.advAsOf[key], source, j.AdvisoriesAsOf())
	case !legacy && j.AdvisoriesDigest() != key:
		why := "differs from"
		if !advGiven && cfg.AdvisoriesFile != "" {
			why = "has changed since the scan: it differs from"
		}
		return nil, refuse(JudgeAdvisories, advGiven, "%s (%s) %s the records' (%s, as of %s)", source, j.AdvisoriesDigest(), why, key, rj.advAsOf[key])
	}
	if rj.excKnown && len(rj.excKeys) == 1 && j.ExceptionsDigest() != rj.excKeys[0] {
		excGiven := given.ExceptionsFile != ""
		switch {
		case rj.excKeys[0] == "":
			return nil, refuse(JudgeExceptions, true, "the records were judged without exceptions, and --exceptions %s was given", given.ExceptionsFile)
		case excGiven:
			return nil, refuse(JudgeExceptions, true, "exceptions %s (%s) differ from the records' (%s, %s)", given.ExceptionsFile, j.ExceptionsDigest(), rj.excPath[rj.excKeys[0]], rj.excKeys[0])
		default:
			return nil, refuse(JudgeExceptions, false, "exceptions %s have changed since the scan (%s, the records' %s)", cfg.ExceptionsFile, j.ExceptionsDigest(), rj.excKeys[0])
		}
	}
	return j, nil
}
