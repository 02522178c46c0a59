package rules

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/pop3"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/scoring"
)

// P1 grades the authentication of users receiving mail from the
// observations of a server's IMAP (imap, imaps) and POP3 (pop3, pop3s)
// services. It fails if any service gives access without authentication
// (an IMAP PREAUTH greeting, the fake user let in), takes a cleartext
// password for checking before TLS (what a careless client sends: LOGIN,
// USER/PASS, AUTH PLAIN / LOGIN), or offers anonymous login; it passes
// only when every service was fully checked, requires authentication and
// refuses cleartext passwords; it is unknown otherwise, with the reason.
// Both slices empty means the item does not apply. Weak TLS is reported
// as a finding and fails only with pol.TLSWeakFails.
func P1(imapObs []*imap.Observation, pop3Obs []*pop3.Observation, pol Policy) scoring.Verdict {
	var all []*recvService
	for _, o := range imapObs {
		all = append(all, fromIMAP(o))
	}
	for _, o := range pop3Obs {
		all = append(all, fromPOP3(o))
	}
	if len(all) == 0 {
		return p1Verdict(scoring.NA, "no imap, imaps, pop3 or pop3s service", nil)
	}
	var reasons = map[scoring.Outcome][]string{}
	var evidence = map[scoring.Outcome][]string{}
	for _, s := range all {
		out, reason, ev := p1One(s, pol)
		reasons[out] = append(reasons[out], s.where+": "+reason)
		evidence[out] = append(evidence[out], ev...)
	}
	for _, out := range []scoring.Outcome{scoring.Fail, scoring.Unknown, scoring.Pass} {
		if len(reasons[out]) > 0 {
			return p1Verdict(out, strings.Join(reasons[out], "; "), evidence[out])
		}
	}
	return p1Verdict(scoring.Unknown, "no observation", nil)
}

func p1Verdict(o scoring.Outcome, reason string, evidence []string) scoring.Verdict {
	return scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: reason, Evidence: evidence}
}

// recvService is what P1 needs of an IMAP or POP3 observation.
type recvService struct {
	missing     bool // nil observation
	where       string
	implicitTLS bool
	reachable   bool
	err         string
	greeting    string
	preauth     bool
	// capsSeen: the first connection's capabilities were read (or the
	// server said it has none, POP3 without CAPA).
	capsSeen bool
	capLines []string
	// startTLSOffered, and its outcome.
	startTLSOffered bool
	startTLSResult  string
	startTLSWhy     string
	tls             *wire.TLSInfo
	anonAdvertised  []string // lines advertising anonymous login
	loginTested     bool
	attempts        []recvAttempt
	// required are the methods that must have been tried before TLS for
	// the check to be complete; requiredTLS the fake login that must have
	// been tried over TLS, when there was TLS.
	required    []string
	requiredTLS string
	transcript  []string
}

type recvAttempt struct {
	method, result, reply, why string
	tls, anonymous             bool
}

func where(service, address string, port int) string {
	if a, err := netip.ParseAddr(address); err == nil {
		return netip.AddrPortFrom(a, uint16(port)).String() + " " + service
	}
	return address + ":" + strconv.Itoa(port) + " " + service
}

func fromIMAP(o *imap.Observation) *recvService {
	if o == nil {
		return &recvService{missing: true, where: "imap"}
	}
	s := &recvService{
		where:       where(o.Service, o.Address, o.Port),
		implicitTLS: o.ImplicitTLS,
		reachable:   o.Reachable,
		err:         o.Error,
		greeting:    o.Greeting,
		preauth:     o.PreAuth,
		capsSeen:    len(o.Capabilities) > 0,
		tls:         o.TLS,
		loginTested: o.LoginTested,
		transcript:  o.Transcript,
	}
	if o.CapabilityLine != "" {
		s.capLines = []string{"S: " + o.CapabilityLine}
	}
	has := func(caps []string, name string) bool {
		for _, c := range caps {
			if strings.EqualFold(c, name) {
				return true
			}
		}
		return false
	}
	s.startTLSOffered = !o.ImplicitTLS && has(o.Capabilities, "STARTTLS")
	if o.StartTLS != nil {
		s.startTLSResult = o.StartTLS.Result
		s.startTLSWhy = strings.TrimSpace(o.StartTLS.Reply + " " + o.StartTLS.Error)
	}
	if has(o.Capabilities, "AUTH=ANONYMOUS") {
		s.anonAdvertised = append(s.anonAdvertised, "S: "+o.CapabilityLine)
	}
	if has(o.CapabilitiesAfterTLS, "AUTH=ANONYMOUS") {
		s.anonAdvertised = append(s.anonAdvertised, "S: "+o.CapabilityLineAfterTLS)
	}
	for _, a := range o.Attempts {
		s.attempts = append(s.attempts, recvAttempt{method: a.Method, result: string(a.Result), reply: a.Reply,
			why: a.Why, tls: a.TLS, anonymous: a.Method == "AUTHENTICATE ANONYMOUS"})
	}
	s.requiredTLS = "LOGIN"
	if !o.ImplicitTLS {
		s.required = []string{"LOGIN", "AUTHENTICATE PLAIN"}
		if has(o.Capabilities, "AUTH=LOGIN") {
			s.required = append(s.required, "AUTHENTICATE LOGIN")
		}
	}
	return s
}

func fromPOP3(o *pop3.Observation) *recvService {
	if o == nil {
		return &recvService{missing: true, where: "pop3"}
	}
	s := &recvService{
		where:       where(o.Service, o.Address, o.Port),
		implicitTLS: o.ImplicitTLS,
		reachable:   o.Reachable,
		err:         o.Error,
		greeting:    o.Greeting,
		capsSeen:    len(o.Capa) > 0 || o.CapaError != "",
		tls:         o.TLS,
		loginTested: o.LoginTested,
		transcript:  o.Transcript,
	}
	for _, l := range o.Capa {
		if pop3.HasCapa([]string{l}, "STLS") || pop3.HasCapa([]string{l}, "USER") || pop3.HasCapa([]string{l}, "SASL") {
			s.capLines = append(s.capLines, "S: "+l)
		}
	}
	if o.CapaError != "" {
		s.capLines = append(s.capLines, "S: "+o.CapaError)
	}
	s.startTLSOffered = !o.ImplicitTLS && pop3.HasCapa(o.Capa, "STLS")
	if o.STLS != nil {
		s.startTLSResult = o.STLS.Result
		s.startTLSWhy = strings.TrimSpace(o.STLS.Reply + " " + o.STLS.Error)
	}
	for _, capa := range [][]string{o.Capa, o.CapaAfterTLS} {
		for _, m := range pop3.Mechanisms(capa) {
			if m == "ANONYMOUS" {
				for _, l := range capa {
					if pop3.HasCapa([]string{l}, "SASL") {
						s.anonAdvertised = append(s.anonAdvertised, "S: "+l)
					}
				}
			}
		}
	}
	for _, a := range o.Attempts {
		s.attempts = append(s.attempts, recvAttempt{method: a.Method, result: string(a.Result), reply: a.Reply,
			why: a.Why, tls: a.TLS, anonymous: a.Method == "AUTH ANONYMOUS"})
	}
	s.requiredTLS = "USER/PASS"
	if !o.ImplicitTLS {
		s.required = []string{"USER/PASS", "AUTH PLAIN"}
		for _, m := range pop3.Mechanisms(o.Capa) {
			if m == "LOGIN" {
				s.required = append(s.required, "AUTH LOGIN")
			}
		}
	}
	return s
}

// p1One grades one receive service.
func p1One(s *recvService, pol Policy) (scoring.Outcome, string, []string) {
	if s.missing {
		return scoring.Unknown, "no observation", nil
	}
	ev := func(lines ...string) []string {
		out := make([]string, 0, len(lines))
		for _, l := range lines {
			if l != "" {
				out = append(out, s.where+" "+l)
			}
		}
		return out
	}
	exchanges := s.exchanges()

	// Failures are decided on what was seen, even if the probe could
	// not finish.
	if s.preauth {
		return scoring.Fail, "PREAUTH greeting: mailbox access without authentication", ev("S: " + s.greeting)
	}
	for i, a := range s.attempts {
		if a.result == string(imap.LoggedIn) {
			if a.anonymous {
				return scoring.Fail, "anonymous login accepted (" + a.method + ")", ev(exchanges[i]...)
			}
			return scoring.Fail, "the fake user " + imap.FakeUser + " logged in with a random password (" + a.method + ")", ev(exchanges[i]...)
		}
	}
	for i, a := range s.attempts {
		if !a.tls && !a.anonymous && a.result == string(imap.Checked) {
			return scoring.Fail, "accepts a cleartext password before TLS: " + a.method + " answered " + quote(a.reply) + " (" + a.why + ")", ev(exchanges[i]...)
		}
	}
	if len(s.anonAdvertised) > 0 {
		return scoring.Fail, "offers anonymous login", ev(s.anonAdvertised...)
	}
	weak := ""
	if w := TLSWeaknesses(s.tls, pol.AsOf()); len(w) > 0 {
		weak = "weak TLS: " + strings.Join(w, ", ")
		if pol.TLSWeakFails {
			return scoring.Fail, weak, ev(tlsEvidence(s.tls))
		}
	}

	// Then whether everything was seen.
	if s.err != "" {
		return scoring.Unknown, "not fully checked: " + s.err, nil
	}
	if !s.reachable || s.greeting == "" {
		return scoring.Unknown, "no greeting seen", nil
	}
	if !s.capsSeen {
		return scoring.Unknown, "capabilities not seen", ev("S: " + s.greeting)
	}
	if !s.loginTested {
		return scoring.Unknown, "login attempts not made: cleartext password handling not verified", ev("S: " + s.greeting)
	}
	tried, triedTLS := map[string]bool{}, map[string]bool{}
	for i, a := range s.attempts {
		if a.result == string(imap.Unclear) {
			return scoring.Unknown, a.method + " answer unclear (" + a.why + ")", ev(exchanges[i]...)
		}
		if a.tls {
			triedTLS[a.method] = true
		} else {
			tried[a.method] = true
		}
	}
	for _, m := range s.required {
		if !tried[m] {
			return scoring.Unknown, m + " not tried before TLS", nil
		}
	}
	if s.startTLSOffered && s.startTLSResult != "ok" {
		why := "STARTTLS advertised but not completed"
		if s.startTLSWhy != "" {
			why += ": " + s.startTLSWhy
		}
		return scoring.Unknown, why + "; the service after TLS not seen", nil
	}
	if (s.implicitTLS || s.startTLSOffered) && !triedTLS[s.requiredTLS] {
		return scoring.Unknown, "no login tried over TLS: whether authentication is required there is not verified", nil
	}

	lines := ev("S: " + s.greeting)
	if len(s.capLines) > 0 && s.capLines[0] != "S: "+s.greeting {
		lines = append(lines, ev(s.capLines...)...)
	}
	var refused []string
	for i, a := range s.attempts {
		if !a.anonymous {
			lines = append(lines, ev(exchanges[i]...)...)
			if !a.tls {
				refused = append(refused, a.method)
			}
		}
	}
	reason := "TLS from the first byte"
	if !s.implicitTLS {
		reason = "cleartext passwords refused before TLS (" + strings.Join(refused, ", ") + ")"
	}
	reason += ", authentication required, no anonymous login"
	if weak != "" {
		reason += "; finding: " + weak
		lines = append(lines, ev(tlsEvidence(s.tls))...)
	}
	return scoring.Pass, reason, lines
}

func quote(s string) string { return strconv.Quote(s) }

// exchanges returns, for each attempt, its lines in the transcript: from
// the command that began it to the final reply, found in order. Where the
// transcript does not have them, the reply alone.
func (s *recvService) exchanges() [][]string {
	out := make([][]string, len(s.attempts))
	cursor := 0
	for i, a := range s.attempts {
		if a.reply == "" {
			continue
		}
		out[i] = []string{"S: " + a.reply}
		verb, _, _ := strings.Cut(a.method, " ")
		verb, _, _ = strings.Cut(verb, "/")
		target := "S: " + a.reply
		for j := cursor; j < len(s.transcript); j++ {
			if s.transcript[j] != target {
				continue
			}
			for k := j - 1; k >= cursor && j-k <= 8; k-- {
				if startsCommand(s.transcript[k], verb) {
					out[i] = append([]string(nil), s.transcript[k:j+1]...)
					break
				}
			}
			cursor = j + 1
			break
		}
	}
	return out
}

// startsCommand reports whether a transcript line is the probe sending
// verb, with an IMAP tag or without (POP3).
func startsCommand(line, verb string) bool {
	rest, ok := strings.CutPrefix(line, "C: ")
	if !ok {
		return false
	}
	f := strings.Fields(rest)
	return len(f) > 0 && strings.EqualFold(f[0], verb) || len(f) > 1 && strings.EqualFold(f[1], verb)
}
