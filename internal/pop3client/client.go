// Package pop3client is a small POP3 client for probing servers: it reads the
// greeting (with its APOP timestamp), asks CAPA, upgrades with STLS,
// sends USER/PASS and SASL AUTH with continuations (RFC 1939, 2449, 2595,
// 5034), and works over implicit TLS (pop3s) when given a TLS connection.
//
// Every line read is bounded (Options.MaxLine) and every multi-line reply
// bounded in lines (Options.MaxLines); time is bounded by the connection's
// own deadlines, which the caller sets (a probe hands it a connection that
// times out every read). Errors are typed: *ReplyError for a -ERR answer,
// *ProtocolError for a reply that is not POP3, *TLSError for a failed
// handshake, ErrLineTooLong and ErrTooManyLines for oversized replies;
// anything else comes from the network.
package pop3client

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"

	"github.com/emersion/go-sasl"
)

// Defaults for Options.
const (
	DefaultMaxLine  = 4096
	DefaultMaxLines = 1000
	// maxSASLRounds bounds the challenges of one AUTH exchange.
	maxSASLRounds = 8
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// MaxLine bounds one line, in bytes; 0 means DefaultMaxLine.
	MaxLine int
	// MaxLines bounds the lines of one multi-line reply; 0 means
	// DefaultMaxLines.
	MaxLines int
	// Trace, if not nil, receives every line sent ("C") and received
	// ("S"), without line ending, before and after STLS alike.
	// Credentials are passed as sent: redact them in Trace.
	Trace func(dir, line string)
	// Writer, if not nil, wraps the connection the client writes its
	// commands to (the TLS connection after STLS): each command line
	// reaches it in one Write.
	Writer func(io.Writer) io.Writer
}

// TLSError reports a failed TLS handshake after STLS.
type TLSError struct{ Err error }

// Error describes the failed handshake.
func (e *TLSError) Error() string { return "pop3: TLS handshake failed: " + e.Err.Error() }

// Unwrap returns the handshake error.
func (e *TLSError) Unwrap() error { return e.Err }

// Client is a POP3 client on one connection. It is not safe for
// concurrent use.
type Client struct {
	conn     net.Conn
	text     *textproto.Conn
	opts     Options
	greeting Reply
	isTLS    bool
}

// NewClient reads the server's greeting from conn and returns a client.
// A greeting that is -ERR gives a *ReplyError with Command "greeting";
// one that is not POP3 a *ProtocolError. On error the caller still owns
// conn.
func NewClient(conn net.Conn, opts *Options) (*Client, error) {
	c := &Client{conn: conn}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.MaxLine <= 0 {
		c.opts.MaxLine = DefaultMaxLine
	}
	if c.opts.MaxLines <= 0 {
		c.opts.MaxLines = DefaultMaxLines
	}
	_, c.isTLS = conn.(*tls.Conn)
	c.reset(conn)
	r, err := c.readReply()
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case StatusOK:
	case StatusErr:
		return nil, &ReplyError{Command: "greeting", Code: r.Code, Text: r.Text, Line: r.Line}
	default:
		return nil, &ProtocolError{Line: r.Line, Problem: "greeting is a continuation, not +OK"}
	}
	c.greeting = r
	return c, nil
}

func (c *Client) reset(conn net.Conn) {
	c.conn = conn
	var w io.Writer = conn
	if c.opts.Writer != nil {
		w = c.opts.Writer(conn)
	}
	// The reader's buffer is the line limit: a longer line does not fit.
	c.text = &textproto.Conn{
		Reader: *textproto.NewReader(bufio.NewReaderSize(conn, c.opts.MaxLine)),
		Writer: *textproto.NewWriter(bufio.NewWriter(w)),
	}
}

// Greeting returns the server's greeting reply.
func (c *Client) Greeting() Reply { return c.greeting }

// Timestamp returns the greeting's APOP timestamp, or "".
func (c *Client) Timestamp() string { return Timestamp(c.greeting.Text) }

// TLS reports whether the connection is encrypted (pop3s or after STLS).
func (c *Client) TLS() bool { return c.isTLS }

// Conn returns the connection the client currently talks over (the TLS
// connection after STLS).
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) trace(dir, line string) {
	if c.opts.Trace != nil {
		c.opts.Trace(dir, line)
	}
}

// readLine reads one line of at most MaxLine bytes, without its line
// ending. (textproto's own ReadLine has no bound, and returns a line cut
// by an error as if it were whole.)
func (c *Client) readLine() (string, error) {
	b, err := c.text.R.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		c.trace("S", string(b)+" …(line cut)")
		return "", ErrLineTooLong
	case err != nil:
		if len(b) > 0 {
			c.trace("S", string(b))
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
		}
		return "", err
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	c.trace("S", line)
	return line, nil
}

func (c *Client) readReply() (Reply, error) {
	line, err := c.readLine()
	if err != nil {
		return Reply{Line: line}, err
	}
	return ParseReply(line)
}

func (c *Client) writeLine(line string) error {
	c.trace("C", line)
	return c.text.PrintfLine("%s", line)
}

// Cmd sends one command line, verb and arguments separated by spaces,
// and reads its one-line reply. A -ERR reply is returned as a
// *ReplyError along with the parsed reply.
func (c *Client) Cmd(verb string, args ...string) (Reply, error) {
	line := verb
	for _, a := range args {
		line += " " + a
	}
	if strings.ContainsAny(line, "\r\n") {
		return Reply{}, fmt.Errorf("pop3: %s: line break in command argument", verb)
	}
	if err := c.writeLine(line); err != nil {
		return Reply{}, err
	}
	r, err := c.readReply()
	if err != nil {
		return r, err
	}
	switch r.Status {
	case StatusErr:
		return r, &ReplyError{Command: verb, Code: r.Code, Text: r.Text, Line: r.Line}
	case StatusContinue:
		return r, &ProtocolError{Line: r.Line, Problem: "continuation in reply to " + verb}
	}
	return r, nil
}

// readMultiLine reads the body of a multi-line reply up to the
// terminating ".", undoing dot-stuffing.
func (c *Client) readMultiLine() ([]string, error) {
	var lines []string
	for {
		line, err := c.readLine()
		if err != nil {
			return lines, err
		}
		if line == "." {
			return lines, nil
		}
		if len(lines) >= c.opts.MaxLines {
			return lines, ErrTooManyLines
		}
		lines = append(lines, strings.TrimPrefix(line, "."))
	}
}

// Capa sends CAPA (RFC 2449) and returns the capability lines, such as
// "STLS", "USER", "SASL PLAIN LOGIN", "IMPLEMENTATION Dovecot". A server
// without CAPA answers -ERR: a *ReplyError.
func (c *Client) Capa() ([]string, error) {
	if _, err := c.Cmd("CAPA"); err != nil {
		return nil, err
	}
	return c.readMultiLine()
}

// StartTLS sends STLS (RFC 2595) and, on +OK, performs the TLS handshake
// with config; later commands go over TLS. A refusal is a *ReplyError, a
// failed handshake a *TLSError (the connection is then unusable). Data the
// server sends between its +OK and the handshake is refused as a
// *ProtocolError: it would be a plaintext injection.
func (c *Client) StartTLS(config *tls.Config) (tls.ConnectionState, error) {
	if c.isTLS {
		return tls.ConnectionState{}, errors.New("pop3: STLS on a connection that is already TLS")
	}
	if _, err := c.Cmd("STLS"); err != nil {
		return tls.ConnectionState{}, err
	}
	if c.text.R.Buffered() > 0 {
		return tls.ConnectionState{}, &ProtocolError{Problem: "server sent data after its STLS reply, before the TLS handshake"}
	}
	tc := tls.Client(c.conn, config)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, &TLSError{Err: err}
	}
	c.isTLS = true
	c.reset(tc)
	return tc.ConnectionState(), nil
}

// User sends USER name.
func (c *Client) User(name string) error {
	_, err := c.Cmd("USER", name)
	return err
}

// Pass sends PASS password.
func (c *Client) Pass(password string) error {
	_, err := c.Cmd("PASS", password)
	return err
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit() error {
	_, err := c.Cmd("QUIT")
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// Auth runs a SASL exchange with AUTH (RFC 5034). The mechanism's
// initial response, if any, is sent only after the server's first
// continuation, never on the AUTH line itself, so that a server that
// refuses the mechanism never receives it. A -ERR at any step is a
// *ReplyError with Command "AUTH"; if the mechanism fails on a challenge
// the exchange is cancelled with "*".
func (c *Client) Auth(mech sasl.Client) error {
	name, ir, err := mech.Start()
	if err != nil {
		return fmt.Errorf("pop3: SASL start: %w", err)
	}
	if strings.ContainsAny(name, " \r\n") {
		return fmt.Errorf("pop3: bad SASL mechanism name %q", name)
	}
	if err := c.writeLine("AUTH " + name); err != nil {
		return err
	}
	first := true
	for round := 0; ; round++ {
		r, err := c.readReply()
		if err != nil {
			return err
		}
		switch r.Status {
		case StatusOK:
			return nil
		case StatusErr:
			return &ReplyError{Command: "AUTH", Code: r.Code, Text: r.Text, Line: r.Line}
		}
		if round >= maxSASLRounds {
			return &ProtocolError{Line: r.Line, Problem: "too many SASL challenges"}
		}
		var resp []byte
		if first && ir != nil && r.Text == "" {
			resp = ir
		} else {
			challenge, derr := base64.StdEncoding.DecodeString(r.Text)
			if derr != nil {
				c.cancelAuth()
				return &ProtocolError{Line: r.Line, Problem: "SASL challenge is not base64"}
			}
			resp, err = mech.Next(challenge)
			if err != nil {
				c.cancelAuth()
				return fmt.Errorf("pop3: SASL %s: %w", name, err)
			}
		}
		first = false
		if err := c.writeLine(base64.StdEncoding.EncodeToString(resp)); err != nil {
			return err
		}
	}
}

// cancelAuth aborts a SASL exchange and reads the server's answer.
func (c *Client) cancelAuth() {
	if c.writeLine("*") == nil {
		c.readReply()
	}
}
