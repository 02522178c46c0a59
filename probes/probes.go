// Package probes gathers the protocol probes, one package each (smtp,
// imap, pop3, ssh, admin for telnet/rlogin/rsh, ntp), behind one
// dispatch: Probe runs the probe a service calls for, and Observations
// holds what all probes saw of one server, as stored under
// "observations" in a kensa/v1 record. Probes observe; they decide no
// verdict (that is package rules).
package probes

import (
	"context"

	"github.com/kensa-inspect/kensa/fingerprint"
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

// ServiceState is what became of one planned service of a server.
type ServiceState string

// The states of a planned service, as stored in results.
const (
	// StateAnswered: the service is there (it accepted a connection, or
	// a datagram service answered).
	StateAnswered ServiceState = "answered"
	// StateNoAnswer: nothing answered.
	StateNoAnswer ServiceState = "no-answer"
	// StateNotProbed: the budget ran out before the probe could try:
	// nothing is known.
	StateNotProbed ServiceState = "not-probed"
	// StateOutOfScope: the address is outside the scan's scope and was
	// not contacted.
	StateOutOfScope ServiceState = "out-of-scope"
)

// Service is one planned service of a server and what became of it.
type Service struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Listed is set when the inventory lists the service; otherwise it was
	// found by discovery on its standard port.
	Listed bool `json:"listed"`
	// State is what became of the service.
	State ServiceState `json:"state"`
}

// Observations is what the probes saw of one server.
type Observations struct {
	// Addresses are the addresses scanned.
	Addresses []string `json:"addresses"`
	// OutOfScope are addresses of the server outside the scan's scope,
	// never contacted: no item can pass on what was not seen.
	OutOfScope []string `json:"out_of_scope,omitempty"`
	// Services lists every planned service with its state; only listed
	// services and answering ones have an observation below.
	Services []Service `json:"services"`
	// Problems concern the whole server (resolution, scope, budget).
	Problems []string `json:"problems,omitempty"`

	SMTP  []*observe.SMTP      `json:"smtp,omitempty"`
	IMAP  []*observe.IMAP      `json:"imap,omitempty"`
	POP3  []*observe.POP3      `json:"pop3,omitempty"`
	SSH   []*ssh.Observation   `json:"ssh,omitempty"`
	Admin []*admin.Observation `json:"admin,omitempty"`
	NTP   []*ntp.Observation   `json:"ntp,omitempty"`

	// Fingerprints are the software identified from every banner.
	Fingerprints []fingerprint.Fingerprint `json:"fingerprints,omitempty"`
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
	if o, ok := obs.(*ntp.Observation); ok {
		return o.Answered > 0
	}
	return false
}

// Add files an observation under its protocol.
func (o *Observations) Add(obs any) {
	switch x := obs.(type) {
	case *observe.SMTP:
		o.SMTP = append(o.SMTP, x)
	case *observe.IMAP:
		o.IMAP = append(o.IMAP, x)
	case *observe.POP3:
		o.POP3 = append(o.POP3, x)
	case *ssh.Observation:
		o.SSH = append(o.SSH, x)
	case *admin.Observation:
		o.Admin = append(o.Admin, x)
	case *ntp.Observation:
		o.NTP = append(o.NTP, x)
	}
}

// Banners returns every banner of every observation.
func (o *Observations) Banners() []observe.Banner {
	var out []observe.Banner
	for _, x := range o.SMTP {
		out = append(out, x.Banners()...)
	}
	for _, x := range o.IMAP {
		out = append(out, x.Banners()...)
	}
	for _, x := range o.POP3 {
		out = append(out, x.Banners()...)
	}
	for _, x := range o.SSH {
		out = append(out, x.Banners()...)
	}
	for _, x := range o.Admin {
		out = append(out, x.Banners()...)
	}
	return out
}

// TimeSamples returns the clock readings of SMTP greetings.
func (o *Observations) TimeSamples() []observe.TimeSample {
	var out []observe.TimeSample
	for _, x := range o.SMTP {
		if x.GreetingTime != nil {
			out = append(out, *x.GreetingTime)
		}
	}
	return out
}

// ServiceSet returns the services that make items apply: every listed
// service and every discovered one that answered.
func (o *Observations) ServiceSet() map[string]bool {
	set := map[string]bool{}
	for _, s := range o.Services {
		if s.Listed || s.State == StateAnswered {
			set[s.Service] = true
		}
	}
	return set
}
