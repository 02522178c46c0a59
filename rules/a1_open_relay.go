package rules

import (
	"fmt"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// maxRelayEvidence bounds the accepted attempts shown as evidence.
const maxRelayEvidence = 5

// A1OpenRelay grades open-relay prevention from the SMTP observations of a
// server's smtp, submission and smtps services. It fails if any relay
// attempt was accepted on any service, with the exact commands and reply
// as evidence; it passes only if every test was tested and refused on
// every service; otherwise it is unknown, with the reason (greeting
// refused with 554, temporary answers, the recipient's domain refused,
// the scanner's address refused, unreachable, untested forms). Each
// attempt is judged on its own replies (observe.RelayTest.Outcome), so that
// verdicts re-derived from stored observations judge by the rules of
// today. An empty slice means the item does not apply.
//
// One refusal is judged per service: on a submission service that offers
// AUTH after STARTTLS, or an smtps service that offers it inside TLS, a
// permanent "Client host rejected: Access denied" to MAIL or RCPT is
// Postfix's standard submission configuration (smtpd_client_restrictions
// = permit_sasl_authenticated, reject): no unauthenticated client
// relays, and every test of the service counts as refused — the reason
// says that a server singling out the scanner's address could not be
// told apart. On smtp, or as a 4xx, or for a blocklist or a hostname
// check, such a refusal only says that the scanner is refused.
func A1OpenRelay(obs []*observe.SMTP, pol Policy) scoring.Verdict {
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
	var problems, evidence, notes []string
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
		if st.note != "" {
			notes = append(notes, smtpWhere(o)+" "+st.note)
		}
	}
	if len(problems) > 0 {
		return smtpVerdict(scoring.Unknown, "relay status not fully seen: "+strings.Join(problems, "; "), evidence)
	}
	reason := fmt.Sprintf("every relay attempt refused (%d tests on %d services)", tests, services)
	if len(notes) > 0 {
		reason += "; " + strings.Join(notes, "; ")
	}
	return smtpVerdict(scoring.Pass, reason, evidence)
}

// relayStatus is one observation's relay test, summed up per test.
type relayStatus struct {
	accepted []observe.RelayTest // accepted attempts
	refused  int                 // tests refused (and never accepted)
	// problem says why the relay status cannot be decided from this
	// observation ("" when every test was refused).
	problem  string
	evidence []string           // lines supporting the problem
	example  *observe.RelayTest // a refused attempt
	// note qualifies the refusal: set when the tests count as refused
	// because the service refuses every unauthenticated client.
	note string
}

// relayOf sums up the relay test of o. Every attempt is judged on its
// own replies. Accepted attempts count whatever else happened; a test is
// refused when one of its attempts was refused and none accepted,
// untested otherwise — except that on a service refusing every
// unauthenticated client (see A1) every test is refused.
func relayOf(o *observe.SMTP) relayStatus {
	var st relayStatus
	if o == nil {
		st.problem = "no observation"
		return st
	}
	type judged struct {
		t      *observe.RelayTest
		result observe.RelayOutcome
		kind   observe.ReplyKind
		why    string
	}
	var attempts []judged
	if o.Relay != nil {
		for i := range o.Relay.Tests {
			t := &o.Relay.Tests[i]
			r, k, why := t.Outcome(o.Relay.Domain)
			attempts = append(attempts, judged{t, r, k, why})
			if r == observe.RelayAccepted {
				st.accepted = append(st.accepted, *t)
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
	if planned < observe.ClassicRelayTests {
		planned = observe.ClassicRelayTests
	}
	// A service that refuses every unauthenticated client.
	var denial *observe.RelayTest
	if authOffered(o) {
		for _, a := range attempts {
			if a.kind == observe.ReplyClient && (a.t.DecidingReply()).ClientAccessDenied() {
				denial = a.t
				break
			}
		}
	}
	type agg struct {
		refused *observe.RelayTest
		why     string
		kind    observe.ReplyKind
	}
	byID := make(map[int]*agg, planned)
	for _, a := range attempts {
		g := byID[a.t.ID]
		if g == nil {
			g = &agg{}
			byID[a.t.ID] = g
		}
		switch a.result {
		case observe.RelayRefused:
			if g.refused == nil {
				g.refused = a.t
			}
		case observe.RelayUntested:
			g.why, g.kind = a.why, a.kind
		}
	}
	var untested []string
	var untestedEv []string
	kinds := map[observe.ReplyKind]bool{}
	for id := 1; id <= planned; id++ {
		g := byID[id]
		switch {
		case g != nil && g.refused != nil:
			st.refused++
			if st.example == nil {
				st.example = g.refused
			}
		case denial != nil:
			st.refused++
		case g == nil:
			untested = append(untested, fmt.Sprintf("test %d not attempted", id))
		default:
			kinds[g.kind] = true
			untested = append(untested, fmt.Sprintf("test %d (%s) untested: %s", id, relayFormOf(o, id), g.why))
			if len(untestedEv) == 0 {
				for _, t := range o.Relay.Tests {
					if t.ID == id && (t.MailReply != nil || t.RcptReply != nil) {
						untestedEv = t.Evidence()
					}
				}
			}
		}
	}
	if denial != nil && len(untested) == 0 {
		if st.example == nil {
			st.example = denial
		}
		st.note = "refuses every unauthenticated client (" + denial.DecidingReply().String() +
			"), as the standard submission configuration does: relay refused (a server singling out the scanner's address could not be told apart)"
	}
	if len(untested) > 0 {
		p := fmt.Sprintf("%d of %d relay tests untested", len(untested), planned)
		if o.Relay.Error != "" {
			p += " (" + o.Relay.Error + ")"
		}
		p += "; first: " + untested[0]
		p += relayHint(o.Relay.Domain, kinds)
		st.problem, st.evidence = p, untestedEv
	}
	return st
}

// relayHint tells what the office can do when tests stayed untested
// because of the test's own names: the relay-test domain, which the
// server does not resolve (kensa's default is a reserved name, which
// resolves nowhere), or the scanner's EHLO name.
func relayHint(domain string, kinds map[observe.ReplyKind]bool) string {
	var h []string
	if kinds[observe.ReplyNoDomain] || kinds[observe.ReplyUnknownUser] {
		h = append(h, fmt.Sprintf("the server checks the recipient's domain or mailbox before relaying, and the relay-test domain %s has none for it: "+
			"scan with --relay-domain set to a domain the office controls that has an MX, and --helo set to the scanner's own DNS name", domain))
	}
	if kinds[observe.ReplyHelo] {
		h = append(h, "the server refuses the scanner's EHLO name: scan with --helo set to the scanner's own DNS name")
	}
	if len(h) == 0 {
		return ""
	}
	return " — " + strings.Join(h, "; ")
}

// authOffered reports whether the service offers AUTH where X1 wants
// it: inside TLS, after STARTTLS on submission, from the start on smtps.
func authOffered(o *observe.SMTP) bool {
	switch o.Service {
	case "submission":
		h := o.HelloTLS
		return !o.ImplicitTLS && o.StartTLS != nil && o.StartTLS.OK && h != nil && h.TLS && h.OK() && h.Auth
	case "smtps":
		h := o.Hello
		return o.ImplicitTLS && h != nil && h.TLS && h.OK() && h.Auth
	}
	return false
}

// smtpGreetingProblem says why nothing past the greeting can be seen: the
// service unreachable or refusing the scanner.
func smtpGreetingProblem(o *observe.SMTP) (string, []string) {
	g := o.Greeting
	switch {
	case g != nil && g.Code == 554:
		return "greeting refused with 554 — relay status cannot be seen from the scanner's address", smtpGreetingLines(g)
	case g != nil && g.Class() == 4:
		return fmt.Sprintf("greeting answered %d (temporary refusal)", g.Code), smtpGreetingLines(g)
	case g != nil && g.Code != 220 && g.Code != 0:
		return fmt.Sprintf("greeting refused with %d — relay status cannot be seen from the scanner's address", g.Code), smtpGreetingLines(g)
	case !o.Reachable:
		if o.Error != "" {
			return "unreachable: " + o.Error, nil
		}
		return "unreachable", nil
	}
	return "", nil
}

func smtpGreetingLines(g *observe.SMTPReply) []string {
	out := make([]string, 0, len(g.Lines))
	for _, l := range g.Lines {
		out = append(out, "S: "+l)
	}
	return out
}

func relayFormOf(o *observe.SMTP, id int) string {
	for _, t := range o.Relay.Tests {
		if t.ID == id {
			return t.Form
		}
	}
	return "?"
}

// smtpWhere names the service: "192.0.2.1:25 smtp".
func smtpWhere(o *observe.SMTP) string { return where(o.Service, o.Address, o.Port) }

// smtpPrefixed puts the service in front of each evidence line.
func smtpPrefixed(o *observe.SMTP, lines []string) []string {
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
