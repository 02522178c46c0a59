package imap

import (
	"strings"
	"testing"
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
		s, err := ParseStatusLine(c.line)
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
	if m := AuthMechanisms([]string{"IMAP4REV1", "AUTH=PLAIN", "AUTH=", "AUTH=ANONYMOUS"}); strings.Join(m, " ") != "PLAIN ANONYMOUS" {
		t.Errorf("mechanisms %v", m)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status, code, text string
		loginDisabled      bool
		want               AuthResult
	}{
		{"NO", "PRIVACYREQUIRED", "Plaintext authentication disallowed", false, Refused},
		{"NO", "AUTHENTICATIONFAILED", "Authentication failed.", false, Checked},
		{"NO", "UNAVAILABLE", "try later", false, Unclear},
		{"NO", "", "Login failed: authentication failure", false, Checked},
		{"NO", "", "LOGIN not allowed on non-secure connections", false, Refused},
		{"NO", "ALERT", "Unsupported authentication mechanism.", false, Refused},
		{"BAD", "", "Command unrecognized", false, Refused},
		{"NO", "", "Nope", true, Refused},
		{"NO", "", "Nope", false, Unclear},
		{"NO", "", "Authentication failed (TLS required next time)", false, Unclear},
	}
	for _, c := range cases {
		if got, why := classify(c.status, c.code, c.text, c.loginDisabled); got != c.want {
			t.Errorf("%s [%s] %q: %s (%s), want %s", c.status, c.code, c.text, got, why, c.want)
		}
	}
}
