package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Options.
const (
	DefaultHeloName    = "kensa.invalid"
	DefaultRelayDomain = "kensa-relay-test.example"
	// DefaultMaxSessions bounds the connections one probe opens to one
	// service: the first, the STARTTLS check, the sessions the relay
	// test is spread over to stay under the server's error limits, and
	// reconnections after the server dropped one.
	DefaultMaxSessions = 24
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
	// MaxSessions bounds the connections to the service (default 24).
	MaxSessions int
	// Parallel bounds the sessions of the relay test run side by side
	// (default DefaultParallel); the engine's bounds (--host-conns)
	// decide how many it gets.
	Parallel int
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
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
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

	mu       sync.Mutex
	sessions int // sessions opened
	openNow  int // sessions open now
	// errLimit is the most error replies a session may receive: the
	// relay test's maxErrorReplies, lowered when the server began to
	// delay its replies after fewer (tarpits counts those sessions).
	errLimit int
	tarpits  int
	crowds   int // refusals taken for the probe's own crowding, retried
	// relaying is set while the relay test runs: its sessions' lines
	// are kept in relay.tests, not in the transcript; preopening while
	// the spare sessions are opened, whose greetings are not kept.
	relaying, preopening atomic.Bool
	// spares are the sessions preopen opened, pre counts those still
	// greeting.
	spares chan *session
	pre    sync.WaitGroup
	// tlsSessions lets the probe's later TLS sessions resume the first
	// one's (wire.HandshakeTLS).
	tlsSessions tls.ClientSessionCache
}

// sessionLeft reports whether the probe may open another session.
func (p *prober) sessionLeft() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions < p.opts.MaxSessions
}

// sessionCount returns how many sessions the probe opened.
func (p *prober) sessionCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions
}

// limit returns the most error replies a session may receive.
func (p *prober) limit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errLimit
}

// tarpit is told that a reply of s came a second late after s.errors
// error replies. It lowers the error limit of later sessions to what the
// server answered at once, and reports whether s should be given up for
// a fresh session (not after maxTarpits of them: a server that delays
// every reply is then waited for).
func (p *prober) tarpit(s *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tarpits >= maxTarpits {
		return false
	}
	p.tarpits++
	if s.errors < p.errLimit {
		p.errLimit = s.errors
	}
	p.tr.Note("session %d: a reply came a second late after %d error replies: the server began to delay its replies; at most %d error replies per session from now on", s.n, s.errors, p.errLimit)
	return true
}

// maxCrowdRetries bounds the sessions a probe tries again after a
// refusal it took for its own crowding.
const maxCrowdRetries = 4

// crowdRetry waits before trying again a session the server refused
// while the scan had other connections to it, and reports whether to
// try again (within the budget, a few times).
func (p *prober) crowdRetry(err error) bool {
	p.mu.Lock()
	p.crowds++
	n := p.crowds
	p.mu.Unlock()
	if n > maxCrowdRetries {
		return false
	}
	d := time.Duration(n) * 500 * time.Millisecond
	p.tr.Note("the server refused a connection while the scan had others open to it (%v): trying again in %s", err, d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// crowdError is a session the server refused while the scanner had
// other connections to it open: it may be refusing the scanner's own
// parallelism (Exim's smtp_accept_max_per_host answers 421 "Too many
// concurrent SMTP connections from this IP address"), which is the
// scanner's doing and not the server's answer.
type crowdError struct{ err error }

func (e *crowdError) Error() string { return e.err.Error() }
func (e *crowdError) Unwrap() error { return e.err }

// crowded reports whether err is a crowdError.
func crowded(err error) bool {
	var ce *crowdError
	return errors.As(err, &ce)
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
	p := &prober{ctx: ctx, env: env, t: t, opts: opts, lim: lim, tr: tr, obs: obs, replyTimeout: opts.ReplyTimeout, errLimit: maxErrorReplies,
		tlsSessions: tls.NewLRUClientSessionCache(1)}
	p.run()
	obs.Finish(env.Clock(), tr.Take())
	return obs
}

// open starts a session: connect (a spare connection, beside the
// probe's others, when spare is set), TLS on smtps, greeting, EHLO, and
// STARTTLS plus a second EHLO when withTLS is set on a service without
// implicit TLS. The first session records what it sees in the
// observation; later ones only check that the server still answers. A
// session the server refuses (a 4xx greeting, a reset or close before
// it) while the scanner had other connections to it open is returned
// as a crowdError.
func (p *prober) open(withTLS, spare bool) (*session, error) {
	s, others, err := p.connect(spare)
	if err != nil {
		return nil, err
	}
	return p.welcome(s, others, withTLS)
}

// connect opens the connection of a new session and numbers it; others
// is how many other connections of the scan to the server were open.
func (p *prober) connect(spare bool) (s *session, others int, err error) {
	s, err = p.dial(0, spare)
	if err != nil {
		if errors.Is(err, wire.ErrNoSpare) {
			return nil, 0, err
		}
		return nil, 0, wrapStep("connect", err)
	}
	p.mu.Lock()
	p.sessions++
	s.n = p.sessions
	p.openNow++
	others = p.openNow - 1
	p.mu.Unlock()
	if s.n > 1 {
		p.tr.Note("session %d", s.n)
	}
	s.spare = spare
	if p.relaying.Load() || p.preopening.Load() {
		// The relay test keeps its exchanges in relay.tests.
		s.conn.Unkeep()
	}
	if s.conn.Siblings() > others {
		others = s.conn.Siblings()
	}
	return s, others, nil
}

// welcome runs a connected session from the greeting to EHLO (and
// STARTTLS with withTLS); a refusal while the scanner held other
// connections to the server is a crowdError.
func (p *prober) welcome(s *session, others int, withTLS bool) (*session, error) {
	start := time.Now()
	s, err := p.greet(s, s.n, withTLS)
	if err != nil && others > 0 && time.Since(start) < p.lim.ReadTimeout && refusedAtOnce(err) {
		return nil, &crowdError{err}
	}
	return s, err
}

// refusedAtOnce reports whether a session failed the way a server
// refuses one connection too many: a 4xx greeting, or the connection
// reset or closed before the greeting. A server refuses such a
// connection at once; one that hangs up after a long silence (welcome
// checks the read timeout) is not refusing the scanner's crowd.
func refusedAtOnce(err error) bool {
	var se *stepError
	if !errors.As(err, &se) {
		return false
	}
	if se.reply != nil {
		return se.reply.Class() == 4
	}
	if se.step != "greeting" && se.step != "connect" {
		return false
	}
	switch wire.Classify(se.err) {
	case "closed", "reset", "refused":
		return true
	}
	return false
}

// greet runs a session from the greeting to EHLO (and STARTTLS).
func (p *prober) greet(s *session, n int, withTLS bool) (*session, error) {
	first := n == 1
	if p.obs.ImplicitTLS {
		info, err := s.handshake(!first)
		p.mu.Lock()
		// A resumed session shows no certificate: it never becomes the
		// observed one.
		if first || p.obs.TLS == nil && !s.resumed {
			p.obs.TLS = info
		}
		p.mu.Unlock()
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
		if _, _, err := s.startTLS(true); err != nil {
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

// run is the probe's plan. The first session reads the greeting and
// the EHLO reply and begins the relay test in the clear (inside TLS on
// smtps); the relay test goes on over sessions that each stay under the
// server's error limits, several side by side when the engine's bounds
// have room, and STARTTLS is checked in a session of its own, so that
// no error of the relay test can slow it down. Then the relay test runs
// again inside TLS if the server demanded STARTTLS first, and once more,
// in new sessions, the tests a temporary reply deferred.
func (p *prober) run() {
	obs := p.obs
	var s *session
	defer p.closeSpares()
	for {
		s1, others, err := p.connect(false)
		if err == nil {
			if !p.opts.SkipRelay && p.spares == nil {
				// The sessions the relay test and STARTTLS will want
				// beside the first greet with it: a held-back greeting
				// is waited out once.
				p.preopen()
			}
			s, err = p.welcome(s1, others, false)
		}
		if err == nil {
			break
		}
		if crowded(err) && p.crowdRetry(err) {
			p.mu.Lock()
			p.sessions = 0 // the refused connection told nothing
			p.mu.Unlock()
			continue
		}
		if se, ok := err.(*stepError); ok && errors.Is(se.err, errGreeting) {
			// The greeting refused us (421, 554): that is the
			// observation, not a failure of the probe.
			return
		}
		obs.Error = err.Error()
		return
	}
	// STARTTLS, in a session of its own beside the relay test's when
	// the bounds have room, otherwise after it.
	var tlsDone chan struct{}
	startTLS := !obs.ImplicitTLS && obs.Hello.StartTLS
	if startTLS && !p.opts.SkipRelay {
		if ts := p.takeSpare(); ts != nil {
			ts.conn.Keep()
			tlsDone = make(chan struct{})
			go func() {
				defer close(tlsDone)
				p.checkStartTLS(ts)
			}()
		} else if ts, err := p.open(false, true); err == nil {
			tlsDone = make(chan struct{})
			go func() {
				defer close(tlsDone)
				p.checkStartTLS(ts)
			}()
		}
	}
	var rt *relayRunner
	if !p.opts.SkipRelay {
		rt = newRelayRunner(p)
		obs.Relay = rt.res
		s = rt.phase(s, rt.jobs(rt.plan, s.tls))
	}
	if tlsDone != nil {
		<-tlsDone
	} else if startTLS {
		if s == nil || s.dead != nil || s.errors > 0 {
			// A session with errors behind it may be slowed down:
			// STARTTLS gets a fresh one.
			if s != nil {
				s.quit()
			}
			s = nil
			if p.ctx.Err() == nil {
				var err error
				s, err = p.open(false, false)
				if err != nil {
					obs.StartTLS = &observe.SMTPStartTLS{Error: err.Error()}
				}
			}
		}
		if s != nil {
			p.checkStartTLS(s)
			s = nil
		} else if obs.StartTLS == nil {
			obs.StartTLS = &observe.SMTPStartTLS{Error: "no session left for STARTTLS"}
		}
	}
	tlsRun := false
	if rt != nil && rt.needTLS {
		if obs.ImplicitTLS || obs.StartTLS == nil || !obs.StartTLS.OK {
			rt.res.Error = "server requires STARTTLS before MAIL, and no TLS session could be established"
			rt.notInTLS()
		} else {
			if s != nil {
				s.quit()
			}
			s = rt.phase(nil, rt.jobs(rt.plan, true))
			tlsRun = true
		}
	}
	if rt != nil {
		s = rt.retryDeferred(s, tlsRun || obs.ImplicitTLS)
		rt.finish()
		p.tr.NoteUnkept("relay.tests")
	}
	if s != nil {
		s.quit()
	}
}

// preopen opens, beside the first session, as many spare sessions as
// the relay test may run side by side, while the bounds have room; each
// greets and introduces itself on its own, and waits for takeSpare.
func (p *prober) preopen() {
	p.spares = make(chan *session, p.opts.Parallel)
	p.preopening.Store(true)
	defer p.preopening.Store(false)
	for i := 1; i < p.opts.Parallel; i++ {
		s, others, err := p.connect(true)
		if err != nil {
			return
		}
		p.pre.Add(1)
		go func() {
			defer p.pre.Done()
			s, err := p.welcome(s, others, false)
			if err == nil {
				p.spares <- s
			}
		}()
	}
}

// takeSpare returns a session preopen made, waiting for one still
// greeting; nil when there is none.
func (p *prober) takeSpare() *session {
	if p.spares == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		p.pre.Wait()
		close(done)
	}()
	select {
	case s := <-p.spares:
		return s
	case <-done:
		select {
		case s := <-p.spares:
			return s
		default:
			return nil
		}
	}
}

// closeSpares ends the sessions preopen made that nothing took.
func (p *prober) closeSpares() {
	if p.spares == nil {
		return
	}
	p.pre.Wait()
	for {
		select {
		case s := <-p.spares:
			s.quit()
		default:
			return
		}
	}
}

// checkStartTLS runs STARTTLS and the EHLO after it on s, records them
// and ends the session.
func (p *prober) checkStartTLS(s *session) {
	obs := p.obs
	st := &observe.SMTPStartTLS{}
	r, info, err := s.startTLS(false)
	st.Reply = r
	var tlsInfo *observe.TLS
	var h *observe.SMTPHello
	if info != nil {
		tlsInfo = info
	}
	if err != nil {
		st.Error = describe("starttls", err)
		if tlsInfo == nil && r != nil && r.Code == 220 {
			tlsInfo = wire.TLSFailure(err)
		}
		s.close()
	} else {
		st.OK = true
		var herr error
		h, herr = s.hello()
		if herr != nil {
			st.Error = describe("ehlo after starttls", herr)
			s.close()
		} else {
			s.quit()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	obs.StartTLS = st
	if tlsInfo != nil {
		obs.TLS = tlsInfo
	}
	if h != nil {
		obs.HelloTLS = h
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
