package smtpd

import (
	"io"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Replies of the simulated servers, worded as real servers word them.
var (
	errRelayDenied = func(to string) error {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
	}
	errRelayDeferred = func(to string) error {
		return &gosmtp.SMTPError{Code: 454, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "<" + to + ">: Relay access denied"}
	}
	errGreylisted = func(to string) error {
		return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 0}, Message: "<" + to + ">: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/fleet.html"}
	}
	errRateLimited    = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "Rate limit exceeded, try in 60 seconds"}
	errPolicyFail     = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 5}, Message: "Server configuration problem"}
	errDomainNotFound = func(to string) error {
		return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 1, 2}, Message: "<" + to + ">: Recipient address rejected: Domain not found"}
	}
	errNullMX = func(to, dom string) error {
		return &gosmtp.SMTPError{Code: 556, EnhancedCode: gosmtp.EnhancedCode{5, 1, 10}, Message: "<" + to + ">: Recipient address rejected: Domain " + dom + " does not accept mail (nullMX)"}
	}
	errUnrouteable  = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.NoEnhancedCode, Message: "Unrouteable address"}
	errClientDenied = func(peer netip.Addr) error {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "<unknown[" + peer.String() + "]>: Client host rejected: Access denied"}
	}
	errNoHostname = func(peer netip.Addr) error {
		return &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 7, 25}, Message: "Client host rejected: cannot find your hostname, [" + peer.String() + "]"}
	}
	errPostscreen   = &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "Service currently unavailable"}
	errPreGreeting  = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 0, 0}, Message: "Command rejected: pre-greeting traffic"}
	errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errStartTLS     = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errNoDelivery   = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 3, 0}, Message: "Simulated server: nothing is ever delivered"}
)

type backend struct{ s *Server }

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	b.s.count(func(st *Stats) { st.Sessions++ })
	ss := &session{s: b.s, c: c, w: wrapperOf(c.Conn())}
	if ss.w != nil {
		ss.peer = ss.w.peer()
	}
	return ss, nil
}

// session implements the profile's answers. It also implements
// go-smtp's AuthSession; AuthMechanisms returns none where the profile
// offers no AUTH, which hides the keyword.
type session struct {
	s    *Server
	c    *gosmtp.Conn
	w    *conn // the connection's wrapper (nil if not found)
	peer netip.Addr
	from string
	// rcpts counts the RCPT commands of the connection, badRcpts those
	// refused.
	rcpts, badRcpts int
}

func (s *session) inTLS() bool {
	if s.s.cfg.ImplicitTLS {
		return true
	}
	_, ok := s.c.TLSConnectionState()
	return ok
}

func (s *session) AuthMechanisms() []string {
	switch s.s.cfg.Profile {
	case AuthRequired, SubmissionAuthBeforeTLS, AuthThenDefer:
		return []string{"PLAIN", "LOGIN"}
	case SubmissionAuthAfterTLS, SubmissionClientRejected, SubmissionHostnameRejected:
		if s.inTLS() {
			return []string{"PLAIN", "LOGIN"}
		}
	}
	return nil
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if len(s.AuthMechanisms()) == 0 || mech != "PLAIN" {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	// No account exists: every login fails.
	return sasl.NewPlainServer(func(identity, username, password string) error {
		return gosmtp.ErrAuthFailed
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	switch s.s.cfg.Profile {
	case SubmissionAuthAfterTLS:
		if !s.inTLS() {
			return errStartTLS
		}
		return errAuthRequired
	case SubmissionClientRejected, SubmissionHostnameRejected:
		// smtpd_delay_reject: the client restriction answers at RCPT.
		if !s.inTLS() {
			return errStartTLS
		}
	case AuthRequired, SubmissionAuthBeforeTLS:
		return errAuthRequired
	case GreetPause:
		if s.w != nil && s.w.rejected {
			return errPreGreeting
		}
	}
	s.from = from
	return nil
}

// Rcpt answers RCPT as the profile does; past the bad-recipient
// throttle each refusal waits first.
func (s *session) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	err := s.rcpt(to, opts)
	if cfg := s.s.cfg; err != nil && cfg.BadRcptThrottle > 0 {
		if s.badRcpts >= cfg.BadRcptThrottle {
			s.s.count(func(st *Stats) { st.Slept++ })
			s.s.sleep(cfg.ThrottleDelay)
		}
		s.badRcpts++
	}
	return err
}

func (s *session) rcpt(to string, _ *gosmtp.RcptOptions) error {
	cfg := s.s.cfg
	s.rcpts++
	switch cfg.Profile {
	case OpenRelay:
		return nil
	case Greylist:
		return errGreylisted(to)
	case RateLimit:
		return errRateLimited
	case AuthThenDefer:
		if s.rcpts == 1 {
			return errAuthRequired
		}
		return errPolicyFail
	case SubmissionClientRejected:
		return errClientDenied(s.peer)
	case SubmissionHostnameRejected:
		return errNoHostname(s.peer)
	case Postscreen:
		if s.w != nil && s.w.dummy {
			// The deep protocol tests are done: the client may come
			// back.
			s.s.pass(s.peer)
			return errPostscreen
		}
	}
	if cfg.isLocalMailbox(to) {
		return nil
	}
	if local, dom, ok := cutLast(to, "@"); ok && local != "" && !strings.ContainsAny(local, "@%!\"") && !cfg.isLocalDomain(dom) {
		// A mailbox at another domain: the domain checks come first.
		switch cfg.Profile {
		case UnknownDomain:
			return errDomainNotFound(to)
		case NullMX:
			return errNullMX(to, dom)
		case Unrouteable:
			return errUnrouteable
		}
	}
	switch cfg.Profile {
	case LocalSender:
		if _, dom, ok := cutLast(s.from, "@"); ok && strings.EqualFold(dom, cfg.Domain) {
			return nil
		}
	case RelayDenied454:
		return errRelayDeferred(to)
	}
	return errRelayDenied(to)
}

func (s *session) Data(r io.Reader) error {
	s.s.mu.Lock()
	s.s.data++
	s.s.mu.Unlock()
	if s.s.cfg.Filter != "" {
		return s.filterData(r)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 2<<20))
	return errNoDelivery
}

func (s *session) Reset()        { s.from = "" }
func (s *session) Logout() error { return nil }

var _ gosmtp.AuthSession = (*session)(nil)

// isLocalMailbox reports whether addr is a plain mailbox of the server:
// a local part without routing characters (@ % !) at one of its own
// domains.
func (c Config) isLocalMailbox(addr string) bool {
	local, dom, ok := cutLast(addr, "@")
	if !ok || local == "" || strings.ContainsAny(local, "@%!\"") {
		return false
	}
	return c.isLocalDomain(dom)
}

// isLocalDomain reports whether dom is the server's: its host name, its
// mail domain, or an address literal (the server is reached at it).
func (c Config) isLocalDomain(dom string) bool {
	if strings.HasPrefix(dom, "[") && strings.HasSuffix(dom, "]") {
		return true
	}
	return strings.EqualFold(dom, c.Hostname) || strings.EqualFold(dom, c.Domain)
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
