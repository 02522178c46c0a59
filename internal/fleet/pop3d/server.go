package pop3d

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/listener"
	"github.com/kensa-inspect/kensa/internal/fleet/internal/mailauth"
	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
)

// Defaults of Config.
const (
	DefaultBanner      = "POP3 server ready"
	DefaultIdleTimeout = time.Minute
	// maxLine bounds a command line the server reads.
	maxLine = 1024
)

// Config configures one server.
type Config struct {
	// Profile is the server's behaviour; empty means TLSRequired.
	Profile Profile
	// Banner is the greeting's text after "+OK "; empty means
	// DefaultBanner.
	Banner string
	// APOP appends an APOP timestamp ("<pid.clock@host>") to the greeting.
	APOP bool
	// Latency delays every reply (and every write of a hostile profile).
	Latency time.Duration
	// TLSConfig holds the certificate for STLS and implicit TLS; nil means
	// a self-signed certificate shared by the process.
	TLSConfig *tls.Config
	// ImplicitTLS makes the server speak TLS from the first byte (pop3s).
	ImplicitTLS bool
	// IdleTimeout closes a connection that sends nothing for this long;
	// zero means DefaultIdleTimeout. It also bounds how long a hostile
	// profile holds a connection.
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
		return fmt.Errorf("pop3d: unknown profile %q", cfg.Profile)
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		ln.Close()
		return err
	}
	if err := listener.Serve(ctx, ln, func(c net.Conn) { serveConn(c, cfg, tc) }); err != nil {
		return fmt.Errorf("pop3d: accept: %w", err)
	}
	return nil
}

func serveConn(c net.Conn, cfg Config, tc *tls.Config) {
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
		return
	case Garbage:
		listener.Garbage(c, cfg.IdleTimeout)
		return
	case EndlessLine:
		listener.Endless(c, "+OK ", 'A', time.Now().Add(cfg.IdleTimeout))
		return
	}
	s := &session{cfg: cfg, tc: tc, tls: cfg.ImplicitTLS}
	s.setConn(c)
	s.serve()
}

// session is one POP3 conversation of a well-behaved profile.
type session struct {
	cfg    Config
	tc     *tls.Config
	conn   net.Conn
	br     *bufio.Reader
	tls    bool
	user   string
	authed bool
}

func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.br = bufio.NewReaderSize(c, maxLine)
}

func (s *session) reply(format string, args ...any) error {
	_, err := fmt.Fprintf(s.conn, format+"\r\n", args...)
	return err
}

func (s *session) readLine() (string, error) {
	s.conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	line, err := s.br.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (s *session) greeting() string {
	g := "+OK " + s.cfg.Banner
	if s.cfg.APOP {
		g += fmt.Sprintf(" <%d.%d@pop3d.kensa.test>", time.Now().UnixNano()%100000, time.Now().Unix())
	}
	return g
}

// cleartext reports whether the session is not (yet) encrypted.
func (s *session) cleartext() bool { return !s.tls }

// offersSTLS reports whether STLS is available now.
func (s *session) offersSTLS() bool {
	switch s.cfg.Profile {
	case NoTLS, ChallengeOnly, NoTLSBare:
		return false
	}
	return s.cleartext()
}

// bare reports whether the profile answers login commands now with a
// bare "-ERR" (NoTLSBare: USER only).
func (s *session) bare() bool {
	return s.cleartext() && (s.cfg.Profile == BareRefusal || s.cfg.Profile == NoTLSBare)
}

// passwordsAllowed reports whether USER/PASS and password mechanisms
// are accepted (for checking) now.
func (s *session) passwordsAllowed() bool {
	switch s.cfg.Profile {
	case Plaintext, NoTLS, PreAuth:
		return true
	}
	return !s.cleartext()
}

func (s *session) capa() []string {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE"}
	if s.offersSTLS() {
		caps = append(caps, "STLS")
	}
	mechs := []string{}
	switch {
	case s.cleartext() && s.cfg.Profile == ChallengeOnly:
		mechs = append(mechs, "CRAM-MD5")
	case s.cleartext() && s.cfg.Profile == NoTLSBare:
		caps = append(caps, "USER")
	case s.passwordsAllowed():
		caps = append(caps, "USER")
		mechs = append(mechs, "PLAIN", "LOGIN")
	}
	if s.cfg.Profile == Anonymous {
		mechs = append(mechs, "ANONYMOUS")
	}
	if len(mechs) > 0 {
		caps = append(caps, "SASL "+strings.Join(mechs, " "))
	}
	return append(caps, "IMPLEMENTATION kensa-fleet")
}

const (
	msgDisallowed = "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
	msgFailed     = "-ERR [AUTH] Authentication failed."
)

func (s *session) serve() {
	if s.reply("%s", s.greeting()) != nil {
		return
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if s.authed {
			if !s.transaction(verb) {
				return
			}
			continue
		}
		switch verb {
		case "CAPA":
			if s.cfg.Profile == Flood {
				s.reply("+OK Capability list follows")
				s.floodCapa()
				return
			}
			err = s.reply("+OK Capability list follows\r\n%s\r\n.", strings.Join(s.capa(), "\r\n"))
		case "STLS":
			if !s.offersSTLS() {
				err = s.reply("-ERR Unknown command.")
				break
			}
			if err = s.reply("+OK Begin TLS negotiation now."); err != nil {
				return
			}
			tlsConn := tls.Server(s.conn, s.tc)
			tlsConn.SetDeadline(time.Now().Add(s.cfg.IdleTimeout))
			if tlsConn.Handshake() != nil {
				return
			}
			tlsConn.SetDeadline(time.Time{})
			s.tls = true
			s.setConn(tlsConn)
		case "USER":
			switch {
			case s.bare():
				err = s.reply("-ERR")
			case !s.passwordsAllowed():
				err = s.reply("%s", msgDisallowed)
			case arg == "":
				err = s.reply("-ERR USER needs a name.")
			default:
				s.user = arg
				err = s.reply("+OK")
			}
		case "PASS":
			switch {
			case s.bare() && s.cfg.Profile == BareRefusal:
				err = s.reply("-ERR")
			case !s.passwordsAllowed():
				err = s.reply("%s", msgDisallowed)
			case s.user == "":
				err = s.reply("-ERR No username given.")
			default:
				err = s.checkPassword(s.user, arg)
			}
		case "AUTH":
			err = s.auth(arg)
		case "APOP":
			err = s.reply("-ERR APOP not supported.")
		case "NOOP":
			err = s.reply("+OK")
		case "QUIT":
			s.reply("+OK Logging out.")
			return
		default:
			err = s.reply("-ERR Unknown command.")
		}
		if err != nil {
			return
		}
	}
}

// checkPassword answers PASS or a finished SASL exchange: every
// credential fails, except on PreAuth, where any logs in.
func (s *session) checkPassword(user, password string) error {
	if s.cfg.Profile == PreAuth {
		s.authed = true
		return s.reply("+OK Logged in.")
	}
	s.user = ""
	if p := s.cfg.Penalty; p != nil {
		var peer netip.Addr
		if a, ok := s.conn.RemoteAddr().(*net.TCPAddr); ok {
			peer = a.AddrPort().Addr()
		}
		p.Fail(peer, user, password, nil)
	}
	return s.reply("%s", msgFailed)
}

func (s *session) auth(arg string) error {
	mech, ir, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	if s.cleartext() {
		switch s.cfg.Profile {
		case BareRefusal:
			return s.reply("-ERR")
		case NoTLSBare:
			return s.reply("-ERR Unknown command.")
		case ChallengeOnly:
			switch mech {
			case "":
				return s.reply("-ERR AUTH needs a mechanism.")
			case "CRAM-MD5":
				if _, ok := s.sasl(ir, base64.StdEncoding.EncodeToString([]byte(cramChallenge()))); !ok {
					return nil
				}
				return s.checkPassword("", "")
			}
			return s.reply("-ERR [AUTH] Unsupported authentication mechanism.")
		}
	}
	switch mech {
	case "":
		return s.reply("-ERR AUTH needs a mechanism.")
	case "ANONYMOUS":
		if s.cfg.Profile != Anonymous {
			return s.reply("-ERR Unsupported authentication mechanism.")
		}
		if _, ok := s.sasl(ir, ""); !ok {
			return nil
		}
		s.authed = true
		return s.reply("+OK Logged in anonymously.")
	case "PLAIN", "LOGIN":
		lie := s.cfg.Profile == LoginDisabledLie && mech == "PLAIN"
		if !s.passwordsAllowed() && !lie {
			return s.reply("%s", msgDisallowed)
		}
		var user, pass string
		if mech == "PLAIN" {
			msg, ok := s.sasl(ir, "")
			if !ok {
				return nil
			}
			// authzid NUL authcid NUL passwd
			if f := strings.SplitN(msg, "\x00", 3); len(f) == 3 {
				user, pass = f[1], f[2]
			}
		} else {
			var ok bool
			if user, ok = s.sasl(ir, "VXNlcm5hbWU6"); !ok {
				return nil
			}
			if pass, ok = s.sasl("", "UGFzc3dvcmQ6"); !ok {
				return nil
			}
		}
		return s.checkPassword(user, pass)
	}
	return s.reply("-ERR Unsupported authentication mechanism.")
}

// cramChallenge is a CRAM-MD5 challenge: a unique message id.
func cramChallenge() string {
	return fmt.Sprintf("<%d.%d@pop3d.kensa.test>", time.Now().UnixNano()%1000000, time.Now().Unix())
}

// sasl obtains one client response: the initial response if given,
// otherwise after a continuation with challenge. ok is false when the
// client cancelled, sent junk (both answered) or the connection failed.
func (s *session) sasl(ir, challenge string) (string, bool) {
	resp := ir
	if resp == "" {
		if s.reply("+ %s", challenge) != nil {
			return "", false
		}
		line, err := s.readLine()
		if err != nil {
			return "", false
		}
		resp = line
	}
	if resp == "*" {
		s.reply("-ERR Authentication aborted.")
		return "", false
	}
	if resp == "=" {
		return "", true
	}
	b, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.reply("-ERR Invalid base64 data in continued response.")
		return "", false
	}
	return string(b), true
}

// transaction answers the few commands a logged-in client may send.
func (s *session) transaction(verb string) bool {
	var err error
	switch verb {
	case "STAT":
		err = s.reply("+OK 0 0")
	case "LIST", "UIDL":
		err = s.reply("+OK 0 messages:\r\n.")
	case "NOOP", "RSET":
		err = s.reply("+OK")
	case "QUIT":
		s.reply("+OK Logging out.")
		return false
	default:
		err = s.reply("-ERR No such message.")
	}
	return err == nil
}

func (s *session) floodCapa() {
	deadline := time.Now().Add(s.cfg.IdleTimeout)
	var b strings.Builder
	for i := 0; time.Now().Before(deadline); i++ {
		b.Reset()
		for j := 0; j < 64; j++ {
			fmt.Fprintf(&b, "X-KENSA-FLOOD-%d-%d\r\n", i, j)
		}
		s.conn.SetWriteDeadline(deadline)
		if _, err := io.WriteString(s.conn, b.String()); err != nil {
			return
		}
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
