package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Defaults of Config.
const (
	DefaultHostname     = "mx.fleet.example"
	DefaultBanner       = "{host} ESMTP"
	DefaultTimeLayout   = "Mon, 02 Jan 2006 15:04:05 -0700"
	DefaultDripInterval = time.Second
	DefaultIdleTimeout  = 60 * time.Second
)

// Config configures one simulated server.
type Config struct {
	// Profile is the behaviour.
	Profile Profile
	// Hostname is the server's name, in its greeting and EHLO reply;
	// default "mx.fleet.example".
	Hostname string
	// Domain is the server's mail domain: recipients there are local,
	// and the local-sender profile relays for senders there. Default:
	// Hostname without its first label.
	Domain string
	// Banner is the greeting text after the code. "{host}" is replaced
	// by Hostname and "{time}" by the server's clock in TimeLayout; a
	// newline makes a multi-line greeting. Default "{host} ESMTP".
	Banner string
	// TimeLayout formats "{time}" (default RFC 1123 with numeric zone,
	// as Sendmail and Exim print it); TimeZone is its zone (default
	// UTC); ClockOffset is added to the real clock, to simulate a
	// server whose clock is off.
	TimeLayout  string
	TimeZone    *time.Location
	ClockOffset time.Duration
	// Latency delays every reply.
	Latency time.Duration
	// GreetingDelay delays the greeting (default Profile.GreetingDelay:
	// 2 s for slow-greeting, 5 s for greet-pause, 6 s for postscreen's
	// pause inside the greeting, 0 otherwise).
	GreetingDelay time.Duration
	// DripInterval spaces the drip profile's bytes (default 1 s).
	DripInterval time.Duration
	// TLS offers STARTTLS with the fleet's shared self-signed
	// certificate; ImplicitTLS serves TLS from the first byte (smtps).
	TLS         bool
	ImplicitTLS bool
	// DropAfter, if positive, ends the session after that many 4xx or
	// 5xx replies, as Exim does after three syntax errors: a 421 reply
	// and the connection closed (closed without a word with
	// DropQuietly).
	DropAfter   int
	DropQuietly bool
	// Limits are the limits and delays of a real daemon's stock
	// configuration toward a client that makes errors (PostfixLimits,
	// EximLimits, SendmailLimits); they set the fields below, and
	// DropAfter, where those are zero.
	Limits Limits
	// SoftErrors and ErrorSleep: once a session has had SoftErrors
	// replies of class 4 or 5, every further reply waits ErrorSleep
	// (Postfix's smtpd_soft_error_limit and smtpd_error_sleep_time).
	SoftErrors int
	ErrorSleep time.Duration
	// SyntaxErrors: the syntax error (500, 501) after this many ends
	// the session, its reply followed by "Too many syntax or protocol
	// errors" (Exim's smtp_max_synprot_errors).
	SyntaxErrors int
	// BadRcptThrottle and ThrottleDelay: once a session has had that
	// many recipients refused, each further reply to RCPT waits
	// ThrottleDelay (Sendmail's confBAD_RCPT_THROTTLE).
	BadRcptThrottle int
	ThrottleDelay   time.Duration
	// IdleTimeout closes a connection that stays idle, or that a
	// hostile profile has held, this long (default 60 s).
	IdleTimeout time.Duration
	// ErrorLog receives go-smtp's connection errors; nil discards them.
	ErrorLog *log.Logger
	// Filter is the content filter behind the server (filter.go); ""
	// refuses every message at the end of DATA.
	Filter Filter
	// Deliver receives what the filter delivers to the server's local
	// mailbox (junk: into its junk folder); nil drops it.
	Deliver func(msg []byte, junk bool) error
}

func (c Config) withDefaults() Config {
	if c.Profile == "" {
		c.Profile = Closed
	}
	c = c.Limits.apply(c)
	if c.Hostname == "" {
		c.Hostname = DefaultHostname
	}
	if c.Domain == "" {
		if _, rest, ok := strings.Cut(c.Hostname, "."); ok && strings.Contains(rest, ".") {
			c.Domain = rest
		} else {
			c.Domain = c.Hostname
		}
	}
	if c.Banner == "" {
		c.Banner = DefaultBanner
	}
	if c.TimeLayout == "" {
		c.TimeLayout = DefaultTimeLayout
	}
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	if c.GreetingDelay == 0 {
		c.GreetingDelay = c.Profile.GreetingDelay()
	}
	if c.DripInterval <= 0 {
		c.DripInterval = DefaultDripInterval
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// Server is one running simulated SMTP server.
type Server struct {
	cfg    Config
	ln     net.Listener
	smtp   *gosmtp.Server // nil for hostile profiles
	tlsCfg *tls.Config
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	err   error
	// passed are the client addresses that passed postscreen's tests.
	passed map[netip.Addr]bool
	stats  Stats
	// data counts the DATA commands that reached the message transfer.
	data int
}

// Stats is what a server counted of its sessions, as a real daemon's
// log would show it.
type Stats struct {
	// Sessions counts the sessions held; MaxErrors is the most replies
	// of class 4 or 5 one session received.
	Sessions, MaxErrors int
	// Slept counts the replies held back by the limits (Postfix's error
	// sleep, Sendmail's throttle); Dropped the sessions ended by them
	// (Postfix's hard limit, Exim's syntax errors).
	Slept, Dropped int
}

// Stats returns what the server counted so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// count updates the stats under the server's lock.
func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// DataCommands returns how many DATA commands the server took up to the
// message transfer: messages a client began to send.
func (s *Server) DataCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// Start listens on addr (an IP literal and port, never a wildcard
// address) and serves cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("smtpd: listen address %q: want IP:port: %w", addr, err)
	}
	if ap.Addr().IsUnspecified() {
		return nil, fmt.Errorf("smtpd: refusing wildcard listen address %s", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtpd: %w", err)
	}
	s, err := newServer(ln, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.start()
	return s, nil
}

// Serve serves cfg on ln until ctx ends, then closes ln and every
// connection. It returns the listener's error if it fails first.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	s, err := newServer(ln, cfg)
	if err != nil {
		return err
	}
	s.start()
	select {
	case <-ctx.Done():
		s.Close()
		return nil
	case <-s.done:
		return s.err
	}
}

func newServer(ln net.Listener, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if _, err := ParseProfile(string(cfg.Profile)); err != nil {
		return nil, err
	}
	if _, err := ParseFilter(string(cfg.Filter)); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}, passed: map[netip.Addr]bool{}}
	if cfg.TLS || cfg.ImplicitTLS {
		tc, err := ServerTLSConfig()
		if err != nil {
			return nil, err
		}
		s.tlsCfg = tc
	}
	if cfg.Profile.usesGoSMTP() {
		srv := gosmtp.NewServer(&backend{s: s})
		srv.Domain = cfg.Hostname
		srv.ReadTimeout = cfg.IdleTimeout
		srv.WriteTimeout = cfg.IdleTimeout
		srv.MaxRecipients = 50
		srv.MaxMessageBytes = 1 << 20
		if cfg.ErrorLog != nil {
			srv.ErrorLog = cfg.ErrorLog
		} else {
			srv.ErrorLog = log.New(io.Discard, "", 0)
		}
		if cfg.TLS && !cfg.ImplicitTLS {
			srv.TLSConfig = s.tlsCfg
		}
		// go-smtp offers AUTH only inside TLS unless told otherwise;
		// the backend decides per profile what it offers where.
		srv.AllowInsecureAuth = true
		s.smtp = srv
	}
	return s, nil
}

func (s *Server) start() {
	if s.smtp != nil {
		go func() {
			err := s.smtp.Serve(&listener{Listener: s.ln, s: s})
			s.finish(err)
		}()
		return
	}
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				s.finish(err)
				return
			}
			if !s.track(c) {
				c.Close()
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(c)
				s.hostile(c)
			}()
		}
	}()
}

func (s *Server) finish(err error) {
	s.once.Do(func() {
		select {
		case <-s.closed():
		default:
			s.err = err
		}
		close(s.done)
	})
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// closed returns a closed channel once Close was called.
func (s *Server) closed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return closedCh
	}
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// AddrPort returns the listening address as an netip.AddrPort.
func (s *Server) AddrPort() netip.AddrPort {
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(s.ln.Addr().String())
	return ap
}

// Config returns the server's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Close stops the server: the listener and every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	if conns == nil {
		return nil
	}
	var err error
	if s.smtp != nil {
		err = s.smtp.Close()
	} else {
		err = s.ln.Close()
	}
	for c := range conns {
		c.Close()
	}
	s.wg.Wait()
	<-s.done
	return err
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns != nil {
		delete(s.conns, c)
	}
}

// sleep waits d, or less if the server closes.
func (s *Server) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// pass records that a client address passed postscreen's tests.
func (s *Server) pass(a netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passed[a.Unmap()] = true
}

// hasPassed reports whether a client address passed postscreen's tests.
func (s *Server) hasPassed(a netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passed[a.Unmap()]
}

// greeting builds the greeting lines with their CRLFs.
func (s *Server) greeting() []byte {
	code := "220"
	text := s.cfg.Banner
	if s.cfg.Profile == Greeting554 {
		code = "554"
		if text == DefaultBanner {
			text = "5.7.1 {host} ESMTP not available for your address"
		}
	}
	now := time.Now().Add(s.cfg.ClockOffset).In(s.cfg.TimeZone)
	text = strings.NewReplacer("{host}", s.cfg.Hostname, "{time}", now.Format(s.cfg.TimeLayout)).Replace(text)
	lines := strings.Split(strings.ReplaceAll(text, "\r", ""), "\n")
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString(code + sep + l + "\r\n")
	}
	return []byte(b.String())
}

// listener hands go-smtp connections wrapped for the profile: TLS
// first on implicit-TLS servers, then the line-level wrapper (greeting,
// latency, raw-line tricks).
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var inner net.Conn = c
	if l.s.cfg.ImplicitTLS {
		inner = tls.Server(c, l.s.tlsCfg)
	}
	p := l.s.cfg.Profile
	return &conn{Conn: inner, s: l.s, plain: true, filter: p == AddressTrick || p == RateLimit || p == Postscreen}, nil
}

// hostile serves the profiles that hold no SMTP conversation.
func (s *Server) hostile(c net.Conn) {
	defer c.Close()
	cfg := s.cfg
	_ = c.SetDeadline(time.Now().Add(cfg.IdleTimeout))
	switch cfg.Profile {
	case Reset:
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return
	case Silent:
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	case Drip:
		msg := []byte("220-" + cfg.Hostname + " drip\r\n")
		for i := 0; ; i++ {
			if _, err := c.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
				return
			}
			select {
			case <-time.After(cfg.DripInterval):
			case <-s.done:
				return
			}
		}
	case EndlessLine:
		chunk := []byte(strings.Repeat("x", 4096))
		if _, err := c.Write([]byte("220 " + cfg.Hostname + " ")); err != nil {
			return
		}
		for written := 0; written < 64<<20; written += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	case Garbage:
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		buf := make([]byte, 256)
		in := make([]byte, 512)
		for range 64 {
			for i := range buf {
				buf[i] = byte(rng.UintN(256))
				if i%37 == 36 {
					buf[i] = '\n'
				}
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
			if _, err := c.Read(in); err != nil {
				return
			}
		}
	}
}
