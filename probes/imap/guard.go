package imap

import (
	"io"
	"strings"
)

// capGuard protects imapclient from a server line that would hang it.
//
// imapclient (go-imap v2.0.0-beta.8) reads a capability list with
// `for dec.SP() {}`, and its decoder's SP reports true, without reading
// anything, when the next byte is "(": a server sending "* CAPABILITY ("
// or "[CAPABILITY (" (or "* ENABLED (") makes the client spin on one CPU
// forever, deaf to deadlines and to the connection being closed. The
// guard rewrites every "(" that follows CAPABILITY or ENABLED on a line
// (up to "]" or the end of the line) to "_", which the decoder reads as
// part of an atom. Literals ("{n}" at the end of a line, then n bytes)
// pass untouched. The transcript records the server's real bytes: the
// guard sits above the tap.
type capGuard struct {
	r io.Reader

	literal int64  // bytes of literal still to pass
	tail    []byte // the line's last bytes, upper-cased, to spot tokens
	capMode bool   // inside a capability list
	// Literal header at the end of a line: "{", digits, "}", then only
	// "\r" before "\n".
	braceState int // 0 none, 1 after "{", 2 after "}"
	braceN     int64
	braceOK    bool
}

const guardTail = 16

func (g *capGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		if g.literal > 0 {
			g.literal--
			continue
		}
		b := p[i]
		switch {
		case b == '\n':
			if g.braceState == 2 && g.braceOK {
				g.literal = g.braceN
			}
			g.tail, g.capMode, g.braceState, g.braceN = g.tail[:0], false, 0, 0
			continue
		case g.capMode && b == '(':
			p[i] = '_'
		case g.capMode && b == ']':
			g.capMode = false
		}
		g.brace(b)
		up := b
		if 'a' <= up && up <= 'z' {
			up -= 'a' - 'A'
		}
		if len(g.tail) == guardTail {
			copy(g.tail, g.tail[1:])
			g.tail = g.tail[:guardTail-1]
		}
		g.tail = append(g.tail, up)
		if s := string(g.tail); strings.HasSuffix(s, "CAPABILITY") || strings.HasSuffix(s, "ENABLED") {
			g.capMode = true
		}
	}
	return n, err
}

// brace follows a literal header "{n}" at the end of a line.
func (g *capGuard) brace(b byte) {
	switch {
	case b == '{':
		g.braceState, g.braceN, g.braceOK = 1, 0, false
	case g.braceState == 1 && '0' <= b && b <= '9':
		if g.braceN < 1<<40 {
			g.braceN = g.braceN*10 + int64(b-'0')
		}
		g.braceOK = true
	case g.braceState == 1 && b == '}':
		g.braceState = 2
	case g.braceState == 2 && b == '\r':
	default:
		g.braceState = 0
	}
}
