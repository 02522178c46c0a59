package mailauth

import (
	"net/netip"
	"sync"
	"time"
)

// Dovecot's stock delays of a failed login, measured on Debian's
// Dovecot 2.3: auth_failure_delay holds every failed login's answer 2 s,
// and the auth penalty makes a failure from an address that failed less
// than 4 s before wait out those 4 s first (the penalty does not grow
// when the same password is tried again, as a scanner with one password
// per scan does), so that the first failure is answered after about 2 s
// and each later one after about 6 s. A failure counts for the penalty
// once the auth process has looked the user up: logins that reach it
// within those few milliseconds are all first failures (four logins
// sent together to an idle Dovecot were all answered after 2.4 s; sent
// a few tens of milliseconds apart, after 2 s and then 6 s).
const (
	DovecotFailureDelay = 2 * time.Second
	DovecotPenaltyStep  = 4 * time.Second
	DovecotLookup       = 5 * time.Millisecond
)

// Penalty delays the answers to failed logins as a server with
// Dovecot's auth penalty does; one Penalty serves every mailbox-access
// service of a host, as Dovecot's one auth process does. A nil Penalty
// delays nothing.
type Penalty struct {
	// Delay holds every failed login's answer; Step is the extra wait of
	// a failure that comes less than Step after the last one from the
	// same address; a failure counts as the last one Lookup after it
	// came.
	Delay, Step, Lookup time.Duration

	mu sync.Mutex
	// last is the last failure per address that counts already;
	// pending the one that will count once looked up.
	last, pending map[netip.Addr]time.Time
	// waiting counts the failures being delayed now, per address;
	// overlapped counts the failures that began while another from the
	// same address was being delayed.
	waiting    map[netip.Addr]int
	overlapped int
}

// NewDovecotPenalty returns a Penalty with Dovecot's stock delays.
func NewDovecotPenalty() *Penalty {
	return &Penalty{Delay: DovecotFailureDelay, Step: DovecotPenaltyStep, Lookup: DovecotLookup}
}

// Fail waits as the server delays the answer to a failed login from
// addr, or until done is closed.
func (p *Penalty) Fail(addr netip.Addr, done <-chan struct{}) {
	if p == nil {
		return
	}
	now := time.Now()
	addr = addr.Unmap()
	p.mu.Lock()
	if p.last == nil {
		p.last, p.pending, p.waiting = map[netip.Addr]time.Time{}, map[netip.Addr]time.Time{}, map[netip.Addr]int{}
	}
	if rec, ok := p.pending[addr]; ok && !now.Before(rec) {
		p.last[addr] = rec
		delete(p.pending, addr)
	}
	wait := p.Delay
	if last, ok := p.last[addr]; ok && now.Before(last.Add(p.Step)) {
		wait += last.Add(p.Step).Sub(now)
	}
	if rec := now.Add(p.Lookup); rec.After(p.pending[addr]) {
		p.pending[addr] = rec
	}
	if p.waiting[addr] > 0 {
		p.overlapped++
	}
	p.waiting[addr]++
	p.mu.Unlock()
	t := time.NewTimer(wait)
	select {
	case <-t.C:
	case <-done:
		t.Stop()
	}
	p.mu.Lock()
	p.waiting[addr]--
	p.mu.Unlock()
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
