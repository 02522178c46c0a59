// Package mailauth holds what the simulated fleet's mailbox-access
// servers (packages imapd and pop3d) share about their behaviours: the
// names of the profiles they have in common and the ground truth of
// checklist item P1 (authentication of users receiving mail) for each,
// defined from the profiles' own semantics, never from package rules.
//
// Each server package keeps its own Profile type, with these names as
// its constants and its protocol-specific profiles besides.
package mailauth

import "github.com/kensa-inspect/kensa/scoring"

// The profile names both protocols have. The first group answers the
// protocol; the second is hostile.
const (
	// TLSRequired refuses passwords before TLS and checks them after.
	TLSRequired = "tls-required"
	// Plaintext offers TLS but also checks cleartext passwords before.
	Plaintext = "plaintext"
	// NoTLS has no TLS upgrade and checks cleartext passwords.
	NoTLS = "no-tls"
	// LoginDisabledLie says passwords are refused before TLS but checks
	// one sent with SASL PLAIN.
	LoginDisabledLie = "logindisabled-lie"
	// PreAuth gives mailbox access without authentication.
	PreAuth = "preauth"
	// Anonymous is TLSRequired plus anonymous login.
	Anonymous = "anonymous"
	// WeakTLS is TLSRequired with a server that speaks only TLS 1.0.
	WeakTLS = "weak-tls"
	// BareRefusal offers TLS and, before it, answers every login attempt
	// with a refusal that gives no reason (POP3 "-ERR", IMAP "NO" or
	// "BAD" with neither code nor text, LOGINDISABLED advertised); after
	// TLS it checks passwords.
	BareRefusal = "bare-refusal"
	// ChallengeOnly has no TLS upgrade and offers only a challenge-response
	// login (CRAM-MD5): no password is ever sent in the clear. It refuses
	// cleartext attempts with reasons, as Dovecot does with ssl = no,
	// auth_mechanisms = cram-md5 and disable_plaintext_auth = yes.
	ChallengeOnly = "challenge-only"
	// NoTLSBare has no TLS upgrade, offers password logins in the clear
	// (POP3 USER, IMAP LOGIN), and turns the unknown fake user away with a
	// bare refusal (POP3 "-ERR" to USER, IMAP "NO" without code or text).
	NoTLSBare = "no-tls-bare"

	// Silent accepts connections and never says anything.
	Silent = "silent"
	// Garbage answers with random bytes.
	Garbage = "garbage"
	// EndlessLine sends a greeting that never ends.
	EndlessLine = "endless-line"
	// Reset resets every connection as soon as it is accepted.
	Reset = "reset"
)

// Hostile reports whether p names one of the hostile profiles both
// protocols have.
func Hostile[P ~string](p P) bool {
	switch p {
	case Silent, Garbage, EndlessLine, Reset:
		return true
	}
	return false
}

// Truth returns the expected P1 outcome of a service behaving as the
// profile named p, under a policy where weak TLS fails P1 only when
// tlsWeakFails; implicitTLSOnly says the server has only implicit-TLS
// services, where a cleartext password can never be sent (every profile
// checks passwords over implicit TLS). Hostile and unknown profiles give
// unknown.
func Truth[P ~string](p P, implicitTLSOnly, tlsWeakFails bool) scoring.Outcome {
	switch p {
	case TLSRequired:
		return scoring.Pass
	case WeakTLS:
		if tlsWeakFails {
			return scoring.Fail
		}
		return scoring.Pass
	case Plaintext, NoTLS, LoginDisabledLie:
		// Cleartext passwords are accepted for checking before TLS; on
		// implicit TLS there is no "before TLS".
		if implicitTLSOnly {
			return scoring.Pass
		}
		return scoring.Fail
	case PreAuth, Anonymous:
		return scoring.Fail
	case BareRefusal:
		// A refusal without a reason cannot be told from the server
		// turning away an unknown user, or rejecting one it checked:
		// whether a real user's password is taken before TLS is not
		// known. Over implicit TLS passwords are checked.
		if implicitTLSOnly {
			return scoring.Pass
		}
		return scoring.Unknown
	case ChallengeOnly:
		// No password can cross in the clear: none is asked for.
		return scoring.Pass
	case NoTLSBare:
		// A real user's client sends its password as offered, in the
		// clear, whatever the fake user was answered.
		if implicitTLSOnly {
			return scoring.Pass
		}
		return scoring.Fail
	}
	return scoring.Unknown
}
