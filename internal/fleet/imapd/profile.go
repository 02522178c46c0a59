// Package imapd is the simulated fleet's IMAP server, built on go-imap
// v2's imapserver with imapmemserver sessions: one server per listener
// whose behaviour is a named Profile (credentials protected by TLS,
// cleartext passwords accepted, LOGINDISABLED advertised but not honoured,
// PREAUTH, anonymous login, hostile peers…), with a configurable greeting
// text, per-reply latency and TLS certificate, and the ground truth of
// checklist item P1 for each profile.
//
// It knows no real user: every password check fails, so probes only ever
// see "authentication failed" where a real server would check a password.
// A connection costs one goroutine and small buffers; thousands of
// servers fit in one process.
package imapd

import (
	"slices"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/mailauth"
	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a server behaviour.
type Profile string

// The profiles. The first group answers IMAP; the second is hostile and
// exists to prove probes end with an error, in time and in bounded memory.
// The names are those of package pop3d where the behaviours match.
const (
	// TLSRequired offers STARTTLS, advertises LOGINDISABLED and refuses
	// LOGIN and AUTHENTICATE before TLS with NO [PRIVACYREQUIRED]
	// (imapserver's own behaviour); after TLS it checks passwords.
	TLSRequired Profile = mailauth.TLSRequired
	// Plaintext offers STARTTLS but also AUTH=PLAIN and LOGIN before TLS,
	// and checks cleartext passwords.
	Plaintext Profile = mailauth.Plaintext
	// NoTLS has no STARTTLS at all and checks cleartext passwords.
	NoTLS Profile = mailauth.NoTLS
	// LoginDisabledLie advertises LOGINDISABLED (and no AUTH=) before TLS
	// and refuses LOGIN, but accepts AUTHENTICATE PLAIN before TLS and
	// checks the password.
	LoginDisabledLie Profile = mailauth.LoginDisabledLie
	// PreAuth greets with PREAUTH: the connection is logged in without
	// authentication.
	PreAuth Profile = mailauth.PreAuth
	// Anonymous is TLSRequired plus AUTH=ANONYMOUS after TLS (and on
	// imaps), where anonymous login is accepted.
	Anonymous Profile = mailauth.Anonymous
	// WeakTLS is TLSRequired with a server that speaks only TLS 1.0.
	WeakTLS Profile = mailauth.WeakTLS
	// BareRefusal offers STARTTLS and advertises LOGINDISABLED (and no
	// AUTH=) before TLS, where it answers LOGIN with a bare "NO" and
	// AUTHENTICATE with a bare "BAD", neither with a response code or a
	// text; after TLS it checks passwords.
	BareRefusal Profile = mailauth.BareRefusal
	// ChallengeOnly has no STARTTLS and advertises "LOGINDISABLED
	// AUTH=CRAM-MD5", as Dovecot with ssl = no and auth_mechanisms =
	// cram-md5: LOGIN is refused with NO [PRIVACYREQUIRED], the other
	// mechanisms with NO [ALERT] Unsupported authentication mechanism,
	// and CRAM-MD5 fails its check.
	ChallengeOnly Profile = mailauth.ChallengeOnly
	// NoTLSBare has no STARTTLS, advertises AUTH=PLAIN and AUTH=LOGIN and
	// no LOGINDISABLED, and turns the unknown fake user away with a bare
	// "NO", to LOGIN and to AUTHENTICATE alike.
	NoTLSBare Profile = mailauth.NoTLSBare

	// Silent accepts connections and never says anything.
	Silent Profile = mailauth.Silent
	// Garbage answers with random bytes instead of IMAP.
	Garbage Profile = mailauth.Garbage
	// EndlessLine sends a greeting that never ends.
	EndlessLine Profile = mailauth.EndlessLine
	// HugeLiteral greets properly (offering STARTTLS and LOGINDISABLED,
	// so that its capabilities decide nothing), then answers any command
	// with an untagged response announcing a 1 GiB literal and streams
	// it.
	HugeLiteral Profile = "huge-literal"
	// Reset resets every connection as soon as it is accepted.
	Reset Profile = mailauth.Reset
)

// Profiles returns every profile, well-behaved ones first.
func Profiles() []Profile {
	return []Profile{TLSRequired, Plaintext, NoTLS, LoginDisabledLie, PreAuth, Anonymous, WeakTLS,
		BareRefusal, ChallengeOnly, NoTLSBare,
		Silent, Garbage, EndlessLine, HugeLiteral, Reset}
}

// Hostile reports whether p is one of the hostile profiles.
func (p Profile) Hostile() bool { return p == HugeLiteral || mailauth.Hostile(p) }

// Valid reports whether p is a known profile.
func (p Profile) Valid() bool { return slices.Contains(Profiles(), p) }

// Truth returns the expected P1 outcome of a server whose IMAP service on
// a plaintext port (imap, with or without an imaps sibling of the same
// profile) behaves as p, under the default policy. It follows from the
// profile's own semantics, not from the rules.
func Truth(p Profile) scoring.Outcome { return TruthFor(p, false, false) }

// TruthFor returns the expected P1 outcome when the service behaves as p;
// implicitTLSOnly says the server has only implicit-TLS services (imaps),
// where a cleartext password can never be sent, and tlsWeakFails mirrors
// the policy switch that lets weak TLS fail P1.
func TruthFor(p Profile, implicitTLSOnly, tlsWeakFails bool) scoring.Outcome {
	return mailauth.Truth(p, implicitTLSOnly, tlsWeakFails)
}
