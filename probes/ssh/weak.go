package ssh

import "fmt"

// Severities of a Finding, after ssh-audit's grading.
const (
	// SeverityFail: broken or obsolete (ssh-audit "fail").
	SeverityFail = "fail"
	// SeverityWarn: weak and best removed (ssh-audit "warn").
	SeverityWarn = "warn"
	// SeverityNote: worth knowing, not a weakness on its own (stock
	// OpenSSH offers these: hmac-sha1, umac-64, NIST curves).
	SeverityNote = "note"
)

// Finding is one weak algorithm or key a server offers. The probe does
// not grade what it saw: rules.SSHFindings derives the findings from the
// recorded KEXINIT and host keys when a record is judged (or re-graded),
// and records written by older kensa versions carry them in
// Observation.Findings.
type Finding struct {
	// Severity is SeverityFail, SeverityWarn or SeverityNote.
	Severity string `json:"severity"`
	// Kind is what the algorithm does: "kex", "host_key", "cipher",
	// "mac", "compression", "key" (a host key's size) or "strict_kex".
	Kind string `json:"kind"`
	// Algorithm is the algorithm's name (or the key's type).
	Algorithm string `json:"algorithm"`
	// Reason says why, in a few words.
	Reason string `json:"reason"`
}

// Weak reports whether the finding is a weakness (fail or warn), the
// findings a policy may count against the server; notes are not.
func (f Finding) Weak() bool { return f.Severity == SeverityFail || f.Severity == SeverityWarn }

// String formats the finding as "fail: cipher 3des-cbc (reason)".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s %s (%s)", f.Severity, f.Kind, f.Algorithm, f.Reason)
}
