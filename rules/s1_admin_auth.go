package rules

import (
	"fmt"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// s1StrongMethods are the SSH authentication methods that send no
// reusable secret to the server: public keys (and certificates, which
// use the same method) and Kerberos through GSSAPI.
var s1StrongMethods = map[string]bool{"publickey": true, "gssapi-with-mic": true, "gssapi-keyex": true}

// S1AdminAuth grades administrator authentication from the SSH observations and
// the observations of the telnet, rlogin and rsh ports probed (listed in
// the inventory or standard ports checked for discovery); services are
// the server's planned services, from which the reason names the
// cleartext administration ports that were checked (and says so when
// none was). S1 applies to every server.
//
// It fails if any cleartext administration service answers (a listener
// accepted the connection), if an SSH server announces protocol 1 (1.x
// or 1.99), accepts the "none" method, or allows password or
// keyboard-interactive authentication (unless pol.SSHToleratePasswords),
// or, only under pol.SSHWeakAlgorithmsFail, offers weak algorithms or
// keys (findings of severity fail or warn; otherwise they are listed in
// the reason and evidence). It passes only if every SSH service was
// fully examined and allows only public keys (or GSSAPI) and no
// cleartext service answers. It is unknown when an SSH service could not
// be examined, a listed cleartext port timed out (filtered: it might
// answer others), an SSH server allows a method kensa cannot judge
// (hostbased, …), or no SSH service was observed at all (no
// administration channel observable). A standard cleartext port that
// refuses or times out without being listed counts as not answering.
func S1AdminAuth(sshObs []*observe.SSH, adminObs []*observe.Admin, services []observe.Service, pol Policy) scoring.Verdict {
	var fails, unknowns, notes []string
	var failEv, otherEv []string
	examined := 0

	for _, o := range adminObs {
		if o == nil {
			continue
		}
		w := s1Where(o.Endpoint)
		switch {
		case o.Reachable || o.State == observe.AdminStateAnswered:
			fails = append(fails, w+" answers: a cleartext administration channel")
			failEv = append(failEv, w+" connection accepted")
			if len(o.Negotiation) > 0 {
				failEv = append(failEv, w+" S: IAC "+strings.Join(o.Negotiation, ", IAC "))
			}
			if t := strings.TrimSpace(o.Text); t != "" {
				for _, l := range strings.Split(t, "\n") {
					if l = strings.TrimSpace(l); l != "" {
						failEv = append(failEv, w+" S: "+l)
					}
				}
			}
		case o.State == observe.AdminStateRefused:
			otherEv = append(otherEv, w+" connection refused: not answering")
		case o.Listed:
			why := string(o.State)
			if o.Error != "" {
				why = o.Error
			}
			unknowns = append(unknowns, fmt.Sprintf("%s is listed but could not be checked (%s)", w, why))
			otherEv = append(otherEv, fmt.Sprintf("%s listed, no answer: %s", w, why))
		default:
			otherEv = append(otherEv, fmt.Sprintf("%s standard port, no answer (%s): taken as not reachable", w, s1Or(string(o.State), o.Error)))
		}
	}

	for _, o := range sshObs {
		if o == nil {
			continue
		}
		w := s1Where(o.Endpoint)
		var ev []string
		failed := false
		fail := func(reason string) {
			fails = append(fails, w+" "+reason)
			failed = true
		}
		if o.Ident != nil {
			ev = append(ev, w+" S: "+o.Ident.Line)
		}
		if !o.Reachable || o.Ident == nil {
			unknowns = append(unknowns, fmt.Sprintf("%s not examined (%s)", w, s1Or(o.Error, "no identification line")))
			otherEv = append(otherEv, fmt.Sprintf("%s not examined: %s", w, s1Or(o.Error, "no identification line")))
			continue
		}
		if o.SSH1 {
			fail(fmt.Sprintf("supports SSH protocol 1 (announces %s)", o.Ident.Proto))
		}
		if o.NoneAccepted {
			fail("lets a user in without any credential (method none accepted)")
			ev = append(ev, w+" S: USERAUTH_SUCCESS for method none, user "+observe.FakeUser)
		}
		if o.AuthExamined && !o.NoneAccepted {
			ev = append(ev, fmt.Sprintf("%s S: USERAUTH_FAILURE methods: %s (after none, user %s)", w, strings.Join(o.AuthMethods, ","), observe.FakeUser))
		}
		var secret []string
		for _, m := range []string{"password", "keyboard-interactive"} {
			if o.AllowsMethod(m) {
				secret = append(secret, m)
			}
		}
		if len(secret) > 0 {
			if pol.SSHToleratePasswords {
				notes = append(notes, fmt.Sprintf("%s allows %s (tolerated by policy)", w, strings.Join(secret, " and ")))
			} else {
				fail("allows " + strings.Join(secret, " and ") + " authentication")
			}
		}
		var weak []string
		for _, f := range SSHFindings(o) {
			if f.Weak() {
				weak = append(weak, f.Algorithm)
				ev = append(ev, w+" finding "+f.String())
			}
		}
		if len(weak) > 0 {
			if pol.SSHWeakAlgorithmsFail {
				fail("offers weak algorithms or keys: " + s1List(weak, 6))
			} else {
				notes = append(notes, w+" offers weak algorithms (findings only): "+s1List(weak, 6))
			}
		}
		if failed {
			failEv = append(failEv, ev...)
			continue
		}
		otherEv = append(otherEv, ev...)
		if !o.AuthExamined {
			unknowns = append(unknowns, fmt.Sprintf("%s authentication methods not seen (%s)", w, s1Or(o.Error, "handshake not completed")))
			continue
		}
		var odd []string
		for _, m := range o.AuthMethods {
			if !s1StrongMethods[m] && m != "password" && m != "keyboard-interactive" {
				odd = append(odd, m)
			}
		}
		if len(odd) > 0 {
			unknowns = append(unknowns, fmt.Sprintf("%s allows %s, which kensa cannot judge", w, strings.Join(odd, ", ")))
			continue
		}
		examined++
	}

	switch {
	case len(fails) > 0:
		reason := fails[0]
		if len(fails) > 1 {
			reason += fmt.Sprintf("; and %d more: %s", len(fails)-1, strings.Join(fails[1:], "; "))
		}
		return s1Verdict(scoring.Fail, s1WithNotes(reason, notes), append(failEv, otherEv...))
	case len(unknowns) > 0:
		return s1Verdict(scoring.Unknown, s1WithNotes(strings.Join(unknowns, "; "), notes), otherEv)
	case examined == 0:
		return s1Verdict(scoring.Unknown, "no administration channel observable: no SSH service examined; "+s1Cleartext(services, adminObs), otherEv)
	}
	reason := fmt.Sprintf("SSH allows public-key authentication only (%d service", examined)
	if examined > 1 {
		reason += "s"
	}
	reason += "); " + s1Cleartext(services, adminObs)
	return s1Verdict(scoring.Pass, s1WithNotes(reason, notes), otherEv)
}

// s1AdminServices are the cleartext administration services S1 checks.
var s1AdminServices = []string{"telnet", "rlogin", "rsh"}

// s1Cleartext says which cleartext administration ports were checked
// and found not answering, and which services were not checked at all
// (neither listed nor probed by discovery), without claiming more.
func s1Cleartext(services []observe.Service, adminObs []*observe.Admin) string {
	var checked, unchecked []string
	for _, name := range s1AdminServices {
		var ports []string
		add := func(address string, port int) {
			w := where(name, address, port)
			if !contains(ports, w) {
				ports = append(ports, w)
			}
		}
		for _, sv := range services {
			if sv.Service == name && sv.State != observe.StateNotProbed && sv.State != observe.StateOutOfScope {
				add(sv.Address, sv.Port)
			}
		}
		for _, o := range adminObs {
			if o != nil && o.Service == name {
				add(o.Address, o.Port)
			}
		}
		if len(ports) == 0 {
			unchecked = append(unchecked, name)
			continue
		}
		checked = append(checked, ports...)
	}
	var parts []string
	if len(checked) > 0 {
		parts = append(parts, "no cleartext administration service answers ("+strings.Join(checked, ", ")+" checked)")
	}
	if len(unchecked) > 0 {
		parts = append(parts, strings.Join(unchecked, ", ")+" not checked (neither listed nor probed by discovery)")
	}
	return strings.Join(parts, "; ")
}

func s1Verdict(o scoring.Outcome, reason string, evidence []string) scoring.Verdict {
	return scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: reason, Evidence: evidence}
}

// s1Where names an endpoint as "address:port service".
func s1Where(e observe.Endpoint) string { return where(e.Service, e.Address, e.Port) }

func s1WithNotes(reason string, notes []string) string {
	if len(notes) == 0 {
		return reason
	}
	return reason + " (note: " + strings.Join(notes, "; ") + ")"
}

func s1List(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

func s1Or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
