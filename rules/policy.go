// Package rules turns probe observations into item verdicts. The rules
// sit apart from the probes, which only observe, and from scoring, which
// only counts outcomes: the policy they apply (thresholds, tolerated
// methods) is data, so stored observations can be re-graded under another
// policy without rescanning.
package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy holds the settings of the rules. The zero value is not useful;
// start from DefaultPolicy.
type Policy struct {
	// NTPMaxOffset is the largest clock offset that still passes S3.
	NTPMaxOffset Duration `yaml:"ntp_max_offset" json:"ntp_max_offset"`
	// SSHToleratePasswords lets S1 pass when SSH offers password or
	// keyboard-interactive authentication.
	SSHToleratePasswords bool `yaml:"ssh_tolerate_passwords" json:"ssh_tolerate_passwords"`
	// SSHWeakAlgorithmsFail makes weak SSH algorithms fail S1; off by
	// default, when they are findings only.
	SSHWeakAlgorithmsFail bool `yaml:"ssh_weak_algorithms_fail" json:"ssh_weak_algorithms_fail"`
	// TLSWeakFails makes weak TLS (obsolete protocol, insecure cipher,
	// expired certificate) fail P1 and X1; off by default, when it is a
	// finding only.
	TLSWeakFails bool `yaml:"tls_weak_fails" json:"tls_weak_fails"`
}

// DefaultPolicy returns the policy used when none is given.
func DefaultPolicy() Policy {
	return Policy{NTPMaxOffset: Duration(time.Second)}
}

// LoadPolicy reads a policy from a YAML file; fields it omits keep their
// defaults.
func LoadPolicy(path string) (Policy, error) {
	p := DefaultPolicy()
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	if p.NTPMaxOffset <= 0 {
		return p, fmt.Errorf("%s: ntp_max_offset must be positive", path)
	}
	return p, nil
}

// Digest returns "sha256:" and the hex digest of the policy's canonical
// JSON form, recorded in every result so a grade names its policy.
func (p Policy) Digest() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Duration is a time.Duration written as "1s", "250ms" in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}
