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
		{"550 5.1.1 <relaytest%kensa-relay-test.example@mx.example.jp>: Recipient address rejected: User unknown in local recipient table", KindDenied},
		{"501 5.1.3 Bad recipient address syntax", KindDenied},
		{"530 5.7.0 Must issue a STARTTLS command first", KindNeedTLS},
		{"503 5.5.1 Error: need MAIL command", KindSequence},
		{"421 4.7.0 mx.example.jp Error: too many errors", KindClosing},
		{"450 4.2.0 <relaytest@kensa-relay-test.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/x.html", KindTemporary},
		// Sendmail
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied. Proper authentication required.", KindAuth},
		{"550 5.7.1 <relaytest@kensa-relay-test.example>... Relaying denied", KindDenied},
		{"553 5.1.8 <antispam@nowhere.example>... Domain of sender address antispam@nowhere.example does not exist", KindSender},
		{"451 4.7.1 Relaying temporarily denied. Cannot resolve PTR record for 192.0.2.9", KindDenied},
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
		// 4.7.1 alone: relaying denied, as the issue reads it
		{"450 4.7.1 Recipient address rejected: Access denied", KindDenied},
		// the scanner's address refused: nothing seen for other clients
		{"554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.9", KindClient},
		{"450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]", KindClient},
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
