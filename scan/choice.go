package scan

import (
	"time"

	"github.com/kensa-inspect/kensa/rules"
)

// JudgeField is one of the four things that make a judge, and that every
// record names in its scan metadata: the evaluation date, the rules
// policy, the advisory data and the exceptions.
type JudgeField int

// The parts of a judge.
const (
	JudgeAsOf JudgeField = iota + 1
	JudgePolicy
	JudgeAdvisories
	JudgeExceptions
)

var judgeFields = map[JudgeField]struct{ name, plural, prep, flag string }{
	JudgeAsOf:       {"evaluation date", "evaluation dates", "at", "--as-of"},
	JudgePolicy:     {"policy", "policies", "under", "--policy"},
	JudgeAdvisories: {"advisory data", "advisory data", "with", "--advisories"},
	JudgeExceptions: {"exceptions", "exceptions", "with", "--exceptions"},
}

// String names the field as messages do: "evaluation date", "policy",
// "advisory data", "exceptions".
func (f JudgeField) String() string {
	if d, ok := judgeFields[f]; ok {
		return d.name
	}
	return "unknown part of the judge"
}

// Flag returns the kensa flag that gives the field ("--as-of",
// "--policy", "--advisories", "--exceptions"): the messages of resume
// and re-grade name it, as the operator gives these values with it.
func (f JudgeField) Flag() string { return judgeFields[f].flag }

// JudgeChoice is what the operator chose explicitly for a judge (the
// judge flags of kensa scan, probe, demo and grade --regrade). A zero
// field chose nothing: a new scan then takes the default, a resumed scan
// or a re-grade the records' own value.
type JudgeChoice struct {
	// AsOf is the evaluation date given; zero when none was.
	AsOf time.Time
	// Policy is the rules policy given.
	Policy PolicyChoice
	// AdvisoriesFile is the advisory data file given; "" when none was.
	AdvisoriesFile string
	// ExceptionsFile is the exceptions file given; "" when none was.
	ExceptionsFile string
}

// PolicyChoice is the rules policy given: a policy file, which replaces
// the base policy (the default, or the records'), and switches applied
// on top of either.
type PolicyChoice struct {
	// File is the policy read from the policy file given; nil when none
	// was.
	File *rules.Policy
	// NTPMaxOffset, when positive, replaces the largest clock offset
	// that passes S3.
	NTPMaxOffset time.Duration
	// TolerateSSHPasswords, WeakSSHFails and WeakTLSFails switch the
	// policy's setting of the same meaning on; they never switch one
	// off.
	TolerateSSHPasswords, WeakSSHFails, WeakTLSFails bool
}

// Given reports whether anything of the policy was given: a file or a
// switch.
func (c PolicyChoice) Given() bool {
	return c.File != nil || c.NTPMaxOffset > 0 || c.TolerateSSHPasswords || c.WeakSSHFails || c.WeakTLSFails
}

// Over returns the policy the choice makes on top of base: the file's
// policy when one was given, else base; the switches then apply.
func (c PolicyChoice) Over(base rules.Policy) rules.Policy {
	pol := base
	if c.File != nil {
		pol = *c.File
	}
	if c.NTPMaxOffset > 0 {
		pol.NTPMaxOffset = rules.Duration(c.NTPMaxOffset)
	}
	pol.SSHToleratePasswords = pol.SSHToleratePasswords || c.TolerateSSHPasswords
	pol.SSHWeakAlgorithmsFail = pol.SSHWeakAlgorithmsFail || c.WeakSSHFails
	pol.TLSWeakFails = pol.TLSWeakFails || c.WeakTLSFails
	return pol
}

// Judge returns the judge of a new scan or probe, made of the choice
// alone: its policy over the default policy, its evaluation date or else
// today's (UTC), its advisory data (else the embedded data) and its
// exceptions (else none). checkClock reads the scanner's own clock
// status, as a live scan does. A file that cannot be loaded is a
// *JudgeDataError.
func (c JudgeChoice) Judge(checkClock bool) (*Judge, error) {
	asOf := c.AsOf
	if asOf.IsZero() {
		asOf = Day(time.Now())
	}
	return NewJudge(JudgeConfig{Policy: c.Policy.Over(rules.DefaultPolicy()), AsOf: asOf,
		AdvisoriesFile: c.AdvisoriesFile, ExceptionsFile: c.ExceptionsFile, CheckClock: checkClock})
}
