package rules

import (
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// P1ReceiveAuth grades the authentication of users receiving mail from the
// observations of a server's IMAP (imap, imaps) and POP3 (pop3, pop3s)
// services. It fails if any service gives access without authentication
// (an IMAP PREAUTH greeting, the fake user let in), takes a cleartext
// password for checking before TLS (what a careless client sends: LOGIN,
// USER/PASS, AUTH PLAIN / LOGIN), offers anonymous login, or has no TLS
// at all (no STARTTLS or STLS on a plaintext port) and offers a login
// that sends the password in the clear (POP3 USER, IMAP LOGIN without
// LOGINDISABLED, or a mechanism of cleartextMechanisms).
//
// It passes only when every service was fully checked and refused every
// cleartext password with a recognisable refusal: either it has TLS and
// requires authentication over it, or it has none and offers no login
// that sends a password in the clear (challenge-response mechanisms
// only, or no login at all), so that no password can cross in the clear
// there. It is unknown otherwise, with the reason; an answer the probe
// could not read as a refusal or a check (a bare -ERR, NO or BAD)
// leaves it unknown. Both slices empty means the item does not apply.
// Weak TLS is reported as a finding and fails only with
// pol.TLSWeakFails.
func P1ReceiveAuth(imapObs []*observe.IMAP, pop3Obs []*observe.POP3, pol Policy, asOf time.Time) scoring.Verdict {
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
		out, reason, ev := p1One(s, pol, asOf)
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
	// offerKnown: the logins offered before TLS on a plaintext port were
	// read (not on POP3 without CAPA). cleartextOffered are those of them
	// that send a password (or a bearer token) in the clear, and offer
	// describes them all, for the reason; offerUnknownWhy says why they
	// were not read.
	offerKnown       bool
	cleartextOffered []string
	offer            string
	offerUnknownWhy  string
	tls              *observe.TLS
	anonAdvertised   []string // lines advertising anonymous login
	loginTested      bool
	attempts         []recvAttempt
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

func fromIMAP(o *observe.IMAP) *recvService {
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
	if !o.ImplicitTLS && len(o.Capabilities) > 0 {
		s.offerKnown = true
		var offer []string
		if has(o.Capabilities, "LOGINDISABLED") {
			offer = append(offer, "LOGINDISABLED")
		} else {
			s.cleartextOffered = append(s.cleartextOffered, "LOGIN (no LOGINDISABLED)")
		}
		mechs := observe.IMAPAuthMechanisms(o.Capabilities)
		for _, m := range mechs {
			if cleartextMechanism(m) {
				s.cleartextOffered = append(s.cleartextOffered, "AUTH="+m)
			}
		}
		if len(mechs) == 0 {
			offer = append(offer, "no AUTH= mechanism")
		}
		for _, m := range mechs {
			offer = append(offer, "AUTH="+m)
		}
		s.offer = strings.Join(offer, ", ")
	}
	if has(o.Capabilities, "AUTH=ANONYMOUS") {
		s.anonAdvertised = append(s.anonAdvertised, "S: "+o.CapabilityLine)
	}
	if has(o.CapabilitiesAfterTLS, "AUTH=ANONYMOUS") {
		s.anonAdvertised = append(s.anonAdvertised, "S: "+o.CapabilityLineAfterTLS)
	}
	for _, a := range o.Attempts {
		result, why := string(a.Result), a.Why
		if a.Result == observe.LoginRefused {
			if r, w, ok := observe.RereadIMAPLogin(a.Reply); ok && r != observe.LoginRefused {
				result, why = string(r), w+"; the scan had read it as a refusal"
			}
		}
		s.attempts = append(s.attempts, recvAttempt{method: a.Method, result: result, reply: a.Reply,
			why: why, tls: a.TLS, anonymous: a.Method == "AUTHENTICATE ANONYMOUS"})
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

func fromPOP3(o *observe.POP3) *recvService {
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
		if observe.POP3HasCapa([]string{l}, "STLS") || observe.POP3HasCapa([]string{l}, "USER") || observe.POP3HasCapa([]string{l}, "SASL") {
			s.capLines = append(s.capLines, "S: "+l)
		}
	}
	if o.CapaError != "" {
		s.capLines = append(s.capLines, "S: "+o.CapaError)
	}
	if !o.ImplicitTLS {
		switch {
		case len(o.Capa) > 0:
			s.offerKnown = true
			var offer []string
			if observe.POP3HasCapa(o.Capa, "USER") {
				s.cleartextOffered = append(s.cleartextOffered, "USER")
			} else {
				offer = append(offer, "no USER")
			}
			mechs := observe.POP3Mechanisms(o.Capa)
			for _, m := range mechs {
				if cleartextMechanism(m) {
					s.cleartextOffered = append(s.cleartextOffered, "SASL "+m)
				}
			}
			if len(mechs) == 0 {
				offer = append(offer, "no SASL mechanism")
			} else {
				offer = append(offer, "SASL "+strings.Join(mechs, " "))
			}
			if o.APOPTimestamp != "" {
				offer = append(offer, "APOP")
			}
			s.offer = strings.Join(offer, ", ")
			if len(s.capLines) == 0 {
				// No line names a login: the whole list shows it.
				for _, l := range o.Capa {
					s.capLines = append(s.capLines, "S: "+l)
				}
			}
		case o.CapaError != "":
			s.offerUnknownWhy = "no CAPA (" + o.CapaError + ")"
		}
	}
	s.startTLSOffered = !o.ImplicitTLS && observe.POP3HasCapa(o.Capa, "STLS")
	if o.STLS != nil {
		s.startTLSResult = o.STLS.Result
		s.startTLSWhy = strings.TrimSpace(o.STLS.Reply + " " + o.STLS.Error)
	}
	for _, capa := range [][]string{o.Capa, o.CapaAfterTLS} {
		for _, m := range observe.POP3Mechanisms(capa) {
			if m == "ANONYMOUS" {
				for _, l := range capa {
					if observe.POP3HasCapa([]string{l}, "SASL") {
						s.anonAdvertised = append(s.anonAdvertised, "S: "+l)
					}
				}
			}
		}
	}
	for _, a := range o.Attempts {
		result, why := string(a.Result), a.Why
		if a.Result == observe.LoginRefused {
			if r, w, ok := observe.RereadPOP3Login(a.Reply, a.Step); ok && r != observe.LoginRefused {
				result, why = string(r), w+"; the scan had read it as a refusal"
			}
		}
		s.attempts = append(s.attempts, recvAttempt{method: a.Method, result: result, reply: a.Reply,
			why: why, tls: a.TLS, anonymous: a.Method == "AUTH ANONYMOUS"})
	}
	s.requiredTLS = "USER/PASS"
	if !o.ImplicitTLS {
		s.required = []string{"USER/PASS", "AUTH PLAIN"}
		for _, m := range observe.POP3Mechanisms(o.Capa) {
			if m == "LOGIN" {
				s.required = append(s.required, "AUTH LOGIN")
			}
		}
	}
	return s
}

// cleartextMechanisms are the SASL mechanisms that send the password (or
// a bearer token, as good as one to whoever reads it) as it is; the
// challenge-response ones (CRAM-MD5, DIGEST-MD5, SCRAM-*, NTLM, GSSAPI)
// and EXTERNAL do not.
var cleartextMechanisms = []string{"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"}

func cleartextMechanism(m string) bool {
	for _, c := range cleartextMechanisms {
		if strings.EqualFold(m, c) {
			return true
		}
	}
	return false
}

// noTLS reports whether the service has no TLS at all: a plaintext port
// without STARTTLS or STLS.
func (s *recvService) noTLS() bool { return !s.implicitTLS && !s.startTLSOffered }

// p1One grades one receive service.
func p1One(s *recvService, pol Policy, asOf time.Time) (scoring.Outcome, string, []string) {
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
		if a.result == string(observe.LoginLoggedIn) {
			if a.anonymous {
				return scoring.Fail, "anonymous login accepted (" + a.method + ")", ev(exchanges[i]...)
			}
			return scoring.Fail, "the fake user " + observe.FakeUser + " logged in with a random password (" + a.method + ")", ev(exchanges[i]...)
		}
	}
	for i, a := range s.attempts {
		if !a.tls && !a.anonymous && a.result == string(observe.LoginChecked) {
			when := "before TLS"
			if s.noTLS() {
				when = "and has no TLS"
			}
			return scoring.Fail, "accepts a cleartext password " + when + ": " + a.method + " answered " + quote(a.reply) + " (" + a.why + ")", ev(exchanges[i]...)
		}
	}
	if len(s.anonAdvertised) > 0 {
		return scoring.Fail, "offers anonymous login", ev(s.anonAdvertised...)
	}
	if s.capsSeen && s.noTLS() && len(s.cleartextOffered) > 0 {
		// Whatever the fake user was answered, a real user's client
		// sends its password the way the server offers, and there is no
		// TLS to protect it.
		return scoring.Fail, "no TLS (no STARTTLS or STLS) and offers " + strings.Join(s.cleartextOffered, ", ") +
			": a user's password crosses in the clear", ev(s.greetingAndCaps()...)
	}
	weak := ""
	if w := TLSWeaknesses(s.tls, asOf); len(w) > 0 {
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
		if a.result == string(observe.LoginUnclear) {
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
	if s.noTLS() && !s.offerKnown {
		why := "which logins it offers is not known"
		if s.offerUnknownWhy != "" {
			why = s.offerUnknownWhy + ": " + why
		}
		return scoring.Unknown, "no TLS, and " + why, ev("S: " + s.greeting)
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

	lines := ev(s.greetingAndCaps()...)
	var refused []string
	for i, a := range s.attempts {
		if !a.anonymous {
			lines = append(lines, ev(exchanges[i]...)...)
			if !a.tls {
				refused = append(refused, a.method)
			}
		}
	}
	var reason string
	switch {
	case s.implicitTLS:
		reason = "TLS from the first byte, authentication required, no anonymous login"
	case s.noTLS():
		reason = "no TLS, and no login that sends a password in the clear is offered (" + s.offer +
			"): no password can cross in the clear; cleartext attempts refused (" + strings.Join(refused, ", ") +
			"), no anonymous login"
	default:
		reason = "cleartext passwords refused before TLS (" + strings.Join(refused, ", ") +
			"), authentication required, no anonymous login"
	}
	if weak != "" {
		reason += "; finding: " + weak
		lines = append(lines, ev(tlsEvidence(s.tls))...)
	}
	return scoring.Pass, reason, lines
}

// greetingAndCaps returns the greeting and the capability lines that
// show how the service offers logins, the greeting once when it
// announced the capabilities.
func (s *recvService) greetingAndCaps() []string {
	lines := []string{"S: " + s.greeting}
	if len(s.capLines) > 0 && s.capLines[0] != "S: "+s.greeting {
		lines = append(lines, s.capLines...)
	}
	return lines
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
