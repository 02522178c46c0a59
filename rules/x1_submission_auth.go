package rules

import (
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// X1SubmissionAuth grades sender authentication on submission (a supplementary item)
// from the observations of a server's submission and smtps services.
// Every one must offer AUTH — on submission only after STARTTLS, and
// only EHLO keywords count — and refuse unauthenticated relay. It fails
// if any service does not; it is unknown when one could not be fully
// seen (unreachable, TLS failed, relay untested); an empty slice means
// the item does not apply. With pol.TLSWeakFails, weak TLS (obsolete
// protocol, insecure cipher, expired certificate, small key) fails too.
func X1SubmissionAuth(obs []*observe.SMTP, pol Policy, asOf time.Time) scoring.Verdict {
	if len(obs) == 0 {
		return smtpVerdict(scoring.NA, "no submission or smtps service", nil)
	}
	var fails, unknowns, passes []string
	var failEv, unknownEv, passEv []string
	for _, o := range obs {
		out, reason, ev := x1One(o, pol, asOf)
		line := smtpWhere(o) + ": " + reason
		switch out {
		case scoring.Fail:
			fails = append(fails, line)
			failEv = append(failEv, ev...)
		case scoring.Unknown:
			unknowns = append(unknowns, line)
			unknownEv = append(unknownEv, ev...)
		default:
			passes = append(passes, line)
			passEv = append(passEv, ev...)
		}
	}
	switch {
	case len(fails) > 0:
		return smtpVerdict(scoring.Fail, strings.Join(fails, "; "), failEv)
	case len(unknowns) > 0:
		return smtpVerdict(scoring.Unknown, strings.Join(unknowns, "; "), unknownEv)
	}
	return smtpVerdict(scoring.Pass, strings.Join(passes, "; "), passEv)
}

// x1One grades one submission or smtps service.
func x1One(o *observe.SMTP, pol Policy, asOf time.Time) (scoring.Outcome, string, []string) {
	if o == nil {
		return scoring.Unknown, "no observation", nil
	}
	relay := relayOf(o)
	if len(relay.accepted) > 0 {
		t := relay.accepted[0]
		return scoring.Fail, "accepts relay from an unauthenticated client (" + t.Form + ")", smtpPrefixed(o, t.Evidence())
	}
	if p, ev := smtpGreetingProblem(o); p != "" {
		return scoring.Unknown, p, smtpPrefixed(o, ev)
	}
	h := o.Hello
	if h == nil || h.Reply == nil {
		if o.ImplicitTLS && o.TLS != nil && o.TLS.Error != "" {
			return scoring.Unknown, "TLS failed, AUTH not seen: " + o.TLS.Error, nil
		}
		return scoring.Unknown, "introduction not answered: " + o.Error, nil
	}
	if w := TLSWeaknesses(o.TLS, asOf); pol.TLSWeakFails && len(w) > 0 {
		return scoring.Fail, "weak TLS: " + strings.Join(w, ", "), smtpPrefixed(o, []string{tlsEvidence(o.TLS)})
	}
	var authEv []string
	if o.ImplicitTLS {
		if out, why, ev := x1Hello(o, h, "over implicit TLS"); out != "" {
			return out, why, ev
		}
		authEv = smtpPrefixed(o, authLines(h.Reply))
	} else {
		if !h.OK() || h.Command != "EHLO" {
			return x1Hello(o, h, "before STARTTLS")
		}
		if h.Auth {
			return scoring.Fail, "AUTH offered before STARTTLS", smtpPrefixed(o, authLines(h.Reply))
		}
		if !h.StartTLS {
			return scoring.Fail, "no STARTTLS offered, so no AUTH inside TLS", smtpPrefixed(o, replyLines(h.Reply))
		}
		if o.StartTLS == nil || !o.StartTLS.OK {
			why := "STARTTLS did not complete"
			if o.StartTLS != nil && o.StartTLS.Error != "" {
				why += ": " + o.StartTLS.Error
			}
			if o.TLS != nil && o.TLS.Error != "" {
				why += " (" + o.TLS.Error + ")"
			}
			return scoring.Unknown, why + "; AUTH after STARTTLS not seen", nil
		}
		ht := o.HelloTLS
		if ht == nil || ht.Reply == nil {
			return scoring.Unknown, "EHLO after STARTTLS not answered; AUTH not seen", nil
		}
		if out, why, ev := x1Hello(o, ht, "after STARTTLS"); out != "" {
			return out, why, ev
		}
		authEv = smtpPrefixed(o, authLines(ht.Reply))
	}
	if relay.problem != "" {
		return scoring.Unknown, "AUTH offered, but unauthenticated relay not fully tested: " + relay.problem, smtpPrefixed(o, relay.evidence)
	}
	reason := "AUTH offered"
	if !o.ImplicitTLS {
		reason += " only after STARTTLS"
	}
	reason += ", unauthenticated relay refused"
	if relay.note != "" {
		reason += ": the service " + relay.note
	}
	return scoring.Pass, reason, authEv
}

// x1Hello checks that an EHLO reply offers AUTH; it returns an empty
// outcome when it does.
func x1Hello(o *observe.SMTP, h *observe.SMTPHello, when string) (scoring.Outcome, string, []string) {
	if !h.OK() || h.Command != "EHLO" {
		r := h.Reply
		if h.EHLOReply != nil {
			r = h.EHLOReply
		}
		if r != nil && r.Class() == 5 {
			return scoring.Fail, "EHLO refused " + when + ", so no AUTH", smtpPrefixed(o, replyLines(r))
		}
		return scoring.Unknown, "EHLO not answered " + when, smtpPrefixed(o, replyLines(r))
	}
	if !h.Auth {
		return scoring.Fail, "no AUTH offered " + when, smtpPrefixed(o, replyLines(h.Reply))
	}
	return "", "", nil
}

func replyLines(r *observe.SMTPReply) []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		out = append(out, "S: "+l)
	}
	return out
}

// authLines returns the AUTH keyword lines of an EHLO reply.
func authLines(r *observe.SMTPReply) []string {
	var out []string
	for i, l := range r.Lines {
		if i == 0 {
			continue
		}
		if len(l) > 4 && strings.HasPrefix(strings.ToUpper(l[4:]), "AUTH") {
			out = append(out, "S: "+l)
		}
	}
	return out
}
