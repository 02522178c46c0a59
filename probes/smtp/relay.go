package smtp

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Literal returns the SMTP address literal of a: "[192.0.2.1]" or
// "[IPv6:2001:db8::1]".
func Literal(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		return "[IPv6:" + a.WithZone("").String() + "]"
	}
	return "[" + a.String() + "]"
}

type plannedTest struct {
	id      int
	form    string
	sender  string // "" is the null sender
	rcpt    string
	unbuilt string // why the test cannot be built
	risky   bool   // the recipient may be answered as a syntax error (riskyForm)
}

// classicForms are the 16 classic tests: sender and recipient in
// symbols (D the relay domain, S the server's name, [I] its address
// literal, <> the null sender).
var classicForms = [observe.ClassicRelayTests][2]string{
	{"<>", "relaytest@D"},
	{"antispam@D", "relaytest@D"},
	{"antispam@S", "relaytest@D"},
	{"antispam@[I]", "relaytest@D"},
	{"antispam@[I]", "relaytest%D@[I]"},
	{"antispam@[I]", "relaytest%D@S"},
	{"antispam@[I]", `"relaytest@D"`},
	{"antispam@[I]", `"relaytest%D"`},
	{"antispam@[I]", "relaytest@D@[I]"},
	{"antispam@[I]", `"relaytest@D"@[I]`},
	{"antispam@[I]", "relaytest@D@S"},
	{"antispam@[I]", "@[I]:relaytest@D"},
	{"antispam@[I]", "@S:relaytest@D"},
	{"antispam@[I]", "D!relaytest"},
	{"antispam@[I]", "D!relaytest@[I]"},
	{"antispam@[I]", "D!relaytest@S"},
}

// relayRunner runs the plan over sessions that each stay under the
// server's error limits, several side by side when the bounds allow.
type relayRunner struct {
	p    *prober
	res  *observe.Relay
	plan []plannedTest
	fill *strings.Replacer

	mu   sync.Mutex
	cond *sync.Cond
	// queue holds the tests still to run in this phase, in order.
	queue []job
	// busy counts the workers holding tests from the queue; workers
	// counts the workers alive.
	busy, workers int
	// parallel bounds the sessions run side by side (lowered when the
	// server refuses a session while others are open).
	parallel int
	bad      map[string]bool // senders refused
	good     map[string]bool // senders the server accepted
	// needTLS is set once the server demanded STARTTLS before MAIL: every
	// test then runs again inside TLS.
	needTLS bool
	// mailRefused says, for the tests in the clear ([false]) and those
	// inside TLS ([true]), whether the server refused the last MAIL.
	mailRefused [2]bool
	stopped     bool
	// deferring is set when a whole transaction was deferred with a
	// temporary reply (postscreen, greylisting, a rate limit): the tests
	// not yet run wait for the retry in a new session (later) instead of
	// collecting more deferrals now.
	deferring bool
	later     []plannedTest
	retries   map[int]int
	// recs are the attempts, in the order they were made.
	recs []observe.RelayTest
}

// job is one test waiting in the queue.
type job struct {
	pt  plannedTest
	tls bool // run it inside TLS
}

// The limits every session of the relay test stays under.
const (
	// maxErrorReplies is the most replies of class 4 or 5 (to any
	// command) one session may receive. Postfix sleeps a second before
	// every reply, STARTTLS, EHLO and QUIT included, once a session has
	// made smtpd_soft_error_limit (10) errors, and drops it at
	// smtpd_hard_error_limit (20).
	maxErrorReplies = 9
	// maxSyntaxErrors is the most syntax or protocol errors (500, 501,
	// 503, X.5.x) one session may risk: Exim drops a session after
	// smtp_max_synprot_errors (3). A test whose form is not a valid RFC
	// 5321 path, or that names a domain literal (which Exim refuses by
	// default as a syntax error), risks one.
	maxSyntaxErrors = 3
	// tarpitStep is how much later than the session's quickest reply a
	// reply must come, after an error, to be taken for a tarpit that
	// has begun (Postfix's 1 s error sleep, Sendmail's bad-recipient
	// throttle).
	tarpitStep = 700 * time.Millisecond
	// maxTarpits bounds the sessions given up because the server began
	// to delay its replies; after them, delays are waited for.
	maxTarpits = 3
	// DefaultParallel is how many sessions of one relay test run side by
	// side at most, within the engine's bounds (--host-conns).
	DefaultParallel = 4
)

// errTarpit ends a session whose server began to delay its replies.
var errTarpit = errors.New("the server began to delay its replies (tarpit); the tests left go to a fresh session")

func newRelayRunner(p *prober) *relayRunner {
	d := strings.ToLower(p.opts.RelayDomain)
	lit := Literal(p.t.Addr.Addr())
	res := &observe.Relay{Domain: d, ServerName: p.serverName, Literal: lit}
	rt := &relayRunner{p: p, res: res, bad: map[string]bool{}, good: map[string]bool{}, retries: map[int]int{}, parallel: p.opts.Parallel}
	rt.cond = sync.NewCond(&rt.mu)
	rt.fill = strings.NewReplacer("D", d, "S", p.serverName, "[I]", lit)
	for i, f := range classicForms {
		rt.add(i+1, f[0], f[1])
	}
	// Senders in the server's own domain relaying to D.
	seen := map[string]bool{d: true, p.serverName: true}
	var locals []string
	for _, name := range []string{ParentDomain(p.serverName), strings.ToLower(p.t.Host), ParentDomain(strings.ToLower(p.t.Host))} {
		if IsDomain(name) && !seen[name] {
			seen[name] = true
			locals = append(locals, name)
		}
	}
	res.LocalDomains = locals
	for _, l := range locals {
		rt.plan = append(rt.plan, plannedTest{
			id: len(rt.plan) + 1, form: "antispam@" + l + " -> relaytest@D",
			sender: "antispam@" + l, rcpt: rt.fill.Replace("relaytest@D"),
		})
	}
	res.Planned = len(rt.plan)
	return rt
}

func (rt *relayRunner) add(id int, sender, rcpt string) {
	pt := plannedTest{id: id, form: sender + " -> " + rcpt, risky: riskyForm(rcpt)}
	if rt.p.serverName == "" && (strings.Contains(sender, "S") || strings.Contains(rcpt, "S")) {
		pt.unbuilt = "server name S unknown (not in greeting, EHLO reply or inventory)"
	}
	if sender != "<>" {
		pt.sender = rt.fill.Replace(sender)
	}
	pt.rcpt = rt.fill.Replace(rcpt)
	rt.plan = append(rt.plan, pt)
}

// riskyForm reports whether a recipient form (in symbols) may be
// answered as a syntax error: it is not an RFC 5321 path (no domain
// after the last @, or an @ in an unquoted local part), or it names the
// domain literal [I], which Exim refuses by default as a syntax error.
func riskyForm(rcpt string) bool {
	if strings.Contains(rcpt, "[I]") {
		return true
	}
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 {
		return true
	}
	local := rcpt[:at]
	if i := strings.LastIndexByte(local, ':'); i >= 0 {
		local = local[i+1:]
	}
	return !strings.HasPrefix(local, `"`) && strings.Contains(local, "@")
}

// riskySender reports whether MAIL FROM with sender may be answered as a
// syntax error (a domain literal).
func riskySender(sender string) bool { return strings.Contains(sender, "[") }

// fallbacks lists the senders to use instead of a refused one, in
// order.
func (rt *relayRunner) fallbacks() []string {
	var out []string
	for _, sym := range []string{"antispam@D", "<>", "antispam@S", "antispam@[I]"} {
		if strings.Contains(sym, "S") && rt.p.serverName == "" {
			continue
		}
		if sym == "<>" {
			out = append(out, "")
			continue
		}
		out = append(out, rt.fill.Replace(sym))
	}
	for _, l := range rt.res.LocalDomains {
		out = append(out, "antispam@"+l)
	}
	return out
}

// senderFor returns the sender a test runs with now: its own, or the
// first fallback not refused yet ("", false when every one was).
// Called with rt.mu held.
func (rt *relayRunner) senderFor(pt plannedTest) (sender string, substitute, ok bool) {
	if !rt.bad[pt.sender] {
		return pt.sender, false, true
	}
	for _, f := range rt.fallbacks() {
		if !rt.bad[f] {
			return f, true, true
		}
	}
	return "", true, false
}

// record keeps one attempt of test pt, made in session s (nil: none).
func (rt *relayRunner) record(pt plannedTest, s *session, t observe.RelayTest) {
	t.ID, t.Form = pt.id, pt.form
	if t.Sender == "" && t.MailCommand == "" {
		t.Sender = pt.sender
	}
	if t.Recipient == "" {
		t.Recipient = pt.rcpt
	}
	if s != nil {
		t.Session, t.TLS = s.n, s.tls
	}
	rt.mu.Lock()
	rt.recs = append(rt.recs, t)
	rt.mu.Unlock()
}

// maxConnRetries bounds how often one test is retried after the
// connection was lost during it.
const maxConnRetries = 2

// maxBatch bounds the recipients tried in one transaction. Servers take
// far more (RFC 5321 asks at least 100; Postfix takes 1,000).
const maxBatch = 20

// again puts tests back at the front of the queue, in order.
func (rt *relayRunner) again(tls bool, pts ...plannedTest) {
	if len(pts) == 0 {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	jobs := make([]job, 0, len(pts)+len(rt.queue))
	for _, pt := range pts {
		jobs = append(jobs, job{pt: pt, tls: tls})
	}
	rt.queue = append(jobs, rt.queue...)
	rt.cond.Broadcast()
}

// retryable counts a retry of test pt after its connection was lost and
// reports whether it may have one.
func (rt *relayRunner) retryable(pt plannedTest) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped || rt.p.ctx.Err() != nil || rt.retries[pt.id] >= maxConnRetries {
		return false
	}
	rt.retries[pt.id]++
	return true
}

// batch is one transaction's worth of tests, all with one sender.
type batch struct {
	tests      []plannedTest
	sender     string
	substitute bool
	tls        bool
	// mailFirst: the server refused the last MAIL of this phase, so
	// this batch's MAIL goes first with only RSET behind it (see
	// exchange).
	mailFirst bool
}

// errFull means the session has no room left under the server's limits
// for the next test: it ends, and a fresh session goes on.
var errFull = errors.New("session full")

// take waits for work and returns the next batch that fits in session s
// (nil: a fresh session), or errFull when the next test needs a fresh
// session or there is nothing to do yet (a caller with a session must
// not wait holding it), or nil and no error when the phase is over.
func (rt *relayRunner) take(s *session) (*batch, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for {
		if err := rt.p.ctx.Err(); err != nil && !rt.stopped {
			rt.stopped = true
			if rt.res.Error == "" {
				rt.res.Error = describe("relay test", err)
			}
			rt.cond.Broadcast()
		}
		if rt.stopped {
			return nil, nil
		}
		if len(rt.queue) > 0 {
			break
		}
		if rt.busy == 0 {
			rt.cond.Broadcast()
			return nil, nil
		}
		if s != nil {
			// Nothing to do until a batch in flight comes back: never
			// hold a connection while waiting, it may be the one
			// another worker of the probe waits for.
			return nil, errFull
		}
		rt.cond.Wait()
	}
	head := rt.queue[0]
	if head.pt.unbuilt != "" {
		rt.queue = rt.queue[1:]
		rt.recs = append(rt.recs, observe.RelayTest{ID: head.pt.id, Form: head.pt.form, Sender: head.pt.sender, Recipient: head.pt.rcpt,
			Result: observe.RelayUntested, Why: head.pt.unbuilt})
		return &batch{}, nil
	}
	sender, substitute, ok := rt.senderFor(head.pt)
	if !ok {
		rt.queue = rt.queue[1:]
		rt.recs = append(rt.recs, observe.RelayTest{ID: head.pt.id, Form: head.pt.form, Sender: head.pt.sender, Recipient: head.pt.rcpt,
			Result: observe.RelayUntested, Why: "every sender was refused"})
		return &batch{}, nil
	}
	if s != nil && s.tls != head.tls {
		return nil, errFull
	}
	// Room in this session: worst case, MAIL and every RCPT refused, and
	// every risky form a syntax error.
	errRoom, synRoom := rt.p.limit(), maxSyntaxErrors
	fresh := s == nil || s.errors == 0 && s.syntax == 0
	if s != nil {
		errRoom -= s.errors
		synRoom -= s.syntax
	}
	if !rt.good[sender] {
		// MAIL may be refused too, and the pipelined RCPTs after it:
		// unless the server accepted this sender already.
		errRoom--
		if riskySender(sender) {
			synRoom--
		}
	}
	b := &batch{sender: sender, substitute: substitute, tls: head.tls, mailFirst: rt.mailRefused[phaseIndex(head.tls)]}
	var rest []job
	for i, j := range rt.queue {
		if len(b.tests) >= maxBatch || j.pt.unbuilt != "" || j.tls != head.tls {
			rest = append(rest, rt.queue[i:]...)
			break
		}
		if js, _, ok := rt.senderFor(j.pt); !ok || js != sender {
			rest = append(rest, j)
			continue
		}
		risk := 0
		if j.pt.risky {
			risk = 1
		}
		if (errRoom < 1 || synRoom < risk) && !(fresh && len(b.tests) == 0) {
			if len(b.tests) == 0 {
				return nil, errFull
			}
			rest = append(rest, rt.queue[i:]...)
			break
		}
		errRoom--
		synRoom -= risk
		b.tests = append(b.tests, j.pt)
	}
	rt.queue = rest
	rt.busy++
	return b, nil
}

// done returns a batch's claim on the queue.
func (rt *relayRunner) done() {
	rt.mu.Lock()
	rt.busy--
	rt.cond.Broadcast()
	rt.mu.Unlock()
}

// stop ends the run after an error that reconnecting would not cure
// (timeout, garbage, the probe's budget spent).
func (rt *relayRunner) stop(err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.stopped = true
	if rt.res.Error == "" {
		rt.res.Error = describe("relay test", err)
	}
	rt.cond.Broadcast()
}

// fail ends the run with a reason of its own ("reconnect: …").
func (rt *relayRunner) fail(why string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.stopped = true
	if rt.res.Error == "" {
		rt.res.Error = why
	}
	rt.cond.Broadcast()
}

// phase runs the tests of jobs over sessions, first over s (which may
// be nil), side by side up to rt.parallel sessions when the bounds have
// room; it returns the live session at the end, or nil.
func (rt *relayRunner) phase(s *session, jobs []job) *session {
	rt.p.relaying.Store(true)
	defer rt.p.relaying.Store(false)
	if s != nil {
		s.conn.Unkeep()
	}
	rt.mu.Lock()
	rt.queue = append(rt.queue, jobs...)
	rt.mu.Unlock()
	var wg sync.WaitGroup
	spawn := func() {
		rt.mu.Lock()
		if rt.workers >= rt.parallel || len(rt.queue) == 0 || rt.stopped {
			rt.mu.Unlock()
			return
		}
		rt.workers++
		rt.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss := rt.work(rt.p.takeSpare(), true, nil)
			if ss != nil {
				ss.quit()
			}
		}()
	}
	rt.mu.Lock()
	rt.workers++
	rt.mu.Unlock()
	s = rt.work(s, false, spawn)
	wg.Wait()
	rt.mu.Lock()
	left := rt.queue
	rt.queue = nil
	rt.mu.Unlock()
	why := "not run: " + rt.res.Error
	if rt.res.Error == "" {
		why = "not run: the probe's time budget was spent"
	}
	for _, j := range left {
		w := why
		if j.pt.unbuilt != "" {
			w = j.pt.unbuilt
		}
		rt.record(j.pt, nil, observe.RelayTest{Result: observe.RelayUntested, Why: w})
	}
	return s
}

// work is one worker of a phase: it takes batches and runs them over
// its session, opening a fresh session (a spare one, never waiting for
// it, when spare is set) when it has none or the server's limits leave
// no room. It returns its live session, or nil.
func (rt *relayRunner) work(s *session, spare bool, spawn func()) *session {
	defer func() {
		rt.mu.Lock()
		rt.workers--
		rt.cond.Broadcast()
		rt.mu.Unlock()
	}()
	for {
		if s != nil && s.dead != nil {
			s = closeSession(s)
		}
		b, err := rt.take(s)
		if errors.Is(err, errFull) {
			s.quit()
			s = nil
			b, err = rt.take(nil)
		}
		if b == nil || err != nil {
			return s
		}
		if len(b.tests) == 0 {
			continue // recorded by take
		}
		if s == nil {
			var retry bool
			s, retry = rt.session(b, spare)
			if s == nil {
				rt.again(b.tls, b.tests...)
				rt.done()
				if retry {
					continue
				}
				return nil
			}
			if spawn != nil {
				// More sessions side by side, if the bounds have room.
				for i := 1; i < rt.parallel; i++ {
					spawn()
				}
			}
		}
		s = rt.transaction(s, b)
		rt.done()
	}
}

// session opens a fresh session for batch b: a spare one (beside the
// probe's others, never waiting for the bounds), or the probe's own. A
// session the server refuses while the scanner has others open to it
// is the scanner's crowding, not the server's answer: the probe runs
// fewer sessions side by side from then on, and its own worker tries
// again later (retry is set). It returns nil when no session could be
// had.
func (rt *relayRunner) session(b *batch, spare bool) (s *session, retry bool) {
	p := rt.p
	if p.ctx.Err() != nil {
		rt.stop(p.ctx.Err())
		return nil, false
	}
	if !p.sessionLeft() {
		rt.fail(fmt.Sprintf("connection lost and the limit of %d sessions reached", p.opts.MaxSessions))
		return nil, false
	}
	s, err := p.open(b.tls, spare)
	if err == nil {
		return s, false
	}
	if errors.Is(err, wire.ErrNoSpare) {
		return nil, false
	}
	if crowded(err) {
		rt.mu.Lock()
		if rt.parallel > 1 {
			rt.parallel--
		}
		rt.mu.Unlock()
		if spare {
			p.tr.Note("the server refused a session beside the probe's others (%v): fewer side by side", err)
			return nil, false
		}
		if p.crowdRetry(err) {
			return nil, true
		}
	}
	if !spare {
		rt.fail("reconnect: " + err.Error())
	}
	return nil, false
}

// transaction runs batch b over s: one MAIL, each test's RCPT, whose
// reply is judged on its own, then RSET — pipelined when the server
// offers PIPELINING. A relay decision is made per recipient, so this is
// the same test with fewer round trips. It returns the session to go on
// with, or nil.
func (rt *relayRunner) transaction(s *session, b *batch) *session {
	mailCommand := "MAIL FROM:<" + b.sender + ">"
	rcpts := make([]string, len(b.tests))
	for k, bt := range b.tests {
		rcpts[k] = "RCPT TO:<" + bt.rcpt + ">"
	}
	head := b.tests[0]
	ex := rt.exchange(s, b.mailFirst, mailCommand, rcpts)
	mr, err := ex.mail(mailCommand)
	if err == nil {
		rt.mu.Lock()
		rt.mailRefused[phaseIndex(b.tls)] = mr.Class() == 4 || mr.Class() == 5
		rt.mu.Unlock()
	}
	base := observe.RelayTest{Sender: b.sender, Substitute: b.substitute, MailCommand: mailCommand, MailReply: mr, Pipelined: ex.pipelined}
	if err != nil && !errors.Is(err, errClosing) {
		if errors.Is(err, errTarpit) {
			rt.again(b.tls, b.tests...)
			return closeSession(s)
		}
		rt.noAnswer(head, s, base, "MAIL", err, b.tls, b.tests[1:])
		return closeSession(s)
	}
	// judged records an attempt with the result its own replies give.
	judged := func(bt plannedTest, t observe.RelayTest) observe.ReplyKind {
		if t.Recipient == "" {
			t.Recipient = bt.rcpt
		}
		t.Result, t.Kind, t.Why = t.Outcome(rt.res.Domain)
		rt.record(bt, s, t)
		return t.Kind
	}
	each := func() bool {
		temporary := true
		for _, bt := range b.tests {
			if judged(bt, base) != observe.ReplyTemporary {
				temporary = false
			}
		}
		return temporary
	}
	switch k := mr.Kind(); k {
	case observe.ReplyOK:
		rt.mu.Lock()
		rt.good[b.sender] = true
		rt.mu.Unlock()
		// go on to the recipients below
	case observe.ReplyAuth:
		// The transaction's recipients are refused; another transaction
		// is judged on its own replies.
		each()
		rt.mu.Lock()
		rt.res.AuthRequired = true
		rt.mu.Unlock()
		return ex.reset()
	case observe.ReplyNeedTLS:
		rt.mu.Lock()
		rt.res.StartTLSRequired = true
		rt.mu.Unlock()
		if !s.tls {
			judged(head, base)
			rt.requireTLS()
			return ex.reset()
		}
		each()
		return ex.reset()
	case observe.ReplyClosing:
		judged(head, base)
		if rt.retryable(head) {
			rt.again(b.tls, b.tests...)
		} else {
			rt.again(b.tls, b.tests[1:]...)
		}
		return closeSession(s)
	case observe.ReplyTemporary:
		if each() {
			rt.deferRest()
		}
		return ex.reset()
	case observe.ReplySequence, observe.ReplyUnparseable, observe.ReplyClient, observe.ReplyHelo:
		// Not about this sender: another sender would fare the same.
		// The batch stays untested, with the reply.
		each()
		return ex.reset()
	default:
		// Sender refused: its tests run again with another sender.
		rt.mu.Lock()
		rt.bad[b.sender] = true
		rt.mu.Unlock()
		judged(head, base)
		rt.again(b.tls, b.tests...)
		return ex.reset()
	}
	temporary := true
	for k, bt := range b.tests {
		t := base
		t.RcptCommand = rcpts[k]
		rr, err := ex.rcpt(k, rcpts[k])
		t.RcptReply = rr
		if err != nil && !errors.Is(err, errClosing) {
			if errors.Is(err, errTarpit) {
				rt.again(b.tls, b.tests[k:]...)
				return closeSession(s)
			}
			rt.noAnswer(bt, s, t, "RCPT", err, b.tls, b.tests[k+1:])
			return closeSession(s)
		}
		kind := rr.Kind()
		switch kind {
		case observe.ReplyAuth:
			rt.mu.Lock()
			rt.res.AuthRequired = true
			rt.mu.Unlock()
		case observe.ReplyNeedTLS:
			rt.mu.Lock()
			rt.res.StartTLSRequired = true
			rt.mu.Unlock()
			if !s.tls {
				judged(bt, t)
				rt.requireTLS()
				return ex.reset()
			}
		case observe.ReplyClosing:
			judged(bt, t)
			if rt.retryable(bt) {
				rt.again(b.tls, b.tests[k:]...)
			} else {
				rt.again(b.tls, b.tests[k+1:]...)
			}
			return closeSession(s)
		case observe.ReplySender:
			rt.mu.Lock()
			rt.bad[b.sender] = true
			rt.mu.Unlock()
			judged(bt, t)
			rt.again(b.tls, b.tests[k:]...) // again, with another sender
			return ex.reset()
		}
		if judged(bt, t) != observe.ReplyTemporary {
			temporary = false
		}
	}
	if temporary {
		rt.deferRest()
	}
	return ex.reset()
}

// noAnswer records test pt, whose step (MAIL or RCPT) got no usable
// answer (err), and puts it back with the tests after it when the
// connection was merely lost and it has retries left; otherwise the
// tests stop, unless the connection was merely lost (the others go on
// in a new session).
func (rt *relayRunner) noAnswer(pt plannedTest, s *session, t observe.RelayTest, step string, err error, tls bool, rest []plannedTest) {
	t.Result, t.Why = observe.RelayUntested, describe(step, err)
	rt.record(pt, s, t)
	lost := connLost(err) && rt.p.ctx.Err() == nil
	if lost && rt.retryable(pt) {
		rt.again(tls, append([]plannedTest{pt}, rest...)...)
		return
	}
	if !lost {
		rt.stop(err)
		return
	}
	rt.again(tls, rest...)
}

// requireTLS records that the server demands STARTTLS before MAIL: the
// tests not run yet are left for the run inside TLS, which runs every
// test again.
func (rt *relayRunner) requireTLS() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.needTLS = true
	var keep []job
	for _, j := range rt.queue {
		if j.tls {
			keep = append(keep, j)
		}
	}
	rt.queue = keep
	rt.cond.Broadcast()
}

// deferRest is called when a whole transaction was deferred with
// temporary replies: the tests not yet run in this phase wait for the
// retry in a new session.
func (rt *relayRunner) deferRest() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.deferring {
		rt.p.tr.Note("a whole transaction was deferred: the tests left wait for the retry in a new session")
	}
	rt.deferring = true
	for _, j := range rt.queue {
		rt.later = append(rt.later, j.pt)
	}
	rt.queue = nil
	rt.cond.Broadcast()
}

// exchange runs one transaction: MAIL, the recipients' RCPTs and RSET,
// pipelined when the session allows it, one command at a time otherwise.
type exchange struct {
	rt        *relayRunner
	s         *session
	pipelined bool
	n         int // recipients
	replies   []*observe.SMTPReply
	err       error
}

// exchange sends a transaction's commands: MAIL, the RCPTs and RSET in
// one write when the server offers PIPELINING, one by one otherwise (as
// the exchange's replies are asked for).
//
// With mailFirst (the server refused the last MAIL) a pipelining
// server gets MAIL and RSET first: recipients pipelined behind a
// refused MAIL are refused too ("need MAIL command", 503 or 5.5.1), and
// each such reply counts against the session's error and syntax-error
// limits while it tells nothing (the tests are judged on MAIL's reply).
// A server that refuses MAIL for want of authentication would otherwise
// fill a session's limits after two or three transactions. When MAIL
// is accepted after all, the RSET has ended that transaction and the
// whole transaction is sent again as usual.
func (rt *relayRunner) exchange(s *session, mailFirst bool, mail string, rcpts []string) *exchange {
	ex := &exchange{rt: rt, s: s, pipelined: s.pipelining, n: len(rcpts)}
	if !ex.pipelined {
		return ex
	}
	if mailFirst {
		rs, err := s.pipeline(mail, "RSET")
		if err != nil || rs[0].Kind() != observe.ReplyOK {
			// MAIL's reply judges the tests; RSET's, if read, ends the
			// exchange (reset reads it at the end of the replies).
			ex.replies = make([]*observe.SMTPReply, 0, len(rcpts)+2)
			ex.err = err
			if len(rs) > 0 {
				ex.replies = append(ex.replies, rs[0])
			}
			if len(rs) > 1 {
				ex.replies = append(ex.replies, make([]*observe.SMTPReply, len(rcpts))...)
				ex.replies = append(ex.replies, rs[1])
			}
			return ex
		}
	}
	ex.replies, ex.err = s.pipeline(append(append([]string{mail}, rcpts...), "RSET")...)
	return ex
}

// phaseIndex indexes per-phase state: 0 for the tests in the clear, 1
// for those inside TLS.
func phaseIndex(tls bool) int {
	if tls {
		return 1
	}
	return 0
}

// reply returns the i-th pipelined reply, or the error that stopped the
// reading before it.
func (ex *exchange) reply(i int) (*observe.SMTPReply, error) {
	if i < len(ex.replies) {
		return ex.replies[i], nil
	}
	if ex.err == nil {
		ex.err = errors.New("pipelined reply missing")
	}
	return nil, ex.err
}

func (ex *exchange) mail(cmd string) (*observe.SMTPReply, error) {
	if ex.pipelined {
		return ex.reply(0)
	}
	return ex.s.ask(cmd)
}

// rcpt returns the reply to the k-th recipient.
func (ex *exchange) rcpt(k int, cmd string) (*observe.SMTPReply, error) {
	if ex.pipelined {
		return ex.reply(1 + k)
	}
	return ex.s.ask(cmd)
}

// reset ends the transaction; it returns the session to go on with, or
// nil when it was closed.
func (ex *exchange) reset() *session {
	if ex.s.dead != nil {
		return closeSession(ex.s)
	}
	if !ex.pipelined {
		return ex.rt.rset(ex.s)
	}
	r, err := ex.reply(1 + ex.n)
	if err != nil || ex.s.dead != nil || r.Class() != 2 {
		ex.s.quit()
		return nil
	}
	return ex.s
}

// rset resets the transaction between tests. A session whose RSET fails
// is closed; the next test reconnects.
func (rt *relayRunner) rset(s *session) *session {
	if s == nil || s.dead != nil {
		return closeSession(s)
	}
	r, err := s.cmd("RSET")
	if err != nil || r.Class() != 2 {
		s.quit()
		return nil
	}
	return s
}

func closeSession(s *session) *session {
	if s != nil {
		s.close()
	}
	return nil
}

// jobs returns the built tests of the plan (or of pts) as jobs.
func (rt *relayRunner) jobs(pts []plannedTest, tls bool) []job {
	out := make([]job, 0, len(pts))
	for _, pt := range pts {
		out = append(out, job{pt: pt, tls: tls})
	}
	return out
}

// retryDeferred runs once more, in new sessions, every test that no
// attempt decided and whose last attempt was deferred with a temporary
// reply, and the tests a deferred transaction left waiting. Postfix's
// postscreen answers every RCPT of a new client's first session with
// 450 4.3.2 Service currently unavailable once its deep protocol tests
// are on, and lets the client through when it comes back; a greylisting
// server or a rate limit defers again, and those tests stay untested.
// s is the session in progress: it is ended first, as postscreen
// expects. tls runs the new sessions inside TLS (the server demanded
// STARTTLS before MAIL). It returns the live session, or nil.
func (rt *relayRunner) retryDeferred(s *session, tls bool) *session {
	rt.mu.Lock()
	later := rt.later
	rt.later, rt.deferring = nil, false
	stopped := rt.stopped
	rt.mu.Unlock()
	if stopped || rt.p.ctx.Err() != nil {
		rt.notRun(later)
		return s
	}
	last := map[int]*observe.RelayTest{}
	decided := map[int]bool{}
	for i := range rt.recs {
		t := &rt.recs[i]
		last[t.ID] = t
		if t.Result != observe.RelayUntested {
			decided[t.ID] = true
		}
	}
	waiting := map[int]bool{}
	for _, pt := range later {
		waiting[pt.id] = true
	}
	var again []plannedTest
	for _, pt := range rt.plan {
		if pt.unbuilt != "" || decided[pt.id] {
			continue
		}
		if t := last[pt.id]; waiting[pt.id] || t != nil && t.Kind == observe.ReplyTemporary {
			again = append(again, pt)
		}
	}
	if len(again) == 0 {
		return s
	}
	if s != nil {
		s.quit()
	}
	// Sessions opened before the deferral are no new sessions to the
	// server (postscreen lets only a client that comes back through).
	rt.p.closeSpares()
	rt.p.tr.Note("reconnecting once for %d tests deferred with a temporary reply", len(again))
	s = rt.phase(nil, rt.jobs(again, tls))
	// A second deferral leaves the tests left untested.
	rt.mu.Lock()
	later = rt.later
	rt.later, rt.deferring = nil, false
	rt.mu.Unlock()
	rt.notRun(later)
	return s
}

// notInTLS records every test without an attempt inside TLS (or one
// answered that STARTTLS must come first) as untested: the server
// demanded STARTTLS before MAIL, and no TLS session could be had.
func (rt *relayRunner) notInTLS() {
	inTLS := map[int]bool{}
	rt.mu.Lock()
	for _, t := range rt.recs {
		if t.TLS || t.Kind == observe.ReplyNeedTLS {
			inTLS[t.ID] = true
		}
	}
	rt.mu.Unlock()
	for _, pt := range rt.plan {
		if !inTLS[pt.id] {
			rt.record(pt, nil, observe.RelayTest{Result: observe.RelayUntested, Why: "not run in the clear: server requires STARTTLS first"})
		}
	}
}

// notRun records tests that a deferral left waiting and no retry ran.
func (rt *relayRunner) notRun(pts []plannedTest) {
	for _, pt := range pts {
		rt.record(pt, nil, observe.RelayTest{Result: observe.RelayUntested, Kind: observe.ReplyTemporary,
			Why: "not run: an earlier transaction was deferred with a temporary reply, and so was the retry"})
	}
}

// finish counts the sessions and files the attempts, grouped by test
// in the order each test's attempts ran. Each attempt was judged on its
// own replies: an authentication-required answer refuses the tests it
// answered (the recipient, or every recipient of its transaction), and
// no others.
func (rt *relayRunner) finish() {
	sort.SliceStable(rt.recs, func(i, j int) bool { return rt.recs[i].ID < rt.recs[j].ID })
	rt.res.Tests = rt.recs
	rt.res.Sessions = rt.p.sessionCount()
}
