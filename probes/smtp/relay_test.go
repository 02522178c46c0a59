package smtp

import (
	"net/netip"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
)

func reply(t *testing.T, lines ...string) *observe.SMTPReply {
	t.Helper()
	r, err := observe.ParseSMTPReply(lines)
	if err != nil {
		t.Fatalf("%q: %v", lines, err)
	}
	return r
}

func TestKind(t *testing.T) {
	cases := []struct {
		line string
		want observe.ReplyKind
	}{
		{"250 2.1.5 Ok", observe.ReplyOK},
		{"251 2.1.5 User not local; will forward", observe.ReplyOK},
		// Postfix
		{"554 5.7.1 <relaytest@kensa-relay-test.example>: Relay access denied", observe.ReplyDenied},
		{"454 4.7.1 <relaytest@kensa-relay-test.example>: Relay access denied", observe.ReplyDenied},
		{"450 4.1.8 <antispam@mx.example.jp>: Sender address rejected: Domain not found", observe.ReplySender},
		{"553 5.7.1 <antispam@[192.0.2.1]>: Sender address rejected: not logged in", observe.ReplySender},
		{"450 4.1.2 <relaytest@kensa-relay-test.example>: Recipient address rejected: Domain not found", observe.ReplyNoDomain},
		// no such local user: Judge makes it a refusal, the address being local
		{"550 5.1.1 <relaytest%kensa-relay-test.example@mx.example.jp>: Recipient address rejected: User unknown in local recipient table", observe.ReplyUnknownUser},
		{"501 5.1.3 Bad recipient address syntax", observe.ReplyDenied},
		{"530 5.7.0 Must issue a STARTTLS command first", observe.ReplyNeedTLS},
		{"503 5.5.1 Error: need MAIL command", observe.ReplySequence},
		{"421 4.7.0 mx.example.jp Error: too many errors", observe.ReplyClosing},
		{"450 4.2.0 <relaytest@kensa-relay-test.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/x.html", observe.ReplyTemporary},
		// Sendmail
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied. Proper authentication required.", observe.ReplyAuth},
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied", observe.ReplyDenied},
		{"553 5.1.8 <antispam@nowhere.example>... Domain of sender address antispam@nowhere.example does not exist", observe.ReplySender},
		// about the client's missing PTR, not relaying: another client may
		// fare differently
		{"451 4.7.1 Relaying temporarily denied. Cannot resolve PTR record for 192.0.2.9", observe.ReplyClient},
		// Exim
		{"550 relay not permitted", observe.ReplyDenied},
		{"501 <\"relaytest@kensa-relay-test.example\">: malformed address: \" may not follow \"relaytest@kensa-relay-test.example", observe.ReplyDenied},
		{"530 Authentication required", observe.ReplyAuth},
		// Exchange
		{"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain", observe.ReplyDenied},
		{"530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM", observe.ReplyAuth},
		{"451 4.7.0 Temporary server error. Please try again later. PRX4", observe.ReplyTemporary},
		// greylisting with 4.7.1 but no word of relaying
		{"451 4.7.1 Greylisting in action, please come back later", observe.ReplyTemporary},
		{"451 4.7.1 Service unavailable - try again later", observe.ReplyTemporary},
		// 4.7.1 alone says nothing: only a text that says relaying is
		// denied makes a 4xx a refusal
		{"450 4.7.1 Recipient address rejected: Access denied", observe.ReplyTemporary},
		{"451 4.7.1 Rate limit exceeded, try in 60 seconds", observe.ReplyTemporary},
		{"450 4.7.1 Service unavailable", observe.ReplyTemporary},
		{"451 4.7.1 Please try again later", observe.ReplyTemporary},
		{"452 4.5.3 Error: too many recipients", observe.ReplyTemporary},
		{"550 5.7.1 Rate limit exceeded for this client", observe.ReplyTemporary},
		{"451 4.3.5 Server configuration problem", observe.ReplyTemporary},
		{"450 4.3.2 Service currently unavailable", observe.ReplyTemporary},
		{"451 relay temporarily unavailable", observe.ReplyTemporary},
		{"452 4.7.1 Relaying denied for the moment", observe.ReplyDenied},
		// the recipient's domain: relaying never tried, whatever the code
		{"556 5.1.10 <relaytest@kensa-relay-test.example>: Recipient address has null MX", observe.ReplyNoDomain},
		{"550 Unrouteable address", observe.ReplyNoDomain},
		{"550 5.1.2 <relaytest@kensa-relay-test.example>: Recipient address rejected: Domain not found", observe.ReplyNoDomain},
		{"553 5.1.2 <relaytest@kensa-relay-test.example>... Host unknown (Name server: kensa-relay-test.example: host not found)", observe.ReplyNoDomain},
		{"550 Recipient domain not found", observe.ReplyNoDomain},
		// no such user: a refusal only for an address taken as local (Judge)
		{"550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: User unknown in relay recipient table", observe.ReplyUnknownUser},
		{"550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: undeliverable address: host mx.example[192.0.2.7] said: 550 5.1.1 unknown user", observe.ReplyUnknownUser},
		{"550 unknown user", observe.ReplyUnknownUser},
		// the scanner's EHLO name
		{"450 4.7.1 <kensa.invalid>: Helo command rejected: Host not found", observe.ReplyHelo},
		{"550 5.7.1 <kensa.invalid>: Helo command rejected: Host not found", observe.ReplyHelo},
		// the scanner's address refused: nothing seen for other clients
		{"554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.9", observe.ReplyClient},
		{"450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]", observe.ReplyClient},
		{"450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]", observe.ReplyClient},
		{"550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.9]", observe.ReplyClient},
		{"550 5.7.1 Your IP 192.0.2.9 has a poor reputation", observe.ReplyClient},
		{"550 5.7.1 RBL rejection", observe.ReplyClient},
		{"554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied", observe.ReplyClient},
		// an address echoed in the text says nothing
		{"452 4.3.1 <relaytest@relay.example>: Insufficient system storage", observe.ReplyTemporary},
		{"452 4.3.1 tls-relay.example: Insufficient system storage", observe.ReplyTemporary},
		{"354 go ahead", observe.ReplyUnparseable},
	}
	for _, c := range cases {
		if got := (reply(t, c.line)).Kind(); got != c.want {
			t.Errorf("%q: %s, want %s", c.line, got, c.want)
		}
	}
	if (*observe.SMTPReply)(nil).Kind() != observe.ReplyUnparseable || (&observe.SMTPReply{Malformed: true, Lines: []string{"x"}}).Kind() != observe.ReplyUnparseable {
		t.Error("no reply is not unparseable")
	}
	multi := reply(t, "550-5.7.1 This server does not relay", "550 5.7.1 for unauthenticated clients")
	if multi.Kind() != observe.ReplyAuth {
		t.Errorf("multi-line: %s", multi.Kind())
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
		if got := (reply(t, line)).ClientAccessDenied(); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
	if (*observe.SMTPReply)(nil).ClientAccessDenied() {
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
		mail, resp *observe.SMTPReply
		want       observe.RelayOutcome
		kind       observe.ReplyKind
	}{
		{"relaytest@" + d, ok, reply(t, "250 2.1.5 Ok"), observe.RelayAccepted, observe.ReplyOK},
		{"relaytest@" + d, ok, reply(t, "554 5.7.1 <relaytest@kensa-relay-test.example>: Relay access denied"), observe.RelayRefused, observe.ReplyDenied},
		{"relaytest@" + d, ok, reply(t, "451 4.7.1 Rate limit exceeded, try in 60 seconds"), observe.RelayUntested, observe.ReplyTemporary},
		{"relaytest@" + d, ok, reply(t, "550 5.1.1 <relaytest@kensa-relay-test.example>: Recipient address rejected: User unknown"), observe.RelayUntested, observe.ReplyUnknownUser},
		{"@[192.0.2.1]:relaytest@" + d, ok, reply(t, "550 5.1.1 User unknown"), observe.RelayUntested, observe.ReplyUnknownUser},
		{"relaytest%" + d + "@[192.0.2.1]", ok, reply(t, "550 5.1.1 <relaytest%kensa-relay-test.example@[192.0.2.1]>: Recipient address rejected: User unknown in local recipient table"), observe.RelayRefused, observe.ReplyUnknownUser},
		{d + "!relaytest", ok, reply(t, "550 5.1.1 User unknown"), observe.RelayRefused, observe.ReplyUnknownUser},
		{"relaytest@" + d, ok, reply(t, "556 5.1.10 Recipient address has null MX"), observe.RelayUntested, observe.ReplyNoDomain},
		{"relaytest@" + d, ok, reply(t, "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied"), observe.RelayUntested, observe.ReplyClient},
		// MAIL decides when it was refused, even if a pipelined RCPT was 250
		{"relaytest@" + d, reply(t, "530 5.7.0 Authentication required"), reply(t, "503 5.5.1 Error: need MAIL command"), observe.RelayRefused, observe.ReplyAuth},
		{"relaytest@" + d, reply(t, "530 5.7.0 Must issue a STARTTLS command first"), ok, observe.RelayUntested, observe.ReplyNeedTLS},
		{"relaytest@" + d, reply(t, "451 4.7.1 Rate limit exceeded"), nil, observe.RelayUntested, observe.ReplyTemporary},
		{"relaytest@" + d, reply(t, "553 5.1.7 <antispam@[192.0.2.1]>: Sender address rejected: address literal"), nil, observe.RelayUntested, observe.ReplySender},
	}
	for _, c := range cases {
		at := observe.RelayTest{Recipient: c.rcpt, MailCommand: "MAIL FROM:<>", MailReply: c.mail, Result: observe.RelayRefused, Why: "stored"}
		if c.resp != nil {
			at.RcptCommand, at.RcptReply = "RCPT TO:<"+c.rcpt+">", c.resp
		}
		got, kind, why := at.Outcome(d)
		if got != c.want || kind != c.kind || why == "" {
			t.Errorf("%s / %v / %v: %s %s %q, want %s %s", c.rcpt, c.mail, c.resp, got, kind, why, c.want, c.kind)
		}
	}
	// Without any reply, the attempt keeps what it was recorded with.
	at := observe.RelayTest{Result: observe.RelayUntested, Why: "not run: probe time budget spent"}
	if got, _, why := at.Outcome(d); got != observe.RelayUntested || why != at.Why {
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
