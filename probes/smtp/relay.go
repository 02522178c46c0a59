package smtp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
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

// relayRunner runs the plan over one or more sessions.
type relayRunner struct {
	p       *prober
	res     *observe.Relay
	plan    []plannedTest
	fill    *strings.Replacer
	bad     map[string]bool // senders refused
	needTLS bool
	stopped bool
}

func newRelayRunner(p *prober) *relayRunner {
	d := strings.ToLower(p.opts.RelayDomain)
	lit := Literal(p.t.Addr.Addr())
	res := &observe.Relay{Domain: d, ServerName: p.serverName, Literal: lit}
	rt := &relayRunner{p: p, res: res, bad: map[string]bool{}}
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
	pt := plannedTest{id: id, form: sender + " -> " + rcpt}
	if rt.p.serverName == "" && (strings.Contains(sender, "S") || strings.Contains(rcpt, "S")) {
		pt.unbuilt = "server name S unknown (not in greeting, EHLO reply or inventory)"
	}
	if sender != "<>" {
		pt.sender = rt.fill.Replace(sender)
	}
	pt.rcpt = rt.fill.Replace(rcpt)
	rt.plan = append(rt.plan, pt)
}

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
	rt.res.Tests = append(rt.res.Tests, t)
}

// maxConnRetries bounds how often one test is retried after the
// connection was lost during it.
const maxConnRetries = 2

// noAnswer records test t, whose step (MAIL or RCPT) got no usable
// answer (err), and says whether to run the same test again: when the
// connection was lost, the probe has time left and the test has retries
// left. Otherwise the tests stop, unless the connection was merely lost.
func (rt *relayRunner) noAnswer(pt plannedTest, s *session, t observe.RelayTest, step string, err error, retries map[int]int) (again bool) {
	t.Result, t.Why = observe.RelayUntested, describe(step, err)
	rt.record(pt, s, t)
	if connLost(err) && rt.p.ctx.Err() == nil && retries[pt.id] < maxConnRetries {
		retries[pt.id]++
		return true
	}
	if !connLost(err) || rt.p.ctx.Err() != nil {
		rt.stop(err)
	}
	return false
}

// maxBatch bounds the recipients tried in one transaction. Servers take
// far more (RFC 5321 asks at least 100; Postfix takes 1,000).
const maxBatch = 20

// run runs every planned test from the start over s (which may be nil
// or dead: the runner reconnects, withTLS deciding whether new sessions
// start TLS). It returns the live session at the end, or nil.
//
// Consecutive tests with the same sender share one transaction: one
// MAIL, then each test's RCPT, whose reply is judged on its own, then
// RSET. A relay decision is made per recipient, so this is the same
// test with fewer round trips; with PIPELINING the whole transaction
// goes in one write.
func (rt *relayRunner) run(s *session, withTLS bool) *session {
	p := rt.p
	rt.needTLS = false
	retries := map[int]int{}
	for idx := 0; idx < len(rt.plan); {
		pt := rt.plan[idx]
		if pt.unbuilt != "" {
			rt.record(pt, nil, observe.RelayTest{Result: observe.RelayUntested, Why: pt.unbuilt})
			idx++
			continue
		}
		if err := p.ctx.Err(); err != nil || rt.stopped {
			rt.untestedFrom(idx, rt.stopReason(err))
			return closeSession(s)
		}
		sender, substitute := pt.sender, false
		if rt.bad[sender] {
			sender, substitute = "", true
			found := false
			for _, f := range rt.fallbacks() {
				if !rt.bad[f] {
					sender, found = f, true
					break
				}
			}
			if !found {
				rt.record(pt, nil, observe.RelayTest{Result: observe.RelayUntested, Why: "every sender was refused"})
				idx++
				continue
			}
		}
		if s == nil || s.dead != nil {
			closeSession(s)
			s = nil
			if p.sessions >= p.opts.MaxSessions {
				rt.res.Error = fmt.Sprintf("connection lost and the limit of %d sessions reached", p.opts.MaxSessions)
				rt.untestedFrom(idx, "not run: "+rt.res.Error)
				return nil
			}
			ns, err := p.open(withTLS)
			if err != nil {
				rt.res.Error = "reconnect: " + err.Error()
				rt.untestedFrom(idx, "not run: "+rt.res.Error)
				return nil
			}
			s = ns
		}
		// The batch: this test and the next built ones with its sender.
		end := idx + 1
		for end < len(rt.plan) && end-idx < maxBatch && rt.plan[end].unbuilt == "" && rt.plan[end].sender == pt.sender {
			end++
		}
		batch := rt.plan[idx:end]
		mailCommand := "MAIL FROM:<" + sender + ">"
		rcpts := make([]string, len(batch))
		for k, bt := range batch {
			rcpts[k] = "RCPT TO:<" + bt.rcpt + ">"
		}
		ex := rt.exchange(s, mailCommand, rcpts)
		mr, err := ex.mail(mailCommand)
		base := observe.RelayTest{Sender: sender, Substitute: substitute, MailCommand: mailCommand, MailReply: mr, Pipelined: ex.pipelined}
		if err != nil && !errors.Is(err, errClosing) {
			if !rt.noAnswer(pt, s, base, "MAIL", err, retries) {
				idx++
			}
			continue
		}
		// judged records an attempt with the result its own replies give.
		judged := func(bt plannedTest, t observe.RelayTest) {
			if t.Recipient == "" {
				t.Recipient = bt.rcpt
			}
			t.Result, t.Kind, t.Why = t.Outcome(rt.res.Domain)
			rt.record(bt, s, t)
		}
		each := func() {
			for _, bt := range batch {
				judged(bt, base)
			}
		}
		switch k := mr.Kind(); k {
		case observe.ReplyOK:
			// go on to the recipients below
		case observe.ReplyAuth:
			// The transaction's recipients are refused; another
			// transaction is judged on its own replies.
			each()
			rt.res.AuthRequired = true
			idx = end
			s = ex.reset()
			continue
		case observe.ReplyNeedTLS:
			rt.res.StartTLSRequired = true
			if !s.tls {
				judged(pt, base)
				rt.needTLS = true
				rt.untestedFrom(idx+1, "not run in the clear: server requires STARTTLS first")
				return ex.reset()
			}
			each()
			idx = end
			s = ex.reset()
			continue
		case observe.ReplyClosing:
			judged(pt, base)
			if retries[pt.id] < maxConnRetries {
				retries[pt.id]++
			} else {
				idx++
			}
			continue
		case observe.ReplySequence, observe.ReplyUnparseable, observe.ReplyClient, observe.ReplyHelo, observe.ReplyTemporary:
			// Not about this sender: another sender would fare the
			// same. The batch stays untested, with the reply.
			each()
			idx = end
			s = ex.reset()
			continue
		default:
			// Sender refused: its tests run again with another sender.
			rt.bad[sender] = true
			judged(pt, base)
			s = ex.reset()
			continue
		}
		next := end
	recipients:
		for k, bt := range batch {
			t := base
			t.RcptCommand = rcpts[k]
			rr, err := ex.rcpt(k, rcpts[k])
			t.RcptReply = rr
			if err != nil && !errors.Is(err, errClosing) {
				next = idx + k
				if !rt.noAnswer(bt, s, t, "RCPT", err, retries) {
					next++
				}
				break
			}
			switch rr.Kind() {
			case observe.ReplyAuth:
				rt.res.AuthRequired = true
			case observe.ReplyNeedTLS:
				rt.res.StartTLSRequired = true
				if !s.tls {
					judged(bt, t)
					rt.needTLS = true
					rt.untestedFrom(idx+k+1, "not run in the clear: server requires STARTTLS first")
					return ex.reset()
				}
			case observe.ReplyClosing:
				judged(bt, t)
				next = idx + k
				if retries[bt.id] < maxConnRetries {
					retries[bt.id]++
				} else {
					next++
				}
				break recipients
			case observe.ReplySender:
				rt.bad[sender] = true
				judged(bt, t)
				next = idx + k // the rest again, with another sender
				break recipients
			}
			judged(bt, t)
		}
		idx = next
		s = ex.reset()
	}
	return s
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

func (rt *relayRunner) exchange(s *session, mail string, rcpts []string) *exchange {
	ex := &exchange{rt: rt, s: s, pipelined: s.pipelining, n: len(rcpts)}
	if ex.pipelined {
		ex.replies, ex.err = s.pipeline(append(append([]string{mail}, rcpts...), "RSET")...)
	}
	return ex
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

// stop ends the run after an error that reconnecting would not cure
// (timeout, garbage, the probe's budget spent).
func (rt *relayRunner) stop(err error) {
	rt.stopped = true
	if rt.res.Error == "" {
		rt.res.Error = describe("relay test", err)
	}
}

func (rt *relayRunner) stopReason(err error) string {
	if err != nil {
		rt.stop(err)
	}
	return "not run: " + rt.res.Error
}

// untestedFrom records every test from plan index idx on as untested.
func (rt *relayRunner) untestedFrom(idx int, why string) {
	for _, pt := range rt.plan[idx:] {
		w := why
		if pt.unbuilt != "" {
			w = pt.unbuilt
		}
		rt.record(pt, nil, observe.RelayTest{Result: observe.RelayUntested, Why: w})
	}
}

// retryDeferred runs once more, in a new session, every test that no
// attempt decided and whose last attempt was deferred with a temporary
// reply. Postfix's postscreen answers every RCPT of a new client's first
// session with 450 4.3.2 Service currently unavailable once its deep
// protocol tests are on, and lets the client through when it comes
// back; a greylisting server or a rate limit defers again, and those
// tests stay untested. s is the session in progress: it is ended first,
// as postscreen expects. withTLS starts the new session with STARTTLS
// (the server demanded it before MAIL). It returns the live session, or
// nil.
func (rt *relayRunner) retryDeferred(s *session, withTLS bool) *session {
	if rt.stopped || rt.p.ctx.Err() != nil {
		return s
	}
	last := map[int]*observe.RelayTest{}
	decided := map[int]bool{}
	for i := range rt.res.Tests {
		t := &rt.res.Tests[i]
		last[t.ID] = t
		if t.Result != observe.RelayUntested {
			decided[t.ID] = true
		}
	}
	var again []plannedTest
	for _, pt := range rt.plan {
		if t := last[pt.id]; pt.unbuilt == "" && !decided[pt.id] && t != nil && t.Kind == observe.ReplyTemporary {
			again = append(again, pt)
		}
	}
	if len(again) == 0 {
		return s
	}
	if s != nil {
		s.quit()
	}
	if rt.p.sessions >= rt.p.opts.MaxSessions {
		return nil
	}
	rt.p.tr.Note("reconnecting once for %d tests deferred with a temporary reply", len(again))
	plan := rt.plan
	rt.plan = again
	s = rt.run(nil, withTLS)
	rt.plan = plan
	return s
}

// finish counts the sessions. Each attempt was judged on its own
// replies: an authentication-required answer refuses the tests it
// answered (the recipient, or every recipient of its transaction), and
// no others.
func (rt *relayRunner) finish() {
	rt.res.Sessions = rt.p.sessions
}
