// Package pop3d is the simulated fleet's POP3 server: one small server per
// listener whose behaviour is a named Profile (credentials protected by
// TLS, cleartext passwords accepted, anonymous login, hostile peers…), with
// a configurable greeting, per-reply latency and TLS certificate, and the
// ground truth of checklist item P1 for each profile.
//
// It keeps no mailbox and knows no user: every password check fails, so
// probes only ever see "authentication failed" where a real server would
// check a password. A connection costs one goroutine and two small
// buffers; thousands of servers fit in one process.
package pop3d

import (
	"slices"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/mailauth"
	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a server behaviour.
type Profile string

// The profiles. The first group answers POP3; the second is hostile and
// exists to prove probes end with an error, in time and in bounded memory.
const (
	// TLSRequired offers STLS and refuses USER and AUTH before TLS with
	// "-ERR [AUTH] Plaintext authentication disallowed"; after TLS it
	// checks passwords (and fails them).
	TLSRequired Profile = mailauth.TLSRequired
	// Plaintext offers STLS but also USER and SASL PLAIN LOGIN before TLS,
	// and checks cleartext passwords.
	Plaintext Profile = mailauth.Plaintext
	// NoTLS has no STLS at all and checks cleartext passwords.
	NoTLS Profile = mailauth.NoTLS
	// LoginDisabledLie advertises no USER before TLS and refuses USER, but
	// accepts AUTH PLAIN before TLS and checks the password.
	LoginDisabledLie Profile = mailauth.LoginDisabledLie
	// PreAuth gives access without authentication: any user and password
	// log in.
	PreAuth Profile = mailauth.PreAuth
	// Anonymous is TLSRequired plus SASL ANONYMOUS, advertised and
	// accepted before and after TLS.
	Anonymous Profile = mailauth.Anonymous
	// WeakTLS is TLSRequired with a server that speaks only TLS 1.0.
	WeakTLS Profile = mailauth.WeakTLS
	// BareRefusal offers STLS and, before TLS, offers no login (CAPA
	// without USER or SASL, like nginx's "starttls only") and answers
	// USER, PASS and AUTH with a bare "-ERR"; after TLS it checks
	// passwords.
	BareRefusal Profile = mailauth.BareRefusal
	// ChallengeOnly has no STLS and offers only "SASL CRAM-MD5", as
	// Dovecot with ssl = no and auth_mechanisms = cram-md5: USER and PASS
	// are refused with "-ERR [AUTH] Plaintext authentication disallowed
	// …", the other mechanisms with "-ERR [AUTH] Unsupported
	// authentication mechanism.", and CRAM-MD5 fails its check.
	ChallengeOnly Profile = mailauth.ChallengeOnly
	// NoTLSBare has no STLS and no SASL, offers USER, and turns the
	// unknown fake user away at USER with a bare "-ERR", as old servers
	// that look users up at USER do; a real user's password would follow
	// in the clear.
	NoTLSBare Profile = mailauth.NoTLSBare

	// Silent accepts connections and never says anything.
	Silent Profile = mailauth.Silent
	// Garbage answers with random bytes instead of POP3.
	Garbage Profile = mailauth.Garbage
	// EndlessLine sends a greeting that never ends.
	EndlessLine Profile = mailauth.EndlessLine
	// Flood greets properly, then answers CAPA with a multi-line reply
	// that never ends.
	Flood Profile = "flood"
	// Reset resets every connection as soon as it is accepted.
	Reset Profile = mailauth.Reset
)

// Profiles returns every profile, well-behaved ones first.
func Profiles() []Profile {
	return []Profile{TLSRequired, Plaintext, NoTLS, LoginDisabledLie, PreAuth, Anonymous, WeakTLS,
		BareRefusal, ChallengeOnly, NoTLSBare,
		Silent, Garbage, EndlessLine, Flood, Reset}
}

// Hostile reports whether p is one of the hostile profiles.
func (p Profile) Hostile() bool { return p == Flood || mailauth.Hostile(p) }

// Valid reports whether p is a known profile.
func (p Profile) Valid() bool { return slices.Contains(Profiles(), p) }

// Truth returns the expected P1 outcome of a server whose POP3 service on
// a plaintext port (pop3, with or without a pop3s sibling of the same
// profile) behaves as p, under the default policy. It follows from the
// profile's own semantics, not from the rules.
func Truth(p Profile) scoring.Outcome { return TruthFor(p, false, false) }

// TruthFor returns the expected P1 outcome when the service behaves as p;
// implicitTLSOnly says the server has only implicit-TLS services (pop3s),
// where a cleartext password can never be sent, and tlsWeakFails mirrors
// the policy switch that lets weak TLS fail P1.
func TruthFor(p Profile, implicitTLSOnly, tlsWeakFails bool) scoring.Outcome {
	return mailauth.Truth(p, implicitTLSOnly, tlsWeakFails)
}
