package observe

import "strings"

// POP3 is what the probe saw of one POP3 service.
type POP3 struct {
	Endpoint
	// ImplicitTLS is set for pop3s: TLS from the first byte.
	ImplicitTLS bool `json:"implicit_tls"`
	// Greeting is the server's first line ("+OK Dovecot ready.").
	Greeting string `json:"greeting,omitempty"`
	// APOPTimestamp is the greeting's "<…@…>" string, if any.
	APOPTimestamp string `json:"apop_timestamp,omitempty"`
	// Capa are the CAPA lines on the first connection (before TLS on
	// pop3, over TLS on pop3s); CapaError is the server's -ERR when it
	// has no CAPA.
	Capa      []string `json:"capa,omitempty"`
	CapaError string   `json:"capa_error,omitempty"`
	// STLS is the outcome of STLS on a second connection; nil when the
	// server does not advertise STLS or on pop3s.
	STLS *POP3STLS `json:"stls,omitempty"`
	// TLS describes the TLS session (pop3s, or after STLS).
	TLS *TLS `json:"tls,omitempty"`
	// CapaAfterTLS are the CAPA lines after STLS.
	CapaAfterTLS []string `json:"capa_after_tls,omitempty"`
	// LoginTested is set when the login attempts ran (Options.SkipLogin
	// unset).
	LoginTested bool `json:"login_tested"`
	// Attempts are the login attempts in order.
	Attempts []LoginAttempt `json:"login_attempts,omitempty"`
}

// POP3STLS is what happened when the probe sent STLS.
type POP3STLS struct {
	// Result is "ok", "refused" (the server answered -ERR) or "failed"
	// (no answer, or the handshake failed).
	Result string `json:"result"`
	// Reply is the server's answer to STLS.
	Reply string `json:"reply,omitempty"`
	// Error says why it failed.
	Error string `json:"error,omitempty"`
}

// Banners returns the greeting and the CAPA IMPLEMENTATION line.
func (o *POP3) Banners() []Banner {
	var out []Banner
	b := func(kind, text string) {
		out = append(out, Banner{Service: o.Service, Address: o.Address, Port: o.Port, Kind: kind, Text: text})
	}
	if o.Greeting != "" {
		b("greeting", o.Greeting)
	}
	seen := map[string]bool{}
	for _, l := range append(append([]string(nil), o.Capa...), o.CapaAfterTLS...) {
		if impl, ok := cutPrefixFold(l, "IMPLEMENTATION "); ok && !seen[impl] {
			seen[impl] = true
			b("implementation", impl)
		}
	}
	return out
}

// POP3Mechanisms returns the SASL mechanisms of CAPA lines.
func POP3Mechanisms(capa []string) []string {
	for _, l := range capa {
		if rest, ok := cutPrefixFold(l, "SASL"); ok && (rest == "" || rest[0] == ' ') {
			return strings.Fields(strings.ToUpper(rest))
		}
	}
	return nil
}

// POP3HasCapa reports whether the CAPA lines include the capability name
// (the line's first word).
func POP3HasCapa(capa []string, name string) bool {
	for _, l := range capa {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// AnonymousOffered reports whether the server advertises SASL ANONYMOUS
// anywhere or let an anonymous login in.
func (o *POP3) AnonymousOffered() bool {
	for _, capa := range [][]string{o.Capa, o.CapaAfterTLS} {
		for _, m := range POP3Mechanisms(capa) {
			if m == "ANONYMOUS" {
				return true
			}
		}
	}
	for _, a := range o.Attempts {
		if a.Method == "AUTH ANONYMOUS" && a.Result == LoginLoggedIn {
			return true
		}
	}
	return false
}

// pop3RefusedWords are words and phrases by which servers refuse before
// checking: of the connection (Dovecot's "Plaintext authentication
// disallowed on non-secure (SSL/TLS) connections", Cyrus's "USER command
// only available under a layer") or of the command or mechanism
// ("Unsupported authentication mechanism", nginx's "invalid command"
// under "starttls only").
var pop3RefusedWords = []string{"plaintext", "plain text", "cleartext", "clear text", "disallowed",
	"disabled", "not allowed", "not permitted", "tls", "ssl", "encrypt", "secure", "privacy", "layer",
	"mechanism", "unsupported", "not supported", "unknown command", "command unknown", "unrecognized",
	"unrecognised", "invalid command", "command invalid", "command not available", "not implemented"}

// ReadPOP3LoginAnswer sorts a -ERR answer. beforeCredentials is set when the
// server answered before any credential was sent (USER, or the AUTH line
// itself).
//
// A refusal counts only when it is recognisable: its text says it
// refuses the connection or the command (pop3RefusedWords). A -ERR without
// such a reason is unclear wherever it comes: before credentials it may
// refuse the fake user (a server that turns away unknown users at USER
// would take a real user's password next), or a mechanism for the time
// being. A hint that the user was looked up before the password was sent
// leaves the question open too.
func ReadPOP3LoginAnswer(code, text string, beforeCredentials bool) (LoginResult, string) {
	switch strings.ToUpper(code) {
	case "SYS/TEMP", "LOGIN-DELAY":
		return LoginUnclear, "[" + code + "]: temporary failure"
	case "IN-USE":
		return LoginChecked, "[IN-USE]: the server checked the credentials"
	}
	r, why := ClassifyLoginText(text, pop3RefusedWords)
	switch {
	case r == LoginChecked && beforeCredentials:
		return LoginUnclear, why + " before the password was sent: the user was looked up, the password never tested"
	case r == LoginUnclear && why == NoReason:
		return LoginUnclear, "-ERR without a reason: not a recognisable refusal"
	}
	return r, why
}

// RereadPOP3Login sorts the recorded reply of a login attempt (Attempt.Reply,
// a -ERR line, and Attempt.Step) as the probe does. The rules use it so
// that results stored by an older kensa, which counted a -ERR without a
// reason before the password as a refusal, are judged by today's reading
// when they are graded again. ok is false when reply is not a -ERR line.
func RereadPOP3Login(reply, step string) (r LoginResult, why string, ok bool) {
	code, text, ok := parsePOP3Err(reply)
	if !ok {
		return "", "", false
	}
	r, why = ReadPOP3LoginAnswer(code, text, step == "USER" || step == "AUTH")
	return r, why, true
}

// parsePOP3Err splits a "-ERR [CODE] text" line (RFC 2449 response
// codes) into its code and text; ok is false for any other line.
func parsePOP3Err(line string) (code, text string, ok bool) {
	rest, found := strings.CutPrefix(line, "-ERR")
	if !found || rest != "" && rest[0] != ' ' {
		return "", "", false
	}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end > 0 {
			code, rest = rest[1:end], strings.TrimLeft(rest[end+1:], " ")
		}
	}
	return code, rest, true
}

// cutPrefixFold cuts prefix from s, ignoring case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}
