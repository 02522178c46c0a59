package smtp

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Options.
const (
	DefaultHeloName    = "kensa.invalid"
	DefaultRelayDomain = "kensa-relay-test.example"
	// DefaultMaxSessions bounds the connections one probe opens to one
	// service: the first, and reconnections after the server dropped
	// the relay test.
	DefaultMaxSessions = 10
	// DefaultGreetingTimeout and DefaultCommandTimeout are how long a
	// patient SMTP client waits for the greeting and for the replies to
	// MAIL and RCPT: five minutes each (RFC 5321, section 4.5.3.2).
	DefaultGreetingTimeout = 5 * time.Minute
	DefaultCommandTimeout  = 5 * time.Minute
)

// Options adjust the probe.
type Options struct {
	// HeloName is the name the probe gives in EHLO/HELO; default
	// "kensa.invalid".
	HeloName string
	// RelayDomain is D, the external domain the open-relay test tries
	// to relay to; in real use a domain that resolves, so that no
	// server can refuse it as unknown. Default
	// "kensa-relay-test.example".
	RelayDomain string
	// SkipRelay leaves the open-relay test out.
	SkipRelay bool
	// MaxSessions bounds the connections to the service (default 10).
	MaxSessions int
	// ReplyTimeout bounds the arrival of one whole reply, however the
	// server spaces its bytes, not counting the time a patient read
	// waits for a line to begin (GreetingTimeout, CommandTimeout);
	// default three times the env's read timeout.
	ReplyTimeout time.Duration
	// GreetingTimeout is how long the probe waits for the greeting, and
	// CommandTimeout for the replies to EHLO, HELO, MAIL and RCPT, which
	// well-run servers may hold back on purpose (Sendmail's greet_pause,
	// Postfix's postscreen, Exim's ACL delay): as a patient client,
	// longer than the read timeout, but never past the probe's context
	// deadline. Defaults: DefaultGreetingTimeout, DefaultCommandTimeout.
	// A line that has begun must still go on within the read timeout.
	GreetingTimeout time.Duration
	CommandTimeout  time.Duration
}

func (o Options) withDefaults(lim wire.Limits) Options {
	if o.HeloName == "" {
		o.HeloName = DefaultHeloName
	}
	if o.RelayDomain == "" {
		o.RelayDomain = DefaultRelayDomain
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = 3 * lim.ReadTimeout
	}
	if o.GreetingTimeout <= 0 {
		o.GreetingTimeout = DefaultGreetingTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	return o
}

// prober holds the state of one probe run.
type prober struct {
	ctx          context.Context
	env          wire.Env
	t            observe.Target
	opts         Options
	lim          wire.Limits
	tr           *wire.Transcript
	obs          *observe.SMTP
	replyTimeout time.Duration
	serverName   string
	sessions     int
}

// Probe examines one smtp, submission or smtps service (implicit TLS on
// smtps): greeting, EHLO with HELO fallback, extensions, AUTH before and
// after STARTTLS, the TLS session, the greeting's timestamp, and the
// open-relay test, which never sends DATA. It never returns nil; what
// stopped it is in Error, and the relay test's own trouble in
// observe.Relay.Error.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.SMTP {
	lim := env.Lim()
	opts = opts.withDefaults(lim)
	obs := &observe.SMTP{Endpoint: observe.NewEndpoint(t, env.Clock()), ImplicitTLS: t.Service == "smtps"}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	p := &prober{ctx: ctx, env: env, t: t, opts: opts, lim: lim, tr: tr, obs: obs, replyTimeout: opts.ReplyTimeout}
	p.run()
	obs.Finish(env.Clock(), tr.Take())
	return obs
}

// open starts session number n: connect, TLS on smtps, greeting, EHLO,
// and STARTTLS plus a second EHLO when withTLS is set on a service
// without implicit TLS. The first session records what it sees in the
// observation; later ones only check that the server still answers.
func (p *prober) open(withTLS bool) (*session, error) {
	p.sessions++
	n := p.sessions
	first := n == 1
	s, err := p.dial(n)
	if err != nil {
		return nil, wrapStep("connect", err)
	}
	if p.obs.ImplicitTLS {
		info, err := s.handshake()
		if first || p.obs.TLS == nil {
			p.obs.TLS = info
		}
		if err != nil {
			s.close()
			return nil, wrapStep("TLS handshake", err)
		}
	}
	// Nothing is sent before the greeting's last line: a server may pause
	// inside its greeting (postscreen) and punish a client that speaks
	// early.
	g, err := s.read(p.wait(p.opts.GreetingTimeout))
	if first {
		p.obs.Greeting = g
		if g != nil && !g.Malformed {
			p.obs.Reachable = true
			p.greetingTime(s, g)
		}
	}
	if err != nil {
		s.close()
		return nil, wrapStep("greeting", err)
	}
	if g.Code != 220 {
		s.quit()
		return nil, &stepError{step: "greeting", err: errGreeting, reply: g}
	}
	if first {
		if name := ServerName(g); name != "" {
			p.serverName, p.obs.ServerNameFrom = name, "greeting"
		}
	}
	h, err := s.hello()
	if first {
		p.obs.Hello = h
		if p.serverName == "" {
			if name := ServerName(h.Reply); name != "" && h.OK() {
				p.serverName, p.obs.ServerNameFrom = name, "ehlo"
			}
		}
		if p.serverName == "" && IsDomain(p.t.Host) {
			p.serverName, p.obs.ServerNameFrom = strings.ToLower(p.t.Host), "inventory"
		}
		p.obs.ServerName = p.serverName
	}
	if err != nil {
		s.close()
		return nil, wrapStep(strings.ToLower(h.Command), err)
	}
	if withTLS && !s.tls {
		if !h.StartTLS {
			s.quit()
			return nil, wrapStep("starttls", errNoStartTLS)
		}
		if _, _, err := s.startTLS(); err != nil {
			s.close()
			return nil, wrapStep("starttls", err)
		}
		if _, err := s.hello(); err != nil {
			s.close()
			return nil, wrapStep("ehlo after starttls", err)
		}
	}
	return s, nil
}

// run is the probe's plan: first session with the relay test in the
// clear (inside TLS on smtps), then STARTTLS, then the relay test again
// inside TLS if the server demanded STARTTLS first, then once more, in
// a new session, the tests a temporary reply deferred.
func (p *prober) run() {
	obs := p.obs
	s, err := p.open(false)
	if err != nil {
		if se, ok := err.(*stepError); ok && errors.Is(se.err, errGreeting) {
			// The greeting refused us (421, 554): that is the
			// observation, not a failure of the probe.
			return
		}
		obs.Error = err.Error()
		return
	}
	var rt *relayRunner
	if !p.opts.SkipRelay {
		rt = newRelayRunner(p)
		obs.Relay = rt.res
		p.tr.Pause()
		s = rt.run(s, s.tls)
		p.tr.Resume("relay.tests")
	}
	// STARTTLS on a service without implicit TLS.
	if !obs.ImplicitTLS && obs.Hello.StartTLS {
		if s == nil || s.dead != nil {
			s = closeSession(s)
			if p.ctx.Err() == nil && p.sessions < p.opts.MaxSessions+1 {
				var err error
				s, err = p.open(false)
				if err != nil {
					obs.StartTLS = &observe.SMTPStartTLS{Error: err.Error()}
				}
			}
		}
		if s != nil && s.dead == nil {
			st := &observe.SMTPStartTLS{}
			obs.StartTLS = st
			r, info, err := s.startTLS()
			st.Reply = r
			if info != nil {
				obs.TLS = info
			}
			if err != nil {
				st.Error = describe("starttls", err)
				if obs.TLS == nil && r != nil && r.Code == 220 {
					obs.TLS = wire.TLSFailure(err)
				}
				s.close()
				s = nil
			} else {
				st.OK = true
				h, err := s.hello()
				obs.HelloTLS = h
				if err != nil {
					st.Error = describe("ehlo after starttls", err)
					s.close()
					s = nil
				}
			}
		} else if obs.StartTLS == nil {
			obs.StartTLS = &observe.SMTPStartTLS{Error: "no session left for STARTTLS"}
		}
	}
	tlsRun := false
	if rt != nil && rt.needTLS {
		if obs.ImplicitTLS || obs.StartTLS == nil || !obs.StartTLS.OK {
			rt.res.Error = "server requires STARTTLS before MAIL, and no TLS session could be established"
		} else {
			p.tr.Pause()
			s = rt.run(s, true)
			tlsRun = true
			p.tr.Resume("relay.tests")
		}
	}
	if rt != nil {
		p.tr.Pause()
		s = rt.retryDeferred(s, tlsRun)
		p.tr.Resume("relay.tests")
		rt.finish()
	}
	if s != nil {
		s.quit()
	}
}

// wait returns how long a patient client waits for a reply whose
// timeout is limit: limit, but never past the probe's context deadline.
func (p *prober) wait(limit time.Duration) time.Duration {
	if dl, ok := p.ctx.Deadline(); ok {
		if left := time.Until(dl); left < limit {
			limit = left
		}
	}
	if limit <= 0 {
		// The budget is spent: the read fails at the hard deadline.
		return 0
	}
	return limit
}

// greetingTime keeps the greeting's timestamp, if it has one, with the
// time the line stating it arrived (the lines of a greeting may be
// seconds apart).
func (p *prober) greetingTime(s *session, g *observe.SMTPReply) {
	for i, l := range g.Lines {
		_, _, text, err := observe.ParseSMTPReplyLine(l)
		if err != nil {
			continue
		}
		st, ok := ParseGreetingTime(text)
		if !ok {
			continue
		}
		recv := p.env.Clock()
		if i < len(s.rr.arrived) {
			recv = s.rr.arrived[i]
		}
		p.obs.GreetingTime = &observe.TimeSample{
			Service: p.t.Service, Address: p.obs.Address, Port: p.obs.Port,
			Text:         st.Text,
			Server:       st.Time,
			Received:     recv,
			RTTMS:        s.dialRTT.Milliseconds(),
			ResolutionMS: st.Resolution.Milliseconds(),
		}
		if p.obs.GreetingTime.ResolutionMS == 0 {
			p.obs.GreetingTime.ResolutionMS = 1
		}
		return
	}
}
