// Package imap probes IMAP services (imap with STARTTLS, imaps with
// implicit TLS) for checklist item P1: it records the greeting (a PREAUTH
// greeting gives mailbox access without authentication), the capabilities
// before and after TLS (LOGINDISABLED, STARTTLS, AUTH= mechanisms,
// AUTH=ANONYMOUS), the TLS session, and how the server answers what a
// careless client does before TLS: LOGIN and AUTHENTICATE PLAIN / LOGIN
// for an obviously fake user with a random password, and AUTHENTICATE
// ANONYMOUS.
//
// It speaks IMAP with go-imap v2's imapclient over connections it dials
// itself (wire.Conn), which bound every read in time and all reads in
// bytes: the library's decoder has no limit of its own on lines or
// literals. STARTTLS exists in imapclient only at connect time, so the
// view before TLS and the view after it take two connections; the
// STARTTLS exchange itself is a few raw lines.
//
// The probe observes; it decides no verdict.
package imap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

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

// prober holds the state of one probe run.
type prober struct {
	ctx   context.Context
	env   wire.Env
	t     observe.Target
	opts  Options
	tr    *wire.Transcript
	obs   *observe.IMAP
	cred  login.Credentials
	conns int
	// spare is a connection dialled already, for the next dial.
	spare *wire.Conn
}

// Probe examines the IMAP service t: t.Service "imaps" means implicit
// TLS, anything else STARTTLS. It never returns nil; Error is set when it
// could not finish.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.IMAP {
	obs := &observe.IMAP{Endpoint: observe.NewEndpoint(t, env.Clock()), ImplicitTLS: t.Service == "imaps"}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	p := &prober{ctx: ctx, env: env, t: t, opts: opts, tr: tr, obs: obs}
	if err := p.run(ctx); err != nil {
		obs.Error = err.Error()
		env.Logger().Debug("imap probe", "target", t.String(), "error", obs.Error)
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
	if p.obs.PreAuth {
		// Logged in already: there is nothing to try, and no command
		// is needed to prove it.
		return nil
	}
	if err := p.capabilities(s, false); err != nil {
		return err
	}
	if observe.HasIMAPCap(p.obs.Capabilities, "ID") {
		p.id(s)
	}
	starttls := !p.obs.ImplicitTLS && observe.HasIMAPCap(p.obs.Capabilities, "STARTTLS")
	var lane *tlsLane
	if !p.opts.SkipLogin {
		p.obs.LoginTested = true
		p.newPassword()
		if starttls {
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
			plan = p.cleartextPlan(p.obs.Capabilities)
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
	if starttls {
		return p.afterTLS(ctx)
	}
	return nil
}

// tlsLane is the part of the probe after STARTTLS, run beside the
// attempts in the clear by a prober of its own (its own observation and
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
		obs: &observe.IMAP{Endpoint: p.obs.Endpoint, ImplicitTLS: p.obs.ImplicitTLS, Greeting: p.obs.Greeting}}
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
	o.StartTLS, o.TLS = q.obs.StartTLS, q.obs.TLS
	o.CapabilitiesAfterTLS, o.CapabilityLineAfterTLS = q.obs.CapabilitiesAfterTLS, q.obs.CapabilityLineAfterTLS
	o.Attempts = append(o.Attempts, q.obs.Attempts...)
	o.PreAuth = o.PreAuth || q.obs.PreAuth
	return err
}

// session is one IMAP connection.
type session struct {
	p      *prober
	raw    *wire.Conn
	tap    *tap
	cl     *imapclient.Client
	tls    bool
	closed bool
	// stuck is set when a client call was abandoned.
	stuck bool
}

// close logs out if the connection still works and closes it.
func (s *session) close() {
	if s == nil || s.closed {
		return
	}
	s.closed = true
	if s.cl != nil && !s.stuck {
		s.call(func() error {
			if !s.dead() {
				s.cl.Logout().Wait()
			}
			return s.cl.Close()
		})
	}
	s.raw.Close()
}

// errStuck reports an imapclient call that did not return.
var errStuck = errors.New("the IMAP client did not return; connection abandoned")

// call runs one imapclient call with a watchdog. The connection bounds
// every read, so a call returns on its own unless the library loops
// without reading (one such loop is known and guarded against, see
// capGuard); the watchdog gives up after 8 read timeouts, or a second
// after the probe's context ends, closes the connection and leaves the
// call behind.
func (s *session) call(f func() error) error {
	if s.stuck {
		return errStuck
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	limit := time.NewTimer(8 * s.p.env.Lim().ReadTimeout)
	defer limit.Stop()
	select {
	case err := <-done:
		return err
	case <-limit.C:
	case <-s.p.ctx.Done():
		select {
		case err := <-done:
			return err
		case <-time.After(time.Second):
		}
	}
	s.stuck = true
	s.raw.Close()
	s.p.env.Logger().Warn("imap probe: client call abandoned", "target", s.p.t.String())
	return errStuck
}

// fail closes a connection left in an unknown state (an exchange cut
// half-way) without a word, and returns the best explanation of err: why
// the client stopped reading, with the probe's own limits recognised.
func (s *session) fail(err error) error {
	if !s.closed {
		s.closed = true
		s.raw.Close()
		if cerr := s.call(s.cl.Close); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	lim := s.p.env.Lim()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case s.raw.BytesRead() >= lim.MaxBytes || strings.Contains(msg, wire.ErrTooMuchData.Error()):
		return wire.ErrTooMuchData
	case strings.Contains(msg, "i/o timeout"):
		return os.ErrDeadlineExceeded
	case err == nil:
		return io.ErrUnexpectedEOF
	}
	return err
}

// dead reports whether the client's connection has ended.
func (s *session) dead() bool {
	if s.stuck {
		return true
	}
	select {
	case <-s.cl.Closed():
		return true
	default:
		return false
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

func (p *prober) handshake(c *wire.Conn) (*tls.Conn, error) {
	tc, info, err := wire.HandshakeTLS(p.ctx, c, p.t.Host, p.t.Host, p.env.Clock(), nil)
	p.obs.TLS = info
	if err != nil {
		p.tr.Note("TLS handshake failed: %v", err)
		return nil, errors.New("TLS handshake: " + wire.Classify(err) + ": " + wire.Sanitize(err.Error(), 200))
	}
	p.tr.Note("TLS established: %s %s", p.obs.TLS.Version, p.obs.TLS.Cipher)
	return tc, nil
}

// open connects, with TLS first when implicitTLS, and reads the greeting.
func (p *prober) open(ctx context.Context, implicitTLS bool) (*session, error) {
	raw, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, raw: raw}
	var conn net.Conn = raw
	if implicitTLS {
		tc, err := p.handshake(raw)
		if err != nil {
			raw.Close()
			return nil, err
		}
		conn, s.tls = tc, true
	}
	lim := p.env.Lim()
	s.tap = newTap(conn, p.tr, lim.MaxLine)
	br := bufio.NewReaderSize(s.tap, lim.MaxLine)
	line, err := readLine(br)
	if err != nil {
		raw.Close()
		return nil, errors.New(describe("greeting", err))
	}
	if err := p.greeting(line); err != nil {
		raw.Close()
		return nil, err
	}
	p.obs.Reachable = true
	s.cl = imapclient.New(&replayConn{Conn: s.tap, r: &capGuard{r: io.MultiReader(strings.NewReader(line+"\r\n"), br)}}, nil)
	return s, nil
}

// greeting records the first greeting and checks later ones.
func (p *prober) greeting(line string) error {
	st, err := observe.ParseIMAPStatusLine(line)
	if err != nil || st.Tag != "*" || (st.Status != "OK" && st.Status != "PREAUTH" && st.Status != "BYE") {
		if p.obs.Greeting == "" {
			p.obs.Greeting = wire.Sanitize(line, wire.MaxShownLine)
		}
		return errors.New("greeting: not an IMAP greeting: " + wire.Sanitize(line, 80))
	}
	if p.obs.Greeting == "" {
		p.obs.Greeting = wire.Sanitize(line, wire.MaxShownLine)
		p.obs.GreetingStatus = st.Status
		p.obs.PreAuth = st.Status == "PREAUTH"
	} else if st.Status == "PREAUTH" {
		p.obs.PreAuth = true
	}
	if st.Status == "BYE" {
		return errors.New("greeting: the server refused the connection: " + wire.Sanitize(line, 120))
	}
	return nil
}

// capabilities records the capability list: the greeting's, when it
// announced them, otherwise the answer to CAPABILITY.
func (p *prober) capabilities(s *session, afterTLS bool) error {
	var list []string
	var line string
	for _, l := range s.tap.since(0) {
		if c, ok := CapabilityList(l); ok {
			list, line = c, l
		}
	}
	if list == nil {
		// With no capabilities in the greeting imapclient has asked for
		// them itself; Caps waits for that answer.
		err := s.call(func() error {
			if s.cl.Caps() == nil {
				return errNoCaps
			}
			return nil
		})
		if errors.Is(err, errStuck) {
			return errors.New("capability: " + err.Error())
		}
		if err != nil {
			return errors.New(describe("capability", s.fail(nil)))
		}
		for _, l := range s.tap.since(0) {
			if c, ok := CapabilityList(l); ok {
				list, line = c, l
			}
		}
		if list == nil {
			return errors.New("capability: the server announced no capabilities")
		}
	}
	line = wire.Sanitize(line, wire.MaxShownLine)
	if afterTLS {
		p.obs.CapabilitiesAfterTLS, p.obs.CapabilityLineAfterTLS = list, line
	} else {
		p.obs.Capabilities, p.obs.CapabilityLine = list, line
	}
	return nil
}

func (p *prober) id(s *session) {
	var data *imap.IDData
	err := s.call(func() (err error) {
		data, err = s.cl.ID(nil).Wait()
		return err
	})
	if err != nil || data == nil {
		return
	}
	vals := []string{data.Name, data.Version, data.OS, data.OSVersion, data.Vendor, data.SupportURL,
		data.Address, data.Date, data.Command, data.Arguments, data.Environment}
	for i, v := range vals {
		if v != "" {
			if p.obs.ID == nil {
				p.obs.ID = map[string]string{}
			}
			p.obs.ID[observe.IMAPIDKeys[i]] = wire.Sanitize(v, 200)
		}
	}
}

// attempt is one planned login attempt.
type attempt struct {
	method string
	run    func(cl *imapclient.Client) error
}

// Method names the attempt.
func (a attempt) Method() string { return a.method }

// newPassword makes the random password of the fake user and registers
// it, in every encoding it will be sent in, as a secret.
func (p *prober) newPassword() { p.cred = login.NewCredentials(p.opts.Password, p.tr) }

// cleartextPlan is what a careless client tries before TLS: LOGIN, every
// cleartext SASL mechanism (PLAIN always, LOGIN when advertised), and
// anonymous login.
func (p *prober) cleartextPlan(caps []string) []attempt {
	list := []attempt{p.loginAttempt(), {"AUTHENTICATE PLAIN", func(cl *imapclient.Client) error {
		return cl.Authenticate(&saslPlain{user: observe.FakeUser, pass: p.cred.Password})
	}}}
	if observe.HasIMAPCap(caps, "AUTH=LOGIN") {
		list = append(list, attempt{"AUTHENTICATE LOGIN", func(cl *imapclient.Client) error {
			return cl.Authenticate(&login.Login{User: observe.FakeUser, Pass: p.cred.Password})
		}})
	}
	return append(list, anonymousAttempt())
}

// tlsPlan is what is tried over TLS: a fake login, and anonymous login
// when anon says so.
func (p *prober) tlsPlan(caps []string, anon bool) []attempt {
	list := []attempt{p.loginAttempt()}
	if anon || observe.HasIMAPCap(caps, "AUTH=ANONYMOUS") {
		list = append(list, anonymousAttempt())
	}
	return list
}

func (p *prober) loginAttempt() attempt {
	return attempt{"LOGIN", func(cl *imapclient.Client) error { return cl.Login(observe.FakeUser, p.cred.Password).Wait() }}
}

func anonymousAttempt() attempt {
	return attempt{"AUTHENTICATE ANONYMOUS", func(cl *imapclient.Client) error {
		return cl.Authenticate(login.Anonymous{})
	}}
}

// attempts runs the login attempts on s, reconnecting when the server
// hangs up between them (see login.Runner).
func (p *prober) attempts(s *session, plan []attempt, reopen func() (*session, error)) error {
	recs, err := login.Runner[attempt, observe.LoginAttempt]{
		Gate:      p.env.Logins,
		Ctx:       p.ctx,
		Anonymous: "AUTHENTICATE ANONYMOUS",
		Ready: func() error {
			if !s.closed && !s.dead() {
				return nil
			}
			s.close()
			ns, err := reopen()
			if err != nil {
				return err
			}
			*s = *ns
			return nil
		},
		Arm: func(turn *wire.LoginTurn) {
			if turn == nil {
				s.tap.hold.Disarm()
				return
			}
			s.tap.hold.Arm(p.ctx, turn, s.tls, p.cred)
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

var taggedRE = regexp.MustCompile(`^[A-Za-z0-9]+ (?i:OK|NO|BAD)\b`)

// try runs one attempt and classifies the answer. terr is set when no
// answer came (the connection failed); the connection is then closed.
func (p *prober) try(s *session, a attempt) (res observe.LoginAttempt, terr error) {
	res = observe.LoginAttempt{Method: a.method, TLS: s.tls}
	m := s.tap.mark()
	err := s.call(func() error { return a.run(s.cl) })
	var reply, bye string
	for _, l := range s.tap.since(m) {
		if reply == "" && taggedRE.MatchString(l) {
			reply = l
		}
		if bye == "" && len(l) >= 5 && strings.EqualFold(l[:5], "* BYE") {
			bye = l
		}
	}
	var ierr *imap.Error
	switch {
	case err == nil:
		res.Result, res.Why = observe.LoginLoggedIn, "the server answered OK"
	case errors.As(err, &ierr):
		if reply == "" {
			reply = strings.TrimSpace(fmt.Sprintf("%s [%s] %s", ierr.Type, ierr.Code, ierr.Text))
		}
		res.Result, res.Why = observe.ReadIMAPLoginAnswer(string(ierr.Type), string(ierr.Code), ierr.Text)
	default:
		// The exchange may be stuck half-way: this connection is done.
		terr = s.fail(err)
		res.Result, res.Why = observe.LoginUnclear, describe("no answer", terr)
		if reply == "" {
			reply = bye
		}
	}
	res.Reply = p.cred.Redact(wire.Sanitize(reply, wire.MaxShownLine))
	return res, terr
}

// afterTLS opens a second connection, upgrades it with STARTTLS and
// records the TLS session, the capabilities over TLS and the answers to
// a fake login and (when advertised) anonymous login there.
func (p *prober) afterTLS(ctx context.Context) error {
	s, err := p.openStartTLS(ctx)
	if err != nil || s == nil {
		return err
	}
	defer s.close()
	if err := p.capabilities(s, true); err != nil {
		return fmt.Errorf("after STARTTLS: %w", err)
	}
	if p.opts.SkipLogin {
		return nil
	}
	plan := p.tlsPlan(p.obs.CapabilitiesAfterTLS, false)
	if p.anonymousLoggedIn() {
		plan = plan[:1]
	}
	reopen := func() (*session, error) {
		s, err := p.openStartTLS(ctx)
		if err == nil && s == nil {
			err = errors.New("STARTTLS refused on a new connection")
		}
		return s, err
	}
	if err := p.attempts(s, plan, reopen); err != nil {
		return fmt.Errorf("after STARTTLS: %w", err)
	}
	return nil
}

// openStartTLS connects, sends STARTTLS and performs the handshake,
// recording the outcome in the observation. It returns a nil session and
// no error when the server refuses STARTTLS.
func (p *prober) openStartTLS(ctx context.Context) (*session, error) {
	st := &observe.IMAPStartTLS{}
	p.obs.StartTLS = st
	raw, err := p.dial(ctx)
	if err != nil {
		st.Result, st.Error = "failed", err.Error()
		return nil, fmt.Errorf("starttls: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	lim := p.env.Lim()
	tp := newTap(raw, p.tr, lim.MaxLine)
	br := bufio.NewReaderSize(tp, lim.MaxLine)
	fail := func(step string, err error) error {
		st.Result, st.Error = "failed", describe(step, err)
		return errors.New("starttls: " + st.Error)
	}
	line, err := readLine(br)
	if err != nil {
		return nil, fail("greeting", err)
	}
	if err := p.greeting(line); err != nil {
		st.Result, st.Error = "failed", err.Error()
		return nil, fmt.Errorf("starttls: %w", err)
	}
	if _, err := io.WriteString(tp, "K1 STARTTLS\r\n"); err != nil {
		return nil, fail("STARTTLS", err)
	}
	var reply observe.IMAPStatusLine
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return nil, fail("STARTTLS reply", err)
		}
		if n > 32 {
			return nil, fail("STARTTLS reply", errors.New("no tagged reply after 32 lines"))
		}
		if s, err := observe.ParseIMAPStatusLine(line); err == nil && s.Tag == "K1" {
			reply = s
			st.Reply = wire.Sanitize(line, wire.MaxShownLine)
			break
		}
	}
	if reply.Status != "OK" {
		st.Result = "refused"
		tp.Close()
		return nil, nil
	}
	if br.Buffered() > 0 {
		return nil, fail("STARTTLS", errors.New("server sent data after its STARTTLS reply, before the TLS handshake"))
	}
	tp.stop()
	tc, err := p.handshake(raw)
	if err != nil {
		st.Result, st.Error = "failed", err.Error()
		return nil, fmt.Errorf("starttls: %w", err)
	}
	st.Result = "ok"
	ok = true
	s := &session{p: p, raw: raw, tls: true, tap: newTap(tc, p.tr, lim.MaxLine)}
	// imapclient expects a greeting, which a STARTTLS upgrade does not
	// repeat: it is given a synthetic one that never reaches the wire
	// or the transcript.
	s.cl = imapclient.New(&replayConn{Conn: s.tap, r: &capGuard{r: io.MultiReader(strings.NewReader(syntheticGreeting), s.tap)}}, nil)
	return s, nil
}

const syntheticGreeting = "* OK synthetic greeting after STARTTLS\r\n"

func (p *prober) anonymousLoggedIn() bool {
	for _, a := range p.obs.Attempts {
		if a.Method == "AUTHENTICATE ANONYMOUS" && a.Result == observe.LoginLoggedIn {
			return true
		}
	}
	return false
}

// replayConn reads from r (bytes already read, then the connection) and
// writes to the connection.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// errNoCaps reports that imapclient got no capabilities.
var errNoCaps = errors.New("no capabilities")

// errLineTooLong reports a line longer than the limit.
var errLineTooLong = errors.New("line longer than the limit")

// readLine reads one line of at most the reader's buffer size, without
// its line ending.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return string(b), errLineTooLong
	}
	if err != nil {
		return string(b), err
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}

// describe words a failed step for a reason.
func describe(step string, err error) string {
	switch {
	case errors.Is(err, errLineTooLong):
		if step == "" {
			return "line too long"
		}
		return step + ": line too long"
	case step == "":
		return wire.Classify(err)
	}
	return wire.Describe(step, err)
}

var (
	_ sasl.Client = (*saslPlain)(nil)
	_ sasl.Client = (*login.Login)(nil)
	_ sasl.Client = login.Anonymous{}
)
