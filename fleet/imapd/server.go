package imapd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Defaults of Config.
const (
	DefaultBanner      = "IMAP server ready"
	DefaultIdleTimeout = time.Minute
)

// Config configures one server.
type Config struct {
	// Profile is the server's behaviour; empty means TLSRequired.
	Profile Profile
	// Banner is the greeting's text after the capability code; empty
	// means DefaultBanner.
	Banner string
	// Latency delays every reply (and every write of a hostile profile).
	Latency time.Duration
	// TLSConfig holds the certificate for STARTTLS and implicit TLS; nil
	// means a self-signed certificate shared by the process.
	TLSConfig *tls.Config
	// ImplicitTLS makes the server speak TLS from the first byte (imaps).
	ImplicitTLS bool
	// IdleTimeout bounds how long a hostile profile holds a connection;
	// zero means DefaultIdleTimeout. Well-behaved profiles keep
	// imapserver's own timeouts (30 s per command before login).
	IdleTimeout time.Duration
}

func (cfg Config) withDefaults() Config {
	if cfg.Profile == "" {
		cfg.Profile = TLSRequired
	}
	if cfg.Banner == "" {
		cfg.Banner = DefaultBanner
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	return cfg
}

func (cfg Config) tlsConfig() (*tls.Config, error) {
	tc := cfg.TLSConfig
	if tc == nil {
		var err error
		if tc, err = defaultTLS(); err != nil {
			return nil, err
		}
	}
	if cfg.Profile == WeakTLS {
		tc = tc.Clone()
		tc.MinVersion = tls.VersionTLS10
		tc.MaxVersion = tls.VersionTLS10
	}
	return tc, nil
}

// Server is a running server started with Start.
type Server struct {
	ln     net.Listener
	cancel context.CancelFunc
	done   chan error
}

// Start listens on addr (an IP literal and port, "127.0.0.5:0") and serves
// cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- Serve(ctx, ln, cfg) }()
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	s.cancel()
	return <-s.done
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection and returns nil. It returns an error if the profile is
// unknown, the TLS certificate cannot be made, or accepting fails.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	cfg = cfg.withDefaults()
	if !cfg.Profile.Valid() {
		ln.Close()
		return fmt.Errorf("imapd: unknown profile %q", cfg.Profile)
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		ln.Close()
		return err
	}
	fl := &fleetListener{Listener: ln, cfg: cfg, tc: tc, conns: map[net.Conn]struct{}{}}
	stop := context.AfterFunc(ctx, func() { fl.Close() })
	defer stop()
	var serveErr error
	if cfg.Profile.Hostile() {
		serveErr = fl.serveHostile()
	} else {
		srv := imapserver.New(newOptions(cfg, tc))
		serveErr = srv.Serve(fl)
		srv.Close()
	}
	fl.Close()
	fl.wg.Wait()
	if ctx.Err() != nil || errors.Is(serveErr, net.ErrClosed) {
		return nil
	}
	return serveErr
}

func newOptions(cfg Config, tc *tls.Config) *imapserver.Options {
	b := &backend{cfg: cfg}
	if cfg.Profile == PreAuth || cfg.Profile == Anonymous {
		b.user = imapmemserver.NewUser("shared", "")
		b.user.Create("INBOX", nil)
	}
	opts := &imapserver.Options{
		NewSession: b.newSession,
		Caps:       imap.CapSet{imap.CapIMAP4rev1: {}},
		Logger:     discardLogger{},
	}
	switch {
	case cfg.ImplicitTLS:
		// Every connection is encrypted: passwords are allowed, and
		// there is no STARTTLS.
		opts.InsecureAuth = true
	case cfg.Profile == NoTLS:
		opts.InsecureAuth = true
	case cfg.Profile == Plaintext, cfg.Profile == LoginDisabledLie:
		opts.InsecureAuth = true
		opts.TLSConfig = tc
	default:
		opts.TLSConfig = tc
	}
	return opts
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// backend makes the sessions of one server.
type backend struct {
	cfg  Config
	user *imapmemserver.User // logged-in user of PreAuth and Anonymous
}

func (b *backend) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s := &session{b: b, conn: c}
	if b.cfg.Profile == PreAuth {
		s.UserSession = imapmemserver.NewUserSession(b.user)
		return s, &imapserver.GreetingData{PreAuth: true}, nil
	}
	return s, nil, nil
}

// session is one IMAP connection: imapmemserver's UserSession once logged
// in, with login decided by the profile.
type session struct {
	*imapmemserver.UserSession // nil until logged in
	b                          *backend
	conn                       *imapserver.Conn
}

var _ imapserver.SessionSASL = (*session)(nil)

func (s *session) encrypted() bool {
	if s.b.cfg.ImplicitTLS {
		return true
	}
	_, ok := s.conn.NetConn().(*tls.Conn)
	return ok
}

// Close ends the session.
func (s *session) Close() error { return s.UserSession.Close() }

// Login answers LOGIN. imapserver has already refused it before TLS for
// the profiles that require TLS.
func (s *session) Login(username, password string) error {
	if s.b.cfg.Profile == LoginDisabledLie && !s.encrypted() {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "LOGIN is disabled, use STARTTLS"}
	}
	return imapserver.ErrAuthFailed
}

// AuthenticateMechanisms lists the SASL mechanisms advertised now.
func (s *session) AuthenticateMechanisms() []string {
	if s.b.cfg.Profile == LoginDisabledLie && !s.encrypted() {
		return nil // and the capability rewrite adds LOGINDISABLED
	}
	mechs := []string{"PLAIN", "LOGIN"}
	if s.b.cfg.Profile == Anonymous {
		mechs = append(mechs, "ANONYMOUS")
	}
	return mechs
}

// Authenticate starts a SASL exchange. Every password fails; anonymous
// login succeeds on the Anonymous profile.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	check := func(string, string) error { return imapserver.ErrAuthFailed }
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	case "ANONYMOUS":
		if s.b.cfg.Profile == Anonymous {
			return sasl.NewAnonymousServer(func(string) error {
				s.UserSession = imapmemserver.NewUserSession(s.b.user)
				return nil
			}), nil
		}
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Unsupported authentication mechanism"}
}

// loginServer is the server side of the LOGIN mechanism.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp != nil {
			l.user = string(resp)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// fleetListener wraps accepted connections: latency below TLS, implicit
// TLS, and the greeting and capability rewrites above it.
type fleetListener struct {
	net.Listener
	cfg Config
	tc  *tls.Config

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (l *fleetListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	return err
}

func (l *fleetListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *fleetListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Accept returns the next connection, wrapped. A failed implicit-TLS
// handshake happens later, inside imapserver's goroutine.
func (l *fleetListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.track(raw) {
			raw.Close()
			continue
		}
		var c net.Conn = &trackedConn{Conn: &slowConn{Conn: raw, delay: l.cfg.Latency}, l: l, raw: raw}
		if l.cfg.ImplicitTLS {
			c = tls.Server(c, l.tc)
		}
		return &rewriteConn{Conn: c, cfg: l.cfg}, nil
	}
}

// trackedConn forgets itself in the listener when closed.
type trackedConn struct {
	net.Conn
	l    *fleetListener
	raw  net.Conn
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.untrack(c.raw) })
	return c.Conn.Close()
}

// slowConn delays every write by the configured latency.
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c *slowConn) Write(p []byte) (int, error) {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(p)
}

// rewriteConn edits what imapserver writes in plaintext: the greeting
// text becomes the configured banner and, on LoginDisabledLie before
// TLS, capability lists gain LOGINDISABLED. It stops editing once
// STARTTLS is accepted (what follows is TLS) or, on implicit TLS, after
// the greeting (it sits above TLS there).
type rewriteConn struct {
	net.Conn
	cfg      Config
	greeted  bool
	verbatim bool
}

func (c *rewriteConn) Write(p []byte) (int, error) {
	if c.verbatim {
		return c.Conn.Write(p)
	}
	out := p
	if !c.greeted {
		c.greeted = true
		out = bytes.Replace(out, []byte("IMAP server ready"), []byte(c.cfg.Banner), 1)
	}
	if c.cfg.Profile == LoginDisabledLie && !c.cfg.ImplicitTLS && bytes.Contains(out, []byte("CAPABILITY")) {
		out = addLoginDisabled(out)
	}
	if bytes.Contains(p, []byte("Begin TLS negotiation")) || c.cfg.ImplicitTLS {
		c.verbatim = true
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// addLoginDisabled adds LOGINDISABLED to every capability list in b.
func addLoginDisabled(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\r\n")
	for i, l := range lines {
		if !strings.Contains(l, "CAPABILITY") || strings.Contains(l, "LOGINDISABLED") {
			continue
		}
		if j := strings.Index(l, " STARTTLS"); j >= 0 {
			lines[i] = l[:j+len(" STARTTLS")] + " LOGINDISABLED" + l[j+len(" STARTTLS"):]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// serveHostile runs a hostile profile: no IMAP, only the misbehaviour.
func (l *fleetListener) serveHostile() error {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return err
		}
		if !l.track(raw) {
			raw.Close()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(raw)
			defer raw.Close()
			var c net.Conn = &slowConn{Conn: raw, delay: l.cfg.Latency}
			if l.cfg.Profile == Reset {
				if tcp, ok := raw.(*net.TCPConn); ok {
					tcp.SetLinger(0)
				}
				return
			}
			if l.cfg.ImplicitTLS {
				tc := tls.Server(c, l.tc)
				tc.SetDeadline(time.Now().Add(l.cfg.IdleTimeout))
				if tc.Handshake() != nil {
					return
				}
				c = tc
			}
			hostile(c, l.cfg)
		}()
	}
}

func hostile(c net.Conn, cfg Config) {
	deadline := time.Now().Add(cfg.IdleTimeout)
	c.SetDeadline(deadline)
	switch cfg.Profile {
	case Silent:
		io.Copy(io.Discard, c)
	case Garbage:
		junk := make([]byte, 300)
		br := bufio.NewReader(c)
		for i := 0; i < 50; i++ {
			rand.Read(junk)
			if _, err := c.Write(junk); err != nil {
				return
			}
			if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	case EndlessLine:
		c.Write([]byte("* OK "))
		endless(c, deadline, 'A')
	case HugeLiteral:
		fmt.Fprintf(c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] %s\r\n", cfg.Banner)
		br := bufio.NewReader(c)
		if _, err := br.ReadSlice('\n'); err != nil {
			return
		}
		fmt.Fprintf(c, "* LIST () \"/\" {%d}\r\n", 1<<30)
		endless(c, deadline, 'x')
	}
}

// endless writes b until the peer goes away or the deadline passes.
func endless(c net.Conn, deadline time.Time, b byte) {
	chunk := bytes.Repeat([]byte{b}, 4096)
	for time.Now().Before(deadline) {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}
