package rules

import (
	"fmt"
	"sort"

	"github.com/kensa-inspect/kensa/observe"
)

// Findings lists what an inspector wants to see of a server besides its
// verdicts, judged like them from the observations under the Context:
// weak SSH algorithms and keys (SSHFindings), weak TLS at the evaluation
// date (TLSWeaknesses), exceptions for the server that have expired at
// the evaluation date, and answering services the inventory omits
// (undeclared, "imap:143"). Weak algorithms and TLS are listed whatever
// the policy; the policy decides whether they also fail S1, P1 and X1.
func Findings(c Context, id, host string, obs *observe.Observations, undeclared []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, o := range obs.SSH {
		if o == nil {
			continue
		}
		for _, f := range SSHFindings(o) {
			if f.Weak() {
				add(fmt.Sprintf("%s:%d ssh: %s %s: %s", o.Address, o.Port, f.Severity, f.Algorithm, f.Reason))
			}
		}
	}
	tls := func(addr string, port int, service string, info *observe.TLS) {
		for _, w := range TLSWeaknesses(info, c.AsOf) {
			add(fmt.Sprintf("%s:%d %s: TLS: %s", addr, port, service, w))
		}
	}
	for _, o := range obs.SMTP {
		if o != nil {
			tls(o.Address, o.Port, o.Service, o.TLS)
		}
	}
	for _, o := range obs.IMAP {
		if o != nil {
			tls(o.Address, o.Port, o.Service, o.TLS)
		}
	}
	for _, o := range obs.POP3 {
		if o != nil {
			tls(o.Address, o.Port, o.Service, o.TLS)
		}
	}
	out = append(out, contentFindings(obs)...)
	sort.Strings(out)
	if c.Exceptions != nil {
		for _, e := range c.Exceptions.Expired(c.AsOf) {
			if e.AppliesTo(id, host) {
				out = append(out, "expired exception ignored: "+e.String())
			}
		}
	}
	for _, u := range undeclared {
		out = append(out, "undeclared service answering: "+u)
	}
	return out
}
