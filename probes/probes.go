// Package probes gathers the protocol probes, one package each (smtp,
// imap, pop3, ssh, admin for telnet/rlogin/rsh, ntp), behind one
// dispatch: Probe runs the probe a service calls for, and Observations
// holds what all probes saw of one server, as stored under
// "observations" in a kensa/v1 record. Probes observe; they decide no
// verdict (that is package rules).
package probes

import (
	"context"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/admin"
	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/pop3"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Options configure every probe of a scan.
type Options struct {
	SMTP smtp.Options
	IMAP imap.Options
	POP3 pop3.Options
	SSH  ssh.Options
	NTP  ntp.Options
	// Admin holds the options of the telnet/rlogin/rsh probe; Listed is
	// set per target.
	Admin admin.Options
}

// Probe runs the probe of t's service and returns its observation (nil
// for a service without a probe). listed says whether the inventory lists
// the service.
func Probe(ctx context.Context, env wire.Env, t observe.Target, listed bool, opts Options) any {
	switch t.Service {
	case "smtp", "submission", "smtps":
		return smtp.Probe(ctx, env, t, opts.SMTP)
	case "imap", "imaps":
		return imap.Probe(ctx, env, t, opts.IMAP)
	case "pop3", "pop3s":
		return pop3.Probe(ctx, env, t, opts.POP3)
	case "ssh":
		return ssh.Probe(ctx, env, t, opts.SSH)
	case "telnet", "rlogin", "rsh":
		o := opts.Admin
		o.Listed = listed
		return admin.Probe(ctx, env, t, o)
	case "ntp":
		return ntp.Probe(ctx, env, t, opts.NTP)
	}
	return nil
}

// Answered reports whether an observation shows a service over UDP that
// answered (TCP services answer when they accept a connection, which the
// scan engine sees itself).
func Answered(obs any) bool {
	if o, ok := obs.(*observe.NTP); ok {
		return o.Answered > 0
	}
	return false
}
