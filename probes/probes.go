// Package probes holds the registry of the services kensa probes — one
// entry per service, the one place a protocol is registered — and
// dispatches a target to its probe. The protocols themselves are one
// package each (smtp, imap, pop3, ssh, ntp, admin for telnet, rlogin and
// rsh), built on package wire for bounded connections; what they return
// is an observation of package observe. Probes observe; they decide no
// verdict (that is package rules).
//
// Adding a protocol takes a package under probes/ with its Probe, its
// observation type in package observe, and one entry in Registry. See
// docs/ARCHITECTURE.md.
package probes

import (
	"context"
	"fmt"

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

// Transports of a service.
const (
	TCP = "tcp"
	UDP = "udp"
)

// ProbeFunc examines one target and returns what it saw, never nil.
// listed says whether the inventory lists the service (rather than
// discovery finding it on its standard port).
type ProbeFunc func(ctx context.Context, env wire.Env, t observe.Target, listed bool, opts Options) observe.Observation

// Entry is one service kensa knows and probes.
type Entry struct {
	// Name is the name inventories, flags and results use ("smtp",
	// "imaps").
	Name string
	// Port is the standard port, where discovery looks for the service.
	Port int
	// Transport is TCP or UDP.
	Transport string
	// ImplicitTLS is set for the services that speak TLS from the first
	// byte (smtps, imaps, pop3s).
	ImplicitTLS bool
	// Order is the service's place in a server's probe order, lowest
	// first: the login services first, IMAP and POP3 and then their
	// implicit-TLS siblings, so that their fake logins go side by side
	// (a server that delays failed logins, as Dovecot does, delays
	// every later one more: logins sent together are delayed once);
	// then short clear-text conversations; the long relay tests of
	// SMTP last, so that every server gets its first connections early
	// and a server whose services are silent shows itself before the
	// long conversations crowd the connection slots.
	Order int
	// Long is set for the services whose probe holds the longest
	// conversations (the SMTP relay test). A server that cannot start
	// all its probes at once, in a crowded scan, runs these first: they
	// show within seconds a server that delays or withholds its
	// greeting, which the engine then serves first, since the scan
	// waits for it; last, they left the tarpits of the bench fleet of
	// 1,900 servers to start half a minute into the scan, which then
	// ended with them. A server that starts all its probes at once
	// keeps the order above, which lets its logins go side by side
	// with their logins over TLS beside them.
	Long bool
	// Logins is set for the services whose probe sends fake logins
	// that a server may delay (IMAP, POP3 and their TLS siblings): the
	// scan engine lines up their first logins (wire.LoginGate).
	Logins bool
	// Probe examines the service.
	Probe ProbeFunc
	// Observation is a nil pointer of the type Probe returns.
	Observation observe.Observation
	// Answered reports whether the observation of a datagram service
	// shows an answer; nil for TCP services, whose answer the scan
	// engine sees itself (an accepted connection).
	Answered func(observe.Observation) bool
}

func probeSMTP(ctx context.Context, env wire.Env, t observe.Target, _ bool, o Options) observe.Observation {
	return smtp.Probe(ctx, env, t, o.SMTP)
}

func probeIMAP(ctx context.Context, env wire.Env, t observe.Target, _ bool, o Options) observe.Observation {
	return imap.Probe(ctx, env, t, o.IMAP)
}

func probePOP3(ctx context.Context, env wire.Env, t observe.Target, _ bool, o Options) observe.Observation {
	return pop3.Probe(ctx, env, t, o.POP3)
}

func probeSSH(ctx context.Context, env wire.Env, t observe.Target, _ bool, o Options) observe.Observation {
	return ssh.Probe(ctx, env, t, o.SSH)
}

func probeNTP(ctx context.Context, env wire.Env, t observe.Target, _ bool, o Options) observe.Observation {
	return ntp.Probe(ctx, env, t, o.NTP)
}

func probeAdmin(ctx context.Context, env wire.Env, t observe.Target, listed bool, o Options) observe.Observation {
	ao := o.Admin
	ao.Listed = listed
	return admin.Probe(ctx, env, t, ao)
}

func ntpAnswered(obs observe.Observation) bool {
	o, ok := obs.(*observe.NTP)
	return ok && o.Answered > 0
}

// Registry is every service kensa probes, in the order inventories list
// them: mail transfer, mail access, administration, time.
var Registry = []Entry{
	{Name: "smtp", Long: true, Port: 25, Transport: TCP, Order: 9, Probe: probeSMTP, Observation: (*observe.SMTP)(nil)},
	{Name: "submission", Long: true, Port: 587, Transport: TCP, Order: 8, Probe: probeSMTP, Observation: (*observe.SMTP)(nil)},
	{Name: "smtps", Long: true, Port: 465, Transport: TCP, ImplicitTLS: true, Order: 7, Probe: probeSMTP, Observation: (*observe.SMTP)(nil)},
	{Name: "pop3", Port: 110, Transport: TCP, Order: 1, Logins: true, Probe: probePOP3, Observation: (*observe.POP3)(nil)},
	{Name: "pop3s", Port: 995, Transport: TCP, ImplicitTLS: true, Order: 3, Logins: true, Probe: probePOP3, Observation: (*observe.POP3)(nil)},
	{Name: "imap", Port: 143, Transport: TCP, Order: 0, Logins: true, Probe: probeIMAP, Observation: (*observe.IMAP)(nil)},
	{Name: "imaps", Port: 993, Transport: TCP, ImplicitTLS: true, Order: 2, Logins: true, Probe: probeIMAP, Observation: (*observe.IMAP)(nil)},
	{Name: "ssh", Port: 22, Transport: TCP, Order: 4, Probe: probeSSH, Observation: (*observe.SSH)(nil)},
	{Name: "ntp", Port: 123, Transport: UDP, Order: 6, Probe: probeNTP, Observation: (*observe.NTP)(nil), Answered: ntpAnswered},
	{Name: "telnet", Port: 23, Transport: TCP, Order: 5, Probe: probeAdmin, Observation: (*observe.Admin)(nil)},
	{Name: "rlogin", Port: 513, Transport: TCP, Order: 5, Probe: probeAdmin, Observation: (*observe.Admin)(nil)},
	{Name: "rsh", Port: 514, Transport: TCP, Order: 5, Probe: probeAdmin, Observation: (*observe.Admin)(nil)},
}

// Step is a probe that examines no service of its own but runs, as a
// step of the scan engine, through a service another entry registers.
type Step struct {
	// Name is the probe's name in results and traces.
	Name string
	// Through is the service it speaks to.
	Through string
	// Observation is a nil pointer of the type it returns.
	Observation observe.Observation
}

// Steps are the probes the engine runs after a server's services were
// probed: the opt-in content test (package content), which sends its
// test messages through the server's smtp service only when the
// operator named a test recipient (scan.ContentConfig).
var Steps = []Step{
	{Name: "content", Through: "smtp", Observation: (*observe.Content)(nil)},
}

// Lookup returns the entry of the service called name (exact, lower
// case).
func Lookup(name string) (Entry, bool) {
	for _, e := range Registry {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names returns the name of every registered service, in registry order.
func Names() []string {
	out := make([]string, len(Registry))
	for i, e := range Registry {
		out[i] = e.Name
	}
	return out
}

// StandardPort returns the standard port of the service called name, or
// 0 when no such service is registered.
func StandardPort(name string) int {
	e, _ := Lookup(name)
	return e.Port
}

// Probe runs the probe of t's service and reports, for a datagram
// service, whether it answered. A service without an entry is an error
// of the caller: its name was never validated.
func Probe(ctx context.Context, env wire.Env, t observe.Target, listed bool, opts Options) (obs observe.Observation, answered bool, err error) {
	e, ok := Lookup(t.Service)
	if !ok {
		return nil, false, fmt.Errorf("probes: no probe for service %q", t.Service)
	}
	obs = e.Probe(ctx, env, t, listed, opts)
	if e.Answered != nil {
		answered = e.Answered(obs)
	}
	return obs, answered, nil
}
