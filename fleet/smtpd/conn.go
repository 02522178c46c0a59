package smtpd

import (
	"bytes"
	"net"
	"strings"
	"sync"
)

// conn sits between a client connection and go-smtp. It replaces
// go-smtp's fixed greeting with the configured one, delays each reply
// by the configured latency, and, for the address-trick profile, reads
// the raw command lines before go-smtp parses them: go-smtp strips
// quotes and source routes before its backend sees an address, so the
// trick must be recognised here. A trick recipient is rewritten into a
// local mailbox, which go-smtp then accepts in its turn, so replies stay
// in order when the client pipelines. After STARTTLS it passes the
// bytes through untouched.
type conn struct {
	net.Conn
	s *Server

	mu        sync.Mutex
	greeted   bool
	readSince bool // a read since the last write: the next write starts a reply

	filter  bool   // address-trick: look at raw lines
	plain   bool   // no STARTTLS seen yet
	in      []byte // raw bytes not yet looked at
	out     []byte // bytes ready for go-smtp
	errors  int    // 4xx and 5xx replies so far (DropAfter)
	dropped bool
}

// Write sends go-smtp's output, the first write (its greeting) replaced
// by the configured greeting.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	greeted := c.greeted
	c.greeted = true
	newReply := c.readSince
	c.readSince = false
	c.mu.Unlock()
	if !greeted {
		c.s.sleep(c.s.cfg.GreetingDelay + c.s.cfg.Latency)
		if _, err := c.Conn.Write(c.s.greeting()); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if newReply {
		c.s.sleep(c.s.cfg.Latency)
	}
	if c.dropped {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Write(p)
	if err == nil && c.s.cfg.DropAfter > 0 && len(p) >= 4 && (p[0] == '4' || p[0] == '5') && p[3] == ' ' {
		c.errors++
		if c.errors >= c.s.cfg.DropAfter {
			c.drop()
		}
	}
	return n, err
}

// drop ends the session after too many errors.
func (c *conn) drop() {
	c.dropped = true
	if !c.s.cfg.DropQuietly {
		_, _ = c.Conn.Write([]byte("421 4.7.0 " + c.s.cfg.Hostname + " Error: too many errors\r\n"))
	}
	_ = c.Conn.Close()
}

// Read hands go-smtp what the client sent, less the lines the wrapper
// answered itself.
func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		c.readSince = true
		c.mu.Unlock()
		return n, nil
	}
	filter := c.filter && c.plain
	c.mu.Unlock()
	if !filter {
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.mu.Lock()
			c.readSince = true
			c.mu.Unlock()
		}
		return n, err
	}
	for {
		c.mu.Lock()
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			c.readSince = true
			c.mu.Unlock()
			return n, nil
		}
		c.mu.Unlock()
		buf := make([]byte, 4096)
		n, err := c.Conn.Read(buf)
		if n > 0 {
			c.take(buf[:n])
			continue
		}
		if err != nil {
			return 0, err
		}
	}
}

// take looks at complete raw lines and hands them to go-smtp, a
// relay-trick RCPT rewritten to a local mailbox that go-smtp accepts.
func (c *conn) take(b []byte) {
	c.mu.Lock()
	c.in = append(c.in, b...)
	for c.plain {
		i := bytes.IndexByte(c.in, '\n')
		if i < 0 {
			if len(c.in) > 8192 {
				// Not a command line: let go-smtp refuse it.
				c.out = append(c.out, c.in...)
				c.in = nil
			}
			break
		}
		line := c.in[:i+1]
		c.in = c.in[i+1:]
		verb := strings.ToUpper(strings.TrimSpace(string(line)))
		verb, _, _ = strings.Cut(verb, " ")
		switch verb {
		case "STARTTLS":
			c.plain = false
		case "RCPT":
			if trickRoutes(strings.TrimSpace(string(line[4:])), c.s.cfg) {
				line = []byte("RCPT TO:<postmaster@" + c.s.cfg.Hostname + ">\r\n")
			}
		}
		c.out = append(c.out, line...)
	}
	if !c.plain && len(c.in) > 0 {
		c.out = append(c.out, c.in...)
		c.in = nil
	}
	c.mu.Unlock()
}

// trickRoutes reports whether a raw RCPT argument ("TO:<…>") uses the
// trick the address-trick profile falls for: a quoted local part that
// routes to a domain not its own ("relaytest@D", "relaytest%D"@host).
func trickRoutes(arg string, cfg Config) bool {
	if len(arg) < 3 || !strings.EqualFold(arg[:3], "TO:") {
		return false
	}
	a := strings.TrimSpace(arg[3:])
	a = strings.TrimPrefix(a, "<")
	if !strings.HasPrefix(a, `"`) {
		return false
	}
	end := strings.IndexByte(a[1:], '"')
	if end < 0 {
		return false
	}
	quoted := a[1 : 1+end]
	k := strings.LastIndexAny(quoted, "@%")
	if k < 0 {
		return false
	}
	return !cfg.isLocalDomain(quoted[k+1:])
}
