package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// Errors of the reply reader.
var (
	// ErrLineTooLong is returned when a reply line exceeds the limit.
	ErrLineTooLong = errors.New("reply line longer than the limit")
	// ErrTooManyLines is returned when a multi-line reply does not end.
	ErrTooManyLines = errors.New("reply has too many lines")
	// ErrReplySlow is returned when one reply takes longer than the
	// reply time limit to arrive in full (a server dripping bytes).
	ErrReplySlow = errors.New("reply not complete within the time limit")
)

// replyReader reads bounded replies from a server.
type replyReader struct {
	br       *bufio.Reader
	src      *timedReader
	maxLines int
	// broken remembers that a line overflowed or did not parse; the
	// stream is then out of step and nothing more may be read.
	broken error
	// arrived holds when each line of the last reply was read (a
	// greeting's lines may be seconds apart: postscreen).
	arrived []time.Time
}

// timedReader fails reads once the current reply's time limit has
// passed, so that a server sending one byte at a time (each read within
// the per-read timeout) cannot hold a reply open for ever.
//
// For a patient read it also asks the connection to wait longer for the
// next read (await, wire.Conn.Await) and adds the time that read took
// to the reply's limit: waiting for a line to begin is the server's
// right, sending it slowly is not.
type timedReader struct {
	r     io.Reader
	until time.Time
	now   func() time.Time
	// await, if set, lets the next read of the connection wait up to
	// its argument (0 cancels); nil for readers of anything else.
	await func(time.Duration)
	// patience, when positive, is how long the next read may wait.
	patience time.Duration
}

func (t *timedReader) Read(p []byte) (int, error) {
	if !t.until.IsZero() && t.now().After(t.until) {
		return 0, ErrReplySlow
	}
	if t.patience <= 0 || t.await == nil {
		return t.r.Read(p)
	}
	t.await(t.patience)
	t.patience = 0
	start := t.now()
	n, err := t.r.Read(p)
	// A wait the read did not use (data buffered in TLS) must not
	// lengthen a later read.
	t.await(0)
	if !t.until.IsZero() {
		t.until = t.until.Add(t.now().Sub(start))
	}
	return n, err
}

// maxReplyLines bounds a multi-line reply (an EHLO reply has a few
// dozen lines at most).
const maxReplyLines = 100

func newReplyReader(r io.Reader, maxLine int, now func() time.Time) *replyReader {
	if maxLine < 64 {
		maxLine = 64
	}
	src := &timedReader{r: r, now: now}
	// The buffer holds one line and its CRLF.
	return &replyReader{br: bufio.NewReaderSize(src, maxLine+2), src: src, maxLines: maxReplyLines}
}

// readLine reads one line without its line ending. A bare LF ends a
// line too (servers are sloppy); a line longer than the buffer is an
// error.
func (rr *replyReader) readLine() (string, error) {
	if rr.broken != nil {
		return "", rr.broken
	}
	b, err := rr.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			rr.broken = fmt.Errorf("%w (%d bytes)", ErrLineTooLong, len(b))
			return "", rr.broken
		}
		if len(b) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		rr.broken = err
		return "", err
	}
	s := string(b[:len(b)-1])
	s = strings.TrimSuffix(s, "\r")
	return s, nil
}

// read reads one complete reply, within limit (0: no reply-level time
// limit). On a parse error it returns the lines read so far as a
// Malformed reply together with the error.
//
// A patient read (patience > 0) is for a reply a server may hold back on
// purpose: whenever a new line has not begun to arrive, the connection
// waits up to patience for it instead of the read timeout, and that wait
// does not count against limit. This covers a greeting behind Sendmail's
// greet_pause, Postfix postscreen's pause between the first line of its
// greeting and the last, and an Exim ACL delay before a reply. Once a
// line has begun, the rest of it must come within the read timeout and
// the whole reply within limit, so a server dripping bytes is still cut
// off.
func (rr *replyReader) read(limit, patience time.Duration) (*observe.SMTPReply, error) {
	if limit > 0 {
		rr.src.until = rr.src.now().Add(limit)
	} else {
		rr.src.until = time.Time{}
	}
	defer func() { rr.src.until, rr.src.patience = time.Time{}, 0 }()
	var lines []string
	rr.arrived = rr.arrived[:0]
	for {
		if patience > 0 && rr.br.Buffered() == 0 {
			rr.src.patience = patience
		}
		line, err := rr.readLine()
		rr.src.patience = 0
		if err != nil {
			if len(lines) > 0 {
				return &observe.SMTPReply{Lines: lines, Malformed: true}, err
			}
			return nil, err
		}
		lines = append(lines, line)
		rr.arrived = append(rr.arrived, rr.src.now())
		_, sep, _, perr := observe.ParseSMTPReplyLine(line)
		if perr != nil {
			rr.broken = perr
			return &observe.SMTPReply{Lines: lines, Malformed: true}, perr
		}
		if sep == ' ' {
			return observe.ParseSMTPReply(lines)
		}
		if len(lines) >= rr.maxLines {
			rr.broken = ErrTooManyLines
			return &observe.SMTPReply{Lines: lines, Malformed: true}, ErrTooManyLines
		}
	}
}

// buffered reports how many bytes were read from the server but not yet
// consumed (data after a STARTTLS 220 must not be there).
func (rr *replyReader) buffered() int { return rr.br.Buffered() }
