package observe

import "strings"

// The messages of the content test, in the order they are sent.
const (
	// ContentControl is the clean control message: it shows that the
	// server takes mail for the test recipient from the scanner at all.
	ContentControl = "control"
	// ContentEICAR carries the EICAR anti-malware test file as a MIME
	// attachment (item M3).
	ContentEICAR = "eicar"
	// ContentGTUBE carries SpamAssassin's GTUBE test string in its body
	// (item X2).
	ContentGTUBE = "gtube"
)

// ContentKinds lists the content test's messages in the order they are
// sent: never more than these, to one recipient, per server and scan.
var ContentKinds = []string{ContentControl, ContentEICAR, ContentGTUBE}

// Content is what the opt-in content test saw of one server: the test
// messages sent to the operator's test recipient through one smtp
// service, what the server answered to each, and what the test mailbox
// showed afterwards. It is a probe of its own (the relay test never
// sends DATA); its observations are stored under "content".
//
// Endpoint names the smtp service the messages went to; its transcript
// is the SMTP exchange with every message body elided.
type Content struct {
	Endpoint
	// ScanID is the scan the messages name in their X-Kensa-Test header.
	ScanID string `json:"scan_id"`
	// Server is the inventory id the messages name.
	Server string `json:"server"`
	// Recipient is the only recipient; Sender the envelope sender ("" for
	// the null sender <>).
	Recipient string `json:"recipient"`
	Sender    string `json:"sender"`
	// Greeting and Hello are the greeting and the reply to EHLO (or HELO)
	// of the session the messages went through.
	Greeting *SMTPReply `json:"greeting,omitempty"`
	Hello    *SMTPReply `json:"hello,omitempty"`
	// TLS is set when the messages went inside TLS (STARTTLS).
	TLS bool `json:"tls"`
	// Messages are the messages in the order they were meant to be sent;
	// those never sent have Sent unset and say why.
	Messages []ContentMessage `json:"messages"`
	// Mailbox is the look into the test mailbox afterwards; nil when no
	// mailbox check was configured.
	Mailbox *MailboxCheck `json:"mailbox,omitempty"`
}

// Banners returns nothing: the smtp probe of the same service keeps its
// greeting and EHLO reply as banners.
func (o *Content) Banners() []Banner { return nil }

func (o *Content) collect(x *Observations) { x.Content = append(x.Content, o) }

// Message returns the message of the given kind, or nil.
func (o *Content) Message(kind string) *ContentMessage {
	if o == nil {
		return nil
	}
	for i := range o.Messages {
		if o.Messages[i].Kind == kind {
			return &o.Messages[i]
		}
	}
	return nil
}

// ContentMessage is one message of the content test and the server's
// answers to it.
type ContentMessage struct {
	// Kind is ContentControl, ContentEICAR or ContentGTUBE.
	Kind string `json:"kind"`
	// Token is the message's random token, in its subject and its
	// X-Kensa-Test header, by which the mailbox check finds it.
	Token string `json:"token"`
	// Subject is the subject as sent; Size the message's size in bytes.
	Subject string `json:"subject"`
	Size    int    `json:"size"`
	// MailReply, RcptReply and DataReply are the replies to MAIL, RCPT
	// and DATA; EndReply the reply to the message's end (the final "."),
	// which says whether the server took it.
	MailReply *SMTPReply `json:"mail_reply,omitempty"`
	RcptReply *SMTPReply `json:"rcpt_reply,omitempty"`
	DataReply *SMTPReply `json:"data_reply,omitempty"`
	EndReply  *SMTPReply `json:"end_reply,omitempty"`
	// Sent is set when the message's content went to the server (DATA
	// was answered 354).
	Sent bool `json:"sent"`
	// Error says why the message was not sent, or why no answer to it
	// came.
	Error string `json:"error,omitempty"`
}

// Accepted reports whether the server took the message: 2xx at the end
// of DATA.
func (m *ContentMessage) Accepted() bool { return m != nil && m.EndReply.Class() == 2 }

// Evidence returns the message's exchange as transcript lines, the
// content itself elided; sender and recipient are the envelope's.
func (m *ContentMessage) Evidence(sender, recipient string) []string {
	var out []string
	add := func(cmd string, r *SMTPReply) {
		if r == nil {
			return
		}
		if cmd != "" {
			out = append(out, "C: "+cmd)
		}
		for _, l := range r.Lines {
			out = append(out, "S: "+l)
		}
	}
	add("MAIL FROM:<"+sender+">", m.MailReply)
	add("RCPT TO:<"+recipient+">", m.RcptReply)
	add("DATA", m.DataReply)
	if m.Sent {
		out = append(out, "C: ("+m.Kind+" message, subject \""+m.Subject+"\": content elided)")
	}
	add("", m.EndReply)
	if m.Error != "" {
		out = append(out, "*: "+m.Error)
	}
	return out
}

// MailboxCheck is what the test mailbox showed after the messages were
// sent: kensa logs in over TLS, searches every folder for each message's
// token, and polls within a bound until the control message is there.
type MailboxCheck struct {
	// Server is the mailbox's IMAP server (imaps://host:port) and User
	// the test mailbox's user name; the password is never recorded.
	Server string `json:"server"`
	User   string `json:"user"`
	// Error says why the check could not finish.
	Error string `json:"error,omitempty"`
	// Folders are the folders searched (in the last round).
	Folders []string `json:"folders,omitempty"`
	// Rounds is how many times every folder was searched; WaitedMS how
	// long the check waited in all, and SettleMS how long it went on
	// after the control message was found.
	Rounds   int   `json:"rounds"`
	WaitedMS int64 `json:"waited_ms"`
	SettleMS int64 `json:"settle_ms,omitempty"`
	// Found are the test messages found, with what the mailbox showed of
	// each.
	Found []MailboxMessage `json:"found,omitempty"`
	// Transcript holds the IMAP exchange, the password redacted and
	// message contents elided.
	Transcript []string `json:"transcript,omitempty"`
}

// Find returns the message of the given kind found in the mailbox, or
// nil.
func (c *MailboxCheck) Find(kind string) *MailboxMessage {
	if c == nil {
		return nil
	}
	for i := range c.Found {
		if c.Found[i].Kind == kind {
			return &c.Found[i]
		}
	}
	return nil
}

// MailboxMessage is one test message as found in the test mailbox.
type MailboxMessage struct {
	// Kind is the message's kind, known by its token.
	Kind string `json:"kind"`
	// Folder is where it was; JunkFolder is set when the server marks
	// that folder as junk (\Junk) or its name says so (Junk, Spam,
	// 迷惑メール).
	Folder     string `json:"folder"`
	JunkFolder bool   `json:"junk_folder,omitempty"`
	// Subject is the subject as delivered.
	Subject string `json:"subject"`
	// Headers are the delivered header fields a filter adds (X-Spam-*,
	// X-Virus-*), as "Name: value".
	Headers []string `json:"headers,omitempty"`
	// AttachmentIntact is set when a part of the message is still the
	// EICAR test file, byte for byte (EICAR message only).
	AttachmentIntact bool `json:"attachment_intact,omitempty"`
	// Parts is how many MIME parts the delivered message has.
	Parts int `json:"parts,omitempty"`
}

// Header returns the values of the delivered header field name
// (case-insensitive).
func (m *MailboxMessage) Header(name string) []string {
	var out []string
	for _, h := range m.Headers {
		k, v, ok := strings.Cut(h, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// ContentVerdict says what kind of content verdict a reply to the end of
// DATA names: "virus" when its words speak of malware, "spam" when they
// speak of spam or refused content, "" when they name neither (an SPF,
// DMARC or size refusal, a temporary failure, a bare code). Only the
// words count, never the code: a 5xx refuses a message for many reasons.
func ContentVerdict(r *SMTPReply) string {
	if r == nil {
		return ""
	}
	text := strings.ToLower(r.Text())
	ws := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	}) {
		ws[w] = true
	}
	for _, w := range []string{"virus", "malware", "infected", "infection", "eicar", "trojan", "malicious", "clamav"} {
		if strings.Contains(text, w) {
			return "virus"
		}
	}
	for _, w := range []string{"spam", "junk", "unsolicited", "gtube", "content rejected", "rejected due to content",
		"content restriction", "forbidden content", "dangerous content", "banned content", "message content rejected"} {
		if strings.Contains(text, w) {
			return "spam"
		}
	}
	if ws["uce"] || ws["ube"] || ws["bulk"] {
		return "spam"
	}
	return ""
}
