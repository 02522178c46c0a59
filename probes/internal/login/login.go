// Package login holds what the IMAP and POP3 probes share about their
// login attempts: the obviously fake identity and its random password,
// the forms of that password to redact, the SASL mechanisms a careless
// client would use, the classes of answer (Result) and the words that
// sort an answer's text into them, and the loop that runs a plan of
// attempts, reconnecting when a server hangs up between them.
//
// The protocols keep what differs: their commands, their status codes,
// their records of an attempt (the Attempt types of the observations).
package login

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// FakeUser is the probes' login identity: an obviously fake user.
const FakeUser = "kensa-probe-nonexistent"

// Result is how a server answered one login attempt; its values are
// stored in results ("login_attempts"), so they never change.
type Result string

// The classes of answer to a login attempt.
const (
	// Refused: the server refused before checking the credentials. Safe.
	Refused Result = "refused"
	// Checked: the server took the credentials and checked them: before
	// TLS, a cleartext password was accepted. Unsafe.
	Checked Result = "checked"
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn Result = "logged_in"
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way.
	Unclear Result = "unclear"
)

// Options are the login options of the IMAP and POP3 probes.
type Options struct {
	// SkipLogin leaves out every login attempt; the observation then
	// cannot show whether cleartext passwords are refused.
	SkipLogin bool
	// Password is the fake user's password. Empty means a random one
	// made once per process. The scan engine should pass one random
	// password per scan: a server then sees one wrong password however
	// many of its services are probed, and Dovecot's auth penalty,
	// which delays each further failure from an address that tries a
	// new wrong password (2 s, 4 s, … up to 15 s), stays at its first
	// step.
	Password string
}

// Credentials are the fake user's password and the forms it is sent in,
// registered as secrets. The zero value has no password and redacts
// nothing.
type Credentials struct {
	// Password is the fake user's password.
	Password string
	secrets  []string
}

// NewCredentials returns the credentials with password, or, when it is
// empty, with a random password made once per process; it registers the
// password with tr as a secret in every form it will be sent in (as it
// is, in base64, and in base64 as SASL PLAIN's message for FakeUser).
func NewCredentials(password string, tr *wire.Transcript) Credentials {
	if password == "" {
		password = processPassword()
	}
	c := Credentials{Password: password}
	for _, s := range []string{
		password,
		base64.StdEncoding.EncodeToString([]byte("\x00" + FakeUser + "\x00" + password)),
		base64.StdEncoding.EncodeToString([]byte(password)),
	} {
		tr.AddSecret(s)
		c.secrets = append(c.secrets, s)
	}
	return c
}

// Redact replaces every form of the password in s by wire.Redacted.
func (c Credentials) Redact(s string) string {
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, wire.Redacted)
	}
	return s
}

// processPassword is the password used when none is given.
var processPassword = sync.OnceValue(func() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "kp-" + hex.EncodeToString(b)
})

// Login is the client side of the SASL LOGIN mechanism, answering by the
// challenge's words, whichever order the server asks in.
type Login struct{ User, Pass string }

// Start begins the exchange, without an initial response.
func (s *Login) Start() (string, []byte, error) { return "LOGIN", nil, nil }

// Next answers a challenge: the password when it asks for one, the user
// name otherwise.
func (s *Login) Next(challenge []byte) ([]byte, error) {
	if strings.Contains(strings.ToLower(string(challenge)), "pass") {
		return []byte(s.Pass), nil
	}
	return []byte(s.User), nil
}

// Anonymous is the client side of SASL ANONYMOUS (RFC 4505), with
// FakeUser as its trace string.
type Anonymous struct{}

// Start begins the exchange with the trace string.
func (Anonymous) Start() (string, []byte, error) { return "ANONYMOUS", []byte(FakeUser), nil }

// Next answers any challenge with the trace string.
func (Anonymous) Next([]byte) ([]byte, error) { return []byte(FakeUser), nil }

// CheckedWords are words by which servers report a check of the
// credentials that failed.
var CheckedWords = []string{"failed", "failure", "invalid", "incorrect", "wrong", "bad password",
	"unknown user", "no such user", "denied", "mismatch", "rejected", "bad credentials"}

// TemporaryWords are words by which servers report a temporary failure:
// an answer with one of them refuses nothing for good, whatever else it
// says.
var TemporaryWords = []string{"try again", "try later", "temporar", "too many", "busy", "overload",
	"rate limit", "throttl"}

// GenericRefusalWords are refusal words that do not say what is refused.
// A refusal resting on them alone counts only when the answer does not
// speak of the user, the account or the mailbox: "LOGIN disabled"
// refuses a command, "account disabled" refuses one user, and says the
// server looked the user up.
var GenericRefusalWords = []string{"disallowed", "disabled", "not allowed", "not permitted",
	"unsupported", "not supported", "unrecognized", "unrecognised", "not implemented"}

// userWords are words by which an answer speaks of the user or the
// account rather than of the connection or the command.
var userWords = []string{"user", "account", "mailbox"}

// NoReason is the why of ClassifyText for an answer with none of the
// words it knows.
const NoReason = "answer gives no reason"

// ClassifyText sorts an answer's text into Refused (it has one of
// refusedWords, the words and phrases by which the protocol's servers
// refuse before checking: of the connection, "plaintext", "TLS", or of
// the command, "unsupported mechanism", "invalid command"), Checked (one
// of CheckedWords) or Unclear, and says which word decided.
//
// It is Unclear when the text has none of these words (NoReason), words
// of both kinds, one of TemporaryWords, or only generic refusal words
// (GenericRefusalWords) while it speaks of the user or the account.
// Checked words are looked for outside the refusal phrases found, so
// that nginx's "invalid command" is a refusal, not a failed check.
func ClassifyText(text string, refusedWords []string) (Result, string) {
	lower := strings.ToLower(text)
	for _, w := range TemporaryWords {
		if strings.Contains(lower, w) {
			return Unclear, "answer says \"" + w + "\": a temporary failure, not a refusal"
		}
	}
	var refused string
	generic := false
	rest := lower
	for _, w := range refusedWords {
		if !strings.Contains(lower, w) {
			continue
		}
		g := slices.Contains(GenericRefusalWords, w)
		if refused == "" || generic && !g {
			refused, generic = w, g
		}
		rest = strings.ReplaceAll(rest, w, " ")
	}
	var checked string
	for _, w := range CheckedWords {
		if strings.Contains(rest, w) {
			checked = w
			break
		}
	}
	switch {
	case refused != "" && checked != "":
		return Unclear, "answer says both \"" + refused + "\" and \"" + checked + "\""
	case refused != "" && generic && speaksOfUser(lower):
		return Unclear, "answer says \"" + refused + "\" of the user or account, not of the connection or the command"
	case refused != "":
		return Refused, "answer says \"" + refused + "\""
	case checked != "":
		return Checked, "answer says \"" + checked + "\""
	}
	return Unclear, NoReason
}

// speaksOfUser reports whether a lower-case answer speaks of the user,
// the account or the mailbox (POP3's USER command aside).
func speaksOfUser(lower string) bool {
	lower = strings.ReplaceAll(lower, "user command", " ")
	for _, w := range userWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}
