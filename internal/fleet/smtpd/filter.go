package smtpd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/kensa-inspect/kensa/scoring"
)

// Filter names the content filter behind a simulated server: what it
// does with the messages it takes (Config.Filter). Without one ("") the
// server refuses every message at the end of DATA, as it always has
// (554 5.3.0, nothing is ever delivered).
type Filter string

// Filters.
const (
	// FilterReject refuses at the end of DATA, after reading the
	// message: the EICAR test file with 554 5.7.1 … Infected, the GTUBE
	// string with 550 5.7.1 … spam; other messages are delivered.
	FilterReject Filter = "reject"
	// FilterQuarantine accepts every message and delivers only the clean
	// ones: the EICAR and GTUBE messages go to a quarantine the mailbox
	// never shows.
	FilterQuarantine Filter = "quarantine"
	// FilterTag accepts and delivers every message, marking what it
	// finds: the GTUBE message with X-Spam-Flag: YES and a *****SPAM*****
	// subject tag, the EICAR message with X-Virus-Status: Infected, its
	// attachment left as it was.
	FilterTag Filter = "tag"
	// FilterDeliver is no filter at all: every message is accepted and
	// delivered as it came.
	FilterDeliver Filter = "deliver"
	// FilterRefuseAll refuses every message at the end of DATA for a
	// reason that is no content verdict (554 5.7.1 … SPF check failed),
	// the control message too.
	FilterRefuseAll Filter = "refuse-all"
)

var allFilters = []Filter{FilterReject, FilterQuarantine, FilterTag, FilterDeliver, FilterRefuseAll}

// Filters returns every content filter behaviour.
func Filters() []Filter { return append([]Filter(nil), allFilters...) }

// ParseFilter reads a filter name ("" is no filter).
func ParseFilter(s string) (Filter, error) {
	if s == "" {
		return "", nil
	}
	for _, f := range allFilters {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(allFilters))
	for i, f := range allFilters {
		names[i] = string(f)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown content filter %q (known: %v)", s, names)
}

// The filter knows the two test strings as a hash-signature scanner
// does: by the SHA-256 of what it reads, never the strings themselves
// (which anti-malware scanners on developers' machines would quarantine).
const (
	eicarSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
	gtubeSHA256 = "4418994365912e23b756ec7f14960f1a89230e44e6acb74de055db7c092f8b9c"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// scanMessage reports whether msg holds the EICAR file (a base64 part
// decoding to it) or the GTUBE string (a line of its own).
func scanMessage(msg []byte) (eicar, gtube bool) {
	var b64 strings.Builder
	flush := func() {
		if b64.Len() > 0 {
			if dec, err := base64.StdEncoding.DecodeString(b64.String()); err == nil && len(dec) >= 68 && sum(dec[:68]) == eicarSHA256 {
				eicar = true
			}
			b64.Reset()
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(msg))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) == 68 && sum([]byte(line)) == gtubeSHA256 {
			gtube = true
		}
		if line != "" && strings.Trim(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == "" {
			b64.WriteString(line)
		} else {
			flush()
		}
	}
	flush()
	return eicar, gtube
}

// Replies of the filters.
var (
	errInfected = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Message rejected: Infected (Eicar-Signature)"}
	errSpam     = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"}
	errSPF      = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Message refused: SPF check failed"}
)

// filterData reads a message and does what the server's filter does
// with it.
func (s *session) filterData(r io.Reader) error {
	msg, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return err
	}
	eicar, gtube := scanMessage(msg)
	f := s.s.cfg.Filter
	deliver := func(m []byte, junk bool) error {
		if s.s.cfg.Deliver != nil {
			if err := s.s.cfg.Deliver(m, junk); err != nil {
				return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Delivery failed"}
			}
		}
		return nil
	}
	switch f {
	case FilterRefuseAll:
		return errSPF
	case FilterReject:
		switch {
		case eicar:
			return errInfected
		case gtube:
			return errSpam
		}
	case FilterQuarantine:
		if eicar || gtube {
			return nil
		}
	case FilterTag:
		var add string
		if eicar {
			add += "X-Virus-Scanned: fleet content filter\r\nX-Virus-Status: Infected (Eicar-Signature)\r\n"
		}
		if gtube {
			add += "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=1000.0 required=5.0 tests=GTUBE\r\n"
			msg = tagSubject(msg)
		}
		return deliver(append([]byte(add), msg...), false)
	}
	return deliver(msg, false)
}

// tagSubject puts *****SPAM***** before the subject, as SpamAssassin's
// rewrite_header Subject does.
func tagSubject(msg []byte) []byte {
	i := bytes.Index(msg, []byte("\nSubject: "))
	if i < 0 {
		return msg
	}
	i += len("\nSubject: ")
	return append(append(append([]byte(nil), msg[:i]...), "*****SPAM***** "...), msg[i:]...)
}

// ContentTruth returns the expected outcomes of items M3 and X2 for a
// server behind filter f, when the office opted in to the content test,
// from what the filter does: reject refuses both test messages with a
// verdict (pass, with or without a look into the mailbox);
// quarantine takes them and delivers neither (pass when the mailbox is
// looked into, else unknown: kensa cannot see what became of them);
// tag delivers the EICAR file intact with a mark (M3 fails) and the
// GTUBE message tagged (X2 passes), when the mailbox is looked into;
// deliver delivers both untouched (both fail, seen in the mailbox);
// refuse-all refuses the control message too, so nothing can be told;
// without a filter every message is refused at DATA, the control too
// (unknown).
func ContentTruth(f Filter, mailbox bool) (m3, x2 scoring.Outcome, why string) {
	u := scoring.Unknown
	switch f {
	case FilterReject:
		return scoring.Pass, scoring.Pass, "EICAR refused 554 5.7.1 Infected, GTUBE refused 550 5.7.1 spam, the control accepted"
	case FilterQuarantine:
		if mailbox {
			return scoring.Pass, scoring.Pass, "both test messages accepted, then absent from the mailbox where the control arrived"
		}
		return u, u, "every message accepted; without the mailbox nothing shows what became of them"
	case FilterTag:
		if mailbox {
			return scoring.Fail, scoring.Pass, "EICAR delivered intact (marked Infected), GTUBE delivered with X-Spam-Flag: YES"
		}
		return u, u, "every message accepted; without the mailbox nothing shows what became of them"
	case FilterDeliver:
		if mailbox {
			return scoring.Fail, scoring.Fail, "EICAR and GTUBE delivered untouched"
		}
		return u, u, "every message accepted; without the mailbox nothing shows what became of them"
	case FilterRefuseAll:
		return u, u, "the control message refused too (SPF): a refusal says nothing"
	}
	return u, u, "no content filter: every message refused at DATA, the control too"
}

// MailDomain returns the server's mail domain: Domain, or Hostname
// without its first label (Config.Domain).
func (c Config) MailDomain() string { return c.withDefaults().Domain }
