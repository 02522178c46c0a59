package imap

import (
	"strings"
)

// AuthResult is how a server answered one login attempt.
type AuthResult string

// The classes of answer to a login attempt.
const (
	// Refused: the server refused before checking the credentials
	// (PRIVACYREQUIRED, "plaintext authentication disallowed",
	// LOGINDISABLED honoured, mechanism not available). Safe.
	Refused AuthResult = "refused"
	// Checked: the server took the credentials and checked them ("NO
	// [AUTHENTICATIONFAILED]"): before TLS, a cleartext password was
	// accepted. Unsafe.
	Checked AuthResult = "checked"
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn AuthResult = "logged_in"
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way.
	Unclear AuthResult = "unclear"
)

// The probe's login identity: an obviously fake user.
const (
	FakeUser = "kensa-probe-nonexistent"
	// anonTrace is the trace string sent with SASL ANONYMOUS.
	anonTrace = FakeUser
)

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

// saslLogin is the LOGIN mechanism answering by the challenge's words,
// whichever order the server asks in.
type saslLogin struct{ user, pass string }

func (s *saslLogin) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (s *saslLogin) Next(challenge []byte) ([]byte, error) {
	if strings.Contains(strings.ToLower(string(challenge)), "pass") {
		return []byte(s.pass), nil
	}
	return []byte(s.user), nil
}

// saslAnonymous is SASL ANONYMOUS (RFC 4505) with a trace string.
type saslAnonymous struct{}

func (saslAnonymous) Start() (string, []byte, error) { return "ANONYMOUS", []byte(anonTrace), nil }

func (saslAnonymous) Next([]byte) ([]byte, error) { return []byte(anonTrace), nil }

// Words by which servers refuse before checking, and words by which
// they report a check that failed.
var (
	refusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
		"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy",
		"layer", "mechanism", "unsupported", "not supported", "unknown command", "not available"}
	checkedWords = []string{"failed", "failure", "invalid", "incorrect", "wrong", "bad password",
		"unknown user", "no such user", "denied", "mismatch", "rejected", "bad credentials"}
)

// classifyText sorts an answer's text into refused, checked or unclear;
// a text with words of both kinds is unclear.
func classifyText(text string) (AuthResult, string) {
	lower := strings.ToLower(text)
	var refused, checked string
	for _, w := range refusedWords {
		if strings.Contains(lower, w) {
			refused = w
			break
		}
	}
	for _, w := range checkedWords {
		if strings.Contains(lower, w) {
			checked = w
			break
		}
	}
	switch {
	case refused != "" && checked != "":
		return Unclear, "answer says both \"" + refused + "\" and \"" + checked + "\""
	case refused != "":
		return Refused, "answer says \"" + refused + "\""
	case checked != "":
		return Checked, "answer says \"" + checked + "\""
	}
	return Unclear, "answer gives no reason"
}

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
	r, why := classifyText(text)
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
