package imap

import (
	"bytes"
	"net"
	"strings"
	"sync"

	"github.com/kensa-inspect/kensa/probes/internal/login"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// keptLines is how many recent server lines a tap keeps for the probe's
// own use (the exact reply to a login attempt, the capability line).
const keptLines = 64

// tap is a connection that records the plaintext it carries: lines the
// server sends ("S") and lines the probe sends ("C") go to the transcript,
// and the server's recent lines are kept for the probe. It sits above TLS
// when there is TLS, so the transcript never holds ciphertext.
type tap struct {
	net.Conn
	tr  *wire.Transcript
	max int
	// hold sends a login's password line as the server's login gate
	// says (login.Holder).
	hold login.Holder

	mu      sync.Mutex
	stopped bool
	rbuf    []byte
	rskip   bool
	wbuf    []byte
	wskip   bool
	lines   []string // ring of the last keptLines server lines
	count   int      // server lines seen so far
}

func newTap(c net.Conn, tr *wire.Transcript, maxLine int) *tap {
	return &tap{Conn: c, tr: tr, max: maxLine}
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.record(&t.rbuf, &t.rskip, p[:n], "S")
	return n, err
}

// Write records p before it writes it: recorded after, a command could
// follow the server's reply to it in the transcript (imapclient reads in
// a goroutine of its own), and the evidence would lose the command.
func (t *tap) Write(p []byte) (int, error) {
	t.record(&t.wbuf, &t.wskip, p, "C")
	return t.hold.Write(t.Conn, p)
}

// record feeds the bytes p that went in direction dir, unless stopped.
func (t *tap) record(buf *[]byte, skip *bool, p []byte, dir string) {
	if len(p) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		*buf, *skip = t.feed(*buf, *skip, p, dir)
	}
}

// feed splits p into lines; a line longer than max is recorded cut and
// the rest of it skipped.
func (t *tap) feed(buf []byte, skip bool, p []byte, dir string) ([]byte, bool) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !skip {
				room := t.max - len(buf)
				if len(p) > room {
					buf = append(buf, p[:room]...)
					t.emit(dir, string(buf)+" …(line cut)")
					buf, skip = buf[:0], true
				} else {
					buf = append(buf, p...)
				}
			}
			return buf, skip
		}
		if !skip {
			room := t.max - len(buf)
			if i > room {
				buf = append(buf, p[:room]...)
				t.emit(dir, string(buf)+" …(line cut)")
			} else {
				buf = append(buf, p[:i]...)
				t.emit(dir, strings.TrimRight(string(buf), "\r"))
			}
		}
		buf, skip = buf[:0], false
		p = p[i+1:]
	}
	return buf, skip
}

func (t *tap) emit(dir, line string) {
	t.tr.Add(dir, line)
	if dir != "S" {
		return
	}
	if len(t.lines) < keptLines {
		t.lines = append(t.lines, line)
	} else {
		t.lines[t.count%keptLines] = line
	}
	t.count++
}

// mark returns a position in the server's lines for since.
func (t *tap) mark() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// since returns the server lines seen after mark m that are still kept,
// oldest first.
func (t *tap) since(m int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m < t.count-len(t.lines) {
		m = t.count - len(t.lines)
	}
	var out []string
	for i := m; i < t.count; i++ {
		out = append(out, t.lines[i%keptLines])
	}
	return out
}

// stop flushes and stops recording: the bytes that follow are a TLS
// handshake.
func (t *tap) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.rbuf) > 0 && !t.rskip {
		t.emit("S", string(t.rbuf))
	}
	if len(t.wbuf) > 0 && !t.wskip {
		t.emit("C", string(t.wbuf))
	}
	t.rbuf, t.wbuf = nil, nil
	t.stopped = true
}

// Close flushes partial lines and closes the connection.
func (t *tap) Close() error {
	t.stop()
	return t.Conn.Close()
}
