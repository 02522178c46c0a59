package imap

import (
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
)

func TestParseStatusLine(t *testing.T) {
	cases := []struct {
		line                         string
		tag, status, code, args, txt string
		bad                          bool
	}{
		{line: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.", tag: "*", status: "OK", code: "CAPABILITY", args: "IMAP4rev1 STARTTLS LOGINDISABLED", txt: "Dovecot ready."},
		{line: "* PREAUTH IMAP4rev1 server logged in as Smith", tag: "*", status: "PREAUTH", txt: "IMAP4rev1 server logged in as Smith"},
		{line: "* BYE Autologout; idle for too long", tag: "*", status: "BYE", txt: "Autologout; idle for too long"},
		{line: "T2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed", tag: "T2", status: "NO", code: "PRIVACYREQUIRED", txt: "Plaintext authentication disallowed"},
		{line: "a1 bad", tag: "a1", status: "BAD"},
		{line: "* ok [alert]", tag: "*", status: "OK", code: "ALERT"},
		{line: "T1 PREAUTH x", bad: true},
		{line: "* OK [CAPABILITY IMAP4rev1", bad: true},
		{line: "+OK POP3 ready", bad: true},
		{line: "SSH-2.0-OpenSSH_9.2", bad: true},
		{line: "", bad: true},
		{line: "*", bad: true},
	}
	for _, c := range cases {
		s, err := observe.ParseIMAPStatusLine(c.line)
		if c.bad {
			if err == nil {
				t.Errorf("%q: parsed as %+v", c.line, s)
			}
			continue
		}
		if err != nil || s.Tag != c.tag || s.Status != c.status || s.Code != c.code || s.CodeArgs != c.args || s.Text != c.txt {
			t.Errorf("%q: %+v %v", c.line, s, err)
		}
	}
}

func TestCapabilityList(t *testing.T) {
	cases := map[string]string{
		"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN auth=login": "IMAP4REV1 STARTTLS AUTH=PLAIN AUTH=LOGIN",
		"* OK [CAPABILITY IMAP4rev1  SASL-IR  SASL-IR] ready":   "IMAP4REV1 SASL-IR",
		"T3 OK [CAPABILITY IMAP4rev2 AUTH=ANONYMOUS] Logged in": "IMAP4REV2 AUTH=ANONYMOUS",
		"* capability imap4rev1 (bad) \"q\"":                    "IMAP4REV1",
	}
	for line, want := range cases {
		caps, ok := CapabilityList(line)
		if !ok || strings.Join(caps, " ") != want {
			t.Errorf("%q: %v %v, want %q", line, caps, ok, want)
		}
	}
	for _, line := range []string{"* OK ready", "* LIST () \"/\" INBOX", "T1 NO [PRIVACYREQUIRED] x"} {
		if caps, ok := CapabilityList(line); ok {
			t.Errorf("%q: %v", line, caps)
		}
	}
	if m := observe.IMAPAuthMechanisms([]string{"IMAP4REV1", "AUTH=PLAIN", "AUTH=", "AUTH=ANONYMOUS"}); strings.Join(m, " ") != "PLAIN ANONYMOUS" {
		t.Errorf("mechanisms %v", m)
	}
}

// TestClassify sorts the answers of real daemons and the answers that
// would make a refusal of cleartext passwords pass wrongly.
func TestClassify(t *testing.T) {
	cases := []struct {
		status, code, text string
		want               observe.LoginResult
	}{
		// Dovecot, before TLS and after.
		{"NO", "PRIVACYREQUIRED", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", observe.LoginRefused},
		{"NO", "ALERT", "Unsupported authentication mechanism.", observe.LoginRefused},
		{"NO", "AUTHENTICATIONFAILED", "Authentication failed.", observe.LoginChecked},
		// Cyrus before TLS, nginx under "starttls only", Zimbra.
		{"NO", "", "Login only available under a layer", observe.LoginRefused},
		{"BAD", "", "invalid command", observe.LoginRefused},
		{"NO", "", "cleartext logins disabled", observe.LoginRefused},
		{"NO", "", "LOGIN failed", observe.LoginChecked},
		{"NO", "", "Login failed: authentication failure", observe.LoginChecked},
		{"NO", "", "LOGIN not allowed on non-secure connections", observe.LoginRefused},
		{"BAD", "", "Command unrecognized", observe.LoginRefused},
		{"NO", "", "LOGIN disabled", observe.LoginRefused},
		// Temporary failures are no refusal.
		{"NO", "UNAVAILABLE", "try later", observe.LoginUnclear},
		{"NO", "", "Too many connections, plaintext disallowed for now", observe.LoginUnclear},
		{"NO", "", "Server busy, try again", observe.LoginUnclear},
		// A refusal without a reason is no refusal: NO, with or without
		// LOGINDISABLED advertised, may be a check (RFC 3501), and BAD
		// only says this command was not processed.
		{"NO", "", "", observe.LoginUnclear},
		{"NO", "", "Nope", observe.LoginUnclear},
		{"NO", "ALERT", "", observe.LoginUnclear},
		{"BAD", "", "", observe.LoginUnclear},
		{"BAD", "", "Error in IMAP command", observe.LoginUnclear},
		// A BAD that sounds like a check: the command was not processed.
		{"BAD", "", "Invalid credentials", observe.LoginUnclear},
		// Words of both kinds, or a refusal of the user, not of the
		// connection.
		{"NO", "", "Authentication failed (TLS required next time)", observe.LoginUnclear},
		{"NO", "", "Account disabled", observe.LoginUnclear},
		{"NO", "", "Login not allowed for this user", observe.LoginUnclear},
		{"NO", "", "unrecognized user", observe.LoginUnclear},
	}
	for _, c := range cases {
		if got, why := observe.ReadIMAPLoginAnswer(c.status, c.code, c.text); got != c.want || why == "" {
			t.Errorf("%s [%s] %q: %s (%s), want %s", c.status, c.code, c.text, got, why, c.want)
		}
	}
}

func TestReclassify(t *testing.T) {
	cases := []struct {
		reply string
		want  observe.LoginResult
		ok    bool
	}{
		{"T1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed", observe.LoginRefused, true},
		{"T1 NO", observe.LoginUnclear, true},
		{"T2 BAD", observe.LoginUnclear, true},
		{"T2 BAD invalid command", observe.LoginRefused, true},
		{"T3 NO [AUTHENTICATIONFAILED] Authentication failed.", observe.LoginChecked, true},
		{"T1 OK Logged in", "", false},
		{"* BYE Logging out", "", false},
		{"NO [ALERT] from the error", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got, why, ok := observe.RereadIMAPLogin(c.reply); got != c.want || ok != c.ok || ok && why == "" {
			t.Errorf("%q: %s (%s) %v, want %s %v", c.reply, got, why, ok, c.want, c.ok)
		}
	}
}
