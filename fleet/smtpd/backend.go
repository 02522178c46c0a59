package smtpd

import (
	"io"
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
	errAuthRequired = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errStartTLS     = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errNoDelivery   = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 3, 0}, Message: "Simulated server: nothing is ever delivered"}
)

type backend struct{ s *Server }

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: b.s, c: c}, nil
}

// session implements the profile's answers. It also implements
// go-smtp's AuthSession; AuthMechanisms returns none where the profile
// offers no AUTH, which hides the keyword.
type session struct {
	s    *Server
	c    *gosmtp.Conn
	from string
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
	case AuthRequired, SubmissionAuthBeforeTLS:
		return []string{"PLAIN", "LOGIN"}
	case SubmissionAuthAfterTLS:
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
	case AuthRequired, SubmissionAuthBeforeTLS:
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	cfg := s.s.cfg
	switch cfg.Profile {
	case OpenRelay:
		return nil
	case Greylist:
		return errGreylisted(to)
	}
	if cfg.isLocalMailbox(to) {
		return nil
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
