package fleet

import (
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/internal/mailauth"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
)

// dateRE finds a fixed date in a banner set's SMTP greeting, which the
// fleet replaces with the server's live clock.
var dateRE = regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun), +\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}`)

// Banners of hosts without a banner set: they name no operating system
// and no version a patch verdict could be drawn from.
const (
	neutralSSH    = "OpenSSH"
	neutralTelnet = "Authorized access only"
)

func (h *Host) set() (banners.Set, bool) {
	if h.Banners == "" {
		return banners.Set{}, false
	}
	return banners.ByName(h.Banners)
}

func (h *Host) smtpConfig(s *Service) smtpd.Config {
	cfg := smtpd.Config{Profile: smtpd.Profile(s.Profile), Hostname: h.Name, Latency: h.Latency, TLS: true,
		ClockOffset: s.Offset, GreetingDelay: s.Delay, IdleTimeout: 30 * time.Second, Limits: smtpd.Limits(s.Limits)}
	if h.Content != nil && s == h.SMTP {
		cfg.Filter = smtpd.Filter(h.Content.Filter)
	}
	if set, ok := h.set(); ok && set.SMTP != "" {
		cfg.Banner = dateRE.ReplaceAllString(set.SMTP, "{time}")
	} else if h.GreetingTime {
		cfg.Banner = "{host} ESMTP ready at {time}"
	}
	return cfg
}

func (h *Host) submissionConfig() smtpd.Config { return h.smtpConfig(h.Submission) }

// Running is a host whose services are up.
type Running struct {
	Host    *Host
	closers []io.Closer
	smtp    []*smtpd.Server
}

// DataCommands returns how many DATA commands the host's SMTP services
// took up to the message transfer.
func (r *Running) DataCommands() int {
	n := 0
	for _, s := range r.smtp {
		n += s.DataCommands()
	}
	return n
}

// Close stops every service of the host.
func (r *Running) Close() error {
	for _, c := range r.closers {
		c.Close()
	}
	return nil
}

// Start starts every service of h on its address, and on its second
// address when it has one (less the services the second address is
// without, none when it is down).
func Start(h *Host) (*Running, error) {
	r := &Running{Host: h}
	if h.Down {
		return r, nil
	}
	if err := r.startOn(h.Addr, nil); err != nil {
		r.Close()
		return nil, err
	}
	if s := h.Second; s != nil && !s.Down {
		if err := r.startOn(s.Addr, s.Without); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// startOn starts the host's services on one of its addresses, less
// those named in without.
func (r *Running) startOn(ip string, without []string) error {
	h := r.Host
	addr := func(port int) string {
		return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String()
	}
	fail := func(service string, err error) error {
		return fmt.Errorf("fleet: host %s: %s on %s: %w", h.ID, service, ip, err)
	}
	skip := func(name string) bool {
		for _, w := range without {
			if w == name {
				return true
			}
		}
		return false
	}
	set, _ := h.set()
	// Dovecot's one auth process delays failed logins of IMAP and POP3
	// alike.
	var penalty *mailauth.Penalty
	for _, s := range []*Service{h.IMAP, h.POP3} {
		if s != nil && s.Limits == DovecotLimits && penalty == nil {
			penalty = mailauth.NewDovecotPenalty()
			if s.Delay > 0 {
				penalty.Delay, penalty.Step = s.Delay, 2*s.Delay
			}
		}
	}
	loginPenalty := func(s *Service) *mailauth.Penalty {
		if s.Limits == DovecotLimits {
			return penalty
		}
		return nil
	}
	if h.SMTP != nil && !skip("smtp") {
		cfg := h.smtpConfig(h.SMTP)
		if h.Content != nil && h.Content.Mailbox && ip == h.Addr {
			mb, err := startMailbox(h, addr(MailboxPort))
			if err != nil {
				return fail("mailbox", err)
			}
			r.closers = append(r.closers, mb)
			cfg.Deliver = mb.Deliver
		}
		s, err := smtpd.Start(addr(h.SMTP.Port), cfg)
		if err != nil {
			return fail("smtp", err)
		}
		r.closers = append(r.closers, s)
		r.smtp = append(r.smtp, s)
	}
	if h.Submission != nil && !skip("submission") {
		s, err := smtpd.Start(addr(h.Submission.Port), h.submissionConfig())
		if err != nil {
			return fail("submission", err)
		}
		r.closers = append(r.closers, s)
		r.smtp = append(r.smtp, s)
	}
	if h.IMAP != nil && !skip("imap") {
		s, err := imapd.Start(addr(h.IMAP.Port), imapd.Config{Profile: imapd.Profile(h.IMAP.Profile),
			Banner: strings.ReplaceAll(set.IMAP, "{host}", h.Name), Latency: h.Latency, Penalty: loginPenalty(h.IMAP)})
		if err != nil {
			return fail("imap", err)
		}
		r.closers = append(r.closers, s)
	}
	if h.POP3 != nil && !skip("pop3") {
		s, err := pop3d.Start(addr(h.POP3.Port), pop3d.Config{Profile: pop3d.Profile(h.POP3.Profile),
			Banner: strings.ReplaceAll(set.POP3, "{host}", h.Name), Latency: h.Latency, Penalty: loginPenalty(h.POP3)})
		if err != nil {
			return fail("pop3", err)
		}
		r.closers = append(r.closers, s)
	}
	if h.SSH != nil && !skip("ssh") {
		b := set.SSH
		if b == "" {
			b = neutralSSH
		}
		s, err := sshd.Start(addr(h.SSH.Port), sshd.Config{Profile: sshd.Profile(h.SSH.Profile), Banner: b, Latency: h.Latency})
		if err != nil {
			return fail("ssh", err)
		}
		r.closers = append(r.closers, s)
	}
	if h.NTP != nil && !skip("ntp") {
		s, err := ntpd.Start(addr(h.NTP.Port), ntpd.Config{Profile: ntpd.Profile(h.NTP.Profile), Offset: h.NTP.Offset, Latency: h.Latency})
		if err != nil {
			return fail("ntp", err)
		}
		r.closers = append(r.closers, s)
	}
	if h.Admin != nil && !skip("admin") {
		s, err := telnetd.Start(addr(h.Admin.Port), telnetd.Config{Profile: telnetd.Profile(h.Admin.Profile), Banner: neutralTelnet, Latency: h.Latency})
		if err != nil {
			return fail("admin", err)
		}
		r.closers = append(r.closers, s)
	}
	return nil
}

// Sockets returns how many listening sockets h needs.
func (h *Host) Sockets() int {
	if h.Down {
		return 0
	}
	n := len(h.services())
	if h.Content != nil && h.Content.Mailbox {
		n++
	}
	if s := h.Second; s != nil && !s.Down {
		n += len(h.services()) - len(s.Without)
	}
	return n
}
