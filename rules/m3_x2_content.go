package rules

import (
	"fmt"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// reasonContentNotRequested is M3's and X2's probe reason when the scan
// was given no test recipient for the server.
const reasonContentNotRequested = "the opt-in content test was not requested for this server (no test recipient): a declaration is needed"

// M3ContentMalware judges anti-malware for mail content from the content
// test: pass when the EICAR message was refused at the end of DATA with
// a virus or spam verdict (after the control message was accepted), or
// was accepted and then removed — absent from every folder of the test
// mailbox while the control message arrived, or delivered without the
// test file; fail when it was delivered with the attachment intact,
// tagged or not; unknown otherwise (not requested, nothing sent, the
// control not accepted, a 4xx, a 5xx that names no verdict, accepted
// without a mailbox check, the control never arriving).
func M3ContentMalware(cs []*observe.Content) scoring.Verdict {
	return judgeContent(cs, observe.ContentEICAR)
}

// X2ContentSpam judges spam countermeasures from the content test: pass
// when the GTUBE message was refused at the end of DATA with a spam or
// virus verdict (after the control message was accepted), removed, or
// delivered with a spam tag (X-Spam-Flag: YES, X-Spam-Status: Yes, a
// subject tag, a junk folder); fail when it was delivered untagged;
// unknown otherwise, as for M3.
func X2ContentSpam(cs []*observe.Content) scoring.Verdict {
	return judgeContent(cs, observe.ContentGTUBE)
}

// judgeContent judges the message of kind.
func judgeContent(cs []*observe.Content, kind string) scoring.Verdict {
	if len(cs) == 0 || cs[0] == nil {
		return unknown(reasonContentNotRequested)
	}
	c := cs[0]
	at := where("smtp", c.Address, c.Port)
	if c.Address == "" {
		at = "content test"
	}
	name := map[string]string{observe.ContentEICAR: "EICAR", observe.ContentGTUBE: "GTUBE"}[kind]
	ctl, m := c.Message(observe.ContentControl), c.Message(kind)
	var ev []string
	for _, x := range []*observe.ContentMessage{ctl, m} {
		if x != nil {
			for _, l := range x.Evidence(c.Sender, c.Recipient) {
				ev = append(ev, at+" "+l)
			}
		}
	}
	ev = append(ev, mailboxEvidence(c.Mailbox)...)
	v := func(o scoring.Outcome, format string, args ...any) scoring.Verdict {
		return scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: at + ": " + fmt.Sprintf(format, args...), Evidence: ev}
	}
	switch {
	case ctl == nil:
		return v(scoring.Unknown, "the content test could not send anything: %s", c.Error)
	case !ctl.Accepted():
		why := ctl.Error
		if why == "" {
			why = "answered " + ctl.EndReply.String()
		}
		return v(scoring.Unknown, "the control message was not accepted (%s), so the answer to the %s message would say nothing", why, name)
	case m == nil || !m.Sent:
		why := "it was not sent"
		if m != nil && m.Error != "" {
			why = m.Error
		}
		return v(scoring.Unknown, "the %s message: %s", name, why)
	case m.EndReply == nil:
		return v(scoring.Unknown, "the %s message: %s", name, m.Error)
	}
	r := m.EndReply
	switch r.Class() {
	case 5:
		if verdict := observe.ContentVerdict(r); verdict != "" {
			return v(scoring.Pass, "the %s message was refused at the end of DATA with a %s verdict, the control message accepted: %s", name, verdict, r.String())
		}
		return v(scoring.Unknown, "the %s message was refused at the end of DATA, but the reply names no virus or spam verdict (SPF, DMARC or a size limit refuse with 5xx too): %s", name, r.String())
	case 4:
		return v(scoring.Unknown, "the %s message was deferred at the end of DATA (a temporary failure decides nothing): %s", name, r.String())
	case 2:
	default:
		return v(scoring.Unknown, "the %s message got no valid answer at the end of DATA: %s", name, r.String())
	}
	mb := c.Mailbox
	if mb == nil {
		return v(scoring.Unknown, "the %s message was accepted at the end of DATA (%s); without the test mailbox check kensa cannot see whether it was delivered, quarantined or removed", name, r.String())
	}
	found := mb.Find(kind)
	if found != nil {
		if kind == observe.ContentEICAR {
			if found.AttachmentIntact {
				return v(scoring.Fail, "the EICAR message was accepted and delivered to %q with the test file attached intact%s", found.Folder, tagNote(found))
			}
			return v(scoring.Pass, "the EICAR message was delivered to %q without the test file: the attachment was removed", found.Folder)
		}
		if tag := spamTag(found, m.Subject); tag != "" {
			return v(scoring.Pass, "the GTUBE message was delivered with a spam tag: %s", tag)
		}
		return v(scoring.Fail, "the GTUBE message was accepted and delivered to %q untagged (no X-Spam-Flag: YES, no subject tag, not in a junk folder)", found.Folder)
	}
	switch {
	case mb.Error != "":
		return v(scoring.Unknown, "the %s message was accepted, and the mailbox check did not finish: %s", name, mb.Error)
	case mb.Find(observe.ContentControl) == nil:
		return v(scoring.Unknown, "the %s message was accepted, and the control message was not found in the test mailbox either", name)
	}
	return v(scoring.Pass, "the %s message was accepted and then removed or quarantined: absent from every folder of the test mailbox (%d searched) while the control message arrived, still absent %s later",
		name, len(mb.Folders), seconds(mb.SettleMS))
}

func seconds(ms int64) string { return fmt.Sprintf("%.0f s", float64(ms)/1000) }

// tagNote says how a delivered EICAR message was marked, if it was.
func tagNote(m *observe.MailboxMessage) string {
	if len(m.Headers) == 0 {
		return ""
	}
	return " (marked " + strings.Join(m.Headers, "; ") + ": a mark does not remove it)"
}

// spamWords are the words of a subject tag.
var spamWords = []string{"spam", "junk", "bulk", "迷惑"}

// spamTag says how a delivered message is marked as spam, or "": the
// header X-Spam-Flag: YES, X-Spam-Status or X-Spam starting with "Yes",
// a subject tag (words the sender did not write, such as *****SPAM*****
// or [迷惑メール]), or a junk folder. X-Spam-Status: No, a score alone or
// X-Virus-Scanned are no tags.
func spamTag(m *observe.MailboxMessage, sent string) string {
	for _, h := range []string{"X-Spam-Flag", "X-Spam-Status", "X-Spam"} {
		for _, val := range m.Header(h) {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(val)), "yes") {
				return h + ": " + val
			}
		}
	}
	added := strings.ToLower(strings.Replace(m.Subject, sent, "", 1))
	if m.Subject != sent {
		for _, w := range spamWords {
			if strings.Contains(added, w) && !strings.Contains(strings.ToLower(sent), w) {
				return fmt.Sprintf("subject tag (delivered as %q)", m.Subject)
			}
		}
	}
	if m.JunkFolder {
		return fmt.Sprintf("sorted into the junk folder %q", m.Folder)
	}
	return ""
}

// mailboxEvidence lists what the mailbox check saw.
func mailboxEvidence(mb *observe.MailboxCheck) []string {
	if mb == nil {
		return nil
	}
	at := "mailbox " + mb.Server + " (user " + mb.User + ")"
	out := []string{fmt.Sprintf("%s: %d folders searched (%s), %d rounds", at, len(mb.Folders), strings.Join(mb.Folders, ", "), mb.Rounds)}
	for _, f := range mb.Found {
		line := fmt.Sprintf("%s: %s message found in %q, subject %q", at, f.Kind, f.Folder, f.Subject)
		if f.Kind == observe.ContentEICAR {
			if f.AttachmentIntact {
				line += ", the test file attached intact"
			} else {
				line += ", without the test file"
			}
		}
		if len(f.Headers) > 0 {
			line += ", " + strings.Join(f.Headers, "; ")
		}
		out = append(out, line)
	}
	if mb.Error != "" {
		out = append(out, at+": "+mb.Error)
	}
	return out
}

// filterWords are words by which a greeting or EHLO reply announces a
// content filter.
var filterWords = []string{"virus", "clamav", "clamsmtp", "amavis", "mailscanner", "spamassassin", "ironport", "barracuda",
	"proofpoint", "mimecast", "symantec", "interscan", "imss", "fortimail", "sophos", "mcafee", "kaspersky", "content filter", "mail filter"}

// contentFindings lists the servers that accepted the EICAR message and
// did not refuse or remove it, while announcing a content filter — in a
// banner, or in a header of the delivered copy.
func contentFindings(obs *observe.Observations) []string {
	var out []string
	for _, c := range obs.Content {
		eicar := c.Message(observe.ContentEICAR)
		if c == nil || !eicar.Accepted() {
			continue
		}
		if v := M3ContentMalware([]*observe.Content{c}); v.Outcome == scoring.Pass {
			continue
		}
		var says string
		var texts []string
		for _, r := range []*observe.SMTPReply{c.Greeting, c.Hello} {
			if r != nil {
				texts = append(texts, r.Lines...)
			}
		}
		for _, t := range texts {
			lt := strings.ToLower(t)
			for _, w := range filterWords {
				if strings.Contains(lt, w) && says == "" {
					says = fmt.Sprintf("its banner says %q", t)
				}
			}
		}
		if f := c.Mailbox.Find(observe.ContentEICAR); f != nil && says == "" {
			for _, h := range f.Headers {
				if strings.HasPrefix(strings.ToLower(h), "x-virus") {
					says = "the delivered copy carries " + h
					break
				}
			}
		}
		if says != "" {
			out = append(out, fmt.Sprintf("%s: accepted the EICAR test message at the end of DATA without refusing or removing it, although it announces a content filter (%s)",
				where("smtp", c.Address, c.Port), says))
		}
	}
	return out
}
