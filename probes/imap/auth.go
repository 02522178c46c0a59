package imap

import (
	"strings"

	"github.com/kensa-inspect/kensa/probes/internal/login"
)

// AuthResult is how a server answered one login attempt.
type AuthResult = login.Result

// The classes of answer to a login attempt.
const (
	// Refused: the server refused before checking the credentials
	// (PRIVACYREQUIRED, "plaintext authentication disallowed",
	// LOGINDISABLED honoured, mechanism not available). Safe.
	Refused = login.Refused
	// Checked: the server took the credentials and checked them ("NO
	// [AUTHENTICATIONFAILED]"): before TLS, a cleartext password was
	// accepted. Unsafe.
	Checked = login.Checked
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn = login.LoggedIn
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way.
	Unclear = login.Unclear
)

// FakeUser is the probe's login identity: an obviously fake user.
const FakeUser = login.FakeUser

// Attempt is one login attempt and the server's answer.
type Attempt struct {
	// Method is "LOGIN" or "AUTHENTICATE <mechanism>".
	Method string `json:"method"`
	// TLS is set when the attempt went over TLS (imaps or after
	// STARTTLS); attempts with passwords are only made without TLS.
	TLS bool `json:"tls"`
	// Result classifies the answer.
	Result AuthResult `json:"result"`
	// Reply is the server's final line for the attempt, credentials
	// redacted; empty when none came.
	Reply string `json:"reply,omitempty"`
	// Why says what the classification rests on.
	Why string `json:"why,omitempty"`
}

// saslPlain is SASL PLAIN that never fails on a challenge (a failing
// mechanism would leave imapclient waiting in mid-exchange).
type saslPlain struct{ user, pass string }

func (s *saslPlain) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + s.user + "\x00" + s.pass), nil
}

func (s *saslPlain) Next([]byte) ([]byte, error) { return []byte{}, nil }

// refusedWords are words by which servers refuse before checking.
var refusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
	"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy",
	"layer", "mechanism", "unsupported", "not supported", "unknown command", "not available"}

// classify sorts a tagged answer (status NO or BAD with code and text)
// to a login attempt. loginDisabled is set for a LOGIN command when the
// server advertised LOGINDISABLED.
func classify(status, code, text string, loginDisabled bool) (AuthResult, string) {
	switch strings.ToUpper(code) {
	case "PRIVACYREQUIRED":
		return Refused, "PRIVACYREQUIRED: TLS required before authentication"
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "CONTACTADMIN":
		return Checked, code + ": the server checked the credentials"
	case "UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE":
		return Unclear, code + ": temporary failure"
	}
	r, why := login.ClassifyText(text, refusedWords)
	if r != Unclear {
		return r, why
	}
	if loginDisabled {
		return Refused, "LOGINDISABLED advertised and LOGIN not accepted"
	}
	if strings.EqualFold(status, "BAD") {
		return Refused, "BAD: the command was not processed"
	}
	return r, why
}
