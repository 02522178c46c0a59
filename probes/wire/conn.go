package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrTooMuchData is returned by Conn.Read once the connection's byte
// budget is spent: the server sent more than any honest answer needs.
var ErrTooMuchData = errors.New("server sent more data than the probe's limit")

// Conn is a connection whose deadlines belong to the probe. Every Read
// and Write gets its own deadline (Limits.ReadTimeout, or for one read
// the longer wait asked for with Await), never later than the hard
// deadline taken from the probe's context, and reads stop with
// ErrTooMuchData after Limits.MaxBytes. Deadlines set by a protocol
// library above are ignored: go-smtp and go-imap set and clear their own
// on every command, which would otherwise lift the probe's bounds.
//
// If a Transcript is attached, plaintext lines are recorded; call
// StopTranscript before handing the connection to TLS.
type Conn struct {
	net.Conn
	lim  Limits
	hard time.Time // zero: none

	mu    sync.Mutex
	read  int64
	await time.Duration // the next Read's wait, if longer than ReadTimeout
	tapR  *lineTap
	tapW  *lineTap
	trans *Transcript
	mark  *connMark // this connection in the trace (nil without transcript)
}

// Unkeep stops keeping this connection's lines in the transcript (they
// are still traced; Transcript.NoteUnkept counts them): for a
// connection whose exchanges a probe keeps in a structured form of its
// own, such as the relay test's sessions, beside others whose lines are
// kept.
func (c *Conn) Unkeep() {
	if c.trans == nil || c.mark == nil {
		return
	}
	c.trans.mu.Lock()
	c.mark.unkept = true
	c.trans.mu.Unlock()
}

// Keep keeps this connection's lines in the transcript again, from now
// on (after Unkeep).
func (c *Conn) Keep() {
	if c.trans == nil || c.mark == nil {
		return
	}
	c.trans.mu.Lock()
	c.mark.unkept = false
	c.trans.mu.Unlock()
}

// Siblings returns how many other connections of the scan to the same
// server were open when this one was made, as the scan engine's dialer
// counts them (0 for other dialers). A server that refuses a connection
// while the scanner holds others to it may be refusing the scanner's
// own parallelism (Exim's smtp_accept_max_per_host), which is the
// scanner's doing, not the server's answer: the probe tries again later.
func (c *Conn) Siblings() int {
	if s, ok := c.Conn.(interface{ Siblings() int }); ok {
		return s.Siblings()
	}
	return 0
}

// Tap returns a writer recording lines in direction dir as lines of
// this connection (Transcript.Tap): for the plaintext above a TLS
// session started on it.
func (c *Conn) Tap(dir string) io.Writer {
	if c.trans == nil {
		return io.Discard
	}
	return &lineTap{tr: c.trans, dir: dir, max: c.lim.MaxLine, mark: c.mark}
}

// NewConn wraps c. The hard deadline is ctx's deadline, if any.
func NewConn(ctx context.Context, c net.Conn, lim Limits, tr *Transcript) *Conn {
	lim = lim.withDefaults()
	cc := &Conn{Conn: c, lim: lim, trans: tr}
	if dl, ok := ctx.Deadline(); ok {
		cc.hard = dl
	}
	if tr != nil {
		cc.mark = tr.connected()
		cc.tapR = &lineTap{tr: tr, dir: "S", max: lim.MaxLine, mark: cc.mark}
		cc.tapW = &lineTap{tr: tr, dir: "C", max: lim.MaxLine, mark: cc.mark}
	}
	// Closing the connection when ctx ends unblocks any read at once.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_ = stop
	}
	return cc
}

func (c *Conn) deadline(wait time.Duration) time.Time {
	if wait < c.lim.ReadTimeout {
		wait = c.lim.ReadTimeout
	}
	d := time.Now().Add(wait)
	if !c.hard.IsZero() && c.hard.Before(d) {
		d = c.hard
	}
	return d
}

// Await lets the next Read wait up to d for data instead of the read
// timeout: for an answer a server may hold back on purpose (an SMTP
// greeting behind Sendmail's greet_pause or Postfix's postscreen, a reply
// delayed by an Exim ACL). The wait is never later than the hard deadline
// and lasts for one Read only: the reads after it, which carry the rest
// of the answer, have the read timeout again, so a server dripping its
// answer is still cut off. A d not longer than the read timeout, or a
// call with d <= 0, cancels a wait that no Read has used yet.
func (c *Conn) Await(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.await = d
}

// Read reads with a fresh deadline and within the byte budget.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	left := c.lim.MaxBytes - c.read
	tap := c.tapR
	wait := c.await
	c.await = 0
	c.mu.Unlock()
	if left <= 0 {
		return 0, ErrTooMuchData
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	if err := c.Conn.SetReadDeadline(c.deadline(wait)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += int64(n)
	c.mu.Unlock()
	if tap != nil && n > 0 {
		tap.Write(p[:n])
	}
	return n, err
}

// Write writes with a fresh deadline.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(c.deadline(0)); err != nil {
		return 0, err
	}
	c.mu.Lock()
	tap := c.tapW
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if tap != nil && n > 0 {
		tap.Write(p[:n])
	}
	return n, err
}

// BytesRead returns how many bytes the server has sent so far.
func (c *Conn) BytesRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

// StopTranscript stops recording raw bytes, flushing any partial line.
// Call it before a TLS handshake: what follows is ciphertext. Record the
// plaintext above TLS with Transcript.Tap.
func (c *Conn) StopTranscript() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tapR != nil {
		c.tapR.flush()
	}
	if c.tapW != nil {
		c.tapW.flush()
	}
	c.tapR, c.tapW = nil, nil
}

// SetDeadline is ignored: the Conn owns its deadlines.
func (c *Conn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored: the Conn owns its deadlines.
func (c *Conn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored: the Conn owns its deadlines.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// Close flushes the transcript and closes the connection.
func (c *Conn) Close() error {
	c.StopTranscript()
	return c.Conn.Close()
}

// Classify names the kind of network failure err is, in the words used
// in reasons: "timeout", "refused", "reset", "closed", "too much data",
// "unreachable" or "error".
func Classify(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooMuchData):
		return "too much data"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case isErrno(err, "connection refused"):
		return "refused"
	case isErrno(err, "connection reset"), isErrno(err, "broken pipe"):
		return "reset"
	case errors.Is(err, net.ErrClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.Canceled):
		return "closed"
	case isErrno(err, "no route"), isErrno(err, "network is unreachable"), isErrno(err, "host is down"):
		return "unreachable"
	}
	return "error"
}

func isErrno(err error, text string) bool {
	return strings.Contains(strings.ToLower(err.Error()), text)
}

// Describe returns a short reason for a failed step: "connect: refused",
// "greeting: timeout (no data for 10s)".
func Describe(step string, err error) string {
	kind := Classify(err)
	if kind == "error" {
		return fmt.Sprintf("%s: %v", step, err)
	}
	return step + ": " + kind
}
