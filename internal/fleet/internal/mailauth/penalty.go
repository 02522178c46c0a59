package mailauth

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Dovecot's stock delays of a failed login, read from Dovecot 2.3's auth
// process and measured on Debian's Dovecot 2.3.19.1 on loopback:
//
//   - auth_failure_delay holds every failed login's answer 2 s;
//   - the auth penalty of the client's address: a login that begins
//     while the address has penalty p > 0 waits 4 s, 8 s, then 15 s for
//     p = 1, 2, 3… before it is checked at all; the penalty is gone 15 s
//     after the last failure was recorded;
//   - a failure is recorded (the penalty raised to the login's own
//     penalty plus one) once the login was looked up, within about a
//     millisecond of its arrival;
//   - a failure with a user and password that already failed from the
//     address raises nothing: the penalty becomes the login's own (so a
//     failure that began with no penalty clears it).
//
// So four logins sent one after the other are answered after 2 s, 6 s,
// 6 s and 6 s; four sent together, within the millisecond, after 2 s
// each; and two sent together, then more with the same password, after
// 2 s each too (TestPenaltyMatchesDovecot holds the model to the real
// server). A login that reached the auth process 0.4 ms after the first
// was already penalised (Dovecot's auth log, microsecond timestamps).
const (
	DovecotFailureDelay = 2 * time.Second
	DovecotPenaltyStep  = 4 * time.Second
	DovecotPenaltyMax   = 15 * time.Second
	DovecotLookup       = 500 * time.Microsecond
)

// maxPenalty is Dovecot's highest penalty.
const maxPenalty = 4

// Penalty delays the answers to failed logins as a server with
// Dovecot's auth penalty does; one Penalty serves every mailbox-access
// service of a host, as Dovecot's one auth process does. A nil Penalty
// delays nothing.
type Penalty struct {
	// Delay holds every failed login's answer. Step is the wait of a
	// login that begins with penalty 1 (doubling with each further
	// step, up to Max; 0 means 15/4 of Step). A failure counts Lookup
	// after it began to be checked.
	Delay, Step, Max, Lookup time.Duration

	mu    sync.Mutex
	addrs map[netip.Addr]*penaltyRec
	// overlapped counts the failures that began while another from the
	// same address was being delayed; penalised those that waited for
	// a penalty.
	overlapped, penalised int
}

// penaltyRec is what the server keeps of one address.
type penaltyRec struct {
	penalty int
	last    time.Time
	// seen holds the credentials that failed already.
	seen map[string]bool
	// pending are the failures not recorded yet, in the order they
	// will be.
	pending []pendingFailure
	waiting int
}

type pendingFailure struct {
	at    time.Time
	value int
	cred  string
}

// NewDovecotPenalty returns a Penalty with Dovecot's stock delays.
func NewDovecotPenalty() *Penalty {
	return &Penalty{Delay: DovecotFailureDelay, Step: DovecotPenaltyStep, Max: DovecotPenaltyMax, Lookup: DovecotLookup}
}

// Fail waits as the server delays the answer to a failed login of user
// with password from addr, or until done is closed. A mechanism that
// sends no password (CRAM-MD5) passes "".
func (p *Penalty) Fail(addr netip.Addr, user, password string, done <-chan struct{}) {
	if p == nil {
		return
	}
	wait := p.begin(time.Now(), addr.Unmap(), user, password)
	t := time.NewTimer(wait)
	select {
	case <-t.C:
	case <-done:
		t.Stop()
	}
	p.mu.Lock()
	p.addrs[addr.Unmap()].waiting--
	p.mu.Unlock()
}

// begin books a failed login that begins at now and returns how long its
// answer waits.
func (p *Penalty) begin(now time.Time, addr netip.Addr, user, password string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addrs == nil {
		p.addrs = map[netip.Addr]*penaltyRec{}
	}
	r := p.addrs[addr]
	if r == nil {
		r = &penaltyRec{seen: map[string]bool{}}
		p.addrs[addr] = r
	}
	r.record(now)
	pen := p.effective(r, now)
	var hold time.Duration
	if pen > 0 {
		hold = p.step(pen)
		p.penalised++
	}
	cred := ""
	if password != "" {
		cred = user + "\x00" + password
	}
	r.pending = append(r.pending, pendingFailure{at: now.Add(hold + p.Lookup), value: min(pen+1, maxPenalty), cred: cred})
	if r.waiting > 0 {
		p.overlapped++
	}
	r.waiting++
	return hold + p.Delay
}

// step is the wait of a login that begins with penalty n.
func (p *Penalty) step(n int) time.Duration {
	limit := p.Max
	if limit <= 0 {
		limit = p.Step * 15 / 4
	}
	d := p.Step
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// record applies the failures recorded by now, in the order they were.
func (r *penaltyRec) record(now time.Time) {
	slices.SortStableFunc(r.pending, func(a, b pendingFailure) int { return a.at.Compare(b.at) })
	n := 0
	for _, f := range r.pending {
		if f.at.After(now) {
			break
		}
		n++
		if f.cred != "" && r.seen[f.cred] {
			r.penalty = f.value - 1
			continue
		}
		if f.cred != "" {
			r.seen[f.cred] = true
		}
		r.penalty, r.last = f.value, f.at
	}
	r.pending = r.pending[n:]
}

// effective is the penalty of r at now, as Dovecot's auth process
// reckons it: one step less for each of the steps' waits, from the
// highest down, that the time since the last failure is at least (so
// none before 15 s, all of them after).
func (p *Penalty) effective(r *penaltyRec, now time.Time) int {
	pen := r.penalty
	for drop := maxPenalty; pen > 0; drop-- {
		if now.Sub(r.last) < p.step(drop) {
			break
		}
		pen--
	}
	return pen
}

// Overlapped returns how many failed logins began while another from
// the same address was still being delayed: logins a client made side
// by side.
func (p *Penalty) Overlapped() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overlapped
}

// Penalised returns how many failed logins waited for the address's
// penalty before they were checked.
func (p *Penalty) Penalised() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.penalised
}
