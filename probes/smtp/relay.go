package smtp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// RelayOutcome is how one relay test ended.
type RelayOutcome string

// Outcomes of a relay test.
const (
	// Accepted: the server accepted the relay recipient (2xx to RCPT).
	Accepted RelayOutcome = "accepted"
	// Refused: the server refused to relay (5xx, authentication
	// required, a 4xx that says relaying is denied).
	Refused RelayOutcome = "refused"
	// Untested: the reply does not tell (temporary failure, a reply
	// about the sender, 503, no reply).
	Untested RelayOutcome = "untested"
)

// ClassicTests is the number of classic relay tests (IDs 1 to 16);
// tests with higher IDs are the local-sender tests.
const ClassicTests = 16

// Relay is the open-relay test of one service: the forms tried, with
// every attempt, its exact commands and replies.
type Relay struct {
	// Domain is D, ServerName S (empty when unknown), Literal [I], the
	// target's address literal.
	Domain     string `json:"domain"`
	ServerName string `json:"server_name,omitempty"`
	Literal    string `json:"literal"`
	// LocalDomains are the sender domains of the local-sender tests
	// (S's parent domain, the inventory's name and its parent).
	LocalDomains []string `json:"local_domains,omitempty"`
	// Planned is the number of distinct tests: IDs 1 to Planned. Every
	// one has at least one attempt in Tests.
	Planned int `json:"planned"`
	// Tests are the attempts in the order they ran. A test is attempted
	// again when its sender was refused (with another sender), when the
	// connection was lost (in a new session), and inside TLS when the
	// server demanded STARTTLS first.
	Tests []RelayTest `json:"tests"`
	// StartTLSRequired is set when the server demanded STARTTLS before
	// MAIL; AuthRequired when it answered that authentication is
	// required.
	StartTLSRequired bool `json:"starttls_required,omitempty"`
	AuthRequired     bool `json:"auth_required,omitempty"`
	// Sessions is how many connections the test used.
	Sessions int `json:"sessions"`
	// Error says why the test stopped before its plan was done.
	Error string `json:"error,omitempty"`
}

// RelayTest is one attempt of one relay test.
type RelayTest struct {
	// ID numbers the test: 1 to 16 the classic forms, then the
	// local-sender tests.
	ID int `json:"id"`
	// Form is the test in symbols: "antispam@[I] -> relaytest%D@S".
	Form string `json:"form"`
	// Sender and Recipient are the addresses sent between < and >.
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	// MailCommand and RcptCommand are the exact command lines sent;
	// RcptCommand is empty when MAIL was not accepted.
	MailCommand string `json:"mail_command,omitempty"`
	MailReply   *Reply `json:"mail_reply,omitempty"`
	RcptCommand string `json:"rcpt_command,omitempty"`
	RcptReply   *Reply `json:"rcpt_reply,omitempty"`
	// Result is accepted, refused or untested; Why says why in one line;
	// Kind is the kind of the reply that decided it (empty when no reply
	// did). Judge re-derives all three from the replies.
	Result RelayOutcome `json:"result"`
	Why    string       `json:"why"`
	Kind   ReplyKind    `json:"kind,omitempty"`
	// Session is the connection the attempt ran in (1 = first); TLS is
	// set when it ran inside TLS.
	Session int  `json:"session"`
	TLS     bool `json:"tls"`
	// Substitute is set when the planned sender had been refused and
	// another sender was used.
	Substitute bool `json:"substitute,omitempty"`
	// Pipelined is set when MAIL, RCPT and RSET went in one write
	// (PIPELINING): the RCPT was then sent even if MAIL was refused, and
	// its reply is kept but not counted.
	Pipelined bool `json:"pipelined,omitempty"`
}

// Evidence returns the attempt's commands and replies as transcript
// lines ("C: …", "S: …").
func (t *RelayTest) Evidence() []string {
	var out []string
	if t.MailCommand != "" {
		out = append(out, "C: "+t.MailCommand)
	}
	if t.MailReply != nil {
		for _, l := range t.MailReply.Lines {
			out = append(out, "S: "+l)
		}
	}
	if t.RcptCommand != "" {
		out = append(out, "C: "+t.RcptCommand)
	}
	if t.RcptReply != nil {
		for _, l := range t.RcptReply.Lines {
			out = append(out, "S: "+l)
		}
	}
	return out
}

// ReplyKind is what a reply to MAIL or RCPT says, for the relay test.
type ReplyKind string

// Reply kinds.
const (
	KindOK          ReplyKind = "ok"           // 2xx
	KindAuth        ReplyKind = "auth"         // authentication required
	KindNeedTLS     ReplyKind = "need-tls"     // STARTTLS first
	KindClosing     ReplyKind = "closing"      // 421
	KindSequence    ReplyKind = "sequence"     // 503
	KindSender      ReplyKind = "sender"       // about the sender (X.1.7, X.1.8)
	KindHelo        ReplyKind = "helo"         // about the name the scanner gave in EHLO/HELO
	KindClient      ReplyKind = "client"       // the scanner's address refused (client restrictions, blocklist, no PTR)
	KindNoDomain    ReplyKind = "no-domain"    // the recipient's domain has no usable MX for the server (X.1.2, X.1.10)
	KindUnknownUser ReplyKind = "unknown-user" // no such recipient (X.1.1)
	KindDenied      ReplyKind = "denied"       // 5xx, or 4xx saying relaying is denied
	KindTemporary   ReplyKind = "temporary"    // other 4xx; rate limits and greylisting in any class
	KindUnparseable ReplyKind = "unparseable"  // no valid reply
)

// Kind classifies a reply to MAIL FROM or RCPT TO. It asks of every
// class "could this reply come from a server that would relay for
// someone?": only a reply that refuses relaying to any client, whatever
// the sender, the client's address, name or the recipient's domain, is
// KindDenied or KindAuth; every other refusal has a kind of its own,
// which the relay test does not count as a refusal.
func Kind(r *Reply) ReplyKind {
	if r == nil || r.Malformed || r.Code == 0 {
		return KindUnparseable
	}
	text := plainWords(r.Text())
	enh := r.Enhanced
	class := r.Class()
	switch {
	case class == 2:
		return KindOK
	case r.Code == 421:
		return KindClosing
	case class == 5 && (r.Code == 530 || strings.HasPrefix(enh, "5.7.")) && mentionsTLS(text):
		return KindNeedTLS
	}
	subj := ""
	if parts := strings.SplitN(enh, ".", 3); len(parts) == 3 {
		subj = parts[1] + "." + parts[2]
	}
	switch {
	case subj == "1.7" || subj == "1.8" || strings.Contains(text, "sender address rejected"):
		// About this sender (even "not logged in" for it): another
		// sender may fare differently.
		return KindSender
	case strings.Contains(text, "helo command rejected") || strings.Contains(text, "ehlo command rejected"):
		// About the name in EHLO (Postfix's reject_unknown_helo_hostname):
		// with another name the server may relay.
		return KindHelo
	case clientRejected(text):
		// As with a 554 greeting, the server refuses the scanner's
		// address: what it does for other clients cannot be seen.
		return KindClient
	case deferral(text):
		// Rate limits, greylisting, "try again later" — whatever the
		// code, the server has not decided about this recipient.
		return KindTemporary
	case r.Code == 530 || ((enh == "5.7.0" || enh == "5.7.1") && mentionsAuth(text)):
		return KindAuth
	case r.Code == 503:
		return KindSequence
	case subj == "1.2" || subj == "1.10" || noDomain(text):
		// The recipient's domain does not resolve, or has a null MX
		// (RFC 7505), for the server: relaying was never tried.
		return KindNoDomain
	case subj == "1.1" || unknownUser(text):
		return KindUnknownUser
	case class == 5:
		return KindDenied
	case class == 4:
		if relayDenied(text) {
			// Postfix's defer_unauth_destination: 454 4.7.1 Relay
			// access denied. A 4.7.1 code alone says nothing.
			return KindDenied
		}
		return KindTemporary
	}
	return KindUnparseable
}

// plainWords returns the reply text lower-cased with every word that
// looks like an address or a domain left out, so that keywords are not
// found inside the echoed addresses (relaytest@kensa-relay-test.example
// says nothing about relaying).
func plainWords(text string) string {
	var b strings.Builder
	for _, w := range strings.Fields(strings.ToLower(text)) {
		core := strings.Trim(w, ".,;:()[]<>\"'")
		if strings.ContainsAny(core, "@.%!<>") || strings.ContainsAny(w, "<>") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(core)
	}
	return b.String()
}

// words splits plain words at spaces, hyphens and slashes.
func words(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '-' || r == '/' })
}

// mentionsRelay reports whether the words speak of relaying.
func mentionsRelay(text string) bool {
	for _, w := range words(text) {
		switch w {
		case "relay", "relaying", "relayed", "relays":
			return true
		}
	}
	return false
}

// relayDenied reports whether the words say that relaying is denied
// (Postfix "Relay access denied", Sendmail "Relaying denied", Exim
// "relay not permitted", Exchange "Unable to relay"), not merely that
// they speak of relaying.
func relayDenied(text string) bool {
	if !mentionsRelay(text) {
		return false
	}
	for _, w := range []string{"denied", "deny", "not permitted", "not allowed", "disallowed", "refused", "prohibited",
		"forbidden", "unable to relay", "cannot relay", "can't relay", "not relay", "no relay"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// clientRejected reports whether the text says the client itself is
// refused: by its address (Postfix's "Client host rejected", which
// Postfix reports at RCPT by default, smtpd_delay_reject), a DNS
// blocklist, or its missing or unverifiable hostname (PTR).
func clientRejected(text string) bool {
	for _, w := range []string{"client host rejected", "client address rejected", "blocked using", "blacklist", "blocklist",
		"dnsbl", "rbl", "spamhaus", "spamcop", "your ip", "client ip", "ip reputation", "poor reputation",
		"cannot find your hostname", "cannot find your reverse hostname", "ptr record", "reverse dns", "reverse lookup", "rdns"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// ClientAccessDenied reports whether r is the permanent refusal of an
// unauthenticated client by the server's client restrictions, as
// Postfix's "smtpd_client_restrictions = permit_sasl_authenticated,
// reject" answers it: "554 5.7.1 <unknown[192.0.2.9]>: Client host
// rejected: Access denied". A blocklist or a hostname check is not
// such a refusal, nor is any 4xx.
func ClientAccessDenied(r *Reply) bool {
	if r == nil || r.Class() != 5 || Kind(r) != KindClient {
		return false
	}
	text := plainWords(r.Text())
	if !strings.Contains(text, "client host rejected access denied") {
		return false
	}
	for _, w := range []string{"blocked using", "blacklist", "blocklist", "dnsbl", "spamhaus", "spamcop", "hostname", "ptr", "reverse", "rdns"} {
		if strings.Contains(text, w) {
			return false
		}
	}
	return true
}

func mentionsTLS(text string) bool {
	for _, w := range words(text) {
		switch w {
		case "starttls", "tls", "ssl", "encryption", "encrypted":
			return true
		}
	}
	return false
}

func mentionsAuth(text string) bool {
	for _, w := range []string{"authenticat", "auth required", "auth first", "log in", "login required", "not logged in"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// deferral reports whether the text defers the decision: greylisting, a
// rate limit, "try again later", a recipient limit. Such a reply says
// nothing about relaying even when it carries 4.7.1 (milter-greylist,
// rate limiters) or a 5xx code.
func deferral(text string) bool {
	for _, w := range []string{"greylist", "graylist", "grey-list", "gray-list", "try again", "come back later", "try later",
		"please retry", "retry later", "try in", "rate limit", "ratelimit", "rate-limit", "rate exceeded", "too many",
		"too fast", "slow down", "temporarily deferred"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// noDomain reports whether the text says the recipient's domain cannot
// be routed to: Postfix "Recipient address rejected: Domain not found",
// Exim "Unrouteable address", Sendmail "Host unknown", a null MX.
func noDomain(text string) bool {
	for _, w := range []string{"domain not found", "unrouteable address", "unroutable address", "unrouteable domain",
		"no such domain", "domain does not exist", "domain doesn't exist", "null mx", "host unknown", "host not found",
		"unknown domain", "domain unknown", "does not accept mail", "no mx"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// unknownUser reports whether the text says the recipient does not
// exist (or could not be verified with the next hop).
func unknownUser(text string) bool {
	for _, w := range []string{"user unknown", "unknown user", "no such user", "unknown recipient", "recipient unknown",
		"recipient not found", "mailbox not found", "undeliverable address", "unverified address"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// Judge returns what the attempt's own replies say, the kind of the
// reply that decides it and why, in one line. The reply to MAIL decides
// when it is not 2xx (a pipelined RCPT after a refused MAIL counts for
// nothing); otherwise the reply to RCPT does. domain is the relay-test
// domain D: a recipient at D that the server says does not exist was
// checked with D's mail servers, and a server that checks so may relay
// for the users that do exist. An attempt without replies (not run,
// connection lost) keeps the result and reason it was recorded with.
//
// Judge depends on nothing but the attempt, so verdicts re-derived from
// stored observations (kensa grade --regrade) judge as the probe did.
func (t *RelayTest) Judge(domain string) (RelayOutcome, ReplyKind, string) {
	if t.MailReply != nil {
		if k := Kind(t.MailReply); k != KindOK {
			return judgeMail(k, t.MailReply)
		}
	}
	if t.RcptReply == nil || t.RcptCommand == "" {
		return t.Result, t.Kind, t.Why
	}
	r := t.RcptReply
	k := Kind(r)
	switch k {
	case KindOK:
		return Accepted, k, "relay recipient accepted: " + r.String()
	case KindAuth:
		return Refused, k, "authentication required: " + r.String()
	case KindDenied:
		return Refused, k, "relay refused: " + r.String()
	case KindUnknownUser:
		if strings.EqualFold(recipientDomain(t.Recipient), domain) {
			return Untested, k, "the server checked whether the recipient exists at " + domain + " (it may relay for recipients that do): " + r.String()
		}
		return Refused, k, "taken as a local address and refused: " + r.String()
	case KindNoDomain:
		return Untested, k, "the server refuses the recipient's domain as unroutable, so relaying was not tried: " + r.String()
	case KindHelo:
		return Untested, k, "the server refuses the scanner's EHLO name: " + r.String()
	case KindClient:
		return Untested, k, "the server refuses the scanner's address (relay status for other clients cannot be seen): " + r.String()
	case KindSender:
		return Untested, k, "sender refused at RCPT: " + r.String()
	case KindNeedTLS:
		return Untested, k, "server requires STARTTLS first: " + r.String()
	case KindClosing:
		return Untested, k, "server closing the connection: " + r.String()
	case KindSequence:
		return Untested, k, "bad sequence: " + r.String()
	case KindTemporary:
		return Untested, k, "temporary failure: " + r.String()
	}
	return Untested, k, "unparseable reply: " + r.String()
}

// DecidingReply returns the reply that decides the attempt: the reply
// to MAIL when it was not 2xx, otherwise the reply to RCPT (nil when
// there is none).
func (t *RelayTest) DecidingReply() *Reply {
	if t.MailReply != nil && Kind(t.MailReply) != KindOK {
		return t.MailReply
	}
	if t.RcptCommand == "" {
		return nil
	}
	return t.RcptReply
}

// judgeMail judges an attempt by its refused MAIL.
func judgeMail(k ReplyKind, r *Reply) (RelayOutcome, ReplyKind, string) {
	switch k {
	case KindAuth:
		// The transaction needs authentication: none of its recipients
		// can be relayed by an unauthenticated client.
		return Refused, k, "authentication required: " + r.String()
	case KindNeedTLS:
		return Untested, k, "server requires STARTTLS first: " + r.String()
	case KindClosing:
		return Untested, k, "server closing the connection: " + r.String()
	case KindClient:
		return Untested, k, "the server refuses the scanner's address (relay status for other clients cannot be seen): " + r.String()
	case KindHelo:
		return Untested, k, "the server refuses the scanner's EHLO name: " + r.String()
	case KindTemporary:
		return Untested, k, "temporary failure at MAIL: " + r.String()
	case KindSequence, KindUnparseable:
		return Untested, k, fmt.Sprintf("MAIL answered %s: %s", k, r.String())
	}
	return Untested, k, "sender refused: " + r.String()
}

// recipientDomain returns the domain after the last @ of a recipient
// ("" when there is none).
func recipientDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.Trim(addr[i+1:], `"`)
}

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
var classicForms = [ClassicTests][2]string{
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
	res     *Relay
	plan    []plannedTest
	fill    *strings.Replacer
	bad     map[string]bool // senders refused
	needTLS bool
	stopped bool
}

func newRelayRunner(p *prober) *relayRunner {
	d := strings.ToLower(p.opts.RelayDomain)
	lit := Literal(p.t.Addr.Addr())
	res := &Relay{Domain: d, ServerName: p.serverName, Literal: lit}
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

func (rt *relayRunner) record(pt plannedTest, s *session, t RelayTest) {
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
func (rt *relayRunner) noAnswer(pt plannedTest, s *session, t RelayTest, step string, err error, retries map[int]int) (again bool) {
	t.Result, t.Why = Untested, describe(step, err)
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
			rt.record(pt, nil, RelayTest{Result: Untested, Why: pt.unbuilt})
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
				rt.record(pt, nil, RelayTest{Result: Untested, Why: "every sender was refused"})
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
		base := RelayTest{Sender: sender, Substitute: substitute, MailCommand: mailCommand, MailReply: mr, Pipelined: ex.pipelined}
		if err != nil && !errors.Is(err, errClosing) {
			if !rt.noAnswer(pt, s, base, "MAIL", err, retries) {
				idx++
			}
			continue
		}
		// judged records an attempt with the result its own replies give.
		judged := func(bt plannedTest, t RelayTest) {
			if t.Recipient == "" {
				t.Recipient = bt.rcpt
			}
			t.Result, t.Kind, t.Why = t.Judge(rt.res.Domain)
			rt.record(bt, s, t)
		}
		each := func() {
			for _, bt := range batch {
				judged(bt, base)
			}
		}
		switch k := Kind(mr); k {
		case KindOK:
			// go on to the recipients below
		case KindAuth:
			// The transaction's recipients are refused; another
			// transaction is judged on its own replies.
			each()
			rt.res.AuthRequired = true
			idx = end
			s = ex.reset()
			continue
		case KindNeedTLS:
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
		case KindClosing:
			judged(pt, base)
			if retries[pt.id] < maxConnRetries {
				retries[pt.id]++
			} else {
				idx++
			}
			continue
		case KindSequence, KindUnparseable, KindClient, KindHelo, KindTemporary:
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
			switch Kind(rr) {
			case KindAuth:
				rt.res.AuthRequired = true
			case KindNeedTLS:
				rt.res.StartTLSRequired = true
				if !s.tls {
					judged(bt, t)
					rt.needTLS = true
					rt.untestedFrom(idx+k+1, "not run in the clear: server requires STARTTLS first")
					return ex.reset()
				}
			case KindClosing:
				judged(bt, t)
				next = idx + k
				if retries[bt.id] < maxConnRetries {
					retries[bt.id]++
				} else {
					next++
				}
				break recipients
			case KindSender:
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
	replies   []*Reply
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
func (ex *exchange) reply(i int) (*Reply, error) {
	if i < len(ex.replies) {
		return ex.replies[i], nil
	}
	if ex.err == nil {
		ex.err = errors.New("pipelined reply missing")
	}
	return nil, ex.err
}

func (ex *exchange) mail(cmd string) (*Reply, error) {
	if ex.pipelined {
		return ex.reply(0)
	}
	return ex.s.ask(cmd)
}

// rcpt returns the reply to the k-th recipient.
func (ex *exchange) rcpt(k int, cmd string) (*Reply, error) {
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
		rt.record(pt, nil, RelayTest{Result: Untested, Why: w})
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
	last := map[int]*RelayTest{}
	decided := map[int]bool{}
	for i := range rt.res.Tests {
		t := &rt.res.Tests[i]
		last[t.ID] = t
		if t.Result != Untested {
			decided[t.ID] = true
		}
	}
	var again []plannedTest
	for _, pt := range rt.plan {
		if t := last[pt.id]; pt.unbuilt == "" && !decided[pt.id] && t != nil && t.Kind == KindTemporary {
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
