package pop3

import "testing"

// TestClassifyErr sorts the answers of real daemons and the answers that
// would make a refusal of cleartext passwords pass wrongly.
func TestClassifyErr(t *testing.T) {
	cases := []struct {
		code, text string
		before     bool
		want       AuthResult
	}{
		// Dovecot before TLS (refusals at once) and after (a check).
		{"AUTH", "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", true, Refused},
		{"AUTH", "Unsupported authentication mechanism.", true, Refused},
		{"AUTH", "Plaintext authentication disabled.", true, Refused},
		{"AUTH", "Authentication failed.", false, Checked},
		// Cyrus before TLS, nginx under "starttls only", Zimbra.
		{"AUTH", "USER command only available under a layer", true, Refused},
		{"AUTH", "authenticating: no mechanism available", true, Refused},
		{"", "invalid command", true, Refused},
		{"", "cleartext logins disabled", true, Refused},
		{"AUTH", "Invalid login", false, Checked},
		// A refusal after the password was sent still refuses.
		{"", "Plaintext authentication disallowed", false, Refused},
		// Temporary failures are no refusal.
		{"SYS/TEMP", "Unable to open maildrop", false, Unclear},
		{"LOGIN-DELAY", "wait", true, Unclear},
		{"", "Too many connections from your address, plaintext disabled for now", true, Unclear},
		// A -ERR without a reason is no refusal, before the credentials
		// too: it may turn away an unknown user at USER, or refuse a
		// mechanism for the time being.
		{"", "", true, Unclear},
		{"", "", false, Unclear},
		{"AUTH", "", true, Unclear},
		{"", "Nope.", true, Unclear},
		// A user looked up before the password was sent: not tested.
		{"", "No such user here", true, Unclear},
		{"AUTH", "Invalid user", true, Unclear},
		// A refusal of the user, not of the connection or the command.
		{"", "Account disabled", true, Unclear},
		{"", "unrecognized user", true, Unclear},
		{"", "Authentication failed, use TLS", false, Unclear},
		{"IN-USE", "Mailbox locked", false, Checked},
	}
	for _, c := range cases {
		if got, why := classifyErr(c.code, c.text, c.before); got != c.want || why == "" {
			t.Errorf("[%s] %q (before credentials %v): %s (%s), want %s", c.code, c.text, c.before, got, why, c.want)
		}
	}
}

func TestReclassify(t *testing.T) {
	cases := []struct {
		reply, step string
		want        AuthResult
		ok          bool
	}{
		{"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", "USER", Refused, true},
		{"-ERR", "USER", Unclear, true},
		{"-ERR", "AUTH", Unclear, true},
		{"-ERR No such user", "USER", Unclear, true},
		{"-ERR [AUTH] Authentication failed.", "PASS", Checked, true},
		{"+OK Logged in.", "PASS", "", false},
		{"garbage", "USER", "", false},
	}
	for _, c := range cases {
		if got, why, ok := Reclassify(c.reply, c.step); got != c.want || ok != c.ok || ok && why == "" {
			t.Errorf("%q at %s: %s (%s) %v, want %s %v", c.reply, c.step, got, why, ok, c.want, c.ok)
		}
	}
}
