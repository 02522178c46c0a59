package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// session is one SMTP connection of the probe. It is a small client of
// its own rather than go-smtp's: the probe needs the greeting and every
// reply line exactly as sent, must put raw RCPT forms on the wire
// verbatim, bounds each line and each reply, and decides for itself
// what a reply means (go-smtp's client treats any 25x as success and
// hides the greeting).
type session struct {
	p    *prober
	n    int // 1 for the first connection of the probe
	conn *wire.Conn
	w    io.Writer
	rr   *replyReader
	tls  bool
	dead error // set once the connection is unusable
	// pipelining is set when the last EHLO advertised PIPELINING
	// (RFC 2920): the relay test then sends MAIL, RCPT and RSET in one
	// write and reads the three replies, a third of the round trips.
	pipelining bool
	start      time.Time
	// dialRTT is the time the TCP connection took to establish.
	dialRTT time.Duration

	// errors counts the replies of class 4 or 5 the session received,
	// syntax those that were syntax or protocol errors (500, 501, 503,
	// X.5.x): the server's limits are counted in them.
	errors, syntax int
	// sent is when the last command was written, last when the last
	// reply arrived; quickest is the quickest reply to a command so
	// far, by which a reply that comes a second late stands out.
	sent, last time.Time
	quickest   time.Duration
	// spare is set for a session opened beside the probe's others.
	spare bool
	// resumed is set when the session's TLS resumed an earlier one's.
	resumed bool
	closed  bool
}

// dial opens a session: TCP through the env's dialer (so the engine's
// per-host bounds hold), and the TLS handshake at once on an implicit-TLS
// service. It does not read the greeting.
func (p *prober) dial(n int, spare bool) (*session, error) {
	start := p.env.Clock()
	dial := p.env.Dial
	if spare {
		dial = p.env.DialSpare
	}
	c, err := dial(p.ctx, "tcp", p.t, p.tr)
	if err != nil {
		return nil, err
	}
	s := &session{p: p, n: n, conn: c, w: c, start: start, dialRTT: p.env.Clock().Sub(start), quickest: -1}
	s.rr = newReplyReader(c, p.lim.MaxLine, p.env.Clock)
	s.rr.src.await = c.Await
	return s, nil
}

// handshake runs a TLS client handshake over the session's connection
// and switches the session to it. It returns what the probe saw of the
// TLS session, or its failure. With resume set the session may resume
// one of the probe's earlier TLS sessions: only for sessions whose TLS
// details are not observed (a resumed session shows no certificate of
// its own). Every session's own may be resumed later: the observed one
// is a full handshake whose ticket the relay test's sessions use.
func (s *session) handshake(resume bool) (*observe.TLS, error) {
	p := s.p
	s.conn.StopTranscript()
	check := p.t.Host
	if check == "" {
		check = p.serverName
	}
	sessions := wire.KeepOnly(p.tlsSessions)
	if resume {
		sessions = p.tlsSessions
	}
	tc, info, err := wire.HandshakeTLS(p.ctx, s.conn, p.t.Host, check, p.env.Clock(), sessions)
	if err != nil {
		s.dead = err
		p.tr.Note("TLS handshake failed: %v", err)
		return info, err
	}
	s.resumed = tc.ConnectionState().DidResume
	resumed := ""
	if s.resumed {
		resumed = " (resumed)"
	}
	p.tr.Note("TLS established: %s %s%s", info.Version, info.Cipher, resumed)
	s.tls = true
	s.w = io.MultiWriter(tc, s.conn.Tap("C"))
	s.rr = newReplyReader(io.TeeReader(tc, s.conn.Tap("S")), p.lim.MaxLine, p.env.Clock)
	s.rr.src.await = s.conn.Await
	return info, nil
}

// read reads one reply within the reply time limit, waiting up to
// patience (0: the read timeout) for each line to begin. It counts the
// session's error replies, and ends the session with errTarpit when a
// reply after an error comes a second later than the session's
// quickest: the server has begun to make the client wait (Postfix past
// its soft error limit, Sendmail's bad-recipient throttle), and what is
// left of the test goes faster in a fresh session.
func (s *session) read(patience time.Duration) (*observe.SMTPReply, error) {
	if s.dead != nil {
		return nil, s.dead
	}
	r, err := s.rr.read(s.p.replyTimeout, patience)
	if err != nil {
		if cerr := s.p.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			// The probe's budget ended the read (its deadline, or the
			// connection closed when it ran out): say so, whichever
			// came first.
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		s.dead = err
		return r, err
	}
	now := s.p.env.Clock()
	if !s.sent.IsZero() {
		from := s.sent
		if s.last.After(from) {
			from = s.last
		}
		took := now.Sub(from)
		if s.errors > 0 && s.quickest >= 0 && took >= s.quickest+tarpitStep && s.p.tarpit(s) {
			s.dead = errTarpit
		}
		if s.quickest < 0 || took < s.quickest {
			s.quickest = took
		}
	}
	s.last = now
	if c := r.Class(); c == 4 || c == 5 {
		s.errors++
		if r.Code == 500 || r.Code == 501 || r.Code == 503 || strings.HasPrefix(r.Enhanced, "5.5.") || strings.HasPrefix(r.Enhanced, "4.5.") {
			s.syntax++
		}
	}
	return r, nil
}

// cmd sends one command line and reads its reply within the read
// timeout.
func (s *session) cmd(line string) (*observe.SMTPReply, error) { return s.send(line, 0) }

// ask sends a command whose reply a server may delay on purpose (EHLO,
// HELO, MAIL, RCPT) and waits for it as a patient client does.
func (s *session) ask(line string) (*observe.SMTPReply, error) {
	return s.send(line, s.p.wait(s.p.opts.CommandTimeout))
}

// send sends one command line and reads its reply.
func (s *session) send(line string, patience time.Duration) (*observe.SMTPReply, error) {
	if s.dead != nil {
		return nil, s.dead
	}
	if err := s.p.ctx.Err(); err != nil {
		s.dead = err
		return nil, err
	}
	s.sent = s.p.env.Clock()
	if _, err := io.WriteString(s.w, line+"\r\n"); err != nil {
		s.dead = err
		return nil, err
	}
	r, err := s.read(patience)
	if err == nil && r.Code == 421 {
		// The server is closing the channel (RFC 5321 section 3.8).
		s.dead = errClosing
	}
	return r, err
}

var errClosing = errors.New("server closing the connection (421)")

// pipeline sends several command lines (MAIL, RCPT, RSET) in one write
// and reads their replies in order (RFC 2920), as patiently as ask. It
// returns the replies read; on an error the replies after the failing
// one are missing.
func (s *session) pipeline(lines ...string) ([]*observe.SMTPReply, error) {
	if s.dead != nil {
		return nil, s.dead
	}
	if err := s.p.ctx.Err(); err != nil {
		s.dead = err
		return nil, err
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	s.sent = s.p.env.Clock()
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		s.dead = err
		return nil, err
	}
	var out []*observe.SMTPReply
	patience := s.p.wait(s.p.opts.CommandTimeout)
	for range lines {
		r, err := s.read(patience)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		if r.Code == 421 {
			s.dead = errClosing
			return out, errClosing
		}
		if s.dead != nil {
			// A tarpit began: the replies still due are given up.
			return out, s.dead
		}
	}
	return out, nil
}

// hello sends EHLO, and HELO when EHLO is refused with a permanent or
// temporary error (not when the connection fails).
func (s *session) hello() (*observe.SMTPHello, error) {
	name := s.p.opts.HeloName
	h := &observe.SMTPHello{Command: "EHLO", TLS: s.tls}
	r, err := s.ask("EHLO " + name)
	h.Reply = r
	if err != nil {
		return h, err
	}
	if r.Class() == 2 {
		h.Extensions, h.Auth, h.AuthMechanisms, h.StartTLS = ParseEHLO(r)
		s.pipelining = false
		for _, e := range h.Extensions {
			if e == "PIPELINING" {
				s.pipelining = true
			}
		}
		return h, nil
	}
	s.pipelining = false
	if r.Code == 421 {
		return h, errClosing
	}
	h.EHLOReply = r
	h.Command = "HELO"
	r, err = s.ask("HELO " + name)
	h.Reply = r
	if err == nil && r.Class() != 2 && r.Code != 421 {
		err = fmt.Errorf("server refused EHLO (%d) and HELO (%d)", h.EHLOReply.Code, r.Code)
	}
	return h, err
}

// startTLS sends STARTTLS and, on 220, runs the handshake. reply is
// the server's answer to STARTTLS. resume is handshake's.
func (s *session) startTLS(resume bool) (reply *observe.SMTPReply, info *observe.TLS, err error) {
	r, err := s.cmd("STARTTLS")
	if err != nil {
		return r, nil, err
	}
	if r.Code != 220 {
		return r, nil, fmt.Errorf("server answered %d to STARTTLS", r.Code)
	}
	if n := s.rr.buffered(); n > 0 {
		// Plaintext the server sent after its 220 would be taken as
		// coming from inside TLS: refuse it (the STARTTLS injection
		// flaw).
		s.dead = fmt.Errorf("server sent %d bytes after its 220 to STARTTLS", n)
		return r, wire.TLSFailure(s.dead), s.dead
	}
	info, err = s.handshake(resume)
	return r, info, err
}

// quit ends the session politely and closes it.
func (s *session) quit() {
	if s.dead == nil {
		_, _ = s.cmd("QUIT")
	}
	s.close()
}

func (s *session) close() {
	if s.dead == nil {
		s.dead = errProbeClosed
	}
	if !s.closed {
		s.closed = true
		s.p.mu.Lock()
		s.p.openNow--
		s.p.mu.Unlock()
	}
	s.conn.Close()
}

var errProbeClosed = errors.New("session closed by the probe")

// describe says what went wrong with the step, in the words of reasons.
func describe(step string, err error) string {
	switch {
	case errors.Is(err, ErrLineTooLong), errors.Is(err, ErrTooManyLines), errors.Is(err, ErrReplySlow):
		return step + ": " + err.Error()
	case errors.Is(err, observe.ErrMalformedSMTP):
		return step + ": " + strings.TrimPrefix(err.Error(), observe.ErrMalformedSMTP.Error()+": ")
	case errors.Is(err, errClosing):
		return step + ": server closing the connection (421)"
	case errors.Is(err, context.DeadlineExceeded):
		return step + ": timeout: probe time budget spent"
	}
	return wire.Describe(step, err)
}

// connLost reports whether err means the server went away (closed,
// reset, 421) rather than stalled or spoke garbage: the relay test then
// reconnects and goes on.
func connLost(err error) bool {
	if errors.Is(err, errClosing) {
		return true
	}
	switch wire.Classify(err) {
	case "closed", "reset":
		return !errors.Is(err, context.Canceled)
	}
	return false
}

var (
	errGreeting   = errors.New("greeting refused")
	errNoStartTLS = errors.New("server does not offer STARTTLS")
)

// stepError is a failure of one step of a session.
type stepError struct {
	step  string
	err   error
	reply *observe.SMTPReply
}

func (e *stepError) Error() string {
	if e.reply != nil && errors.Is(e.err, errGreeting) {
		return e.step + ": refused: " + e.reply.String()
	}
	return describe(e.step, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

func wrapStep(step string, err error) error { return &stepError{step: step, err: err} }
