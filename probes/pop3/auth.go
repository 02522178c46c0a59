package pop3

import (
	"strings"

	"github.com/kensa-inspect/kensa/internal/pop3client"
	"github.com/kensa-inspect/kensa/probes/internal/login"
)

// AuthResult is how a server answered one login attempt.
type AuthResult = login.Result

// The classes of answer to a login attempt (the same as package imap's).
const (
	// Refused: the server refused before checking the credentials, and
	// said so ("-ERR [AUTH] Plaintext authentication disallowed",
	// "Unsupported authentication mechanism"). Safe.
	Refused = login.Refused
	// Checked: the server took the credentials and checked them
	// ("-ERR [AUTH] Authentication failed"): before TLS, a cleartext
	// password was accepted. Unsafe.
	Checked = login.Checked
	// LoggedIn: the fake user or anonymous login was let in.
	LoggedIn = login.LoggedIn
	// Unclear: no answer, a temporary failure, or an answer the probe
	// cannot read either way (a bare -ERR among them).
	Unclear = login.Unclear
)

// FakeUser is the probe's login identity: an obviously fake user.
const FakeUser = login.FakeUser

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

// refusedWords are words and phrases by which servers refuse before
// checking: of the connection (Dovecot's "Plaintext authentication
// disallowed on non-secure (SSL/TLS) connections", Cyrus's "USER command
// only available under a layer") or of the command or mechanism
// ("Unsupported authentication mechanism", nginx's "invalid command"
// under "starttls only").
var refusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
	"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy", "layer",
	"mechanism", "unsupported", "not supported", "unknown command", "command unknown", "unrecognized",
	"unrecognised", "invalid command", "command invalid", "command not available", "not implemented"}

// classifyErr sorts a -ERR answer. beforeCredentials is set when the
// server answered before any credential was sent (USER, or the AUTH line
// itself).
//
// A refusal counts only when it is recognisable: its text says it
// refuses the connection or the command (refusedWords). A -ERR without
// such a reason is unclear wherever it comes: before credentials it may
// refuse the fake user (a server that turns away unknown users at USER
// would take a real user's password next), or a mechanism for the time
// being. A hint that the user was looked up before the password was sent
// leaves the question open too.
func classifyErr(code, text string, beforeCredentials bool) (AuthResult, string) {
	switch strings.ToUpper(code) {
	case "SYS/TEMP", "LOGIN-DELAY":
		return Unclear, "[" + code + "]: temporary failure"
	case "IN-USE":
		return Checked, "[IN-USE]: the server checked the credentials"
	}
	r, why := login.ClassifyText(text, refusedWords)
	switch {
	case r == Checked && beforeCredentials:
		return Unclear, why + " before the password was sent: the user was looked up, the password never tested"
	case r == Unclear && why == login.NoReason:
		return Unclear, "-ERR without a reason: not a recognisable refusal"
	}
	return r, why
}

// Reclassify sorts the recorded reply of a login attempt (Attempt.Reply,
// a -ERR line, and Attempt.Step) as the probe does. The rules use it so
// that results stored by an older kensa, which counted a -ERR without a
// reason before the password as a refusal, are judged by today's reading
// when they are graded again. ok is false when reply is not a -ERR line.
func Reclassify(reply, step string) (r AuthResult, why string, ok bool) {
	rep, err := pop3client.ParseReply(reply)
	if err != nil || rep.Status != pop3client.StatusErr {
		return "", "", false
	}
	r, why = classifyErr(rep.Code, rep.Text, step == "USER" || step == "AUTH")
	return r, why, true
}
