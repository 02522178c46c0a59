package scan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
)

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

// legacyAdvisories prefixes the key of the advisory data of a legacy
// record, which names its data by as-of date only.
const legacyAdvisories = "as-of:"

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
			key = legacyAdvisories + m.AdvisoriesAsOf
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

// mixed returns a *MixedJudgeError when the records hold more than one
// value of field, nil when they do not.
func (rj *recordedJudge) mixed(field JudgeField) *MixedJudgeError {
	var values []string
	switch field {
	case JudgeAsOf:
		values = rj.asOf
	case JudgePolicy:
		values = rj.policyDigests
	case JudgeAdvisories:
		values = rj.advKeys
	case JudgeExceptions:
		values = rj.excKeys
	}
	if len(values) > 1 {
		return &MixedJudgeError{Field: field, Values: append([]string(nil), values...)}
	}
	return nil
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

// MixedJudgeError reports records judged with several values of one
// part of the judge: several evaluation dates, policies, advisory data
// or exceptions files.
type MixedJudgeError struct {
	// Field is the part of the judge.
	Field JudgeField
	// Values are the distinct values recorded, in the order first seen:
	// dates, policy digests, advisory data digests ("as-of:DATE" for a
	// record that names its data by date only), exceptions digests (""
	// for none).
	Values []string
}

func (e *MixedJudgeError) Error() string {
	d := judgeFields[e.Field]
	shown := append([]string(nil), e.Values...)
	for i, v := range shown {
		if v == "" {
			shown[i] = "none"
		}
	}
	sort.Strings(shown)
	return fmt.Sprintf("the records were judged %s %d different %s (%s)", d.prep, len(e.Values), d.plural, strings.Join(shown, ", "))
}

// RegradeChoiceError reports that the records' own value of one part of
// the judge cannot serve a re-grade — they hold several (a
// *MixedJudgeError), or one that cannot be read — and that a value
// given for that part would choose.
type RegradeChoiceError struct {
	// Name is the results file.
	Name string
	// Field is the part of the judge to give.
	Field JudgeField
	// Err says what is wrong with the records' values.
	Err error
}

func (e *RegradeChoiceError) Error() string {
	return fmt.Sprintf("%s: %v: pass %s to choose", e.Name, e.Err, e.Field.Flag())
}

// Unwrap returns what is wrong with the records' values.
func (e *RegradeChoiceError) Unwrap() error { return e.Err }

// RegradeJudge returns the judge of a re-grade of set (kensa grade
// --regrade): each of the evaluation date, policy, advisory data and
// exceptions is the one given, or else the records' own. A part the
// choice does not give and the records hold several values of, or an
// evaluation date that cannot be read, is a *RegradeChoiceError naming
// the part. The given policy switches apply on top of the records'
// policy. Where the records' advisory data or exceptions file has
// changed since the scan (or this kensa embeds other data than they
// were judged with), or the records name their policy by digest only,
// the data as it is now is used, and one of the notes returned says so;
// the notes are returned with an error too, for what was decided before
// it. A set without records is re-graded by the choice's judge alone
// (JudgeChoice.Judge). The scanner's clock is not read: a re-grade has
// no clock to check.
func RegradeJudge(set *results.Set, given JudgeChoice) (*Judge, []string, error) {
	if len(set.Records) == 0 {
		j, err := given.Judge(false)
		return j, nil, err
	}
	rj := readRecordedJudge(set)
	var notes []string
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	choose := func(field JudgeField, err error) (*Judge, []string, error) {
		return nil, notes, &RegradeChoiceError{Name: set.Name, Field: field, Err: err}
	}
	var cfg JudgeConfig

	// Evaluation date.
	switch {
	case !given.AsOf.IsZero():
		cfg.AsOf = given.AsOf
	case len(rj.asOf) > 1:
		return choose(JudgeAsOf, rj.mixed(JudgeAsOf))
	default:
		t, err := time.Parse(time.DateOnly, rj.asOf[0])
		if err != nil {
			return choose(JudgeAsOf, fmt.Errorf("the records' evaluation date %q is not a date", rj.asOf[0]))
		}
		cfg.AsOf = t
	}

	// Policy.
	switch {
	case given.Policy.File != nil:
		cfg.Policy = given.Policy.Over(rules.DefaultPolicy())
	case len(rj.policyDigests) > 1:
		return choose(JudgePolicy, rj.mixed(JudgePolicy))
	default:
		base := rules.DefaultPolicy()
		if raw, ok := rj.policies[rj.policyDigests[0]]; ok {
			p, err := decodePolicy(raw)
			if err != nil {
				return nil, notes, fmt.Errorf("%s: the records' policy cannot be read: %w", set.Name, err)
			}
			base = p
		} else if d := rj.policyDigests[0]; d != base.Digest() {
			note("the records name their policy only by its digest (%s); re-graded under the default policy and the policy flags given", d)
		}
		cfg.Policy = given.Policy.Over(base)
	}

	// Advisory data.
	var advKey string
	switch {
	case given.AdvisoriesFile != "":
		cfg.AdvisoriesFile = given.AdvisoriesFile
	case len(rj.advKeys) > 1:
		return choose(JudgeAdvisories, rj.mixed(JudgeAdvisories))
	default:
		advKey = rj.advKeys[0]
		cfg.AdvisoriesFile = rj.advPath[advKey]
	}

	// Exceptions.
	var excKey string
	checkExc := false
	switch {
	case given.ExceptionsFile != "":
		cfg.ExceptionsFile = given.ExceptionsFile
	case len(rj.excKeys) > 1:
		return choose(JudgeExceptions, rj.mixed(JudgeExceptions))
	case rj.excKnown && len(rj.excKeys) == 1:
		excKey = rj.excKeys[0]
		cfg.ExceptionsFile = rj.excPath[excKey]
		checkExc = excKey != ""
	}

	j, err := NewJudge(cfg)
	if err != nil {
		if given.AdvisoriesFile == "" && cfg.AdvisoriesFile != "" || given.ExceptionsFile == "" && cfg.ExceptionsFile != "" {
			err = fmt.Errorf("%w (the records name the file; pass --advisories or --exceptions to use another)", err)
		}
		return nil, notes, err
	}
	if advKey != "" {
		source := "this kensa's embedded advisory data"
		if cfg.AdvisoriesFile != "" {
			source = "advisory data " + cfg.AdvisoriesFile
		}
		if strings.HasPrefix(advKey, legacyAdvisories) {
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
	return j, notes, nil
}
