package imapd

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/listener"
	"github.com/kensa-inspect/kensa/internal/fleet/internal/mailauth"
	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
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
	// Penalty, if not nil, delays the answer to every failed login as
	// Dovecot's auth penalty does (shared by a host's services);
	// refusals that check no password are answered at once.
	Penalty *mailauth.Penalty
}

func (cfg Config) withDefaults() Config {
	cfg.Profile = cmp.Or(cfg.Profile, TLSRequired)
	cfg.Banner = cmp.Or(cfg.Banner, DefaultBanner)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	return cfg
}

func (cfg Config) tlsConfig() (*tls.Config, error) {
	return tlscert.Choose(cfg.TLSConfig, defaultTLS, cfg.Profile == WeakTLS)
}

// Server is a running server started with Start.
type Server struct{ run *listener.Server }

// Start listens on addr (an IP literal and port, "127.0.0.5:0") and serves
// cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	run, err := listener.Start(addr, func(ctx context.Context, ln net.Listener) error { return Serve(ctx, ln, cfg) })
	if err != nil {
		return nil, err
	}
	return &Server{run}, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.run.Addr() }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.run.Close() }

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
	if cfg.Profile.Hostile() {
		return listener.Serve(ctx, ln, func(c net.Conn) { hostile(c, cfg, tc) })
	}
	fl := &fleetListener{Listener: listener.Track(ln), cfg: cfg, tc: tc}
	stop := context.AfterFunc(ctx, func() { fl.Close() })
	defer stop()
	srv := imapserver.New(newOptions(cfg, tc))
	serveErr := srv.Serve(fl)
	srv.Close()
	fl.Close()
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
	case cfg.Profile == NoTLS, cfg.Profile == ChallengeOnly, cfg.Profile == NoTLSBare:
		// No STARTTLS; the session decides what it refuses.
		opts.InsecureAuth = true
	case cfg.Profile == Plaintext, cfg.Profile == LoginDisabledLie, cfg.Profile == BareRefusal:
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

// bareText marks a status response that rewriteConn sends without a
// text: "T1 NO bareText" becomes "T1 NO" (imapserver always writes a
// text).
const bareText = "kensa-fleet-bare-reply"

// bare is a NO or BAD answer with neither response code nor text.
func bare(typ imap.StatusResponseType) error { return &imap.Error{Type: typ, Text: bareText} }

// errPrivacyRequired is Dovecot's refusal of LOGIN before TLS.
var errPrivacyRequired = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired,
	Text: "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."}

// Login answers LOGIN. imapserver has already refused it before TLS for
// the profiles that require TLS.
func (s *session) Login(username, password string) error {
	if !s.encrypted() {
		switch s.b.cfg.Profile {
		case LoginDisabledLie:
			return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "LOGIN is disabled, use STARTTLS"}
		case BareRefusal, NoTLSBare:
			return bare(imap.StatusResponseTypeNo)
		case ChallengeOnly:
			return errPrivacyRequired
		}
	}
	return s.failed(username, password)
}

// failed answers a password that was checked and did not match, after
// the penalty's delay.
func (s *session) failed(user, password string) error {
	if p := s.b.cfg.Penalty; p != nil {
		var peer netip.Addr
		if a, ok := s.conn.NetConn().RemoteAddr().(*net.TCPAddr); ok {
			peer = a.AddrPort().Addr()
		}
		p.Fail(peer, user, password, nil)
	}
	return imapserver.ErrAuthFailed
}

// AuthenticateMechanisms lists the SASL mechanisms advertised now.
func (s *session) AuthenticateMechanisms() []string {
	if !s.encrypted() {
		switch s.b.cfg.Profile {
		case LoginDisabledLie, BareRefusal:
			return nil // and the capability rewrite adds LOGINDISABLED
		case ChallengeOnly:
			return []string{"CRAM-MD5"} // and LOGINDISABLED, likewise
		}
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
	check := s.failed
	if !s.encrypted() {
		switch s.b.cfg.Profile {
		case BareRefusal:
			return nil, bare(imap.StatusResponseTypeBad)
		case NoTLSBare:
			check = func(string, string) error { return bare(imap.StatusResponseTypeNo) }
		case ChallengeOnly:
			if mech == "CRAM-MD5" {
				return &cramServer{fail: func() error { return s.failed("", "") }}, nil
			}
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert, Text: "Unsupported authentication mechanism."}
		}
	}
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

// cramServer is the server side of CRAM-MD5 for a server that knows no
// user: it sends its challenge and fails the answer.
type cramServer struct {
	sent bool
	fail func() error
}

func (c *cramServer) Next([]byte) ([]byte, bool, error) {
	if !c.sent {
		c.sent = true
		return fmt.Appendf(nil, "<%d.%d@imapd.kensa.test>", time.Now().UnixNano()%1000000, time.Now().Unix()), false, nil
	}
	return nil, true, c.fail()
}

// fleetListener wraps accepted connections: latency below TLS, implicit
// TLS, and the greeting and capability rewrites above it.
type fleetListener struct {
	*listener.Listener
	cfg Config
	tc  *tls.Config
}

// Accept returns the next connection, wrapped. A failed implicit-TLS
// handshake happens later, inside imapserver's goroutine.
func (l *fleetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c = listener.Slow(c, l.cfg.Latency)
	if l.cfg.ImplicitTLS {
		c = tls.Server(c, l.tc)
	}
	return &rewriteConn{Conn: c, cfg: l.cfg}, nil
}

// rewriteConn edits what imapserver writes in plaintext: the greeting
// text becomes the configured banner; on LoginDisabledLie, BareRefusal
// and ChallengeOnly before TLS, capability lists gain LOGINDISABLED;
// and answers marked bareText lose their text. It stops editing once
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
	switch c.cfg.Profile {
	case LoginDisabledLie, BareRefusal, ChallengeOnly:
		if !c.cfg.ImplicitTLS && bytes.Contains(out, []byte("CAPABILITY")) {
			out = addLoginDisabled(out)
		}
	}
	out = bytes.ReplaceAll(out, []byte(" "+bareText), nil)
	if bytes.Contains(p, []byte("Begin TLS negotiation")) || c.cfg.ImplicitTLS {
		c.verbatim = true
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// addLoginDisabled adds LOGINDISABLED to every capability list in b,
// where Dovecot puts it: after STARTTLS, before the AUTH= mechanisms.
func addLoginDisabled(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\r\n")
	for i, l := range lines {
		if !strings.Contains(l, "CAPABILITY") || strings.Contains(l, "LOGINDISABLED") {
			continue
		}
		if j := strings.Index(l, " STARTTLS"); j >= 0 {
			lines[i] = l[:j+len(" STARTTLS")] + " LOGINDISABLED" + l[j+len(" STARTTLS"):]
		} else if j := strings.Index(l, " AUTH="); j >= 0 {
			lines[i] = l[:j] + " LOGINDISABLED" + l[j:]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// hostile runs a hostile profile on one connection: no IMAP, only the
// misbehaviour.
func hostile(c net.Conn, cfg Config, tc *tls.Config) {
	if cfg.Profile == Reset {
		listener.Reset(c)
		return
	}
	if c = listener.Open(c, cfg.Latency, cfg.ImplicitTLS, tc, cfg.IdleTimeout); c == nil {
		return
	}
	switch cfg.Profile {
	case Silent:
		listener.Silent(c, cfg.IdleTimeout)
	case Garbage:
		listener.Garbage(c, cfg.IdleTimeout)
	case EndlessLine:
		listener.Endless(c, "* OK ", 'A', time.Now().Add(cfg.IdleTimeout))
	case HugeLiteral:
		deadline := time.Now().Add(cfg.IdleTimeout)
		c.SetDeadline(deadline)
		fmt.Fprintf(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] %s\r\n", cfg.Banner)
		br := bufio.NewReader(c)
		if _, err := br.ReadSlice('\n'); err != nil {
			return
		}
		listener.Endless(c, fmt.Sprintf("* LIST () \"/\" {%d}\r\n", 1<<30), 'x', deadline)
	}
}

// NewPenalty returns the delays of Dovecot's failed logins for
// Config.Penalty: every failure answered after delay, and a login that
// begins while the address has a penalty after three times it (as
// Dovecot's 2 s and 6 s; see mailauth.Penalty); 0 means Dovecot's own.
func NewPenalty(delay time.Duration) *mailauth.Penalty {
	p := mailauth.NewDovecotPenalty()
	if delay > 0 {
		p.Delay, p.Step, p.Max = delay, 2*delay, 0
	}
	return p
}
