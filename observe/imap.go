package observe

import (
	"errors"
	"strings"
)

// IMAP is what the probe saw of one IMAP service.
type IMAP struct {
	Endpoint
	// ImplicitTLS is set for imaps: TLS from the first byte.
	ImplicitTLS bool `json:"implicit_tls"`
	// Greeting is the server's first line ("* OK [CAPABILITY …] Dovecot
	// ready."); GreetingStatus its status (OK, PREAUTH, BYE).
	Greeting       string `json:"greeting,omitempty"`
	GreetingStatus string `json:"greeting_status,omitempty"`
	// PreAuth is set when the greeting was PREAUTH: the connection is
	// logged in without any authentication.
	PreAuth bool `json:"preauth"`
	// Capabilities are the capabilities on the first connection (before
	// TLS on imap, over TLS on imaps); CapabilityLine is the line that
	// announced them.
	Capabilities   []string `json:"capabilities,omitempty"`
	CapabilityLine string   `json:"capability_line,omitempty"`
	// ID holds the server's answer to the ID command (RFC 2971), when it
	// advertises ID.
	ID map[string]string `json:"id,omitempty"`
	// StartTLS is the outcome of STARTTLS on a second connection; nil
	// when the server does not advertise STARTTLS or on imaps.
	StartTLS *IMAPStartTLS `json:"starttls,omitempty"`
	// TLS describes the TLS session (imaps, or after STARTTLS).
	TLS *TLS `json:"tls,omitempty"`
	// CapabilitiesAfterTLS are the capabilities after STARTTLS.
	CapabilitiesAfterTLS   []string `json:"capabilities_after_tls,omitempty"`
	CapabilityLineAfterTLS string   `json:"capability_line_after_tls,omitempty"`
	// LoginTested is set when the login attempts ran (Options.SkipLogin
	// unset and the greeting was not PREAUTH).
	LoginTested bool `json:"login_tested"`
	// Attempts are the login attempts in order.
	Attempts []LoginAttempt `json:"login_attempts,omitempty"`
}

// IMAPStartTLS is what happened when the probe sent STARTTLS.
type IMAPStartTLS struct {
	// Result is "ok", "refused" (the server answered NO or BAD) or
	// "failed" (no answer, or the handshake failed).
	Result string `json:"result"`
	// Reply is the server's answer to STARTTLS.
	Reply string `json:"reply,omitempty"`
	// Error says why it failed.
	Error string `json:"error,omitempty"`
}

// Banners returns the greeting and the ID answer.
func (o *IMAP) Banners() []Banner {
	var out []Banner
	b := func(kind, text string) {
		out = append(out, Banner{Service: o.Service, Address: o.Address, Port: o.Port, Kind: kind, Text: text})
	}
	if o.Greeting != "" {
		b("greeting", o.Greeting)
	}
	if len(o.ID) > 0 {
		var parts []string
		for _, k := range IMAPIDKeys {
			if v, ok := o.ID[k]; ok {
				parts = append(parts, k+"="+v)
			}
		}
		b("id", strings.Join(parts, " "))
	}
	return out
}

// AnonymousOffered reports whether the server advertises AUTH=ANONYMOUS
// anywhere or let an anonymous login in.
func (o *IMAP) AnonymousOffered() bool {
	if HasIMAPCap(o.Capabilities, "AUTH=ANONYMOUS") || HasIMAPCap(o.CapabilitiesAfterTLS, "AUTH=ANONYMOUS") {
		return true
	}
	for _, a := range o.Attempts {
		if a.Method == "AUTHENTICATE ANONYMOUS" && a.Result == LoginLoggedIn {
			return true
		}
	}
	return false
}

// IMAPIDKeys are the ID fields (RFC 2971) kept as a banner, in order.
var IMAPIDKeys = []string{"name", "version", "os", "os-version", "vendor", "support-url", "address", "date", "command", "arguments", "environment"}

// IMAPStatusLine is an IMAP status response line (RFC 9051 section 7.1): a
// greeting ("* OK …", "* PREAUTH …", "* BYE …") or a tagged completion
// ("A1 NO [PRIVACYREQUIRED] …").
type IMAPStatusLine struct {
	// Tag is "*" for an untagged line.
	Tag string
	// Status is OK, NO, BAD, PREAUTH or BYE, upper case.
	Status string
	// Code is the response code's atom (CAPABILITY, PRIVACYREQUIRED),
	// upper case, and CodeArgs what follows it inside the brackets.
	Code, CodeArgs string
	// Text is the human-readable rest of the line.
	Text string
}

// ErrNotIMAPStatus is returned by ParseIMAPStatusLine for a line that is not an
// IMAP status response.
var ErrNotIMAPStatus = errors.New("not an IMAP status response")

// ParseIMAPStatusLine parses one line (without its line ending).
func ParseIMAPStatusLine(line string) (IMAPStatusLine, error) {
	var s IMAPStatusLine
	tag, rest, ok := strings.Cut(line, " ")
	if !ok || tag == "" || !isAtom(tag) && tag != "*" {
		return s, ErrNotIMAPStatus
	}
	s.Tag = tag
	status, rest, _ := strings.Cut(rest, " ")
	s.Status = strings.ToUpper(status)
	switch s.Status {
	case "OK", "NO", "BAD", "BYE":
	case "PREAUTH":
		if tag != "*" {
			return s, ErrNotIMAPStatus
		}
	default:
		return s, ErrNotIMAPStatus
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return s, ErrNotIMAPStatus
		}
		code := rest[1:end]
		atom, args, _ := strings.Cut(code, " ")
		s.Code = strings.ToUpper(atom)
		s.CodeArgs = args
		rest = strings.TrimLeft(rest[end+1:], " ")
	}
	s.Text = rest
	return s, nil
}

// isAtom reports whether s is a plausible IMAP tag.
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]+`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// IMAPAuthMechanisms returns the SASL mechanisms of a capability list (the
// names after "AUTH=").
func IMAPAuthMechanisms(caps []string) []string {
	var mechs []string
	for _, c := range caps {
		if m, ok := strings.CutPrefix(c, "AUTH="); ok && m != "" {
			mechs = append(mechs, m)
		}
	}
	return mechs
}

func HasIMAPCap(caps []string, name string) bool {
	for _, c := range caps {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}

// imapRefusedWords are words and phrases by which servers refuse before
// checking: of the connection (Dovecot's "Plaintext authentication
// disallowed on non-secure (SSL/TLS) connections", Cyrus's "Login only
// available under a layer") or of the command or mechanism
// ("Unsupported authentication mechanism", nginx's "BAD invalid command"
// under "starttls only").
var imapRefusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
	"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy", "layer",
	"mechanism", "unsupported", "not supported", "unknown command", "command unknown", "unrecognized",
	"unrecognised", "invalid command", "command invalid", "command not available", "not implemented"}

// ReadIMAPLoginAnswer sorts a tagged answer (status NO or BAD with code and text)
// to a login attempt.
//
// A refusal counts only when it is recognisable: the response code
// PRIVACYREQUIRED, or a text that says it refuses the connection or the
// command (imapRefusedWords). A NO or BAD without either is unclear, even
// when LOGINDISABLED was advertised: RFC 3501 answers a LOGIN whose user
// name or password was rejected with NO, so a bare NO may be a check,
// and a bare BAD says only that this command was not processed, not that
// a real user's would not be. A BAD whose text sounds like a failed check
// is unclear too: BAD means the command was not processed.
func ReadIMAPLoginAnswer(status, code, text string) (LoginResult, string) {
	switch strings.ToUpper(code) {
	case "PRIVACYREQUIRED":
		return LoginRefused, "PRIVACYREQUIRED: TLS required before authentication"
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "CONTACTADMIN":
		return LoginChecked, code + ": the server checked the credentials"
	case "UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE":
		return LoginUnclear, code + ": temporary failure"
	}
	r, why := ClassifyLoginText(text, imapRefusedWords)
	status = strings.ToUpper(status)
	switch {
	case r == LoginChecked && status == "BAD":
		return LoginUnclear, "BAD (the command was not processed), yet the " + why
	case r == LoginUnclear && why == NoReason:
		what := status
		if code != "" {
			what += " [" + code + "]"
		}
		return LoginUnclear, what + " without a reason: not a recognisable refusal"
	}
	return r, why
}

// RereadIMAPLogin sorts the recorded reply of a login attempt (Attempt.Reply,
// the tagged NO or BAD line) as classify does. The rules use it so that
// results stored by an older kensa, which counted answers without a
// reason as refusals, are judged by today's reading when they are graded
// again. ok is false when reply is not a tagged NO or BAD line.
func RereadIMAPLogin(reply string) (r LoginResult, why string, ok bool) {
	st, err := ParseIMAPStatusLine(reply)
	if err != nil || st.Tag == "*" || st.Status != "NO" && st.Status != "BAD" {
		return "", "", false
	}
	r, why = ReadIMAPLoginAnswer(st.Status, st.Code, st.Text)
	return r, why, true
}
