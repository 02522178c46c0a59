package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// Context is what the rules need besides a server's observations.
type Context struct {
	Catalog *scoring.Catalog
	Policy  Policy
	// AsOf is the evaluation date of end-of-life decisions.
	AsOf time.Time
	// Advisories is the advisory data (nil: the shipped set); Exceptions
	// the operator's exceptions (may be nil).
	Advisories *advisory.DB
	Exceptions *advisory.Exceptions
	// Clock is the scanner's own clock status (nil: not checked).
	Clock *observe.ClockStatus
}

// Reasons of items no probe decides.
const (
	reasonDeclarationOnly = "no probe decides this item: a declaration is needed"
)

// evaluate returns the probe verdict of every catalog item for one
// server. listed are the services the inventory lists. An item that
// applies to the server's services (listed, or discovered answering) is
// never na: when no observation could be made (unreachable, outside the
// scope) it is unknown, with the server's problems as the reason.
//
// A server where the inventory lists no service and no planned service
// answered gives nothing to apply an item to, and nothing to show that
// an item does not apply: every item is unknown ("no service answered"),
// so that a dead or filtered host never counts as one without relay or
// receive-side checks.
//
// An item passes only if it passes on every address: while an address
// of the server answered on no port at all, no probe-decided item can
// pass (what it would show there is unknown).
func evaluate(c Context, id, host string, listed map[string]bool, obs *observe.Observations) map[string]scoring.Verdict {
	services := obs.ServiceSet()
	for s := range listed {
		services[s] = true
	}
	pol := c.Policy
	out := make(map[string]scoring.Verdict, len(c.Catalog.Items))
	if len(services) == 0 {
		reason := "no service answered"
		if len(obs.Problems) > 0 {
			reason += ": " + strings.Join(obs.Problems, "; ")
		}
		for _, it := range c.Catalog.Items {
			out[it.Code] = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Reason: reason, Evidence: silentEvidence(obs)}
		}
		return out
	}
	silent := silentAddresses(obs)
	for _, it := range c.Catalog.Items {
		if !it.Applies(services) {
			out[it.Code] = scoring.Verdict{Outcome: scoring.NA, Source: scoring.FromProbe, Reason: "no service the item applies to"}
			continue
		}
		var v scoring.Verdict
		switch it.Code {
		case "M1":
			v = M1OSPatches(obs.Fingerprints, c.Advisories, c.Exceptions, id, host, c.AsOf, pol)
		case "M2":
			v = M2MailSoftwarePatches(obs.Fingerprints, obs.Services, c.Advisories, c.Exceptions, id, host, c.AsOf, pol)
		case "M3":
			v = M3ContentMalware(obs.Content)
		case "X2":
			v = X2ContentSpam(obs.Content)
		case "S1":
			v = S1AdminAuth(obs.SSH, obs.Admin, obs.Services, pol)
		case "S2":
			v = unknown(reasonDeclarationOnly)
		case "S3":
			v = S3TimeSync(obs.Addresses, obs.NTP, obs.TimeSamples(), c.Clock, pol)
		case "A1":
			v = A1OpenRelay(obs.SMTP, pol)
		case "P1":
			v = P1ReceiveAuth(obs.IMAP, obs.POP3, pol, c.AsOf)
		case "X1":
			v = X1SubmissionAuth(submissions(obs.SMTP), pol, c.AsOf)
		default:
			v = unknown("no rule for this item")
		}
		if v.Outcome == scoring.NA || v.Outcome == "" {
			reason := "the services it applies to could not be probed"
			if len(obs.Problems) > 0 {
				reason += ": " + obs.Problems[0]
			}
			v = unknown(reason)
		}
		if v.Outcome == scoring.Pass && len(obs.OutOfScope) > 0 && len(it.Deciders()) > 0 {
			v = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Evidence: v.Evidence,
				Reason: "passes on the addresses scanned, but " + strings.Join(obs.OutOfScope, ", ") + " is outside the scope and was not checked: " + v.Reason}
		}
		if v.Outcome == scoring.Pass && len(silent) > 0 && len(it.Deciders()) > 0 {
			v = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Evidence: append(v.Evidence, silentEvidence(obs)...),
				Reason: "passes on the addresses that answered, but " + strings.Join(silent, ", ") + " answered on no port (down or filtered), so nothing could be checked there: " + v.Reason}
		}
		if v.Outcome == scoring.Pass {
			if missed := notProbed(obs, it.Deciders()); missed != "" {
				v = scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Evidence: v.Evidence,
					Reason: "would pass, but " + missed + " could not be probed before the budget ran out: " + v.Reason}
			}
		}
		out[it.Code] = v
	}
	return out
}

// silentAddresses returns the scanned addresses on which no planned
// service answered, when another address of the server did answer.
func silentAddresses(obs *observe.Observations) []string {
	answered := map[string]bool{}
	for _, s := range obs.Services {
		if s.State == observe.StateAnswered {
			answered[s.Address] = true
		}
	}
	if len(answered) == 0 {
		return nil
	}
	var out []string
	for _, a := range obs.Addresses {
		if !answered[a] {
			out = append(out, a)
		}
	}
	return out
}

// silentEvidence lists the planned services that did not answer, one
// line each: what was tried.
func silentEvidence(obs *observe.Observations) []string {
	var out []string
	for _, s := range obs.Services {
		if s.State != observe.StateAnswered {
			out = append(out, fmt.Sprintf("%s %s", where(s.Service, s.Address, s.Port), s.State))
		}
	}
	return out
}

// notProbed names the first of services that was planned but not probed,
// or "".
func notProbed(obs *observe.Observations, services []string) string {
	for _, s := range obs.Services {
		if s.State != observe.StateNotProbed {
			continue
		}
		for _, name := range services {
			if s.Service == name {
				return fmt.Sprintf("%s %s:%d", s.Service, s.Address, s.Port)
			}
		}
	}
	return ""
}

func unknown(reason string) scoring.Verdict {
	return scoring.Verdict{Outcome: scoring.Unknown, Source: scoring.FromProbe, Reason: reason}
}

// submissions returns the submission and smtps observations, those X1
// judges.
func submissions(obs []*observe.SMTP) []*observe.SMTP {
	var out []*observe.SMTP
	for _, o := range obs {
		if o.Service == "submission" || o.Service == "smtps" {
			out = append(out, o)
		}
	}
	return out
}

// Judge combines the probe verdicts with the inventory's declarations.
func Judge(c Context, id, host string, listed map[string]bool, declared map[string]scoring.Outcome, obs *observe.Observations) map[string]scoring.Verdict {
	items := evaluate(c, id, host, listed, obs)
	for code, v := range items {
		items[code] = scoring.Combine(v, declared[code])
	}
	return items
}
