package imap

import (
	"strings"

	"github.com/kensa-inspect/kensa/probes/internal/login"
)

// AuthResult is how a server answered one login attempt.
type AuthResult = login.Result

// The classes of answer to a login attempt.
const (
	// Refused: the server refused before checking the credentials, and
	// said so (PRIVACYREQUIRED, "plaintext authentication disallowed",
	// "unsupported authentication mechanism"). Safe.
	Refused = login.Refused
	// Checked: the server took the credentials and checked them ("NO
	// [AUTHENTICATIONFAILED]"): before TLS, a cleartext password was
	// accepted. Unsafe.
	Checked = login.Checked
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn = login.LoggedIn
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way (a bare NO or BAD among them).
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

// refusedWords are words and phrases by which servers refuse before
// checking: of the connection (Dovecot's "Plaintext authentication
// disallowed on non-secure (SSL/TLS) connections", Cyrus's "Login only
// available under a layer") or of the command or mechanism
// ("Unsupported authentication mechanism", nginx's "BAD invalid command"
// under "starttls only").
var refusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
	"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy", "layer",
	"mechanism", "unsupported", "not supported", "unknown command", "command unknown", "unrecognized",
	"unrecognised", "invalid command", "command invalid", "command not available", "not implemented"}

// classify sorts a tagged answer (status NO or BAD with code and text)
// to a login attempt.
//
// A refusal counts only when it is recognisable: the response code
// PRIVACYREQUIRED, or a text that says it refuses the connection or the
// command (refusedWords). A NO or BAD without either is unclear, even
// when LOGINDISABLED was advertised: RFC 3501 answers a LOGIN whose user
// name or password was rejected with NO, so a bare NO may be a check,
// and a bare BAD says only that this command was not processed, not that
// a real user's would not be. A BAD whose text sounds like a failed check
// is unclear too: BAD means the command was not processed.
func classify(status, code, text string) (AuthResult, string) {
	switch strings.ToUpper(code) {
	case "PRIVACYREQUIRED":
		return Refused, "PRIVACYREQUIRED: TLS required before authentication"
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "CONTACTADMIN":
		return Checked, code + ": the server checked the credentials"
	case "UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE":
		return Unclear, code + ": temporary failure"
	}
	r, why := login.ClassifyText(text, refusedWords)
	status = strings.ToUpper(status)
	switch {
	case r == Checked && status == "BAD":
		return Unclear, "BAD (the command was not processed), yet the " + why
	case r == Unclear && why == login.NoReason:
		what := status
		if code != "" {
			what += " [" + code + "]"
		}
		return Unclear, what + " without a reason: not a recognisable refusal"
	}
	return r, why
}

// Reclassify sorts the recorded reply of a login attempt (Attempt.Reply,
// the tagged NO or BAD line) as classify does. The rules use it so that
// results stored by an older kensa, which counted answers without a
// reason as refusals, are judged by today's reading when they are graded
// again. ok is false when reply is not a tagged NO or BAD line.
func Reclassify(reply string) (r AuthResult, why string, ok bool) {
	st, err := ParseStatusLine(reply)
	if err != nil || st.Tag == "*" || st.Status != "NO" && st.Status != "BAD" {
		return "", "", false
	}
	r, why = classify(st.Status, st.Code, st.Text)
	return r, why, true
}
