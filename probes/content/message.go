package content

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// HeaderName is the header every test message carries, naming the
// scan, the server, the message and its token, so that the recipient
// can recognise the messages and delete them.
const HeaderName = "X-Kensa-Test"

// SubjectPrefix starts the subject of every test message.
const SubjectPrefix = "[kensa content test]"

// AttachmentName is the file name of the EICAR attachment.
const AttachmentName = "kensa-eicar-test.com"

// message is one test message, built.
type message struct {
	kind, token, subject string
	data                 []byte
}

// newToken returns a random token that names one message.
func newToken() string {
	var b [8]byte
	rand.Read(b[:])
	return "kt" + hex.EncodeToString(b[:])
}

// subjects of the messages; the token is appended.
var subjects = map[string]string{
	observe.ContentControl: "control message",
	observe.ContentEICAR:   "EICAR anti-malware test file attached",
	observe.ContentGTUBE:   "GTUBE test message",
}

// build returns the message of kind for the scan: a clear subject with
// its token, the X-Kensa-Test header, and a body saying what it is and
// that it may be deleted.
func build(kind string, o Options, now time.Time) message {
	tok := newToken()
	subj := fmt.Sprintf("%s %s, scan %s (%s)", SubjectPrefix, subjects[kind], o.ScanID, tok)
	from := o.Sender
	if from == "" {
		from = "kensa-content-test@invalid"
	}
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", "kensa content test <"+from+">")
	h("To", "<"+o.Recipient+">")
	h("Subject", subj)
	h("Date", now.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+tok+"@kensa.invalid>")
	h(HeaderName, fmt.Sprintf("scan=%s; server=%s; message=%s; token=%s", o.ScanID, o.Server, kind, tok))
	h("MIME-Version", "1.0")
	intro := "This is a test message of kensa, the mail-server compliance scanner, sent\r\n" +
		"for scan " + o.ScanID + " to the test recipient the operator named for server " + o.Server + ".\r\n" +
		"It may be deleted. Messages of this test carry the header " + HeaderName + ".\r\n"
	switch kind {
	case observe.ContentEICAR:
		boundary := "kensa-" + tok
		h("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
		b.WriteString("\r\n")
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
		b.WriteString(intro)
		b.WriteString("The attachment is the EICAR anti-malware test file: harmless, and meant\r\n" +
			"to be removed or refused by any anti-malware filter.\r\n")
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString("Content-Type: application/octet-stream; name=\"" + AttachmentName + "\"\r\n")
		b.WriteString("Content-Disposition: attachment; filename=\"" + AttachmentName + "\"\r\n")
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(base64.StdEncoding.EncodeToString(EICAR()) + "\r\n")
		b.WriteString("--" + boundary + "--\r\n")
	case observe.ContentGTUBE:
		h("Content-Type", "text/plain; charset=us-ascii")
		b.WriteString("\r\n")
		b.WriteString(intro)
		b.WriteString("The next line is SpamAssassin's GTUBE test string, meant to be refused\r\n" +
			"or marked by any spam filter:\r\n\r\n")
		b.Write(GTUBE())
		b.WriteString("\r\n")
	default:
		h("Content-Type", "text/plain; charset=us-ascii")
		b.WriteString("\r\n")
		b.WriteString(intro)
		b.WriteString("This is the clean control message: it shows that mail for this recipient\r\n" +
			"reaches the mailbox at all.\r\n")
	}
	return message{kind: kind, token: tok, subject: subj, data: []byte(b.String())}
}
