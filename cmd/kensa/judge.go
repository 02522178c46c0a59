package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// openResults checks the results file of a scan before anything is
// built or changed: it refuses an existing file unless resume or
// overwrite, and for resume returns the records already there (without
// their observations; a cut last record is left out, and runScan cuts
// it), which must come from inv. It returns nil when there is nothing to
// resume.
func openResults(out string, inv *inventory.Inventory, resume, overwrite bool) (*results.Set, error) {
	_, statErr := os.Stat(out)
	if statErr == nil && !resume && !overwrite {
		return nil, badInput("results file %s exists: pass --resume to go on with it or --overwrite to replace it", out)
	}
	if !resume || statErr != nil {
		return nil, nil
	}
	set, err := results.ReadFileWith(out, results.ReadOptions{SkipObservations: true})
	if err != nil {
		return nil, wrapBadInput(fmt.Errorf("--resume: %w", err))
	}
	for _, r := range set.Records {
		if r.Scan.InventoryDigest != inv.Digest {
			return nil, badInput("--resume: %s was scanned from another inventory (%s), not %s", out, r.Scan.InventoryDigest, inv.Path)
		}
	}
	return set, nil
}

// recordedJudge is what a set of records says about the judge that
// judged them. Each field holds the distinct values found, in the order
// first seen; a legacy record (written before kensa recorded its judge
// in full) contributes what it has.
type recordedJudge struct {
	// asOf: evaluation dates (a record without one: its start date).
	asOf []string
	// policies by digest, with the policy itself when recorded.
	policyDigests []string
	policies      map[string]json.RawMessage
	// advisories: "digest" of the data, or "as-of:DATE" for a legacy
	// record; advPath the file of each ("" embedded).
	advKeys []string
	advPath map[string]string
	advAsOf map[string]string
	// exceptions: digest ("" none); excPath the file of each. excKnown is
	// false when a legacy record does not say.
	excKeys  []string
	excPath  map[string]string
	excKnown bool
}

func addDistinct(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func readRecordedJudge(set *results.Set) *recordedJudge {
	rj := &recordedJudge{policies: map[string]json.RawMessage{}, advPath: map[string]string{},
		advAsOf: map[string]string{}, excPath: map[string]string{}, excKnown: true}
	for _, r := range set.Records {
		m := r.Scan
		asOf := m.AsOf
		if asOf == "" && !r.Started.IsZero() {
			asOf = r.Started.UTC().Format(time.DateOnly)
		}
		rj.asOf = addDistinct(rj.asOf, asOf)
		rj.policyDigests = addDistinct(rj.policyDigests, m.PolicyDigest)
		if len(m.Policy) > 0 {
			rj.policies[m.PolicyDigest] = m.Policy
		}
		key := m.AdvisoriesDigest
		if key == "" {
			key = "as-of:" + m.AdvisoriesAsOf
			rj.excKnown = false
		} else {
			rj.excKeys = addDistinct(rj.excKeys, m.ExceptionsDigest)
			rj.excPath[m.ExceptionsDigest] = m.ExceptionsPath
		}
		rj.advKeys = addDistinct(rj.advKeys, key)
		rj.advPath[key] = m.AdvisoriesPath
		rj.advAsOf[key] = m.AdvisoriesAsOf
	}
	return rj
}

// several describes a field with more than one recorded value.
func several(what string, values []string) string {
	shown := append([]string(nil), values...)
	for i, v := range shown {
		if v == "" {
			shown[i] = "none"
		}
	}
	sort.Strings(shown)
	return fmt.Sprintf("%d different %s (%s)", len(values), what, strings.Join(shown, ", "))
}

// policyExplicit reports whether a policy file or flag was given.
func (f *judgeFlags) policyExplicit() bool {
	return f.policy != "" || f.ntpMaxOffset > 0 || f.toleratePasswords || f.weakSSHFails || f.weakTLS
}

// policyOver builds the policy from the flags on top of base: --policy
// replaces base, the policy flags then apply as usual.
func (f *judgeFlags) policyOver(base rules.Policy) (rules.Policy, error) {
	if f.policy != "" {
		return f.rulesPolicy()
	}
	return f.withPolicyFlags(base), nil
}

// withPolicyFlags applies the policy flags on top of pol.
func (f *judgeFlags) withPolicyFlags(pol rules.Policy) rules.Policy {
	if f.ntpMaxOffset > 0 {
		pol.NTPMaxOffset = rules.Duration(f.ntpMaxOffset)
	}
	pol.SSHToleratePasswords = pol.SSHToleratePasswords || f.toleratePasswords
	pol.SSHWeakAlgorithmsFail = pol.SSHWeakAlgorithmsFail || f.weakSSHFails
	pol.TLSWeakFails = pol.TLSWeakFails || f.weakTLS
	return pol
}

// decodePolicy reads a recorded policy; fields it lacks keep their
// defaults.
func decodePolicy(raw json.RawMessage) (rules.Policy, error) {
	p := rules.DefaultPolicy()
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, err
	}
	return p, nil
}

// resumeJudge is the judge of a resumed scan: the evaluation date,
// policy, advisory data and exceptions of the records already in the
// results file, so that every record of the scan is judged alike
// whatever the day the scan goes on. A value given on the command line
// must equal the records'; otherwise, or when the records' own data
// cannot be had unchanged, the resume is refused (exit 2).
func (f *judgeFlags) resumeJudge(prior *results.Set) (*scan.Judge, error) {
	rj := readRecordedJudge(prior)
	name := prior.Name
	refuse := func(format string, a ...any) error {
		return badInput("--resume: %s: %s; a resumed scan keeps the judge of the records already there (scan into a new results file to judge differently)", name, fmt.Sprintf(format, a...))
	}
	if len(rj.asOf) > 1 {
		return nil, refuse("the records were judged at %s", several("evaluation dates", rj.asOf))
	}
	if len(rj.policyDigests) > 1 {
		return nil, refuse("the records were judged under %s", several("policies", rj.policyDigests))
	}
	if len(rj.advKeys) > 1 {
		return nil, refuse("the records were judged with %s", several("advisory data", rj.advKeys))
	}
	if len(rj.excKeys) > 1 {
		return nil, refuse("the records were judged with %s", several("exceptions", rj.excKeys))
	}
	cfg := scan.JudgeConfig{Catalog: scoring.Mail, CheckClock: true}

	// Evaluation date.
	asOf, err := time.Parse(time.DateOnly, rj.asOf[0])
	if err != nil {
		return nil, refuse("the records' evaluation date %q is not a date", rj.asOf[0])
	}
	if f.asOf != "" {
		given, err := time.Parse(time.DateOnly, f.asOf)
		if err != nil {
			return nil, badInput("--as-of %q: want YYYY-MM-DD", f.asOf)
		}
		if !given.Equal(asOf) {
			return nil, refuse("--as-of %s differs from the records' evaluation date %s", f.asOf, rj.asOf[0])
		}
	}
	cfg.AsOf = asOf

	// Policy.
	digest := rj.policyDigests[0]
	base := rules.DefaultPolicy()
	raw, full := rj.policies[digest]
	if full {
		if base, err = decodePolicy(raw); err != nil {
			return nil, refuse("the records' policy cannot be read: %v", err)
		}
	}
	pol, err := f.policyOver(base)
	if err != nil {
		return nil, err
	}
	if pol.Digest() != digest {
		if f.policyExplicit() {
			return nil, refuse("the policy given (--policy and policy flags, %s) differs from the records' (%s)", pol.Digest(), digest)
		}
		return nil, refuse("the records name their policy only by its digest (%s), which is not the default policy's: pass the --policy file and policy flags the scan was started with", digest)
	}
	cfg.Policy = pol

	// Advisory data.
	key := rj.advKeys[0]
	legacy := strings.HasPrefix(key, "as-of:")
	cfg.AdvisoriesFile = rj.advPath[key]
	if f.advisories != "" {
		cfg.AdvisoriesFile = f.advisories
	}
	// Exceptions.
	if f.exceptions != "" {
		cfg.ExceptionsFile = f.exceptions
	} else if rj.excKnown && len(rj.excKeys) == 1 {
		cfg.ExceptionsFile = rj.excPath[rj.excKeys[0]]
	}

	j, err := scan.NewJudge(cfg)
	if err != nil {
		return nil, refuse("%v", err)
	}
	source := "the embedded advisory data"
	if cfg.AdvisoriesFile != "" {
		source = "advisory data " + cfg.AdvisoriesFile
	}
	switch {
	case legacy && j.AdvisoriesAsOf() != rj.advAsOf[key]:
		return nil, refuse("the records were judged with advisory data as of %s; %s is as of %s (pass --advisories with the records' data)", rj.advAsOf[key], source, j.AdvisoriesAsOf())
	case !legacy && j.AdvisoriesDigest() != key:
		why := "differs from"
		if f.advisories == "" && cfg.AdvisoriesFile != "" {
			why = "has changed since the scan: it differs from"
		}
		return nil, refuse("%s (%s) %s the records' (%s, as of %s)", source, j.AdvisoriesDigest(), why, key, rj.advAsOf[key])
	}
	if rj.excKnown && len(rj.excKeys) == 1 && j.ExceptionsDigest() != rj.excKeys[0] {
		switch {
		case rj.excKeys[0] == "":
			return nil, refuse("the records were judged without exceptions, and --exceptions %s was given", f.exceptions)
		case f.exceptions != "":
			return nil, refuse("exceptions %s (%s) differ from the records' (%s, %s)", f.exceptions, j.ExceptionsDigest(), rj.excPath[rj.excKeys[0]], rj.excKeys[0])
		default:
			return nil, refuse("exceptions %s have changed since the scan (%s, the records' %s)", cfg.ExceptionsFile, j.ExceptionsDigest(), rj.excKeys[0])
		}
	}
	return j, nil
}

// regradeJudge is the judge of grade --regrade: each of the evaluation
// date, policy, advisory data and exceptions is the one given on the
// command line, or else the records'. Records judged with different
// values of one the command line does not give are refused (exit 2).
// Where the records' advisory data or exceptions file has changed since
// the scan (or this kensa embeds other data), the current content is
// used and a note says so.
func (f *judgeFlags) regradeJudge(e *env, set *results.Set) (*scan.Judge, error) {
	rj := readRecordedJudge(set)
	refuse := func(flag, format string, a ...any) error {
		return badInput("--regrade: %s: %s: pass %s to choose", set.Name, fmt.Sprintf(format, a...), flag)
	}
	note := func(format string, a ...any) {
		fmt.Fprintf(e.stderr, "kensa: note: --regrade: %s\n", fmt.Sprintf(format, a...))
	}
	cfg := scan.JudgeConfig{Catalog: scoring.Mail}
	if len(set.Records) == 0 {
		return f.judge(false)
	}

	// Evaluation date.
	switch {
	case f.asOf != "":
		t, err := time.Parse(time.DateOnly, f.asOf)
		if err != nil {
			return nil, badInput("--as-of %q: want YYYY-MM-DD", f.asOf)
		}
		cfg.AsOf = t
	case len(rj.asOf) > 1:
		return nil, refuse("--as-of", "the records were judged at %s", several("evaluation dates", rj.asOf))
	default:
		t, err := time.Parse(time.DateOnly, rj.asOf[0])
		if err != nil {
			return nil, refuse("--as-of", "the records' evaluation date %q is not a date", rj.asOf[0])
		}
		cfg.AsOf = t
	}

	// Policy.
	switch {
	case f.policy != "":
		pol, err := f.rulesPolicy()
		if err != nil {
			return nil, err
		}
		cfg.Policy = pol
	case len(rj.policyDigests) > 1:
		return nil, refuse("--policy", "the records were judged under %s", several("policies", rj.policyDigests))
	default:
		base := rules.DefaultPolicy()
		if raw, ok := rj.policies[rj.policyDigests[0]]; ok {
			p, err := decodePolicy(raw)
			if err != nil {
				return nil, badInput("--regrade: %s: the records' policy cannot be read: %v", set.Name, err)
			}
			base = p
		} else if d := rj.policyDigests[0]; d != base.Digest() {
			note("the records name their policy only by its digest (%s); re-graded under the default policy and the policy flags given", d)
		}
		pol, err := f.policyOver(base)
		if err != nil {
			return nil, err
		}
		cfg.Policy = pol
	}

	// Advisory data.
	var advKey string
	switch {
	case f.advisories != "":
		cfg.AdvisoriesFile = f.advisories
	case len(rj.advKeys) > 1:
		return nil, refuse("--advisories", "the records were judged with %s", several("advisory data", rj.advKeys))
	default:
		advKey = rj.advKeys[0]
		cfg.AdvisoriesFile = rj.advPath[advKey]
	}

	// Exceptions.
	var excKey string
	checkExc := false
	switch {
	case f.exceptions != "":
		cfg.ExceptionsFile = f.exceptions
	case len(rj.excKeys) > 1:
		return nil, refuse("--exceptions", "the records were judged with %s", several("exceptions", rj.excKeys))
	case rj.excKnown && len(rj.excKeys) == 1:
		excKey = rj.excKeys[0]
		cfg.ExceptionsFile = rj.excPath[excKey]
		checkExc = excKey != ""
	}

	j, err := scan.NewJudge(cfg)
	if err != nil {
		hint := ""
		if f.advisories == "" && cfg.AdvisoriesFile != "" || f.exceptions == "" && cfg.ExceptionsFile != "" {
			hint = " (the records name the file; pass --advisories or --exceptions to use another)"
		}
		return nil, badInput("--regrade: %v%s", err, hint)
	}
	if advKey != "" {
		source := "this kensa's embedded advisory data"
		if cfg.AdvisoriesFile != "" {
			source = "advisory data " + cfg.AdvisoriesFile
		}
		if strings.HasPrefix(advKey, "as-of:") {
			if j.AdvisoriesAsOf() != rj.advAsOf[advKey] {
				note("the records were judged with advisory data as of %s; re-graded with %s, as of %s", rj.advAsOf[advKey], source, j.AdvisoriesAsOf())
			}
		} else if j.AdvisoriesDigest() != advKey {
			note("%s (%s, as of %s) is not the data the records were judged with (%s, as of %s); re-graded with it", source, j.AdvisoriesDigest(), j.AdvisoriesAsOf(), advKey, rj.advAsOf[advKey])
		}
	}
	if checkExc && j.ExceptionsDigest() != excKey {
		note("exceptions %s have changed since the scan (%s, the records' %s); re-graded with them as they are", cfg.ExceptionsFile, j.ExceptionsDigest(), excKey)
	}
	return j, nil
}
