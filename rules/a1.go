package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/scoring"
)

// maxRelayEvidence bounds the accepted attempts shown as evidence.
const maxRelayEvidence = 5

// A1 grades open-relay prevention from the SMTP observations of a
// server's smtp, submission and smtps services. It fails if any relay
// attempt was accepted on any service, with the exact commands and reply
// as evidence; it passes only if every test was tested and refused on
// every service; otherwise it is unknown, with the reason (greeting
// refused with 554, temporary answers, unreachable, untested forms). An
// empty slice means the item does not apply.
func A1(obs []*smtp.Observation, pol Policy) scoring.Verdict {
	if len(obs) == 0 {
		return smtpVerdict(scoring.NA, "no smtp, submission or smtps service", nil)
	}
	var accepted []string
	var first string
	nAccepted := 0
	for _, o := range obs {
		st := relayOf(o)
		for _, t := range st.accepted {
			nAccepted++
			if first == "" {
				first = fmt.Sprintf("%s relayed for an unauthenticated client: MAIL FROM:<%s> RCPT TO:<%s> accepted (test %d, %s)",
					smtpWhere(o), t.Sender, t.Recipient, t.ID, t.Form)
			}
			if nAccepted <= maxRelayEvidence {
				accepted = append(accepted, smtpPrefixed(o, t.Evidence())...)
			}
		}
	}
	if nAccepted > 0 {
		reason := first
		if nAccepted > 1 {
			reason += fmt.Sprintf("; %d relay attempts accepted in all", nAccepted)
		}
		return smtpVerdict(scoring.Fail, reason, accepted)
	}
	var problems, evidence []string
	tests, services := 0, 0
	for _, o := range obs {
		st := relayOf(o)
		if st.problem != "" {
			problems = append(problems, smtpWhere(o)+": "+st.problem)
			evidence = append(evidence, smtpPrefixed(o, st.evidence)...)
			continue
		}
		services++
		tests += st.refused
		evidence = append(evidence, fmt.Sprintf("%s: all %d relay tests refused", smtpWhere(o), st.refused))
		if st.example != nil {
			evidence = append(evidence, smtpPrefixed(o, st.example.Evidence())...)
		}
	}
	if len(problems) > 0 {
		return smtpVerdict(scoring.Unknown, "relay status not fully seen: "+strings.Join(problems, "; "), evidence)
	}
	return smtpVerdict(scoring.Pass, fmt.Sprintf("every relay attempt refused (%d tests on %d services)", tests, services), evidence)
}

// relayStatus is one observation's relay test, summed up per test.
type relayStatus struct {
	accepted []smtp.RelayTest // accepted attempts
	refused  int              // tests refused (and never accepted)
	// problem says why the relay status cannot be decided from this
	// observation ("" when every test was refused).
	problem  string
	evidence []string        // lines supporting the problem
	example  *smtp.RelayTest // a refused attempt
}

// relayOf sums up the relay test of o. Accepted attempts count whatever
// else happened; a test is refused when one of its attempts was refused
// and none accepted, untested otherwise.
func relayOf(o *smtp.Observation) relayStatus {
	var st relayStatus
	if o == nil {
		st.problem = "no observation"
		return st
	}
	if o.Relay != nil {
		for _, t := range o.Relay.Tests {
			if t.Result == smtp.Accepted {
				st.accepted = append(st.accepted, t)
			}
		}
	}
	if len(st.accepted) > 0 {
		return st
	}
	if p, ev := smtpGreetingProblem(o); p != "" {
		st.problem, st.evidence = p, ev
		return st
	}
	if o.Relay == nil {
		if o.Error != "" {
			st.problem = "relay test not run: " + o.Error
		} else {
			st.problem = "relay test not run"
		}
		return st
	}
	planned := o.Relay.Planned
	if planned < smtp.ClassicTests {
		planned = smtp.ClassicTests
	}
	type agg struct {
		refused *smtp.RelayTest
		why     string
	}
	byID := make(map[int]*agg, planned)
	for i := range o.Relay.Tests {
		t := &o.Relay.Tests[i]
		a := byID[t.ID]
		if a == nil {
			a = &agg{}
			byID[t.ID] = a
		}
		switch t.Result {
		case smtp.Refused:
			if a.refused == nil {
				a.refused = t
			}
		case smtp.Untested:
			a.why = t.Why
		}
	}
	var untested []string
	var untestedEv []string
	for id := 1; id <= planned; id++ {
		a := byID[id]
		switch {
		case a == nil:
			untested = append(untested, fmt.Sprintf("test %d not attempted", id))
		case a.refused != nil:
			st.refused++
			if st.example == nil {
				st.example = a.refused
			}
		default:
			untested = append(untested, fmt.Sprintf("test %d (%s) untested: %s", id, relayFormOf(o, id), a.why))
			if len(untestedEv) == 0 {
				for _, t := range o.Relay.Tests {
					if t.ID == id && (t.MailReply != nil || t.RcptReply != nil) {
						untestedEv = t.Evidence()
					}
				}
			}
		}
	}
	if len(untested) > 0 {
		p := fmt.Sprintf("%d of %d relay tests untested", len(untested), planned)
		if o.Relay.Error != "" {
			p += " (" + o.Relay.Error + ")"
		}
		p += "; first: " + untested[0]
		st.problem, st.evidence = p, untestedEv
	}
	return st
}

// smtpGreetingProblem says why nothing past the greeting can be seen: the
// service unreachable or refusing the scanner.
func smtpGreetingProblem(o *smtp.Observation) (string, []string) {
	g := o.Greeting
	switch {
	case g != nil && g.Code == 554:
		return "greeting refused with 554 — relay status cannot be seen from the scanner's address", smtpGreetingLines(g)
	case g != nil && g.Code != 220 && g.Code != 0:
		return fmt.Sprintf("greeting answered %d (temporary refusal)", g.Code), smtpGreetingLines(g)
	case !o.Reachable:
		if o.Error != "" {
			return "unreachable: " + o.Error, nil
		}
		return "unreachable", nil
	}
	return "", nil
}

func smtpGreetingLines(g *smtp.Reply) []string {
	out := make([]string, 0, len(g.Lines))
	for _, l := range g.Lines {
		out = append(out, "S: "+l)
	}
	return out
}

func relayFormOf(o *smtp.Observation, id int) string {
	for _, t := range o.Relay.Tests {
		if t.ID == id {
			return t.Form
		}
	}
	return "?"
}

// smtpWhere names the service: "192.0.2.1:25 smtp".
func smtpWhere(o *smtp.Observation) string {
	if a, err := netip.ParseAddr(o.Address); err == nil {
		return netip.AddrPortFrom(a, uint16(o.Port)).String() + " " + o.Service
	}
	return o.Address + ":" + strconv.Itoa(o.Port) + " " + o.Service
}

// smtpPrefixed puts the service in front of each evidence line.
func smtpPrefixed(o *smtp.Observation, lines []string) []string {
	w := smtpWhere(o)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = w + " " + l
	}
	return out
}

func smtpVerdict(o scoring.Outcome, reason string, evidence []string) scoring.Verdict {
	return scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: reason, Evidence: evidence}
}
