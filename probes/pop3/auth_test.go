package pop3

import (
	"testing"

	"github.com/kensa-inspect/kensa/observe"
)

// TestClassifyErr sorts the answers of real daemons and the answers that
// would make a refusal of cleartext passwords pass wrongly.
func TestClassifyErr(t *testing.T) {
	cases := []struct {
		code, text string
		before     bool
		want       observe.LoginResult
	}{
		// Dovecot before TLS (refusals at once) and after (a check).
		{"AUTH", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", true, observe.LoginRefused},
		{"AUTH", "Unsupported authentication mechanism.", true, observe.LoginRefused},
		{"AUTH", "Plaintext authentication disabled.", true, observe.LoginRefused},
		{"AUTH", "Authentication failed.", false, observe.LoginChecked},
		// Cyrus before TLS, nginx under "starttls only", Zimbra.
		{"AUTH", "USER command only available under a layer", true, observe.LoginRefused},
		{"AUTH", "authenticating: no mechanism available", true, observe.LoginRefused},
		{"", "invalid command", true, observe.LoginRefused},
		{"", "cleartext logins disabled", true, observe.LoginRefused},
		{"AUTH", "Invalid login", false, observe.LoginChecked},
		// A refusal after the password was sent still refuses.
		{"", "Plaintext authentication disallowed", false, observe.LoginRefused},
		// Temporary failures are no refusal.
		{"SYS/TEMP", "Unable to open maildrop", false, observe.LoginUnclear},
		{"LOGIN-DELAY", "wait", true, observe.LoginUnclear},
		{"", "Too many connections from your address, plaintext disabled for now", true, observe.LoginUnclear},
		// A -ERR without a reason is no refusal, before the credentials
		// too: it may turn away an unknown user at USER, or refuse a
		// mechanism for the time being.
		{"", "", true, observe.LoginUnclear},
		{"", "", false, observe.LoginUnclear},
		{"AUTH", "", true, observe.LoginUnclear},
		{"", "Nope.", true, observe.LoginUnclear},
		// A user looked up before the password was sent: not tested.
		{"", "No such user here", true, observe.LoginUnclear},
		{"AUTH", "Invalid user", true, observe.LoginUnclear},
		// A refusal of the user, not of the connection or the command.
		{"", "Account disabled", true, observe.LoginUnclear},
		{"", "unrecognized user", true, observe.LoginUnclear},
		{"", "Authentication failed, use TLS", false, observe.LoginUnclear},
		{"IN-USE", "Mailbox locked", false, observe.LoginChecked},
	}
	for _, c := range cases {
		if got, why := observe.ReadPOP3LoginAnswer(c.code, c.text, c.before); got != c.want || why == "" {
			t.Errorf("[%s] %q (before credentials %v): %s (%s), want %s", c.code, c.text, c.before, got, why, c.want)
		}
	}
}

func TestReclassify(t *testing.T) {
	cases := []struct {
		reply, step string
		want        observe.LoginResult
		ok          bool
	}{
		{"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", "USER", observe.LoginRefused, true},
		{"-ERR", "USER", observe.LoginUnclear, true},
		{"-ERR", "AUTH", observe.LoginUnclear, true},
		{"-ERR No such user", "USER", observe.LoginUnclear, true},
		{"-ERR [AUTH] Authentication failed.", "PASS", observe.LoginChecked, true},
		{"+OK Logged in.", "PASS", "", false},
		{"garbage", "USER", "", false},
	}
	for _, c := range cases {
		if got, why, ok := observe.RereadPOP3Login(c.reply, c.step); got != c.want || ok != c.ok || ok && why == "" {
			t.Errorf("%q at %s: %s (%s) %v, want %s %v", c.reply, c.step, got, why, ok, c.want, c.ok)
		}
	}
}
