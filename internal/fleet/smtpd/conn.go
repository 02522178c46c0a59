package smtpd

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// conn sits between a client connection and go-smtp. It replaces
// go-smtp's fixed greeting with the configured one (with the pauses of
// greet-pause and postscreen), delays each reply by the configured
// latency, and, for the address-trick, rate-limit and postscreen
// profiles, reads the raw command lines before go-smtp parses them:
// go-smtp strips quotes and source routes before its backend sees an
// address, so the trick must be recognised here, and it refuses forms it
// cannot parse, which a rate limiter or postscreen's engine answers like
// any other. Such a recipient is rewritten into one go-smtp parses, so
// replies stay in order when the client pipelines. After STARTTLS it
// passes the bytes through untouched.
type conn struct {
	net.Conn
	s *Server

	mu        sync.Mutex
	greeted   bool
	readSince bool // a read since the last write: the next write starts a reply

	filter  bool   // address-trick, rate-limit, postscreen: look at raw lines
	plain   bool   // no STARTTLS seen yet
	in      []byte // raw bytes not yet looked at
	out     []byte // bytes ready for go-smtp
	errors  int    // 4xx and 5xx replies so far (DropAfter, SoftErrors)
	syntax  int    // 500 and 501 replies so far (SyntaxErrors)
	dropped bool

	// dummy is set for a session held by postscreen's own SMTP engine
	// (a client that has not passed yet); rejected for a greet-pause
	// session whose client spoke before the greeting.
	dummy    bool
	rejected bool
	// commands counts the commands of a dummy session; hangup is set
	// once they exceed postscreen's limit.
	commands int
	hangup   bool
}

// postscreenCommandLimit is postscreen_command_count_limit: postscreen's
// engine hangs up on a session with more commands.
const postscreenCommandLimit = 20

// peer returns the client's address.
func (c *conn) peer() netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap()
}

// wrapperOf returns the conn under a connection go-smtp holds (itself,
// or under the TLS it started with STARTTLS), or nil.
func wrapperOf(nc net.Conn) *conn {
	for {
		switch c := nc.(type) {
		case *conn:
			return c
		case *tls.Conn:
			nc = c.NetConn()
		default:
			return nil
		}
	}
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
		if err := c.greet(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if c.dummy && string(p) == "250-PIPELINING\r\n" {
		// postscreen's engine does not announce PIPELINING: its
		// pipelining test catches clients that pipeline anyway.
		return len(p), nil
	}
	cfg := c.s.cfg
	if newReply {
		c.s.sleep(cfg.Latency)
		if cfg.SoftErrors > 0 && c.errors >= cfg.SoftErrors {
			// Postfix past its soft error limit: every reply waits,
			// STARTTLS, EHLO and QUIT included.
			c.s.count(func(st *Stats) { st.Slept++ })
			c.s.sleep(cfg.ErrorSleep)
		}
	}
	if c.dropped {
		return 0, net.ErrClosed
	}
	final := len(p) >= 4 && p[3] == ' '
	if final && cfg.SyntaxErrors > 0 && (bytes.HasPrefix(p, []byte("500")) || bytes.HasPrefix(p, []byte("501"))) {
		if c.syntax++; c.syntax > cfg.SyntaxErrors {
			// Exim: the reply, then the reason, and the session ends.
			msg := string(p[:3]) + "-" + string(p[4:]) + string(p[:3]) + " Too many syntax or protocol errors\r\n"
			_, err := c.Conn.Write([]byte(msg))
			c.s.count(func(st *Stats) { st.Dropped++ })
			c.dropped = true
			_ = c.Conn.Close()
			return len(p), err
		}
	}
	n, err := c.Conn.Write(p)
	if err == nil && final && (p[0] == '4' || p[0] == '5') {
		c.errors++
		c.s.count(func(st *Stats) {
			if c.errors > st.MaxErrors {
				st.MaxErrors = c.errors
			}
		})
		if cfg.DropAfter > 0 && c.errors >= cfg.DropAfter {
			c.drop()
		}
	}
	return n, err
}

// greet sends the configured greeting in place of go-smtp's, as the
// profile sends it.
func (c *conn) greet() error {
	cfg := c.s.cfg
	switch cfg.Profile {
	case Postscreen:
		if c.s.hasPassed(c.peer()) {
			// An allowlisted client goes straight to smtpd, which
			// greets at once.
			c.s.sleep(cfg.Latency)
			_, err := c.Conn.Write(c.s.greeting())
			return err
		}
		c.s.sleep(cfg.Latency)
		first, _, _ := strings.Cut(string(c.s.greeting()), "\r\n")
		if _, err := c.Conn.Write([]byte("220-" + first[4:] + "\r\n")); err != nil {
			return err
		}
		if c.early(cfg.GreetingDelay) {
			// postscreen_greet_action = drop.
			_, _ = c.Conn.Write([]byte("521 5.5.1 Protocol error\r\n"))
			c.dropped = true
			_ = c.Conn.Close()
			return net.ErrClosed
		}
		c.dummy = true
		_, err := c.Conn.Write(c.s.greeting())
		return err
	case GreetPause:
		if c.early(cfg.GreetingDelay + cfg.Latency) {
			c.rejected = true
			_, err := c.Conn.Write([]byte("554 " + cfg.Hostname + " ESMTP not accepting messages\r\n"))
			return err
		}
		_, err := c.Conn.Write(c.s.greeting())
		return err
	}
	c.s.sleep(cfg.GreetingDelay + cfg.Latency)
	_, err := c.Conn.Write(c.s.greeting())
	return err
}

// early waits d for the greeting's pause and reports whether the client
// spoke meanwhile; what it said is kept for go-smtp. Over implicit TLS
// the pause is only waited.
func (c *conn) early(d time.Duration) bool {
	if _, ok := c.Conn.(*tls.Conn); ok {
		c.s.sleep(d)
		return false
	}
	if d <= 0 {
		return false
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	n, _ := c.Conn.Read(buf)
	_ = c.Conn.SetReadDeadline(time.Time{})
	if n == 0 {
		return false
	}
	c.mu.Lock()
	c.out = append(c.out, buf[:n]...)
	c.mu.Unlock()
	return true
}

// drop ends the session after too many errors.
func (c *conn) drop() {
	c.s.count(func(st *Stats) { st.Dropped++ })
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
		hangup := c.hangup
		c.mu.Unlock()
		if hangup {
			// Every command before the one over the limit was
			// answered: say goodbye as postscreen does.
			_, _ = c.Conn.Write([]byte("421 " + c.s.cfg.Hostname + " Service unavailable - try again later\r\n"))
			c.dropped = true
			_ = c.Conn.Close()
			return 0, io.EOF
		}
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
		if c.dummy {
			if c.commands++; c.commands > postscreenCommandLimit {
				c.hangup = true
				c.in = nil
				break
			}
		}
		verb := strings.ToUpper(strings.TrimSpace(string(line)))
		verb, _, _ = strings.Cut(verb, " ")
		switch verb {
		case "STARTTLS":
			c.plain = false
		case "RCPT":
			switch {
			case c.s.cfg.Profile == RateLimit || c.s.cfg.Profile == Postscreen && c.dummy:
				// A rate limiter (a policy service) and postscreen's
				// engine answer every recipient alike, whatever its
				// form, where go-smtp would refuse a form it cannot
				// parse.
				line = []byte("RCPT TO:<any@recipient.invalid>\r\n")
			case c.s.cfg.Profile == AddressTrick && trickRoutes(strings.TrimSpace(string(line[4:])), c.s.cfg):
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
