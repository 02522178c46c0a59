package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Reply is one SMTP reply exactly as the server sent it: every line, the
// reply code and the enhanced status code (RFC 3463) when the text
// starts with one.
type Reply struct {
	// Code is the three-digit reply code of the last line; 0 when the
	// reply could not be parsed.
	Code int `json:"code"`
	// Enhanced is the enhanced status code ("5.7.1") of the last line's
	// text, if present and of the same class as Code.
	Enhanced string `json:"enhanced,omitempty"`
	// Lines are the lines of the reply as received, without CRLF.
	Lines []string `json:"lines"`
	// Malformed is set when a line did not have the form of an SMTP
	// reply line; Code is then 0 and Lines ends with the offending line.
	Malformed bool `json:"malformed,omitempty"`
}

// Class returns the first digit of the code (2, 3, 4, 5), or 0.
func (r *Reply) Class() int {
	if r == nil {
		return 0
	}
	return r.Code / 100
}

// Text returns the text of every line after the code, joined by
// newlines, with the enhanced code of the last line left in place.
func (r *Reply) Text() string {
	if r == nil {
		return ""
	}
	parts := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		if _, _, text, err := ParseReplyLine(l); err == nil {
			parts = append(parts, text)
		} else {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "\n")
}

// String returns the reply's lines joined by " / ".
func (r *Reply) String() string {
	if r == nil {
		return "(no reply)"
	}
	return strings.Join(r.Lines, " / ")
}

// Errors of the reply reader.
var (
	// ErrLineTooLong is returned when a reply line exceeds the limit.
	ErrLineTooLong = errors.New("reply line longer than the limit")
	// ErrMalformed is returned when a line is not an SMTP reply line.
	ErrMalformed = errors.New("malformed SMTP reply")
	// ErrTooManyLines is returned when a multi-line reply does not end.
	ErrTooManyLines = errors.New("reply has too many lines")
	// ErrReplySlow is returned when one reply takes longer than the
	// reply time limit to arrive in full (a server dripping bytes).
	ErrReplySlow = errors.New("reply not complete within the time limit")
)

// ParseReplyLine splits one reply line (without CRLF) into its code,
// separator ('-' for a continuation line, ' ' for the last line; a bare
// code counts as ' ') and text. It accepts what RFC 5321 section 4.2
// describes and nothing else: three digits, the first 2 to 5, then end
// of line, a space or a hyphen.
func ParseReplyLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", fmt.Errorf("%w: line %q too short", ErrMalformed, clip(line))
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, 0, "", fmt.Errorf("%w: line %q does not start with a reply code", ErrMalformed, clip(line))
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 200 || code > 599 {
		return 0, 0, "", fmt.Errorf("%w: reply code %d out of range", ErrMalformed, code)
	}
	if len(line) == 3 {
		return code, ' ', "", nil
	}
	switch line[3] {
	case ' ', '-':
		return code, line[3], line[4:], nil
	}
	return 0, 0, "", fmt.Errorf("%w: line %q has no separator after its code", ErrMalformed, clip(line))
}

// ParseEnhanced returns the enhanced status code ("5.7.1") at the start
// of text, or "" when there is none. class, if not 0, must match the
// code's first digit (a reply 550 with text "4.7.1 …" has none).
func ParseEnhanced(text string, class int) string {
	text = strings.TrimLeft(text, " ")
	end := strings.IndexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	tok := text[:end]
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	if len(parts[0]) != 1 || parts[0][0] < '2' || parts[0][0] > '5' || parts[0][0] == '3' {
		return ""
	}
	if class != 0 && int(parts[0][0]-'0') != class {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return ""
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return ""
			}
		}
	}
	return tok
}

// ParseReply parses the lines of one complete reply. Every line but the
// last must be a continuation line with the same code; the last must be
// a final line. It returns the reply even on error, marked Malformed.
func ParseReply(lines []string) (*Reply, error) {
	r := &Reply{Lines: append([]string(nil), lines...)}
	if len(lines) == 0 {
		r.Malformed = true
		return r, fmt.Errorf("%w: empty reply", ErrMalformed)
	}
	first := 0
	for i, l := range lines {
		code, sep, text, err := ParseReplyLine(l)
		if err != nil {
			r.Malformed = true
			return r, err
		}
		if i == 0 {
			first = code
		} else if code != first {
			r.Malformed = true
			return r, fmt.Errorf("%w: code %d in a reply that began with %d", ErrMalformed, code, first)
		}
		last := i == len(lines)-1
		if last != (sep == ' ') {
			r.Malformed = true
			if last {
				return r, fmt.Errorf("%w: reply ends with a continuation line", ErrMalformed)
			}
			return r, fmt.Errorf("%w: final line before the end of the reply", ErrMalformed)
		}
		if last {
			r.Code = code
			r.Enhanced = ParseEnhanced(text, code/100)
		}
	}
	return r, nil
}

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
func (rr *replyReader) read(limit, patience time.Duration) (*Reply, error) {
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
				return &Reply{Lines: lines, Malformed: true}, err
			}
			return nil, err
		}
		lines = append(lines, line)
		rr.arrived = append(rr.arrived, rr.src.now())
		_, sep, _, perr := ParseReplyLine(line)
		if perr != nil {
			rr.broken = perr
			return &Reply{Lines: lines, Malformed: true}, perr
		}
		if sep == ' ' {
			return ParseReply(lines)
		}
		if len(lines) >= rr.maxLines {
			rr.broken = ErrTooManyLines
			return &Reply{Lines: lines, Malformed: true}, ErrTooManyLines
		}
	}
}

// buffered reports how many bytes were read from the server but not yet
// consumed (data after a STARTTLS 220 must not be there).
func (rr *replyReader) buffered() int { return rr.br.Buffered() }

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
