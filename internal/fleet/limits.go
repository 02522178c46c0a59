package fleet

import (
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
)

// smtpLimits are the real daemons' limits of SMTP services, in about
// the proportions of a real estate: half stock Postfix, three in ten
// Exim, one Sendmail with its bad-recipient throttle, one with none
// (Exchange and others).
var smtpLimits = []smtpd.Limits{
	smtpd.PostfixLimits, smtpd.EximLimits, smtpd.PostfixLimits, smtpd.PostfixLimits, smtpd.EximLimits,
	smtpd.SendmailLimits, smtpd.PostfixLimits, smtpd.NoLimits, smtpd.PostfixLimits, smtpd.EximLimits,
}

// withRealLimits gives the i-th host of a plan the limits and delays of
// the real daemons, as most mail servers have them: its SMTP services
// those of Postfix, Exim or Sendmail (smtpLimits), and four hosts in
// five Dovecot's delayed failed logins on IMAP and POP3, the first
// failure answered after loginDelay (0: Dovecot's 2 s). No verdict
// changes: a client that keeps under the limits sees the profiles' own
// answers.
func withRealLimits(h *Host, i int, loginDelay time.Duration) {
	l := string(pick(smtpLimits, i))
	for _, s := range []*Service{h.SMTP, h.Submission} {
		if s != nil {
			s.Limits = l
		}
	}
	if i%5 == 4 {
		return
	}
	for _, s := range []*Service{h.IMAP, h.POP3} {
		if s != nil {
			s.Limits = DovecotLimits
			if loginDelay > 0 {
				s.Delay = loginDelay
			}
		}
	}
}
