package smtp

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Client is one SMTP session for another probe: the opt-in content test
// sends its messages through it, with the bounds, the patience and the
// reply reading of this package's own probe. It never runs the relay
// test.
type Client struct {
	p *prober
	s *session
	// Greeting and Hello are the greeting and the last reply to EHLO (or
	// HELO); StartTLS is set when EHLO offered STARTTLS, and TLS once
	// the session is inside TLS.
	Greeting *observe.SMTPReply
	Hello    *observe.SMTPHello
	TLS      bool
}

// Connect opens a session to t and introduces itself: connect, the
// greeting (waited for as patiently as the probe waits), EHLO with HELO
// fallback. Every line goes to tr. A refused greeting is an error whose
// message quotes it; Greeting is still set.
func Connect(ctx context.Context, env wire.Env, t observe.Target, opts Options, tr *wire.Transcript) (*Client, error) {
	lim := env.Lim()
	opts = opts.withDefaults(lim)
	p := &prober{ctx: ctx, env: env, t: t, opts: opts, lim: lim, tr: tr, replyTimeout: opts.ReplyTimeout,
		obs: &observe.SMTP{Endpoint: observe.NewEndpoint(t, env.Clock()), ImplicitTLS: t.Service == "smtps"}}
	s, err := p.open(false, false)
	c := &Client{p: p, s: s, Greeting: p.obs.Greeting, Hello: p.obs.Hello}
	if err != nil {
		return c, err
	}
	c.TLS = s.tls
	return c, nil
}

// StartTLS sends STARTTLS and, on 220, runs the handshake and EHLO again.
func (c *Client) StartTLS() error {
	if _, _, err := c.s.startTLS(false); err != nil {
		return wrapStep("starttls", err)
	}
	c.TLS = true
	h, err := c.s.hello()
	c.Hello = h
	if err != nil {
		return wrapStep("ehlo after starttls", err)
	}
	return nil
}

// Ask sends a command and waits for its reply as patiently as the probe
// waits for the replies to MAIL and RCPT.
func (c *Client) Ask(line string) (*observe.SMTPReply, error) { return c.s.ask(line) }

// Send writes msg as the content of a mail transaction after DATA was
// answered 354 — line endings made CRLF, lines starting with "." doubled
// (RFC 5321 section 4.5.2), then the final "." — and waits for the
// reply, as long as the command timeout allows: filters scan a message
// before the server answers. The content never reaches the transcript:
// it is muted, and a note says how many bytes were elided.
func (c *Client) Send(msg []byte) (*observe.SMTPReply, error) {
	s := c.s
	if s.dead != nil {
		return nil, s.dead
	}
	data := dotStuff(msg)
	c.p.tr.Mute()
	_, err := io.Copy(s.w, bytes.NewReader(data))
	c.p.tr.Unmute("message content elided (%d bytes)", len(msg))
	if err != nil {
		s.dead = err
		return nil, wrapStep("message content", err)
	}
	return s.read(c.p.wait(c.p.opts.CommandTimeout))
}

// Alive reports whether the session can still carry commands.
func (c *Client) Alive() bool { return c != nil && c.s != nil && c.s.dead == nil }

// Quit ends the session politely (QUIT) and closes it.
func (c *Client) Quit() {
	if c != nil && c.s != nil {
		c.s.quit()
	}
}

// Close closes the session without QUIT.
func (c *Client) Close() {
	if c != nil && c.s != nil {
		c.s.close()
	}
}

// Describe says what went wrong with a step of the session, in the
// words of reasons ("greeting: timeout").
func Describe(step string, err error) string {
	if _, ok := err.(*stepError); ok {
		return err.Error()
	}
	return describe(step, err)
}

// dotStuff returns msg with CRLF line endings, every line that starts
// with "." doubled, and the terminating CRLF.CRLF.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	lines := bytes.Split(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	for _, l := range lines {
		if len(l) > 0 && l[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(bytes.TrimSuffix(l, []byte("\r")))
		b.WriteString("\r\n")
	}
	fmt.Fprint(&b, ".\r\n")
	return b.Bytes()
}
