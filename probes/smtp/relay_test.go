package smtp

import (
	"net/netip"
	"testing"
)

func reply(t *testing.T, lines ...string) *Reply {
	t.Helper()
	r, err := ParseReply(lines)
	if err != nil {
		t.Fatalf("%q: %v", lines, err)
	}
	return r
}

func TestKind(t *testing.T) {
	cases := []struct {
		line string
		want ReplyKind
	}{
		{"250 2.1.5 Ok", KindOK},
		{"251 2.1.5 User not local; will forward", KindOK},
		// Postfix
		{"554 5.7.1 <relaytest@kensa-relay-test.example>: Relay access denied", KindDenied},
		{"454 4.7.1 <relaytest@kensa-relay-test.example>: Relay access denied", KindDenied},
		{"450 4.1.8 <antispam@mx.example.jp>: Sender address rejected: Domain not found", KindSender},
		{"553 5.7.1 <antispam@[192.0.2.1]>: Sender address rejected: not logged in", KindSender},
		{"450 4.1.2 <relaytest@kensa-relay-test.example>: Recipient address rejected: Domain not found", KindNoDomain},
		// no such local user: Judge makes it a refusal, the address being local
		{"550 5.1.1 <relaytest%kensa-relay-test.example@mx.example.jp>: Recipient address rejected: User unknown in local recipient table", KindUnknownUser},
		{"501 5.1.3 Bad recipient address syntax", KindDenied},
		{"530 5.7.0 Must issue a STARTTLS command first", KindNeedTLS},
		{"503 5.5.1 Error: need MAIL command", KindSequence},
		{"421 4.7.0 mx.example.jp Error: too many errors", KindClosing},
		{"450 4.2.0 <relaytest@kensa-relay-test.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/x.html", KindTemporary},
		// Sendmail
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied. Proper authentication required.", KindAuth},
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied", KindDenied},
		{"553 5.1.8 <antispam@nowhere.example>... Domain of sender address antispam@nowhere.example does not exist", KindSender},
		// about the client's missing PTR, not relaying: another client may
		// fare differently
		{"451 4.7.1 Relaying temporarily denied. Cannot resolve PTR record for 192.0.2.9", KindClient},
		// Exim
		{"550 relay not permitted", KindDenied},
		{"501 <\"relaytest@kensa-relay-test.example\">: malformed address: \" may not follow \"relaytest@kensa-relay-test.example", KindDenied},
		{"530 Authentication required", KindAuth},
		// Exchange
		{"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", KindDenied},
		{"530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM", KindAuth},
		{"451 4.7.0 Temporary server error. Please try again later. PRX4", KindTemporary},
		// greylisting with 4.7.1 but no word of relaying
		{"451 4.7.1 Greylisting in action, please come back later", KindTemporary},
		{"451 4.7.1 Service unavailable - try again later", KindTemporary},
		// 4.7.1 alone says nothing: only a text that says relaying is
		// denied makes a 4xx a refusal
		{"450 4.7.1 Recipient address rejected: Access denied", KindTemporary},
		{"451 4.7.1 Rate limit exceeded, try in 60 seconds", KindTemporary},
		{"450 4.7.1 Service unavailable", KindTemporary},
		{"451 4.7.1 Please try again later", KindTemporary},
		{"452 4.5.3 Error: too many recipients", KindTemporary},
		{"550 5.7.1 Rate limit exceeded for this client", KindTemporary},
		{"451 4.3.5 Server configuration problem", KindTemporary},
		{"450 4.3.2 Service currently unavailable", KindTemporary},
		{"451 relay temporarily unavailable", KindTemporary},
		{"452 4.7.1 Relaying denied for the moment", KindDenied},
		// the recipient's domain: relaying never tried, whatever the code
		{"556 5.1.10 <relaytest@kensa-relay-test.example>: Recipient address has null MX", KindNoDomain},
		{"550 Unrouteable address", KindNoDomain},
		{"550 5.1.2 <relaytest@kensa-relay-test.example>: Recipient address rejected: Domain not found", KindNoDomain},
		{"553 5.1.2 <relaytest@kensa-relay-test.example>... Host unknown (Name server: kensa-relay-test.example: host not found)", KindNoDomain},
		{"550 Recipient domain not found", KindNoDomain},
		// no such user: a refusal only for an address taken as local (Judge)
		{"550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: User unknown in relay recipient table", KindUnknownUser},
		{"550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: undeliverable address: host mx.example[192.0.2.7] said: 550 5.1.1 unknown user", KindUnknownUser},
		{"550 unknown user", KindUnknownUser},
		// the scanner's EHLO name
		{"450 4.7.1 <kensa.invalid>: Helo command rejected: Host not found", KindHelo},
		{"550 5.7.1 <kensa.invalid>: Helo command rejected: Host not found", KindHelo},
		// the scanner's address refused: nothing seen for other clients
		{"554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.9", KindClient},
		{"450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]", KindClient},
		{"450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]", KindClient},
		{"550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.9]", KindClient},
		{"550 5.7.1 Your IP 192.0.2.9 has a poor reputation", KindClient},
		{"550 5.7.1 RBL rejection", KindClient},
		{"554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", KindClient},
		// an address echoed in the text says nothing
		{"452 4.3.1 <relaytest@relay.example>: Insufficient system storage", KindTemporary},
		{"452 4.3.1 tls-relay.example: Insufficient system storage", KindTemporary},
		{"354 go ahead", KindUnparseable},
	}
	for _, c := range cases {
		if got := Kind(reply(t, c.line)); got != c.want {
			t.Errorf("%q: %s, want %s", c.line, got, c.want)
		}
	}
	if Kind(nil) != KindUnparseable || Kind(&Reply{Malformed: true, Lines: []string{"x"}}) != KindUnparseable {
		t.Error("no reply is not unparseable")
	}
	multi := reply(t, "550-5.7.1 This server does not relay", "550 5.7.1 for unauthenticated clients")
	if Kind(multi) != KindAuth {
		t.Errorf("multi-line: %s", Kind(multi))
	}
}

func TestClientAccessDenied(t *testing.T) {
	cases := map[string]bool{
		"554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied":                      true,
		"554 5.7.1 <mx.example.jp[192.0.2.9]>: Client host rejected: Access denied":                true,
		"450 4.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied":                      false, // temporary
		"450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]":                  false,
		"550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]":                  false, // PTR, not access
		"554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org":    false,
		"554 5.7.1 <relaytest@kensa-relay-test.example>: Relay access denied":                      false,
		"554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied; listed in dnsbl foo": false,
	}
	for line, want := range cases {
		if got := ClientAccessDenied(reply(t, line)); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
	if ClientAccessDenied(nil) {
		t.Error("nil reply")
	}
}

// TestJudge: each attempt is judged on its own replies; a recipient the
// server says does not exist is a refusal only when the server took the
// address as local.
func TestJudge(t *testing.T) {
	const d = "kensa-relay-test.example"
	ok := reply(t, "250 2.1.0 Ok")
	cases := []struct {
		rcpt       string
		mail, resp *Reply
		want       RelayOutcome
		kind       ReplyKind
	}{
		{"relaytest@" + d, ok, reply(t, "250 2.1.5 Ok"), Accepted, KindOK},
		{"relaytest@" + d, ok, reply(t, "554 5.7.1 <relaytest@kensa-relay-test.example>: Relay access denied"), Refused, KindDenied},
		{"relaytest@" + d, ok, reply(t, "451 4.7.1 Rate limit exceeded, try in 60 seconds"), Untested, KindTemporary},
		{"relaytest@" + d, ok, reply(t, "550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: User unknown"), Untested, KindUnknownUser},
		{"@[192.0.2.1]:relaytest@" + d, ok, reply(t, "550 5.1.1 User unknown"), Untested, KindUnknownUser},
		{"relaytest%" + d + "@[192.0.2.1]", ok, reply(t, "550 5.1.1 <relaytest%kensa-relay-test.example@[192.0.2.1]>: Recipient address rejected: User unknown in local recipient table"), Refused, KindUnknownUser},
		{d + "!relaytest", ok, reply(t, "550 5.1.1 User unknown"), Refused, KindUnknownUser},
		{"relaytest@" + d, ok, reply(t, "556 5.1.10 Recipient address has null MX"), Untested, KindNoDomain},
		{"relaytest@" + d, ok, reply(t, "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied"), Untested, KindClient},
		// MAIL decides when it was refused, even if a pipelined RCPT was 250
		{"relaytest@" + d, reply(t, "530 5.7.0 Authentication required"), reply(t, "503 5.5.1 Error: need MAIL command"), Refused, KindAuth},
		{"relaytest@" + d, reply(t, "530 5.7.0 Must issue a STARTTLS command first"), ok, Untested, KindNeedTLS},
		{"relaytest@" + d, reply(t, "451 4.7.1 Rate limit exceeded"), nil, Untested, KindTemporary},
		{"relaytest@" + d, reply(t, "553 5.1.7 <antispam@[192.0.2.1]>: Sender address rejected: address literal"), nil, Untested, KindSender},
	}
	for _, c := range cases {
		at := RelayTest{Recipient: c.rcpt, MailCommand: "MAIL FROM:<>", MailReply: c.mail, Result: Refused, Why: "stored"}
		if c.resp != nil {
			at.RcptCommand, at.RcptReply = "RCPT TO:<"+c.rcpt+">", c.resp
		}
		got, kind, why := at.Judge(d)
		if got != c.want || kind != c.kind || why == "" {
			t.Errorf("%s / %v / %v: %s %s %q, want %s %s", c.rcpt, c.mail, c.resp, got, kind, why, c.want, c.kind)
		}
	}
	// Without any reply, the attempt keeps what it was recorded with.
	at := RelayTest{Result: Untested, Why: "not run: probe time budget spent"}
	if got, _, why := at.Judge(d); got != Untested || why != at.Why {
		t.Errorf("no reply: %s %q", got, why)
	}
}

func TestParseEHLO(t *testing.T) {
	r := reply(t,
		"250-mx.example.jp Hello [192.0.2.9]",
		"250-SIZE 10240000",
		"250-AUTH=LOGIN",
		"250-auth plain login CRAM-MD5",
		"250-STARTTLS",
		"250-This server offers AUTH and more, see HELP",
		"250 8BITMIME")
	exts, auth, mechs, starttls := ParseEHLO(r)
	if !auth || !starttls {
		t.Fatalf("auth %v starttls %v", auth, starttls)
	}
	if len(mechs) != 3 || mechs[0] != "LOGIN" || mechs[1] != "PLAIN" || mechs[2] != "CRAM-MD5" {
		t.Errorf("mechanisms %q", mechs)
	}
	if len(exts) != 6 || exts[5] != "8BITMIME" || exts[4] != "THIS server offers AUTH and more, see HELP" {
		t.Errorf("extensions %q", exts)
	}
	// HELP-like text with AUTH inside, never as a keyword.
	r = reply(t, "250-mx Hello", "250-Commands: HELO EHLO MAIL RCPT AUTH", "250 HELP")
	if _, auth, _, _ := ParseEHLO(r); auth {
		t.Error("AUTH inside free text counted")
	}
	// A refused EHLO offers nothing.
	if exts, auth, _, _ := ParseEHLO(reply(t, "502 5.5.1 Command not implemented")); exts != nil || auth {
		t.Error("refused EHLO has extensions")
	}
}

func TestServerName(t *testing.T) {
	cases := map[string]string{
		"220 mx.example.go.jp ESMTP Postfix":              "mx.example.go.jp",
		"220 MX1.Example.JP Microsoft ESMTP MAIL Service": "mx1.example.jp",
		"220 ESMTP ready":                                 "",
		"220 localhost ESMTP":                             "",
		"220 192.0.2.1 ESMTP":                             "",
		"220 [192.0.2.1] ESMTP":                           "",
		"220 2.0.0 mx.example.jp ready":                   "mx.example.jp",
		"250 mx.example.jp, pleased to meet you":          "mx.example.jp",
		"220 -bad-.example ESMTP":                         "",
	}
	for line, want := range cases {
		if got := ServerName(reply(t, line)); got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
	if p := ParentDomain("mx1.example.go.jp"); p != "example.go.jp" {
		t.Errorf("parent %q", p)
	}
	if p := ParentDomain("example.jp"); p != "" {
		t.Errorf("parent of a two-label name: %q", p)
	}
}

func TestLiteral(t *testing.T) {
	cases := map[string]string{
		"192.0.2.1":        "[192.0.2.1]",
		"::1":              "[IPv6:::1]",
		"2001:db8::25":     "[IPv6:2001:db8::25]",
		"::ffff:192.0.2.1": "[192.0.2.1]",
		"fe80::1%eth0":     "[IPv6:fe80::1]",
	}
	for in, want := range cases {
		if got := Literal(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
