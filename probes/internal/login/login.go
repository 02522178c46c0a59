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
	"strings"
	"sync"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
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
		base64.StdEncoding.EncodeToString([]byte("\x00" + observe.FakeUser + "\x00" + password)),
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
func (Anonymous) Start() (string, []byte, error) { return "ANONYMOUS", []byte(observe.FakeUser), nil }

// Next answers any challenge with the trace string.
func (Anonymous) Next([]byte) ([]byte, error) { return []byte(observe.FakeUser), nil }
