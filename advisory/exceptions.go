package advisory

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Exception is an inspection office's acceptance of named findings on one
// server: a backported fix the banner cannot show, an extended support
// subscription (Ubuntu Pro, Exchange ESU), a compensating control. It
// turns exactly the findings it names into a pass marked "by exception",
// until it expires.
//
// An exceptions file (--exceptions FILE) is YAML:
//
//	exceptions:
//	  - server: mx-soumu-01          # inventory id, or
//	    host: 192.0.2.10             # the server's host (either, or both)
//	    advisories: [CVE-2023-42115, "EOL:ubuntu:20.04"]
//	    justification: Debian backport verified on 2026-10-02, ticket 4711
//	    expires: 2027-03-31
//
// Advisory ids are CVE/DSA/USN ids as findings name them, or end-of-life
// findings "EOL:<name>:<release>" (EOL:debian:10, EOL:Exim:4.96,
// "EOL:Microsoft Exchange:2016"). An exception is in force through its
// expiry date.
type Exception struct {
	Server        string   `yaml:"server,omitempty" json:"server,omitempty"`
	Host          string   `yaml:"host,omitempty" json:"host,omitempty"`
	Advisories    []string `yaml:"advisories" json:"advisories"`
	Justification string   `yaml:"justification" json:"justification"`
	Expires       Date     `yaml:"expires" json:"expires"`
	// Line is the line of the file where the exception starts.
	Line int `yaml:"-" json:"line,omitempty"`
}

// Exceptions is a validated set of exceptions.
type Exceptions struct {
	// Path is the file the set was read from; Digest is the "sha256:…"
	// digest of its bytes.
	Path   string      `json:"path,omitempty"`
	Digest string      `json:"digest,omitempty"`
	Items  []Exception `json:"exceptions"`
}

// String names the exception for verdicts and reports.
func (e Exception) String() string {
	who := e.Server
	if who == "" {
		who = e.Host
	} else if e.Host != "" {
		who += " (" + e.Host + ")"
	}
	s := fmt.Sprintf("%s: %s until %s — %s", who, strings.Join(e.Advisories, ", "), e.Expires, e.Justification)
	if e.Line > 0 {
		s = fmt.Sprintf("%s (line %d)", s, e.Line)
	}
	return s
}

// Expired reports whether the exception has expired at t: it is in force
// through its expiry date.
func (e Exception) Expired(t time.Time) bool { return e.Expires.PassedAt(t) }

// AppliesTo reports whether the exception is written for the server (by
// inventory id or by host; when both are given both must match).
func (e Exception) AppliesTo(serverID, host string) bool {
	if e.Server != "" && e.Server != serverID {
		return false
	}
	if e.Host != "" && !strings.EqualFold(e.Host, host) {
		return false
	}
	return e.Server != "" || e.Host != ""
}

// Covers reports whether the exception names the finding id.
func (e Exception) Covers(id string) bool {
	for _, a := range e.Advisories {
		if strings.EqualFold(strings.TrimSpace(a), id) {
			return true
		}
	}
	return false
}

// LoadExceptions reads and validates an exceptions file.
func LoadExceptions(path string) (*Exceptions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	x, err := ParseExceptions(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x.Path = path
	x.Digest = digestBytes(b)
	return x, nil
}

// ParseExceptions decodes and validates exceptions in YAML: a mapping with
// the key "exceptions", or a bare list. Every exception needs a server or
// host, at least one advisory id, a justification and an expiry date;
// otherwise the whole file is refused with the line of each problem.
func ParseExceptions(b []byte) (*Exceptions, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	x := &Exceptions{}
	if len(root.Content) == 0 {
		return x, nil
	}
	list := root.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if list.Content[i].Value == "exceptions" {
				found = list.Content[i+1]
			} else {
				return nil, fmt.Errorf("exceptions: line %d: unknown key %q (want exceptions)", list.Content[i].Line, list.Content[i].Value)
			}
		}
		if found == nil {
			return x, nil
		}
		list = found
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return x, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("exceptions: line %d: want a list of exceptions", list.Line)
	}
	var errs []string
	for _, n := range list.Content {
		var e Exception
		if n.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Sprintf("line %d: an exception is a mapping", n.Line))
			continue
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "server", "host", "advisories", "justification", "expires":
			default:
				errs = append(errs, fmt.Sprintf("line %d: unknown key %q", n.Content[i].Line, k))
			}
		}
		if err := n.Decode(&e); err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", n.Line, err))
			continue
		}
		e.Line = n.Line
		e.Server, e.Host = strings.TrimSpace(e.Server), strings.TrimSpace(e.Host)
		if e.Server == "" && e.Host == "" {
			errs = append(errs, fmt.Sprintf("line %d: exception names neither server nor host", n.Line))
		}
		var ids []string
		for _, a := range e.Advisories {
			if a = strings.TrimSpace(a); a != "" {
				ids = append(ids, a)
			}
		}
		e.Advisories = ids
		if len(ids) == 0 {
			errs = append(errs, fmt.Sprintf("line %d: exception names no advisory (it never covers an advisory it does not name)", n.Line))
		}
		if strings.TrimSpace(e.Justification) == "" {
			errs = append(errs, fmt.Sprintf("line %d: exception has no justification", n.Line))
		}
		if e.Expires.IsZero() {
			errs = append(errs, fmt.Sprintf("line %d: exception has no expiry date", n.Line))
		}
		x.Items = append(x.Items, e)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("exceptions: %s", strings.Join(errs, "; "))
	}
	return x, nil
}

// For returns the exceptions written for a server: those in force at t,
// and those that expired (ignored, to be reported).
func (x *Exceptions) For(serverID, host string, t time.Time) (active, expired []Exception) {
	if x == nil {
		return nil, nil
	}
	for _, e := range x.Items {
		if !e.AppliesTo(serverID, host) {
			continue
		}
		if e.Expired(t) {
			expired = append(expired, e)
		} else {
			active = append(active, e)
		}
	}
	return active, expired
}

// Expired returns every exception that has expired at t, for reports to
// list.
func (x *Exceptions) Expired(t time.Time) []Exception {
	if x == nil {
		return nil
	}
	var out []Exception
	for _, e := range x.Items {
		if e.Expired(t) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires.Time) })
	return out
}

// Cover splits finding ids into those an exception in force covers and
// those left, and returns the exceptions used. Expired exceptions never
// cover anything.
func Cover(ids []string, active []Exception) (covered, left []string, used []Exception) {
	usedIdx := map[int]bool{}
	for _, id := range ids {
		hit := -1
		for i, e := range active {
			if e.Covers(id) {
				hit = i
				break
			}
		}
		if hit >= 0 {
			covered = append(covered, id)
			if !usedIdx[hit] {
				usedIdx[hit] = true
				used = append(used, active[hit])
			}
		} else {
			left = append(left, id)
		}
	}
	return covered, left, used
}

// ParseExceptionsString is ParseExceptions on a string, for tests and
// embedding.
func ParseExceptionsString(s string) (*Exceptions, error) {
	return ParseExceptions(bytes.TrimSpace([]byte(s)))
}
