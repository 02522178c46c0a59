package pop3

import (
	"strings"
)

// AuthResult is how a server answered one login attempt.
type AuthResult string

// The classes of answer to a login attempt (the same as package imap's).
const (
	// Refused: the server refused before checking the credentials
	// ("-ERR [AUTH] Plaintext authentication disallowed", USER or AUTH
	// refused before STLS, mechanism not available). Safe.
	Refused AuthResult = "refused"
	// Checked: the server took the credentials and checked them
	// ("-ERR [AUTH] Authentication failed"): before TLS, a cleartext
	// password was accepted. Unsafe.
	Checked AuthResult = "checked"
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn AuthResult = "logged_in"
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way.
	Unclear AuthResult = "unclear"
)

// FakeUser is the probe's login identity: an obviously fake user.
const FakeUser = "kensa-probe-nonexistent"

// Attempt is one login attempt and the server's answer.
type Attempt struct {
	// Method is "USER/PASS" or "AUTH <mechanism>".
	Method string `json:"method"`
	// TLS is set when the attempt went over TLS (pop3s or after STLS);
	// attempts with passwords are only made without TLS.
	TLS bool `json:"tls"`
	// Result classifies the answer.
	Result AuthResult `json:"result"`
	// Step is the command the server answered last: "USER", "PASS",
	// "AUTH" (refused at once, before any credential was sent) or
	// "response" (after the credentials).
	Step string `json:"step,omitempty"`
	// Reply is the server's last line for the attempt, credentials
	// redacted; empty when none came.
	Reply string `json:"reply,omitempty"`
	// Why says what the classification rests on.
	Why string `json:"why,omitempty"`
}

// saslPlain is SASL PLAIN; its response goes out only after the
// server's continuation.
type saslPlain struct{ user, pass string }

func (s *saslPlain) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + s.user + "\x00" + s.pass), nil
}

func (s *saslPlain) Next([]byte) ([]byte, error) {
	return []byte("\x00" + s.user + "\x00" + s.pass), nil
}

// saslLogin is the LOGIN mechanism answering by the challenge's words.
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

func (saslAnonymous) Start() (string, []byte, error) { return "ANONYMOUS", []byte(FakeUser), nil }

func (saslAnonymous) Next([]byte) ([]byte, error) { return []byte(FakeUser), nil }

// Words by which servers refuse before checking, and words by which
// they report a check that failed.
var (
	refusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
		"disabled", "not allowed", "not permitted", "tls", "ssl", "stls", "encrypt", "secure", "privacy",
		"mechanism", "unsupported", "not supported", "unknown command", "not available", "not implemented"}
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

// classifyErr sorts a -ERR answer. beforeCredentials is set when the
// server answered before any credential was sent (USER, or the AUTH line
// itself): then a refusal without reason is still a refusal, while a
// hint that the user was looked up leaves the question open.
func classifyErr(code, text string, beforeCredentials bool) (AuthResult, string) {
	switch strings.ToUpper(code) {
	case "SYS/TEMP", "LOGIN-DELAY":
		return Unclear, "[" + code + "]: temporary failure"
	case "IN-USE":
		return Checked, "[IN-USE]: the server checked the credentials"
	}
	r, why := classifyText(text)
	if !beforeCredentials {
		return r, why
	}
	switch r {
	case Checked:
		return Unclear, why + " before the password was sent: the user was looked up, the password never tested"
	case Unclear:
		return Refused, "refused before any password was sent"
	}
	return r, why
}
