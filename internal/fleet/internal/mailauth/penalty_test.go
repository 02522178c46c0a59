package mailauth

import (
	"net/netip"
	"testing"
	"time"
)

// TestPenaltyDovecot replays, on the model's own clock, what was
// measured on Debian's Dovecot 2.3 (see the constants): the waits are
// those of the real server, in seconds (2 s for a failure, 6 s for one
// that begins after a failure from the address was recorded).
func TestPenaltyDovecot(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.1")
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	const user, pw = "kensa-probe-nonexistent", "kp-1"
	cases := []struct {
		name string
		// logins: when each begins (ms), with which password
		begins []float64
		pws    []string
		want   []time.Duration
	}{
		{"one, then three 150 ms later", []float64{0, 150, 150, 150}, []string{pw, pw, pw, pw},
			[]time.Duration{2 * time.Second, 6 * time.Second, 6 * time.Second, 6 * time.Second}},
		{"four within the lookup", []float64{0, 0.1, 0.2, 0.3}, []string{pw, pw, pw, pw},
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"a pair, then two 150 ms later", []float64{0, 0.1, 150, 150}, []string{pw, pw, pw, pw},
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"a pair of different passwords, then one", []float64{0, 0.1, 150}, []string{pw, "kp-2", pw},
			[]time.Duration{2 * time.Second, 2 * time.Second, 6 * time.Second}},
		{"one 0.4 ms after the first", []float64{0, 0.6}, []string{pw, pw},
			[]time.Duration{2 * time.Second, 6 * time.Second}},
		{"one 16 s after a failure", []float64{0, 16000}, []string{pw, pw},
			[]time.Duration{2 * time.Second, 2 * time.Second}},
		{"CRAM-MD5 (no password) twice together, then one", []float64{0, 0.1, 150}, []string{"", "", ""},
			[]time.Duration{2 * time.Second, 2 * time.Second, 6 * time.Second}},
	}
	for _, c := range cases {
		p := NewDovecotPenalty()
		for i, b := range c.begins {
			if got := p.begin(at(b), addr, user, c.pws[i]); got != c.want[i] {
				t.Errorf("%s: login %d waits %v, want %v", c.name, i+1, got, c.want[i])
			}
		}
	}
}

// TestPenaltyPerAddress: another address's failures count for nothing.
func TestPenaltyPerAddress(t *testing.T) {
	p := NewDovecotPenalty()
	now := time.Now()
	p.begin(now, netip.MustParseAddr("127.0.0.1"), "u", "p")
	if got := p.begin(now.Add(time.Second), netip.MustParseAddr("127.0.0.2"), "u", "p"); got != DovecotFailureDelay {
		t.Errorf("another address waits %v, want %v", got, DovecotFailureDelay)
	}
	if p.Penalised() != 0 {
		t.Errorf("penalised %d, want 0", p.Penalised())
	}
}
