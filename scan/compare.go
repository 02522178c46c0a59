package scan

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/kensa-inspect/kensa/results"
)

// JudgeDifferences lists the parts of the judge (evaluation date,
// policy, advisory data, exceptions) in which the records of a and b
// were judged differently, in that order. A part that the records of
// either set hold several values of counts as different.
func JudgeDifferences(a, b *results.Set) []JudgeField {
	ra, rb := readRecordedJudge(a), readRecordedJudge(b)
	var out []JudgeField
	differ := func(f JudgeField, x, y []string) {
		if len(x) != 1 || len(y) != 1 || x[0] != y[0] {
			out = append(out, f)
		}
	}
	differ(JudgeAsOf, ra.asOf, rb.asOf)
	differ(JudgePolicy, ra.policyDigests, rb.policyDigests)
	differ(JudgeAdvisories, ra.advKeys, rb.advKeys)
	if !ra.excKnown || !rb.excKnown {
		if !slices.Equal(ra.advKeys, rb.advKeys) || ra.excKnown != rb.excKnown {
			out = appendOnce(out, JudgeExceptions)
		}
	} else {
		differ(JudgeExceptions, ra.excKeys, rb.excKeys)
	}
	return out
}

func appendOnce(list []JudgeField, f JudgeField) []JudgeField {
	if slices.Contains(list, f) {
		return list
	}
	return append(list, f)
}

// FieldNames names judge fields for people: "policy, advisory data".
func FieldNames(fields []JudgeField) string {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Regradable reports whether every record of set keeps the observations
// a re-grade judges; it returns the first server whose record does not
// ("" when all do). Records read without their observations, or written
// without any, cannot be re-graded.
func Regradable(set *results.Set) (bool, string) {
	for _, r := range set.Records {
		o := bytes.TrimSpace(r.Observations)
		if len(o) == 0 || bytes.Equal(o, []byte("{}")) || bytes.Equal(o, []byte("null")) {
			return false, r.Server.ID
		}
	}
	return true, ""
}

// OneJudge re-grades two results sets under one judge, so that what
// differs between them is what the servers did, not how they were
// judged (kensa diff). The judge is the one given, or else the newer
// set's own (RegradeJudge of newer). Both sets are re-graded when
// anything was given; otherwise, when the two were judged alike
// (JudgeDifferences is empty), nothing is re-graded; else the older set
// is re-graded under the newer's judge. It returns whether it re-graded,
// the parts of the judge that differed, and RegradeJudge's notes. A set
// that must be re-graded but cannot (Regradable) is an error naming the
// server.
func OneJudge(older, newer *results.Set, given JudgeChoice) (regraded bool, differ []JudgeField, notes []string, err error) {
	differ = JudgeDifferences(older, newer)
	anything := !given.AsOf.IsZero() || given.Policy.Given() || given.AdvisoriesFile != "" || given.ExceptionsFile != ""
	if !anything && len(differ) == 0 {
		return false, nil, nil, nil
	}
	sets := []*results.Set{older}
	if anything {
		sets = append(sets, newer)
	}
	for _, s := range sets {
		if ok, id := Regradable(s); !ok {
			return false, differ, nil, fmt.Errorf("%s: the record of %s has no observations to re-grade", s.Name, id)
		}
	}
	j, notes, err := RegradeJudge(newer, given)
	if err != nil {
		return false, differ, notes, err
	}
	for _, s := range sets {
		if err := j.RegradeSet(s); err != nil {
			return false, differ, notes, err
		}
	}
	return true, differ, notes, nil
}
