package wire

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Transcript limits.
const (
	// MaxTranscriptLines bounds the lines kept per transcript; later lines
	// are counted, not kept.
	MaxTranscriptLines = 400
	// MaxShownLine bounds one kept line, in bytes.
	MaxShownLine = 512
)

// Redacted replaces credentials in transcripts and evidence.
const Redacted = "<redacted>"

// Transcript records the protocol lines of one conversation: "C: …" for
// what the probe sent, "S: …" for what the server sent. Lines are
// sanitised (control characters escaped, long lines cut) and every
// registered secret is replaced by <redacted> before a line is stored or
// traced, so credentials never reach results or logs.
type Transcript struct {
	mu      sync.Mutex
	lines   []string
	dropped int
	secrets []string
	tracer  *Tracer
	prefix  string
	// paused counts the lines traced but not kept since Pause; closed is
	// set once Take has handed the lines over.
	paused  int
	pausing bool
	closed  bool
	// conns numbers the connections of the conversation; last is the
	// one opened most recently, whose lines Add traces.
	conns int
	last  *connMark
	// unkept counts the lines of unkept connections since NoteUnkept.
	unkept int
	// parent is the transcript a Fork came from: connections are
	// numbered across both.
	parent *Transcript
	// muted drops lines entirely, traced or kept (Mute).
	muted bool
}

// Fork returns a transcript for a part of the conversation that runs
// beside the rest (a second connection): it traces with the same prefix,
// redacts the same secrets, numbers its connections after the parent's,
// and keeps its lines apart until Join appends them to the parent's, so
// that each part's lines stay together.
func (t *Transcript) Fork() *Transcript {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &Transcript{tracer: t.tracer, prefix: t.prefix, secrets: append([]string(nil), t.secrets...), parent: t}
}

// Join appends the lines kept by f, a Fork of t, to t's.
func (t *Transcript) Join(f *Transcript) {
	lines := f.Take()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range lines {
		if len(t.lines) >= MaxTranscriptLines {
			t.dropped++
			continue
		}
		t.lines = append(t.lines, l)
	}
}

// NoteUnkept notes how many lines of connections whose lines are not
// kept (Conn.Unkeep) were left out since the last call, and where they
// are kept instead.
func (t *Transcript) NoteUnkept(keptIn string) {
	t.mu.Lock()
	n := t.unkept
	t.unkept = 0
	t.mu.Unlock()
	if n > 0 {
		t.Note("%d lines not kept here: see %s", n, keptIn)
	}
}

// connMark is one connection of a transcript, as the trace names it:
// its number and when it was opened, so that each traced line says how
// long after the connection opened it was sent or received.
type connMark struct {
	n      int
	opened time.Time
	// unkept: the connection's lines are traced but not kept
	// (Conn.Unkeep).
	unkept bool
}

// Connected records that the conversation opened a new connection now:
// the lines traced after it (by Add, Note and the taps of Tap) carry the
// connection's number and the milliseconds since it opened. Conns made
// with a transcript record their own connection; a probe that keeps its
// transcript apart from the Conn calls Connected after dialling.
func (t *Transcript) Connected() {
	if t == nil {
		return
	}
	t.connected()
}

func (t *Transcript) connected() *connMark {
	n := t.root().next()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = &connMark{n: n, opened: time.Now()}
	return t.last
}

// root is the transcript of the whole conversation.
func (t *Transcript) root() *Transcript {
	for t.parent != nil {
		t = t.parent
	}
	return t
}

// next numbers a new connection of the conversation.
func (t *Transcript) next() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns++
	return t.conns
}

// NewTranscript returns a transcript that also writes each line to tracer
// (if not nil) prefixed by prefix, for example "192.0.2.1:25 smtp".
func NewTranscript(tracer *Tracer, prefix string) *Transcript {
	return &Transcript{tracer: tracer, prefix: prefix}
}

// AddSecret registers a string that must never appear: the probe calls it
// before sending any credential, with every encoding it will send (plain,
// base64).
func (t *Transcript) AddSecret(s string) {
	if t == nil || s == "" {
		return
	}
	t.mu.Lock()
	t.secrets = append(t.secrets, s)
	t.mu.Unlock()
}

// Add records one line in direction dir ("C", "S", or "*" for a note).
func (t *Transcript) Add(dir, line string) { t.add(nil, dir, line) }

// add records one line of connection m (nil: the last one opened).
func (t *Transcript) add(m *connMark, dir, line string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.secrets {
		line = strings.ReplaceAll(line, s, Redacted)
	}
	if t.muted {
		return
	}
	line = dir + ": " + Sanitize(line, MaxShownLine)
	if t.tracer != nil {
		if m == nil {
			m = t.last
		}
		t.tracer.line(t.prefix, m, line)
	}
	if t.closed {
		return
	}
	if m != nil && m.unkept {
		t.unkept++
		return
	}
	if t.pausing {
		t.paused++
		return
	}
	if len(t.lines) >= MaxTranscriptLines {
		t.dropped++
		return
	}
	t.lines = append(t.lines, line)
}

// Pause stops keeping lines (they are still traced): a probe that keeps
// the same exchanges in a structured form of its own, such as the relay
// test, need not keep them twice. Resume notes how many were left out.
func (t *Transcript) Pause() {
	t.mu.Lock()
	t.pausing, t.paused = true, 0
	t.mu.Unlock()
}

// Resume keeps lines again, after a note saying how many lines were
// left out and where they are kept instead.
func (t *Transcript) Resume(keptIn string) {
	t.mu.Lock()
	n := t.paused
	t.pausing, t.paused = false, 0
	t.mu.Unlock()
	if n > 0 {
		t.Note("%d lines not kept here: see %s", n, keptIn)
	}
}

// Mute drops every line from now on, neither traced nor kept, until
// Unmute: for what must never reach a trace or a results file, such as
// the body of a content-test message. The caller mutes only around
// writes or reads that end with a complete line.
func (t *Transcript) Mute() {
	t.mu.Lock()
	t.muted = true
	t.mu.Unlock()
}

// Unmute records lines again, after a note saying what was left out.
func (t *Transcript) Unmute(format string, args ...any) {
	t.mu.Lock()
	t.muted = false
	t.mu.Unlock()
	t.Note(format, args...)
}

// Take returns the lines recorded and closes the transcript: later lines
// are still traced but no longer kept. Unlike Lines it does not copy.
func (t *Transcript) Take() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.lines
	if t.dropped > 0 {
		out = append(out, fmt.Sprintf("*: %d more lines not kept", t.dropped))
	}
	t.lines, t.closed = nil, true
	return out
}

// Note records a remark of the probe's own, such as "TLS handshake done".
func (t *Transcript) Note(format string, args ...any) {
	t.Add("*", fmt.Sprintf(format, args...))
}

// Lines returns a copy of the lines recorded so far, with a final note if
// lines were dropped.
func (t *Transcript) Lines() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if t.dropped > 0 {
		out = append(out, fmt.Sprintf("*: %d more lines not kept", t.dropped))
	}
	return out
}

// Len returns the number of lines recorded so far, kept or not.
func (t *Transcript) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.lines) + t.dropped
}

// Tap returns a writer that records what is written to it as lines in
// direction dir; use it as a protocol library's debug writer, or with
// io.TeeReader above a TLS connection. Its lines are traced as lines of
// the connection opened last; Conn.Tap names the connection.
func (t *Transcript) Tap(dir string) io.Writer {
	t.mu.Lock()
	m := t.last
	t.mu.Unlock()
	return &lineTap{tr: t, dir: dir, max: DefaultMaxLine, mark: m}
}

// Sanitize makes s safe to show on one line: invalid UTF-8 and control
// characters are escaped, and the result is cut at max bytes.
func Sanitize(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// lineTap splits a byte stream into lines for a transcript. A line
// longer than max is recorded cut, and the rest until its end skipped.
type lineTap struct {
	tr   *Transcript
	dir  string
	max  int
	mark *connMark // the connection, for the trace (nil: the last)
	mu   sync.Mutex
	buf  []byte
	skip bool
}

func (l *lineTap) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !l.skip {
				room := l.max - len(l.buf)
				if len(p) > room {
					l.buf = append(l.buf, p[:room]...)
					l.emit(true)
					l.skip = true
				} else {
					l.buf = append(l.buf, p...)
				}
			}
			break
		}
		if !l.skip {
			l.buf = append(l.buf, p[:i]...)
			l.emit(false)
		}
		l.skip = false
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineTap) emit(cut bool) {
	line := strings.TrimRight(string(l.buf), "\r")
	if cut {
		line += " …(line cut)"
	}
	l.tr.add(l.mark, l.dir, line)
	l.buf = l.buf[:0]
}

func (l *lineTap) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(false)
	}
}

// Tracer writes every protocol line of a scan to one writer (--trace
// FILE), each prefixed with its conversation, the number of the
// conversation's connection and the milliseconds since that connection
// opened ("192.0.2.1:25 smtp c2 +1012ms S: 454 4.7.1 …"), so that a
// reader sees where a server made the scan wait. It is safe for
// concurrent use.
type Tracer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTracer returns a tracer writing to w.
func NewTracer(w io.Writer) *Tracer { return &Tracer{w: w} }

func (tr *Tracer) line(prefix string, m *connMark, line string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if m == nil {
		fmt.Fprintf(tr.w, "%s %s\n", prefix, line)
		return
	}
	fmt.Fprintf(tr.w, "%s c%d +%dms %s\n", prefix, m.n, time.Since(m.opened).Milliseconds(), line)
}
