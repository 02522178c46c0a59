package scoring

import (
	"encoding/json"
	"fmt"
)

// Outcome is the result of one checklist item on one server.
type Outcome string

// The four outcomes (docs/CHECKLIST.md). The zero value is not a valid
// outcome.
const (
	Pass    Outcome = "pass"    // the measure is in place
	Fail    Outcome = "fail"    // the measure is missing or broken
	Unknown Outcome = "unknown" // the item applies but could not be verified
	NA      Outcome = "na"      // the item does not apply to the server
)

// ParseOutcome reads an outcome name as it appears in files and flags.
func ParseOutcome(s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case Pass, Fail, Unknown, NA:
		return o, nil
	}
	return "", fmt.Errorf("unknown outcome %q (want pass, fail, unknown or na)", s)
}

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool {
	_, err := ParseOutcome(string(o))
	return err == nil
}

// Applies reports whether the item counts in the denominator of its rate,
// that is whether the outcome is pass, fail or unknown.
func (o Outcome) Applies() bool { return o == Pass || o == Fail || o == Unknown }

// severity orders outcomes from best to worst for combining a probe with a
// declaration: fail is worse than unknown, which is worse than pass.
func (o Outcome) severity() int {
	switch o {
	case Pass:
		return 1
	case Unknown:
		return 2
	case Fail:
		return 3
	}
	return 0
}

// Source says where an outcome came from.
type Source string

// Sources of a verdict.
const (
	FromProbe    Source = "probe"    // measured over the network
	FromDeclared Source = "declared" // self-reported in the inventory
)

// Verdict is the outcome of one item on one server with what justifies it.
// It is the value stored under "items" in a kensa/v1 record.
type Verdict struct {
	Outcome  Outcome  `json:"outcome"`
	Source   Source   `json:"source"`
	Reason   string   `json:"reason"`
	Evidence []string `json:"evidence"`

	// Probed is the outcome the probe reached when a declaration was
	// combined with it; Declared is the declared outcome. Both are empty
	// when no declaration was given.
	Probed   Outcome `json:"probed,omitempty"`
	Declared Outcome `json:"declared,omitempty"`
	// Discrepancy is set when the probe and the declaration disagree.
	Discrepancy bool `json:"discrepancy,omitempty"`
	// Exception names the exception that turned a finding into a pass.
	Exception string `json:"exception,omitempty"`
}

// MarshalJSON writes an empty evidence list as [] rather than null, so that
// consumers of kensa/v1 always see an array.
func (v Verdict) MarshalJSON() ([]byte, error) {
	type plain Verdict
	p := plain(v)
	if p.Evidence == nil {
		p.Evidence = []string{}
	}
	return json.Marshal(p)
}

// Combine merges a probe verdict with a declared outcome as
// docs/CHECKLIST.md ("Rules common to every item")
// prescribes. An item that does not apply stays na. A declaration fills in
// an unknown probe. Where probe and declaration disagree on pass versus
// fail, the worse outcome counts and the verdict is marked as a
// discrepancy. A declared fail the probe cannot see (probe unknown) is
// simply believed. An empty declared outcome returns the probe verdict
// unchanged.
func Combine(probe Verdict, declared Outcome) Verdict {
	if declared == "" || probe.Outcome == NA {
		return probe
	}
	out := probe
	out.Probed = probe.Outcome
	out.Declared = declared
	switch {
	case probe.Outcome == Unknown && (declared == Pass || declared == Fail):
		out.Outcome = declared
		out.Source = FromDeclared
		if probe.Reason != "" {
			out.Reason = "declared " + string(declared) + "; probe could not decide: " + probe.Reason
		} else {
			out.Reason = "declared " + string(declared)
		}
	case probe.Outcome == declared || declared == Unknown:
		// Agreement, or a declaration that says nothing: keep the probe.
	default:
		out.Discrepancy = true
		if declared.severity() > probe.Outcome.severity() {
			out.Outcome = declared
			out.Source = FromDeclared
			out.Reason = fmt.Sprintf("declared %s, probe saw %s: %s", declared, probe.Outcome, probe.Reason)
		} else {
			out.Reason = fmt.Sprintf("probe saw %s, declared %s: %s", probe.Outcome, declared, probe.Reason)
		}
	}
	return out
}
