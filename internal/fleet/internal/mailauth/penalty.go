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
// and each later one, side by side or not, after about 6 s.
const (
	DovecotFailureDelay = 2 * time.Second
	DovecotPenaltyStep  = 4 * time.Second
)

// Penalty delays the answers to failed logins as a server with
// Dovecot's auth penalty does; one Penalty serves every mailbox-access
// service of a host, as Dovecot's one auth process does. A nil Penalty
// delays nothing.
type Penalty struct {
	// Delay holds every failed login's answer; Step is the extra wait of
	// a failure that comes less than Step after the last one from the
	// same address.
	Delay, Step time.Duration

	mu   sync.Mutex
	last map[netip.Addr]time.Time
	// waiting counts the failures being delayed now, per address;
	// overlapped counts the failures that began while another from the
	// same address was being delayed.
	waiting    map[netip.Addr]int
	overlapped int
}

// NewDovecotPenalty returns a Penalty with Dovecot's stock delays.
func NewDovecotPenalty() *Penalty {
	return &Penalty{Delay: DovecotFailureDelay, Step: DovecotPenaltyStep}
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
		p.last, p.waiting = map[netip.Addr]time.Time{}, map[netip.Addr]int{}
	}
	wait := p.Delay
	if last, ok := p.last[addr]; ok && now.Before(last.Add(p.Step)) {
		wait += last.Add(p.Step).Sub(now)
	}
	if now.After(p.last[addr]) {
		p.last[addr] = now
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
