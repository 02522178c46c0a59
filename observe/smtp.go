package observe

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedSMTP is returned when a line is not an SMTP reply line.
var ErrMalformedSMTP = errors.New("malformed SMTP reply")

// SMTP is what the SMTP probe saw of one smtp, submission or
// smtps service. It decides nothing: the rules grade it.
type SMTP struct {
	Endpoint
	// ImplicitTLS is set for smtps, where TLS starts before the
	// greeting.
	ImplicitTLS bool `json:"implicit_tls"`
	// Greeting is the server's opening reply (220 ready, 421 or 554
	// refused).
	Greeting *SMTPReply `json:"greeting,omitempty"`
	// ServerName is S, the server's own name, and ServerNameFrom where it
	// was read: "greeting", "ehlo" or "inventory".
	ServerName     string `json:"server_name,omitempty"`
	ServerNameFrom string `json:"server_name_from,omitempty"`
	// Hello is the reply to the first EHLO (or HELO), before STARTTLS
	// (inside TLS on smtps).
	Hello *SMTPHello `json:"hello,omitempty"`
	// StartTLS is the STARTTLS step on smtp and submission; nil when
	// the server did not offer it or the probe did not get that far.
	StartTLS *SMTPStartTLS `json:"starttls,omitempty"`
	// TLS is the TLS session (implicit or after STARTTLS); its Error
	// is set when the handshake failed, which leaves the after-TLS
	// checks unknown.
	TLS *TLS `json:"tls,omitempty"`
	// HelloTLS is the reply to EHLO after STARTTLS.
	HelloTLS *SMTPHello `json:"hello_tls,omitempty"`
	// GreetingTime is the clock the greeting states, if it states one.
	GreetingTime *TimeSample `json:"greeting_time,omitempty"`
	// Relay is the open-relay test; nil when it was not run (skipped,
	// greeting refused, introduction failed).
	Relay *Relay `json:"relay,omitempty"`
}

// SMTPStartTLS records the STARTTLS step.
type SMTPStartTLS struct {
	// Reply is the server's answer to STARTTLS (220 to go ahead).
	Reply *SMTPReply `json:"reply,omitempty"`
	// OK is set when the handshake completed.
	OK bool `json:"ok"`
	// Error says why STARTTLS did not give a TLS session.
	Error string `json:"error,omitempty"`
}

// Banners returns the greeting and the EHLO (or HELO) replies.
func (o *SMTP) Banners() []Banner {
	var out []Banner
	add := func(kind string, r *SMTPReply) {
		if r == nil || len(r.Lines) == 0 {
			return
		}
		out = append(out, Banner{
			Service: o.Service, Address: o.Address, Port: o.Port,
			Kind: kind, Text: strings.Join(r.Lines, "\n"),
		})
	}
	add("greeting", o.Greeting)
	for _, h := range []*SMTPHello{o.Hello, o.HelloTLS} {
		if h == nil {
			continue
		}
		if h.EHLOReply != nil {
			add("ehlo", h.EHLOReply)
		}
		add(strings.ToLower(h.Command), h.Reply)
	}
	return out
}

// AuthBeforeTLS reports whether AUTH was offered outside TLS (in the
// first EHLO of a service without implicit TLS).
func (o *SMTP) AuthBeforeTLS() bool {
	return !o.ImplicitTLS && o.Hello != nil && !o.Hello.TLS && o.Hello.Auth
}

// SMTPHello is what the server answered to the client's introduction.
type SMTPHello struct {
	// Command is "EHLO", or "HELO" when EHLO was refused and the probe
	// fell back.
	Command string `json:"command"`
	// Reply is the reply to Command.
	Reply *SMTPReply `json:"reply,omitempty"`
	// EHLOReply is the refused EHLO reply when the probe fell back to
	// HELO.
	EHLOReply *SMTPReply `json:"ehlo_reply,omitempty"`
	// Extensions are the EHLO keyword lines (every line after the
	// first of a 250 EHLO reply), keyword upper-cased, parameters as
	// sent. Empty after HELO.
	Extensions []string `json:"extensions,omitempty"`
	// Auth is set when an AUTH keyword (or the old "AUTH=" form) was
	// among the extensions; AuthMechanisms lists its mechanisms.
	Auth           bool     `json:"auth"`
	AuthMechanisms []string `json:"auth_mechanisms,omitempty"`
	// StartTLS is set when the STARTTLS keyword was among the
	// extensions.
	StartTLS bool `json:"starttls"`
	// TLS is set when this introduction happened inside TLS (after
	// STARTTLS or on an implicit-TLS service).
	TLS bool `json:"tls"`
}

// OK reports whether the introduction was accepted (2xx).
func (h *SMTPHello) OK() bool { return h != nil && h.Reply != nil && h.Reply.Class() == 2 }

// SMTPReply is one SMTP reply exactly as the server sent it: every line, the
// reply code and the enhanced status code (RFC 3463) when the text
// starts with one.
type SMTPReply struct {
	// Code is the three-digit reply code of the last line; 0 when the
	// reply could not be parsed.
	Code int `json:"code"`
	// Enhanced is the enhanced status code ("5.7.1") of the last line's
	// text, if present and of the same class as Code.
	Enhanced string `json:"enhanced,omitempty"`
	// Lines are the lines of the reply as received, without CRLF.
	Lines []string `json:"lines"`
	// Malformed is set when a line did not have the form of an SMTP
	// reply line; Code is then 0 and Lines ends with the offending line.
	Malformed bool `json:"malformed,omitempty"`
}

// Class returns the first digit of the code (2, 3, 4, 5), or 0.
func (r *SMTPReply) Class() int {
	if r == nil {
		return 0
	}
	return r.Code / 100
}

// Text returns the text of every line after the code, joined by
// newlines, with the enhanced code of the last line left in place.
func (r *SMTPReply) Text() string {
	if r == nil {
		return ""
	}
	parts := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		if _, _, text, err := ParseSMTPReplyLine(l); err == nil {
			parts = append(parts, text)
		} else {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "\n")
}

// String returns the reply's lines joined by " / ".
func (r *SMTPReply) String() string {
	if r == nil {
		return "(no reply)"
	}
	return strings.Join(r.Lines, " / ")
}

// ParseSMTPReplyLine splits one reply line (without CRLF) into its code,
// separator ('-' for a continuation line, ' ' for the last line; a bare
// code counts as ' ') and text. It accepts what RFC 5321 section 4.2
// describes and nothing else: three digits, the first 2 to 5, then end
// of line, a space or a hyphen.
func ParseSMTPReplyLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", fmt.Errorf("%w: line %q too short", ErrMalformedSMTP, clip(line))
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, 0, "", fmt.Errorf("%w: line %q does not start with a reply code", ErrMalformedSMTP, clip(line))
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 200 || code > 599 {
		return 0, 0, "", fmt.Errorf("%w: reply code %d out of range", ErrMalformedSMTP, code)
	}
	if len(line) == 3 {
		return code, ' ', "", nil
	}
	switch line[3] {
	case ' ', '-':
		return code, line[3], line[4:], nil
	}
	return 0, 0, "", fmt.Errorf("%w: line %q has no separator after its code", ErrMalformedSMTP, clip(line))
}

// ParseEnhancedCode returns the enhanced status code ("5.7.1") at the start
// of text, or "" when there is none. class, if not 0, must match the
// code's first digit (a reply 550 with text "4.7.1 …" has none).
func ParseEnhancedCode(text string, class int) string {
	text = strings.TrimLeft(text, " ")
	end := strings.IndexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	tok := text[:end]
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	if len(parts[0]) != 1 || parts[0][0] < '2' || parts[0][0] > '5' || parts[0][0] == '3' {
		return ""
	}
	if class != 0 && int(parts[0][0]-'0') != class {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return ""
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return ""
			}
		}
	}
	return tok
}

// ParseSMTPReply parses the lines of one complete reply. Every line but the
// last must be a continuation line with the same code; the last must be
// a final line. It returns the reply even on error, marked Malformed.
func ParseSMTPReply(lines []string) (*SMTPReply, error) {
	r := &SMTPReply{Lines: append([]string(nil), lines...)}
	if len(lines) == 0 {
		r.Malformed = true
		return r, fmt.Errorf("%w: empty reply", ErrMalformedSMTP)
	}
	first := 0
	for i, l := range lines {
		code, sep, text, err := ParseSMTPReplyLine(l)
		if err != nil {
			r.Malformed = true
			return r, err
		}
		if i == 0 {
			first = code
		} else if code != first {
			r.Malformed = true
			return r, fmt.Errorf("%w: code %d in a reply that began with %d", ErrMalformedSMTP, code, first)
		}
		last := i == len(lines)-1
		if last != (sep == ' ') {
			r.Malformed = true
			if last {
				return r, fmt.Errorf("%w: reply ends with a continuation line", ErrMalformedSMTP)
			}
			return r, fmt.Errorf("%w: final line before the end of the reply", ErrMalformedSMTP)
		}
		if last {
			r.Code = code
			r.Enhanced = ParseEnhancedCode(text, code/100)
		}
	}
	return r, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// RelayOutcome is how one relay test ended.
type RelayOutcome string

// Outcomes of a relay test.
const (
	// RelayAccepted: the server accepted the relay recipient (2xx to RCPT).
	RelayAccepted RelayOutcome = "accepted"
	// RelayRefused: the server refused to relay (5xx, authentication
	// required, a 4xx that says relaying is denied).
	RelayRefused RelayOutcome = "refused"
	// RelayUntested: the reply does not tell (temporary failure, a reply
	// about the sender, 503, no reply).
	RelayUntested RelayOutcome = "untested"
)

// ClassicRelayTests is the number of classic relay tests (IDs 1 to 16);
// tests with higher IDs are the local-sender tests.
const ClassicRelayTests = 16

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
	MailCommand string     `json:"mail_command,omitempty"`
	MailReply   *SMTPReply `json:"mail_reply,omitempty"`
	RcptCommand string     `json:"rcpt_command,omitempty"`
	RcptReply   *SMTPReply `json:"rcpt_reply,omitempty"`
	// Result is accepted, refused or untested; Why says why in one line;
	// Kind is the kind of the reply that decided it (empty when no reply
	// did). Outcome re-derives all three from the replies.
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
	ReplyOK          ReplyKind = "ok"           // 2xx
	ReplyAuth        ReplyKind = "auth"         // authentication required
	ReplyNeedTLS     ReplyKind = "need-tls"     // STARTTLS first
	ReplyClosing     ReplyKind = "closing"      // 421
	ReplySequence    ReplyKind = "sequence"     // 503
	ReplySender      ReplyKind = "sender"       // about the sender (X.1.7, X.1.8)
	ReplyHelo        ReplyKind = "helo"         // about the name the scanner gave in EHLO/HELO
	ReplyClient      ReplyKind = "client"       // the scanner's address refused (client restrictions, blocklist, no PTR)
	ReplyNoDomain    ReplyKind = "no-domain"    // the recipient's domain has no usable MX for the server (X.1.2, X.1.10)
	ReplyUnknownUser ReplyKind = "unknown-user" // no such recipient (X.1.1)
	ReplyDenied      ReplyKind = "denied"       // 5xx, or 4xx saying relaying is denied
	ReplyTemporary   ReplyKind = "temporary"    // other 4xx; rate limits and greylisting in any class
	ReplyUnparseable ReplyKind = "unparseable"  // no valid reply
)

// Kind classifies the reply to MAIL FROM or RCPT TO. It asks of every
// class "could this reply come from a server that would relay for
// someone?": only a reply that refuses relaying to any client, whatever
// the sender, the client's address, name or the recipient's domain, is
// ReplyDenied or ReplyAuth; every other refusal has a kind of its own,
// which the relay test does not count as a refusal.
func (r *SMTPReply) Kind() ReplyKind {
	if r == nil || r.Malformed || r.Code == 0 {
		return ReplyUnparseable
	}
	text := plainWords(r.Text())
	enh := r.Enhanced
	class := r.Class()
	switch {
	case class == 2:
		return ReplyOK
	case r.Code == 421:
		return ReplyClosing
	case class == 5 && (r.Code == 530 || strings.HasPrefix(enh, "5.7.")) && mentionsTLS(text):
		return ReplyNeedTLS
	}
	subj := ""
	if parts := strings.SplitN(enh, ".", 3); len(parts) == 3 {
		subj = parts[1] + "." + parts[2]
	}
	switch {
	case subj == "1.7" || subj == "1.8" || strings.Contains(text, "sender address rejected"):
		// About this sender (even "not logged in" for it): another
		// sender may fare differently.
		return ReplySender
	case strings.Contains(text, "helo command rejected") || strings.Contains(text, "ehlo command rejected"):
		// About the name in EHLO (Postfix's reject_unknown_helo_hostname):
		// with another name the server may relay.
		return ReplyHelo
	case clientRejected(text):
		// As with a 554 greeting, the server refuses the scanner's
		// address: what it does for other clients cannot be seen.
		return ReplyClient
	case deferral(text):
		// Rate limits, greylisting, "try again later" — whatever the
		// code, the server has not decided about this recipient.
		return ReplyTemporary
	case r.Code == 530 || ((enh == "5.7.0" || enh == "5.7.1") && mentionsAuth(text)):
		return ReplyAuth
	case r.Code == 503:
		return ReplySequence
	case subj == "1.2" || subj == "1.10" || noDomain(text):
		// The recipient's domain does not resolve, or has a null MX
		// (RFC 7505), for the server: relaying was never tried.
		return ReplyNoDomain
	case subj == "1.1" || unknownUser(text):
		return ReplyUnknownUser
	case class == 5:
		return ReplyDenied
	case class == 4:
		if relayDenied(text) {
			// Postfix's defer_unauth_destination: 454 4.7.1 Relay
			// access denied. A 4.7.1 code alone says nothing.
			return ReplyDenied
		}
		return ReplyTemporary
	}
	return ReplyUnparseable
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

// ClientAccessDenied reports whether the reply is the permanent refusal of an
// unauthenticated client by the server's client restrictions, as
// Postfix's "smtpd_client_restrictions = permit_sasl_authenticated,
// reject" answers it: "554 5.7.1 <unknown[192.0.2.9]>: Client host
// rejected: Access denied". A blocklist or a hostname check is not
// such a refusal, nor is any 4xx.
func (r *SMTPReply) ClientAccessDenied() bool {
	if r == nil || r.Class() != 5 || r.Kind() != ReplyClient {
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

// Outcome returns what the attempt's own replies say, the kind of the
// reply that decides it and why, in one line. The reply to MAIL decides
// when it is not 2xx (a pipelined RCPT after a refused MAIL counts for
// nothing); otherwise the reply to RCPT does. domain is the relay-test
// domain D: a recipient at D that the server says does not exist was
// checked with D's mail servers, and a server that checks so may relay
// for the users that do exist. An attempt without replies (not run,
// connection lost) keeps the result and reason it was recorded with.
//
// Outcome depends on nothing but the attempt, so verdicts re-derived from
// stored observations (kensa grade --regrade) judge as the probe did.
func (t *RelayTest) Outcome(domain string) (RelayOutcome, ReplyKind, string) {
	if t.MailReply != nil {
		if k := t.MailReply.Kind(); k != ReplyOK {
			return judgeMail(k, t.MailReply)
		}
	}
	if t.RcptReply == nil || t.RcptCommand == "" {
		return t.Result, t.Kind, t.Why
	}
	r := t.RcptReply
	k := r.Kind()
	switch k {
	case ReplyOK:
		return RelayAccepted, k, "relay recipient accepted: " + r.String()
	case ReplyAuth:
		return RelayRefused, k, "authentication required: " + r.String()
	case ReplyDenied:
		return RelayRefused, k, "relay refused: " + r.String()
	case ReplyUnknownUser:
		if strings.EqualFold(recipientDomain(t.Recipient), domain) {
			return RelayUntested, k, "the server checked whether the recipient exists at " + domain + " (it may relay for recipients that do): " + r.String()
		}
		return RelayRefused, k, "taken as a local address and refused: " + r.String()
	case ReplyNoDomain:
		return RelayUntested, k, "the server refuses the recipient's domain as unroutable, so relaying was not tried: " + r.String()
	case ReplyHelo:
		return RelayUntested, k, "the server refuses the scanner's EHLO name: " + r.String()
	case ReplyClient:
		return RelayUntested, k, "the server refuses the scanner's address (relay status for other clients cannot be seen): " + r.String()
	case ReplySender:
		return RelayUntested, k, "sender refused at RCPT: " + r.String()
	case ReplyNeedTLS:
		return RelayUntested, k, "server requires STARTTLS first: " + r.String()
	case ReplyClosing:
		return RelayUntested, k, "server closing the connection: " + r.String()
	case ReplySequence:
		return RelayUntested, k, "bad sequence: " + r.String()
	case ReplyTemporary:
		return RelayUntested, k, "temporary failure: " + r.String()
	}
	return RelayUntested, k, "unparseable reply: " + r.String()
}

// DecidingReply returns the reply that decides the attempt: the reply
// to MAIL when it was not 2xx, otherwise the reply to RCPT (nil when
// there is none).
func (t *RelayTest) DecidingReply() *SMTPReply {
	if t.MailReply != nil && t.MailReply.Kind() != ReplyOK {
		return t.MailReply
	}
	if t.RcptCommand == "" {
		return nil
	}
	return t.RcptReply
}

// judgeMail judges an attempt by its refused MAIL.
func judgeMail(k ReplyKind, r *SMTPReply) (RelayOutcome, ReplyKind, string) {
	switch k {
	case ReplyAuth:
		// The transaction needs authentication: none of its recipients
		// can be relayed by an unauthenticated client.
		return RelayRefused, k, "authentication required: " + r.String()
	case ReplyNeedTLS:
		return RelayUntested, k, "server requires STARTTLS first: " + r.String()
	case ReplyClosing:
		return RelayUntested, k, "server closing the connection: " + r.String()
	case ReplyClient:
		return RelayUntested, k, "the server refuses the scanner's address (relay status for other clients cannot be seen): " + r.String()
	case ReplyHelo:
		return RelayUntested, k, "the server refuses the scanner's EHLO name: " + r.String()
	case ReplyTemporary:
		return RelayUntested, k, "temporary failure at MAIL: " + r.String()
	case ReplySequence, ReplyUnparseable:
		return RelayUntested, k, fmt.Sprintf("MAIL answered %s: %s", k, r.String())
	}
	return RelayUntested, k, "sender refused: " + r.String()
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
