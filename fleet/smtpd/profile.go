// Package smtpd is the SMTP part of the simulated fleet: SMTP servers on
// loopback, built on go-smtp's server, that behave as named profiles
// (closed, open relay, relaying only for a local-looking sender or a
// classic address trick, authentication required, Postfix's 454
// relay-denied, greylisting, a 554 greeting, silent, a slow greeting,
// hostile ones, and submission services with and without AUTH before
// STARTTLS), with per-reply latency, a configurable banner, TLS with a
// shared self-signed certificate, and a greeting timestamp from a clock
// that can be set off.
//
// Truth gives each profile's expected verdicts of items A1 and X1 from
// the profile's own semantics, never from package rules, so that a test
// comparing a scan with the truth can fail.
package smtpd

import (
	"fmt"
	"sort"

	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a behaviour of a simulated SMTP server.
type Profile string

// Profiles.
const (
	// Closed refuses to relay: 554 5.7.1 Relay access denied to every
	// recipient outside its own domain (and 501 to the forms go-smtp
	// cannot parse).
	Closed Profile = "closed"
	// OpenRelay accepts every recipient.
	OpenRelay Profile = "open-relay"
	// LocalSender relays when the sender's domain is the server's own
	// mail domain (the parent of its host name), as a server that trusts
	// a local-looking sender does; otherwise it behaves as Closed.
	LocalSender Profile = "local-sender"
	// AddressTrick relays a recipient whose quoted local part routes to
	// another domain ("relaytest@D", "relaytest%D"@host), as old
	// servers that strip quotes after the relay check did. go-smtp
	// strips quotes before its backend sees an address, so this is
	// done on the raw command lines. Otherwise Closed.
	AddressTrick Profile = "address-trick"
	// AuthRequired offers AUTH and answers MAIL with 530 5.7.0
	// Authentication required.
	AuthRequired Profile = "auth-required"
	// RelayDenied454 answers relay recipients with Postfix's default
	// defer_unauth_destination reply, 454 4.7.1 Relay access denied.
	RelayDenied454 Profile = "relay-denied-454"
	// Greylist answers every recipient 450 4.2.0 (greylisted).
	Greylist Profile = "greylist"
	// Greeting554 greets with 554: no service for the client.
	Greeting554 Profile = "greeting-554"
	// Silent accepts the connection and says nothing.
	Silent Profile = "silent"
	// SlowGreeting greets only after Config.GreetingDelay (a tarpit),
	// then behaves as Closed.
	SlowGreeting Profile = "slow-greeting"
	// Drip sends an endless multi-line greeting one byte at a time
	// (Config.DripInterval apart).
	Drip Profile = "drip"
	// EndlessLine sends a greeting line that never ends.
	EndlessLine Profile = "endless-line"
	// Garbage sends random bytes.
	Garbage Profile = "garbage"
	// Reset accepts the connection and resets it at once.
	Reset Profile = "reset"
	// SubmissionAuthAfterTLS is a proper submission service: STARTTLS,
	// AUTH offered only inside TLS, MAIL before STARTTLS answered 530
	// 5.7.0 Must issue a STARTTLS command first, and 530 5.7.0
	// Authentication required inside TLS.
	SubmissionAuthAfterTLS Profile = "submission-auth-after-tls"
	// SubmissionAuthBeforeTLS offers AUTH in the clear too; MAIL without
	// authentication is answered 530 5.7.0 Authentication required.
	SubmissionAuthBeforeTLS Profile = "submission-auth-before-tls"
	// SubmissionNoAuth offers no AUTH at all and refuses relay as
	// Closed.
	SubmissionNoAuth Profile = "submission-no-auth"
)

var allProfiles = []Profile{
	Closed, OpenRelay, LocalSender, AddressTrick, AuthRequired, RelayDenied454,
	Greylist, Greeting554, Silent, SlowGreeting, Drip, EndlessLine, Garbage, Reset,
	SubmissionAuthAfterTLS, SubmissionAuthBeforeTLS, SubmissionNoAuth,
}

// Profiles returns every profile.
func Profiles() []Profile { return append([]Profile(nil), allProfiles...) }

// ParseProfile reads a profile name.
func ParseProfile(s string) (Profile, error) {
	for _, p := range allProfiles {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(allProfiles))
	for i, p := range allProfiles {
		names[i] = string(p)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown SMTP fleet profile %q (known: %v)", s, names)
}

// Hostile reports whether the profile never holds an SMTP conversation
// (silent, drip, endless line, garbage, reset).
func (p Profile) Hostile() bool {
	switch p {
	case Silent, Drip, EndlessLine, Garbage, Reset:
		return true
	}
	return false
}

// usesGoSMTP reports whether the profile is served by go-smtp.
func (p Profile) usesGoSMTP() bool { return !p.Hostile() }

// Expect is the expected outcome of the SMTP items for a server.
type Expect struct {
	// A1 is the open-relay item.
	A1 scoring.Outcome `json:"a1"`
	// X1 is the submission-authentication item for the service the
	// server plays (see Truth and Config.Truth); empty where it is not
	// meaningful.
	X1 scoring.Outcome `json:"x1,omitempty"`
	// Why explains the expectation in one line.
	Why string `json:"why"`
}

// Truth returns the expected outcomes for a profile served as a plain
// smtp service (A1), and as a submission service with STARTTLS (X1),
// from what the profile does:
//
//   - A1 fails where some relay attempt is accepted (open-relay,
//     local-sender, address-trick); passes where every attempt is
//     refused (closed, auth-required, relay-denied-454, the submission
//     profiles, slow-greeting once its greeting arrives within the
//     scanner's read timeout); is unknown where the replies do not tell
//     (greylist's 4xx) or nothing can be seen (greeting-554 and the
//     hostile profiles).
//   - X1 passes only for submission-auth-after-tls (AUTH inside TLS
//     only, relay refused); fails where AUTH is missing, offered before
//     STARTTLS, or relay is accepted; is unknown where nothing can be
//     seen.
func Truth(p Profile) Expect {
	switch p {
	case Closed:
		return Expect{scoring.Pass, scoring.Fail, "relay refused with 554 5.7.1; no AUTH on submission"}
	case SlowGreeting:
		return Expect{scoring.Pass, scoring.Fail, "a closed server behind a slow greeting; no AUTH"}
	case OpenRelay:
		return Expect{scoring.Fail, scoring.Fail, "every relay recipient accepted"}
	case LocalSender:
		return Expect{scoring.Fail, scoring.Fail, "relays for a sender in its own mail domain"}
	case AddressTrick:
		return Expect{scoring.Fail, scoring.Fail, "relays a quoted local part routed to another domain"}
	case AuthRequired:
		return Expect{scoring.Pass, scoring.Fail, "530 5.7.0 authentication required for MAIL; AUTH offered before STARTTLS"}
	case RelayDenied454:
		return Expect{scoring.Pass, scoring.Fail, "relay refused with 454 4.7.1 Relay access denied; no AUTH"}
	case Greylist:
		return Expect{scoring.Unknown, scoring.Fail, "every recipient deferred with 450 4.2.0; no AUTH"}
	case Greeting554:
		return Expect{scoring.Unknown, scoring.Unknown, "greeting refused with 554"}
	case Silent, Drip, EndlessLine, Garbage, Reset:
		return Expect{scoring.Unknown, scoring.Unknown, "no SMTP conversation possible"}
	case SubmissionAuthAfterTLS:
		return Expect{scoring.Pass, scoring.Pass, "AUTH only inside TLS; MAIL needs STARTTLS, then authentication"}
	case SubmissionAuthBeforeTLS:
		return Expect{scoring.Pass, scoring.Fail, "AUTH offered before STARTTLS; relay needs authentication"}
	case SubmissionNoAuth:
		return Expect{scoring.Pass, scoring.Fail, "no AUTH at all; relay refused"}
	}
	return Expect{scoring.Unknown, scoring.Unknown, "unknown profile"}
}

// Truth returns the expected outcomes for this configuration: as
// Truth(c.Profile), with X1 for the service the configuration plays
// (smtps with ImplicitTLS, submission otherwise) and for the absence of
// TLS.
func (c Config) Truth() Expect {
	e := Truth(c.Profile)
	if c.Profile.Hostile() || c.Profile == Greeting554 {
		return e
	}
	switch {
	case c.ImplicitTLS:
		// Everything happens inside TLS: AUTH offered there is fine.
		switch c.Profile {
		case AuthRequired, SubmissionAuthBeforeTLS, SubmissionAuthAfterTLS:
			e.X1 = scoring.Pass
			e.Why += " (implicit TLS: AUTH inside TLS)"
		}
	case !c.TLS:
		// No STARTTLS: AUTH can only be offered in the clear.
		if c.Profile == SubmissionAuthAfterTLS {
			e.A1 = scoring.Unknown
			e.X1 = scoring.Fail
			e.Why = "demands STARTTLS before MAIL but offers none; no AUTH in the clear"
		}
	}
	return e
}
