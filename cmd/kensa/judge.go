package main

import (
	"time"

	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
)

// judgeFlags choose how observations become verdicts: the rules policy,
// advisory data, exceptions and evaluation date. scan, probe, demo and
// grade --regrade share them.
type judgeFlags struct {
	policy                 string
	ntpMaxOffset           time.Duration
	toleratePasswords      bool
	weakSSHFails, weakTLS  bool
	advisories, exceptions string
	asOf                   string
}

func (f *judgeFlags) register(fs *flagSet) {
	fs.StringVar(&f.policy, "policy", "", "rules policy YAML file (thresholds, tolerated methods)")
	fs.DurationVar(&f.ntpMaxOffset, "ntp-max-offset", 0, "largest clock offset passing S3 (default 1s, or the policy file's)")
	fs.BoolVar(&f.toleratePasswords, "tolerate-ssh-passwords", false, "S1 passes with SSH password or keyboard-interactive authentication")
	fs.BoolVar(&f.weakSSHFails, "weak-ssh-fails", false, "weak SSH algorithms fail S1 (default: findings only)")
	fs.BoolVar(&f.weakTLS, "weak-tls-fails", false, "weak TLS fails P1 and X1 (default: findings only)")
	fs.StringVar(&f.advisories, "advisories", "", "advisory data file replacing the embedded set")
	fs.StringVar(&f.exceptions, "exceptions", "", "exceptions YAML file (server, advisory ids, justification, expiry)")
	fs.StringVar(&f.asOf, "as-of", "", "evaluation date YYYY-MM-DD (UTC) for end-of-life, exception expiry and certificate validity (default: today; --resume and --regrade: the records')")
}

// choice turns the judge flags into what they choose: the policy file
// is read and the date parsed here, so that a bad flag is refused
// (exit 2) before anything is read or changed. Flags not given choose
// nothing.
func (f *judgeFlags) choice() (scan.JudgeChoice, error) {
	c := scan.JudgeChoice{AdvisoriesFile: f.advisories, ExceptionsFile: f.exceptions,
		Policy: scan.PolicyChoice{NTPMaxOffset: f.ntpMaxOffset, TolerateSSHPasswords: f.toleratePasswords,
			WeakSSHFails: f.weakSSHFails, WeakTLSFails: f.weakTLS}}
	if f.policy != "" {
		p, err := rules.LoadPolicy(f.policy)
		if err != nil {
			return c, wrapBadInput(err)
		}
		c.Policy.File = &p
	}
	if f.asOf != "" {
		t, err := time.Parse(time.DateOnly, f.asOf)
		if err != nil {
			return c, badInput("--as-of %q: want YYYY-MM-DD", f.asOf)
		}
		c.AsOf = t
	}
	return c, nil
}

// judge builds the judge from the flags alone, at today's UTC date
// unless --as-of. checkClock reads the scanner's own clock status (for a
// live scan; a regrade has no clock to check).
func (f *judgeFlags) judge(checkClock bool) (*scan.Judge, error) {
	c, err := f.choice()
	if err != nil {
		return nil, err
	}
	j, err := c.Judge(checkClock)
	if err != nil {
		return nil, wrapBadInput(err)
	}
	return j, nil
}
