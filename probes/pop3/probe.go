// Package pop3 probes POP3 services (pop3 with STLS, pop3s with implicit
// TLS) for checklist item P1: it records the greeting (and its APOP
// timestamp), CAPA before and after TLS (STLS, USER, SASL mechanisms,
// SASL ANONYMOUS), the TLS session, and how the server answers what a
// careless client does before TLS: USER/PASS and AUTH PLAIN / LOGIN for
// an obviously fake user with a random password, and AUTH ANONYMOUS.
//
// It speaks POP3 with package github.com/kensa-inspect/kensa/pop3 over
// connections it dials itself (wire.Conn), which bound every read in time
// and all reads in bytes; the client bounds each line. The probe
// observes; it decides no verdict.
package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-sasl"

	"github.com/kensa-inspect/kensa/internal/pop3client"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/internal/login"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Options change what the probe does: SkipLogin leaves out every login
// attempt, and Password is the fake user's password (empty: a random one
// made once per process; the scan engine should pass one per scan). They
// are the login options the IMAP and POP3 probes share.
type Options = login.Options

// maxConns bounds the connections one probe opens (reconnects after a
// server hangs up between login attempts included).
const maxConns = 6

type prober struct {
	ctx   context.Context
	env   wire.Env
	t     observe.Target
	opts  Options
	tr    *wire.Transcript
	obs   *observe.POP3
	cred  login.Credentials
	conns int
	// lastServer is the last line the server sent.
	lastServer string
	// spare is a connection dialled already, for the next dial.
	spare *wire.Conn
}

// Probe examines the POP3 service t: t.Service "pop3s" means implicit
// TLS, anything else STLS. It never returns nil; Error is set when it
// could not finish.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.POP3 {
	obs := &observe.POP3{Endpoint: observe.NewEndpoint(t, env.Clock()), ImplicitTLS: t.Service == "pop3s"}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	p := &prober{ctx: ctx, env: env, t: t, opts: opts, tr: tr, obs: obs}
	if err := p.run(ctx); err != nil {
		obs.Error = err.Error()
		env.Logger().Debug("pop3 probe", "target", t.String(), "error", obs.Error)
	}
	obs.Finish(env.Clock(), tr.Take())
	return obs
}

func (p *prober) run(ctx context.Context) error {
	s, err := p.open(ctx, p.obs.ImplicitTLS)
	if err != nil {
		return err
	}
	defer s.close()
	capa, err := s.cl.Capa()
	var rerr *pop3client.ReplyError
	switch {
	case errors.As(err, &rerr):
		p.obs.CapaError = p.clean(rerr.Line)
	case err != nil:
		return errors.New(describe("CAPA", s.fail(err)))
	default:
		p.obs.Capa = p.cleanAll(capa)
	}
	stls := !p.obs.ImplicitTLS && observe.POP3HasCapa(p.obs.Capa, "STLS")
	var lane *tlsLane
	if !p.opts.SkipLogin {
		p.obs.LoginTested = true
		p.newPassword()
		if stls {
			// The login over TLS goes side by side with those in the
			// clear, on a connection of its own when the bounds have
			// room: a server that delays failed logins (Dovecot) then
			// makes the probe wait once, and no refusal in the clear
			// waits behind a delayed login.
			lane = p.startTLSLane(ctx)
		}
		// Without TLS, everything a careless client sends; over TLS,
		// a fake login (is authentication required at all?) and
		// anonymous login.
		plan := p.tlsPlan(nil, true)
		if !p.obs.ImplicitTLS {
			plan = p.cleartextPlan()
		}
		reopen := func() (*session, error) { return p.open(ctx, p.obs.ImplicitTLS) }
		if err := p.attempts(s, plan, reopen); err != nil {
			if lane != nil {
				p.joinTLSLane(lane)
			}
			return err
		}
	}
	s.close()
	if lane != nil {
		return p.joinTLSLane(lane)
	}
	if stls {
		return p.afterTLS(ctx)
	}
	return nil
}

// tlsLane is the part of the probe after STLS, run beside the attempts
// in the clear by a prober of its own (its own observation and
// transcript, merged when it ends).
type tlsLane struct {
	q    *prober
	done <-chan error
}

// startTLSLane starts afterTLS on a spare connection, or returns nil
// when the bounds have no room for one now (afterTLS then runs after
// the attempts in the clear).
func (p *prober) startTLSLane(ctx context.Context) *tlsLane {
	raw, err := p.env.DialSpare(ctx, "tcp", p.t, nil)
	if err != nil {
		return nil
	}
	q := &prober{ctx: p.ctx, env: p.env, t: p.t, opts: p.opts, tr: p.tr.Fork(), cred: p.cred, conns: 1,
		obs: &observe.POP3{Endpoint: p.obs.Endpoint, ImplicitTLS: p.obs.ImplicitTLS, Greeting: p.obs.Greeting, Capa: p.obs.Capa}}
	q.spare = raw
	q.tr.Connected()
	return &tlsLane{q: q, done: login.Beside(p.env.Logins, func() error { return q.afterTLS(ctx) })}
}

// joinTLSLane waits for the lane and files what it saw after the
// attempts in the clear.
func (p *prober) joinTLSLane(l *tlsLane) error {
	err := <-l.done
	q := l.q
	p.tr.Join(q.tr)
	o := p.obs
	o.STLS, o.TLS, o.CapaAfterTLS = q.obs.STLS, q.obs.TLS, q.obs.CapaAfterTLS
	o.Attempts = append(o.Attempts, q.obs.Attempts...)
	return err
}

// session is one POP3 connection.
type session struct {
	p      *prober
	raw    *wire.Conn
	cl     *pop3client.Client
	tls    bool
	closed bool
	// hold sends a login's password line as the server's login gate
	// says.
	hold *login.Holder
}

// close sends QUIT if the connection still works and closes it.
func (s *session) close() {
	if s == nil || s.closed {
		return
	}
	s.closed = true
	s.cl.Quit()
	s.raw.Close()
}

// fail closes a connection left in an unknown state and returns err
// with the probe's own byte limit recognised.
func (s *session) fail(err error) error {
	if !s.closed {
		s.closed = true
		s.raw.Close()
	}
	if s.raw.BytesRead() >= s.p.env.Lim().MaxBytes {
		return wire.ErrTooMuchData
	}
	return err
}

func (p *prober) trace(dir, line string) {
	p.tr.Add(dir, line)
	if dir == "S" {
		p.lastServer = line
	}
}

func (p *prober) dial(ctx context.Context) (*wire.Conn, error) {
	if c := p.spare; c != nil {
		p.spare = nil
		return c, nil
	}
	if p.conns >= maxConns {
		return nil, fmt.Errorf("connect: gave up after %d connections", maxConns)
	}
	p.conns++
	c, err := p.env.Dial(ctx, "tcp", p.t, nil)
	if err != nil {
		return nil, errors.New(wire.Describe("connect", err))
	}
	p.tr.Connected()
	return c, nil
}

func (p *prober) clientOptions(hold *login.Holder) *pop3client.Options {
	return &pop3client.Options{MaxLine: p.env.Lim().MaxLine, MaxLines: 200, Trace: p.trace, Writer: hold.Writer}
}

func (p *prober) tlsConfig() *tls.Config { return wire.TLSConfig(p.t.Host) }

// open connects, with TLS first when implicitTLS, and reads the greeting.
func (p *prober) open(ctx context.Context, implicitTLS bool) (*session, error) {
	raw, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, raw: raw, hold: &login.Holder{}}
	var conn net.Conn = raw
	if implicitTLS {
		tc, info, err := wire.HandshakeTLS(ctx, raw, p.t.Host, p.t.Host, p.env.Clock(), nil)
		p.obs.TLS = info
		if err != nil {
			raw.Close()
			p.tr.Note("TLS handshake failed: %v", err)
			return nil, errors.New("TLS handshake: " + wire.Classify(err) + ": " + wire.Sanitize(err.Error(), 200))
		}
		p.tr.Note("TLS established: %s %s", p.obs.TLS.Version, p.obs.TLS.Cipher)
		conn, s.tls = tc, true
	}
	cl, err := pop3client.NewClient(conn, p.clientOptions(s.hold))
	if err != nil {
		err = s.fail(err)
		var rerr *pop3client.ReplyError
		if errors.As(err, &rerr) {
			p.keepGreeting(rerr.Line)
			return nil, errors.New("greeting: the server refused the connection: " + p.clean(rerr.Line))
		}
		return nil, errors.New(describe("greeting", err))
	}
	s.cl = cl
	p.keepGreeting(cl.Greeting().Line)
	p.obs.Reachable = true
	return s, nil
}

func (p *prober) keepGreeting(line string) {
	if p.obs.Greeting == "" {
		p.obs.Greeting = p.clean(line)
		p.obs.APOPTimestamp = wire.Sanitize(pop3client.Timestamp(line), 200)
	}
}

// attempt is one planned login attempt.
type attempt struct {
	method string
	run    func(cl *pop3client.Client) (step string, err error)
}

// Method names the attempt.
func (a attempt) Method() string { return a.method }

// newPassword makes the random password of the fake user and registers
// it, in every encoding it will be sent in, as a secret.
func (p *prober) newPassword() { p.cred = login.NewCredentials(p.opts.Password, p.tr) }

// cleartextPlan is what a careless client tries before TLS: USER/PASS,
// every cleartext SASL mechanism (PLAIN always, LOGIN when advertised),
// and anonymous login.
func (p *prober) cleartextPlan() []attempt {
	list := []attempt{p.userPass(), saslAttempt(&saslPlain{user: observe.FakeUser, pass: p.cred.Password})}
	for _, m := range observe.POP3Mechanisms(p.obs.Capa) {
		if m == "LOGIN" {
			list = append(list, saslAttempt(&login.Login{User: observe.FakeUser, Pass: p.cred.Password}))
		}
	}
	return append(list, anonymousAttempt())
}

// tlsPlan is what is tried over TLS: a fake login, and anonymous login
// when anon says so or capa advertises it.
func (p *prober) tlsPlan(capa []string, anon bool) []attempt {
	list := []attempt{p.userPass()}
	for _, m := range observe.POP3Mechanisms(capa) {
		anon = anon || m == "ANONYMOUS"
	}
	if anon {
		list = append(list, anonymousAttempt())
	}
	return list
}

func (p *prober) userPass() attempt {
	return attempt{"USER/PASS", func(cl *pop3client.Client) (string, error) {
		if err := cl.User(observe.FakeUser); err != nil {
			return "USER", err
		}
		return "PASS", cl.Pass(p.cred.Password)
	}}
}

func anonymousAttempt() attempt { return saslAttempt(login.Anonymous{}) }

// saslAttempt runs AUTH with mech, noting whether the server answered
// before any credential was sent.
func saslAttempt(mech sasl.Client) attempt {
	name, _, _ := mech.Start()
	return attempt{"AUTH " + name, func(cl *pop3client.Client) (string, error) {
		tm := &trackedMech{Client: mech}
		err := cl.Auth(tm)
		if tm.sent {
			return "response", err
		}
		return "AUTH", err
	}}
}

// trackedMech sends its credentials only in answer to a continuation,
// and remembers whether it did.
type trackedMech struct {
	sasl.Client
	sent bool
}

func (m *trackedMech) Start() (string, []byte, error) {
	name, _, err := m.Client.Start()
	return name, nil, err
}

func (m *trackedMech) Next(challenge []byte) ([]byte, error) {
	m.sent = true
	if len(challenge) == 0 {
		// The first, empty, continuation asks for the initial response.
		if _, ir, _ := m.Client.Start(); ir != nil {
			return ir, nil
		}
	}
	return m.Client.Next(challenge)
}

// clean redacts and sanitises a server line for the observation.
func (p *prober) clean(s string) string {
	return wire.Sanitize(p.cred.Redact(s), wire.MaxShownLine)
}

func (p *prober) cleanAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p.clean(l)
	}
	return out
}

// attempts runs the login attempts on s, reconnecting when the server
// hangs up between them (see login.Runner).
func (p *prober) attempts(s *session, plan []attempt, reopen func() (*session, error)) error {
	recs, err := login.Runner[attempt, observe.LoginAttempt]{
		Gate:      p.env.Logins,
		Ctx:       p.ctx,
		Anonymous: "AUTH ANONYMOUS",
		Ready: func() error {
			if !s.closed {
				return nil
			}
			ns, err := reopen()
			if err != nil {
				return err
			}
			*s = *ns
			return nil
		},
		Arm: func(turn *wire.LoginTurn) {
			if turn == nil {
				s.hold.Disarm()
				return
			}
			s.hold.Arm(p.ctx, turn, s.tls, p.cred)
		},
		Try: func(a attempt) (observe.LoginAttempt, login.Outcome, error) {
			res, terr := p.try(s, a)
			return res, login.Outcome{Result: res.Result, TLS: res.TLS, Why: res.Why}, terr
		},
		Skipped: func(method, why string) observe.LoginAttempt {
			return observe.LoginAttempt{Method: method, TLS: s.tls, Result: observe.LoginUnclear, Why: why}
		},
	}.Run(plan)
	p.obs.Attempts = append(p.obs.Attempts, recs...)
	return err
}

// try runs one attempt and classifies the answer; terr is set when no
// answer came, and the connection is then closed.
func (p *prober) try(s *session, a attempt) (res observe.LoginAttempt, terr error) {
	res = observe.LoginAttempt{Method: a.method, TLS: s.tls}
	step, err := a.run(s.cl)
	res.Step = step
	var rerr *pop3client.ReplyError
	switch {
	case err == nil:
		res.Result, res.Why = observe.LoginLoggedIn, "the server answered +OK"
		res.Reply = p.clean(p.lastServer)
	case errors.As(err, &rerr):
		res.Reply = p.clean(rerr.Line)
		before := step == "USER" || step == "AUTH"
		res.Result, res.Why = observe.ReadPOP3LoginAnswer(rerr.Code, rerr.Text, before)
	default:
		terr = s.fail(err)
		res.Result, res.Why = observe.LoginUnclear, describe("no answer", terr)
	}
	return res, terr
}

// afterTLS opens a second connection, upgrades it with STLS and records
// the TLS session, CAPA over TLS and the answers to a fake login and
// (when advertised) anonymous login there.
func (p *prober) afterTLS(ctx context.Context) error {
	s, err := p.openSTLS(ctx)
	if err != nil || s == nil {
		return err
	}
	defer s.close()
	capa, err := s.cl.Capa()
	var rerr *pop3client.ReplyError
	switch {
	case errors.As(err, &rerr):
		// No CAPA after TLS: the login attempts still tell.
	case err != nil:
		return errors.New(describe("CAPA after STLS", s.fail(err)))
	default:
		p.obs.CapaAfterTLS = p.cleanAll(capa)
	}
	if p.opts.SkipLogin {
		return nil
	}
	plan := p.tlsPlan(p.obs.CapaAfterTLS, false)
	if p.anonymousLoggedIn() {
		plan = plan[:1]
	}
	reopen := func() (*session, error) {
		s, err := p.openSTLS(ctx)
		if err == nil && s == nil {
			err = errors.New("STLS refused on a new connection")
		}
		return s, err
	}
	if err := p.attempts(s, plan, reopen); err != nil {
		return fmt.Errorf("after STLS: %w", err)
	}
	return nil
}

// openSTLS connects, sends STLS and performs the handshake, recording
// the outcome in the observation. It returns a nil session and no error
// when the server refuses STLS.
func (p *prober) openSTLS(ctx context.Context) (*session, error) {
	st := &observe.POP3STLS{}
	p.obs.STLS = st
	s, err := p.open(ctx, false)
	if err != nil {
		st.Result, st.Error = "failed", err.Error()
		return nil, fmt.Errorf("stls: %w", err)
	}
	var cs tls.ConnectionState
	err = wire.Heavy(ctx, func() error {
		var err error
		cs, err = s.cl.StartTLS(p.tlsConfig())
		return err
	})
	var (
		rerr *pop3client.ReplyError
		terr *pop3client.TLSError
	)
	switch {
	case errors.As(err, &rerr):
		st.Result, st.Reply = "refused", p.clean(rerr.Line)
		s.close()
		return nil, nil
	case errors.As(err, &terr):
		st.Result, st.Reply = "failed", p.clean(p.lastServer)
		p.obs.TLS = wire.TLSFailure(terr.Err)
		st.Error = p.obs.TLS.Error
		s.fail(err)
		return nil, errors.New("stls: " + st.Error)
	case err != nil:
		st.Result, st.Error = "failed", describe("STLS", s.fail(err))
		return nil, errors.New("stls: " + st.Error)
	}
	st.Result, st.Reply = "ok", p.clean(p.lastServer)
	s.tls = true
	p.obs.TLS = wire.InspectTLS(cs, p.t.Host, p.env.Clock())
	p.tr.Note("TLS established: %s %s", p.obs.TLS.Version, p.obs.TLS.Cipher)
	return s, nil
}

func (p *prober) anonymousLoggedIn() bool {
	for _, a := range p.obs.Attempts {
		if a.Method == "AUTH ANONYMOUS" && a.Result == observe.LoginLoggedIn {
			return true
		}
	}
	return false
}

// describe words a failed step for a reason.
func describe(step string, err error) string {
	var perr *pop3client.ProtocolError
	switch {
	case errors.Is(err, pop3client.ErrLineTooLong):
		return step + ": line too long"
	case errors.Is(err, pop3client.ErrTooManyLines):
		return step + ": too many lines"
	case errors.As(err, &perr):
		if perr.Line == "" {
			return step + ": " + perr.Problem
		}
		return step + ": " + perr.Problem + ": " + wire.Sanitize(perr.Line, 80)
	}
	return wire.Describe(step, err)
}
