// Package smtpd is the SMTP part of the simulated fleet: SMTP servers on
// loopback, built on go-smtp's server, that behave as named profiles
// (closed, open relay, relaying only for a local-looking sender or a
// classic address trick, authentication required, Postfix's 454
// relay-denied, greylisting, rate limits, recipient-domain checks, a 554
// greeting, silent, a slow greeting, Sendmail's greet_pause, Postfix's
// postscreen, hostile ones, and submission services with and without
// AUTH before STARTTLS or refusing unauthenticated clients), with
// per-reply latency, a configurable banner, TLS with a shared
// self-signed certificate, and a greeting timestamp from a clock that
// can be set off.
//
// Truth gives each profile's expected verdicts of items A1 and X1 from
// the profile's own semantics, never from package rules, so that a test
// comparing a scan with the truth can fail.
package smtpd

import (
	"fmt"
	"sort"
	"time"

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
	// RateLimit defers every recipient with 451 4.7.1 Rate limit
	// exceeded, try in 60 seconds, as a rate-limiting policy service
	// answers a client over its limit: whether it would relay is not
	// seen.
	RateLimit Profile = "rate-limit"
	// AuthThenDefer offers AUTH (as AuthRequired), accepts MAIL, answers
	// the first RCPT of each session 530 5.7.0 Authentication required
	// and every later one 451 4.3.5 Server configuration problem, as
	// Postfix does when its policy service fails after its first
	// answer.
	AuthThenDefer Profile = "auth-then-defer"
	// UnknownDomain checks the recipient's domain before relaying, as
	// Postfix's reject_unknown_recipient_domain placed before
	// reject_unauth_destination does: a recipient at a domain that is
	// not its own (the fleet resolves no domain) is answered 450 4.1.2
	// <…>: Recipient address rejected: Domain not found. Other
	// recipients as Closed.
	UnknownDomain Profile = "unknown-domain"
	// NullMX is UnknownDomain answering as for a domain with a null MX
	// (RFC 7505): 556 5.1.10 <…>: Recipient address rejected: Domain …
	// does not accept mail (nullMX).
	NullMX Profile = "null-mx"
	// Unrouteable is UnknownDomain as Exim says it when it verifies
	// recipients before the relay check: 550 Unrouteable address.
	Unrouteable Profile = "unrouteable"
	// SubmissionClientRejected is Postfix's standard submission
	// service (master.cf: smtpd_tls_security_level=encrypt,
	// smtpd_sasl_auth_enable=yes, smtpd_client_restrictions=
	// permit_sasl_authenticated,reject): STARTTLS, AUTH only inside TLS,
	// MAIL before STARTTLS answered 530 5.7.0 Must issue a STARTTLS
	// command first; inside TLS MAIL is accepted and every RCPT, local
	// or not, answered 554 5.7.1 <unknown[IP]>: Client host rejected:
	// Access denied (smtpd_delay_reject). Inside TLS the forms go-smtp
	// cannot parse are still answered 501 first, where Postfix would
	// parse them and refuse the client.
	SubmissionClientRejected Profile = "submission-client-rejected"
	// SubmissionHostnameRejected is SubmissionClientRejected with
	// reject_unknown_client_hostname instead of reject: every RCPT
	// inside TLS is answered 450 4.7.25 Client host rejected: cannot
	// find your hostname, [IP].
	SubmissionHostnameRejected Profile = "submission-hostname-rejected"
	// GreetPause is Sendmail's greet_pause: the greeting comes only
	// after Config.GreetingDelay (default 5 s), and a client that
	// speaks before it is greeted with 554 … not accepting messages
	// (its commands then refused). Otherwise Closed.
	GreetPause Profile = "greet-pause"
	// Postscreen is Postfix's postscreen with its deep protocol tests in
	// front of a closed Postfix: a client address it has not seen gets
	// the first line of the greeting ("220-host ESMTP"), a pause of
	// Config.GreetingDelay (default 6 s, postscreen_greet_wait) and the
	// last line; a client that speaks during the pause is dropped with
	// 521 5.5.1 Protocol error (postscreen_greet_action = drop). The
	// session goes on with postscreen's own SMTP engine: EHLO without
	// PIPELINING, MAIL accepted, every RCPT answered 450 4.3.2 Service
	// currently unavailable; the 21st command of the session is answered
	// 421 … Service unavailable - try again later and the connection
	// closed (postscreen_command_count_limit). A client that got as far
	// as RCPT has passed: its later sessions go straight to Postfix's
	// smtpd, greeted at once, and are answered as Closed.
	Postscreen Profile = "postscreen"
)

var allProfiles = []Profile{
	Closed, OpenRelay, LocalSender, AddressTrick, AuthRequired, RelayDenied454,
	Greylist, Greeting554, Silent, SlowGreeting, Drip, EndlessLine, Garbage, Reset,
	SubmissionAuthAfterTLS, SubmissionAuthBeforeTLS, SubmissionNoAuth,
	RateLimit, AuthThenDefer, UnknownDomain, NullMX, Unrouteable,
	SubmissionClientRejected, SubmissionHostnameRejected, GreetPause, Postscreen,
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

// Default greeting delays of the profiles that hold their greeting back.
const (
	DefaultGreetingDelay   = 2 * time.Second // slow-greeting
	DefaultGreetPauseDelay = 5 * time.Second // greet-pause: Sendmail's FEATURE(greet_pause, 5000)
	DefaultPostscreenDelay = 6 * time.Second // postscreen: postscreen_greet_wait
)

// GreetingDelay returns how long the profile holds back its greeting
// when Config.GreetingDelay is not set (for postscreen, the pause
// inside the greeting of a client's first session).
func (p Profile) GreetingDelay() time.Duration {
	switch p {
	case SlowGreeting:
		return DefaultGreetingDelay
	case GreetPause:
		return DefaultGreetPauseDelay
	case Postscreen:
		return DefaultPostscreenDelay
	}
	return 0
}

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
//     profiles that refuse relay to anyone, and slow-greeting,
//     greet-pause and postscreen, whose greeting a patient client waits
//     for and whose later sessions refuse relay); is unknown where the
//     replies do not tell (greylist's and rate-limit's 4xx, deferrals
//     after one authentication-required answer, a recipient domain the
//     server does not resolve, a refusal of the scanner's own address or
//     name on port 25) or nothing can be seen (greeting-554 and the
//     hostile profiles).
//   - X1 passes only where AUTH is offered inside TLS only and relay is
//     refused (submission-auth-after-tls; submission-client-rejected,
//     whose refusal of every unauthenticated client is the standard
//     submission configuration); fails where AUTH is missing, offered
//     before STARTTLS, or relay is accepted; is unknown where AUTH is
//     offered properly but relay is not seen refused, or nothing can be
//     seen.
//
// For the A1 of a submission service, where a refusal of every
// unauthenticated client refuses relay, see Config.Truth.
func Truth(p Profile) Expect {
	switch p {
	case Closed:
		return Expect{scoring.Pass, scoring.Fail, "relay refused with 554 5.7.1; no AUTH on submission"}
	case SlowGreeting:
		return Expect{scoring.Pass, scoring.Fail, "a closed server behind a slow greeting; no AUTH"}
	case GreetPause:
		return Expect{scoring.Pass, scoring.Fail, "a closed server behind Sendmail's greet_pause, which a patient client waits out; no AUTH"}
	case Postscreen:
		return Expect{scoring.Pass, scoring.Fail, "postscreen defers a new client's first session with 450 4.3.2, then a closed Postfix refuses relay; no AUTH"}
	case OpenRelay:
		return Expect{scoring.Fail, scoring.Fail, "every relay recipient accepted"}
	case LocalSender:
		return Expect{scoring.Fail, scoring.Fail, "relays for a sender in its own mail domain"}
	case AddressTrick:
		return Expect{scoring.Fail, scoring.Fail, "relays a quoted local part routed to another domain"}
	case AuthRequired:
		return Expect{scoring.Pass, scoring.Fail, "530 5.7.0 authentication required for MAIL; AUTH offered before STARTTLS"}
	case AuthThenDefer:
		return Expect{scoring.Unknown, scoring.Fail, "one recipient refused for want of authentication, every other one deferred with 451 4.3.5; AUTH offered before STARTTLS"}
	case RelayDenied454:
		return Expect{scoring.Pass, scoring.Fail, "relay refused with 454 4.7.1 Relay access denied; no AUTH"}
	case Greylist:
		return Expect{scoring.Unknown, scoring.Fail, "every recipient deferred with 450 4.2.0; no AUTH"}
	case RateLimit:
		return Expect{scoring.Unknown, scoring.Fail, "every recipient deferred by a rate limit (451 4.7.1), relaying never decided; no AUTH"}
	case UnknownDomain, NullMX, Unrouteable:
		return Expect{scoring.Unknown, scoring.Fail, "the recipient's domain is refused as unroutable before any relay check, so relaying to it is never decided; no AUTH"}
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
	case SubmissionClientRejected:
		return Expect{scoring.Unknown, scoring.Pass, "every unauthenticated client refused (554 5.7.1 Client host rejected: Access denied), AUTH only inside TLS: " +
			"on submission that refuses relay; on port 25 it only says the scanner is refused"}
	case SubmissionHostnameRejected:
		return Expect{scoring.Unknown, scoring.Unknown, "the scanner's address refused for its missing hostname (450 4.7.25): relay for other clients not seen; AUTH only inside TLS"}
	}
	return Expect{scoring.Unknown, scoring.Unknown, "unknown profile"}
}

// Truth returns the expected outcomes for this configuration: as
// Truth(c.Profile), with A1 and X1 for the service the configuration
// plays (smtps with ImplicitTLS, submission otherwise) and for the
// absence of TLS.
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
		case AuthThenDefer:
			e.X1 = scoring.Unknown
			e.Why += " (implicit TLS: AUTH inside TLS, relay not seen refused)"
		case SubmissionClientRejected:
			e.A1 = scoring.Pass
			e.Why += " (implicit TLS: AUTH inside TLS, every unauthenticated client refused)"
		}
	case !c.TLS:
		// No STARTTLS: AUTH can only be offered in the clear.
		switch c.Profile {
		case SubmissionAuthAfterTLS, SubmissionClientRejected, SubmissionHostnameRejected:
			e.A1 = scoring.Unknown
			e.X1 = scoring.Fail
			e.Why = "demands STARTTLS before MAIL but offers none; no AUTH in the clear"
		}
	default:
		if c.Profile == SubmissionClientRejected {
			// The standard submission configuration: no client
			// relays without authenticating.
			e.A1 = scoring.Pass
		}
	}
	return e
}

// Limits names the limits and delays of a real daemon's stock
// configuration toward a client that makes errors, measured on the
// real daemons. They change no verdict: a client that keeps every
// session under them sees the profile's own answers (the truth is the
// profile's); a client that does not is slowed down or cut off.
type Limits string

// The real daemons' limits.
const (
	// NoLimits: none (the profile alone).
	NoLimits Limits = ""
	// PostfixLimits are Postfix's smtpd_soft_error_limit (10),
	// smtpd_error_sleep_time (1 s) and smtpd_hard_error_limit (20):
	// after 10 error replies every reply waits a second, and the 20th
	// ends the session with 421 4.7.0 … Error: too many errors.
	PostfixLimits Limits = "postfix"
	// EximLimits are Exim's smtp_max_synprot_errors (3): the fourth
	// syntax error (500, 501) ends the session with "Too many syntax or
	// protocol errors".
	EximLimits Limits = "exim"
	// SendmailLimits are Sendmail's bad-recipient throttle as commonly
	// set (confBAD_RCPT_THROTTLE 3): after 3 refused recipients each
	// further reply to RCPT waits a second.
	SendmailLimits Limits = "sendmail"
)

// LimitsNames lists the real daemons' limits by name.
func LimitsNames() []Limits { return []Limits{PostfixLimits, EximLimits, SendmailLimits} }

// apply sets the fields of c that the limits decide and c leaves zero.
func (l Limits) apply(c Config) Config {
	set := func(f *int, v int) {
		if *f == 0 {
			*f = v
		}
	}
	setD := func(f *time.Duration, v time.Duration) {
		if *f == 0 {
			*f = v
		}
	}
	switch l {
	case PostfixLimits:
		set(&c.SoftErrors, 10)
		setD(&c.ErrorSleep, time.Second)
		set(&c.DropAfter, 20)
	case EximLimits:
		set(&c.SyntaxErrors, 3)
	case SendmailLimits:
		set(&c.BadRcptThrottle, 3)
		setD(&c.ThrottleDelay, time.Second)
	}
	return c
}
