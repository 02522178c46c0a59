// Package content is the opt-in content test of items M3 (anti-malware
// for mail content) and X2 (spam countermeasures): to the one test
// recipient an operator names for a server, through one of the server's
// smtp services, it sends a clean control message, then one with the
// EICAR anti-malware test file as a MIME attachment, then one with
// SpamAssassin's GTUBE string in its body — never more, never to anyone
// else — records what the server answered at the end of each message's
// DATA, and, when the operator gave the test mailbox's IMAP server and
// credentials, looks into every folder of the mailbox over TLS to see
// what became of the messages the server took.
//
// It is a probe of its own, apart from the smtp probe, whose relay test
// never sends DATA. The engine runs it once per server, after the
// server's other probes, and only for a server with a test recipient.
// The EICAR and GTUBE strings are built at run time (testfiles.go), and
// message contents are elided from every transcript and trace.
//
// The probe observes; package rules judges the observation.
package content

import (
	"context"
	"fmt"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Options are what the content test sends, to whom, and where it looks
// afterwards.
type Options struct {
	// ScanID and Server (the inventory id) are named in every message.
	ScanID string
	Server string
	// Recipient is the test recipient: the only one the messages go to.
	Recipient string
	// Sender is the envelope sender; empty for the null sender <>.
	Sender string
	// SMTP sets the EHLO name and the patience of the SMTP session; its
	// relay-test settings are not used.
	SMTP smtp.Options
	// Mailbox, if not nil, is the test mailbox to look into afterwards.
	Mailbox *Mailbox
}

// maxSessions bounds the SMTP connections of one content test: a server
// may close the connection after refusing a message.
const maxSessions = 3

// Run sends the test messages to opts.Recipient through the smtp
// service t and returns what it saw; it never returns nil. Each message
// is sent at most once, and the EICAR and GTUBE messages only after the
// control message was accepted.
func Run(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.Content {
	obs := &observe.Content{Endpoint: observe.NewEndpoint(t, env.Clock()), ScanID: opts.ScanID, Server: opts.Server,
		Recipient: opts.Recipient, Sender: opts.Sender}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" content")
	r := &runner{ctx: ctx, env: env, t: t, opts: opts, tr: tr, obs: obs}
	r.send()
	obs.Finish(env.Clock(), tr.Take())
	if opts.Mailbox != nil && obs.Message(observe.ContentControl).Accepted() {
		obs.Mailbox = opts.Mailbox.check(ctx, env, obs)
	}
	return obs
}

// runner is one run of the content test.
type runner struct {
	ctx      context.Context
	env      wire.Env
	t        observe.Target
	opts     Options
	tr       *wire.Transcript
	obs      *observe.Content
	c        *smtp.Client
	sessions int
	// plain is set once STARTTLS failed: later sessions stay in the
	// clear, as a sending server falls back.
	plain bool
}

// session returns a usable session, opening one when there is none.
func (r *runner) session() (*smtp.Client, error) {
	if r.c.Alive() {
		return r.c, nil
	}
	for r.sessions < maxSessions {
		r.sessions++
		if r.sessions > 1 {
			r.tr.Note("session %d", r.sessions)
		}
		c, err := smtp.Connect(r.ctx, r.env, r.t, r.opts.SMTP, r.tr)
		if r.obs.Greeting == nil && c != nil {
			r.obs.Greeting = c.Greeting
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		r.obs.Reachable = true
		if c.Hello.StartTLS && !c.TLS && !r.plain {
			if err := c.StartTLS(); err != nil {
				r.tr.Note("STARTTLS failed (%v): the messages go in the clear in a new session", err)
				c.Close()
				r.plain = true
				continue
			}
		}
		r.obs.Hello = c.Hello.Reply
		r.obs.TLS = c.TLS
		r.c = c
		return c, nil
	}
	return nil, fmt.Errorf("no SMTP session left (%d used)", maxSessions)
}

// send sends the messages in order.
func (r *runner) send() {
	defer func() { r.c.Quit() }()
	control := observe.ContentKinds[0]
	for _, kind := range observe.ContentKinds {
		m := build(kind, r.opts, r.env.Clock())
		cm := observe.ContentMessage{Kind: kind, Token: m.token, Subject: m.subject, Size: len(m.data)}
		if kind != control && !r.obs.Message(control).Accepted() {
			cm.Error = "not sent: the control message was not accepted, so no answer to this one could be read"
		} else if err := r.transaction(&cm, m); err != "" {
			cm.Error = err
		}
		r.obs.Messages = append(r.obs.Messages, cm)
		if kind == control && !cm.Accepted() && r.obs.Error == "" {
			r.obs.Error = "the control message was not accepted: " + cm.Error
			if cm.Error == "" {
				r.obs.Error = "the control message was not accepted: " + cm.EndReply.String()
			}
		}
	}
}

// transaction sends one message in one mail transaction, and says why
// it could not, or "".
func (r *runner) transaction(cm *observe.ContentMessage, m message) string {
	c, err := r.session()
	if err != nil {
		return "not sent: " + smtp.Describe("connect", err)
	}
	reset := func() {
		if c.Alive() {
			_, _ = c.Ask("RSET")
		}
	}
	cm.MailReply, err = c.Ask("MAIL FROM:<" + r.opts.Sender + ">")
	if err != nil {
		return "not sent: " + smtp.Describe("MAIL", err)
	}
	if cm.MailReply.Class() != 2 {
		reset()
		return "not sent: MAIL FROM refused: " + cm.MailReply.String()
	}
	cm.RcptReply, err = c.Ask("RCPT TO:<" + r.opts.Recipient + ">")
	if err != nil {
		return "not sent: " + smtp.Describe("RCPT", err)
	}
	if cm.RcptReply.Class() != 2 {
		reset()
		return "not sent: RCPT TO refused: " + cm.RcptReply.String()
	}
	cm.DataReply, err = c.Ask("DATA")
	if err != nil {
		return "not sent: " + smtp.Describe("DATA", err)
	}
	if cm.DataReply.Code != 354 {
		reset()
		return "not sent: DATA answered " + cm.DataReply.String()
	}
	cm.Sent = true
	cm.EndReply, err = c.Send(m.data)
	if err != nil {
		return "no answer to the message's end: " + smtp.Describe("end of DATA", err)
	}
	return ""
}
