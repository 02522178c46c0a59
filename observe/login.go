package observe

import (
	"slices"
	"strings"
)

// FakeUser is the probes' login identity: an obviously fake user.
const FakeUser = "kensa-probe-nonexistent"

// LoginResult is how a server answered one login attempt; its values are
// stored in results ("login_attempts"), so they never change.
type LoginResult string

// The classes of answer to a login attempt.
const (
	// LoginRefused: the server refused before checking the credentials. Safe.
	LoginRefused LoginResult = "refused"
	// LoginChecked: the server took the credentials and checked them: before
	// TLS, a cleartext password was accepted. Unsafe.
	LoginChecked LoginResult = "checked"
	// LoginLoggedIn: the fake user or anonymous login was let in.
	LoginLoggedIn LoginResult = "logged_in"
	// LoginUnclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way.
	LoginUnclear LoginResult = "unclear"
)

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

// NoReason is the why of ClassifyLoginText for an answer with none of the
// words it knows.
const NoReason = "answer gives no reason"

// ClassifyLoginText sorts an answer's text into LoginRefused (it has one of
// refusedWords, the words and phrases by which the protocol's servers
// refuse before checking: of the connection, "plaintext", "TLS", or of
// the command, "unsupported mechanism", "invalid command"), LoginChecked (one
// of CheckedWords) or LoginUnclear, and says which word decided.
//
// It is LoginUnclear when the text has none of these words (NoReason), words
// of both kinds, one of TemporaryWords, or only generic refusal words
// (GenericRefusalWords) while it speaks of the user or the account.
// LoginChecked words are looked for outside the refusal phrases found, so
// that nginx's "invalid command" is a refusal, not a failed check.
func ClassifyLoginText(text string, refusedWords []string) (LoginResult, string) {
	lower := strings.ToLower(text)
	for _, w := range TemporaryWords {
		if strings.Contains(lower, w) {
			return LoginUnclear, "answer says \"" + w + "\": a temporary failure, not a refusal"
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
		return LoginUnclear, "answer says both \"" + refused + "\" and \"" + checked + "\""
	case refused != "" && generic && speaksOfUser(lower):
		return LoginUnclear, "answer says \"" + refused + "\" of the user or account, not of the connection or the command"
	case refused != "":
		return LoginRefused, "answer says \"" + refused + "\""
	case checked != "":
		return LoginChecked, "answer says \"" + checked + "\""
	}
	return LoginUnclear, NoReason
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

// LoginAttempt is one login attempt of an IMAP or POP3 probe and the
// server's answer.
type LoginAttempt struct {
	// Method is "LOGIN" or "AUTHENTICATE <mechanism>" (IMAP), "USER/PASS"
	// or "AUTH <mechanism>" (POP3).
	Method string `json:"method"`
	// TLS is set when the attempt went over TLS (implicit TLS, or after
	// STARTTLS/STLS).
	TLS bool `json:"tls"`
	// Result classifies the answer.
	Result LoginResult `json:"result"`
	// Step is, for POP3, the command the server answered last: "USER",
	// "PASS", "AUTH" (refused at once, before any credential was sent)
	// or "response" (after the credentials). Empty for IMAP.
	Step string `json:"step,omitempty"`
	// Reply is the server's final line for the attempt, credentials
	// redacted; empty when none came.
	Reply string `json:"reply,omitempty"`
	// Why says what the classification rests on.
	Why string `json:"why,omitempty"`
}
