package mailauth

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
)

// TestPenaltyMatchesDovecot holds the model to the real server: Debian's
// Dovecot with its stock delays, whose password lookup is made to take
// 300 ms (a checkpassword script that sleeps, after the password file
// knows no such user), so that which login began before which failure
// was recorded does not depend on the machine's speed. From one client
// address, two logins 50 ms apart and a third 700 ms after the first:
// the two fail without a penalty and, with the same password, leave none
// for the third. From another address, one login and a second 700 ms
// later: the second waits for the penalty. Each login's wait, measured
// from its LOGIN to its answer, must be the model's within 1.5 s (the
// waits are 2 s and 6 s; Dovecot answers failures on a timer of its
// own).
func TestPenaltyMatchesDovecot(t *testing.T) {
	itest.Need(t, daemon.DovecotMissing())
	bin, err := os.MkdirTemp("", "kensa-checkpassword")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	script := filepath.Join(bin, "fail")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 0.3\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.StartDovecot(daemon.DovecotConfig{Dir: t.TempDir(), Addr: "127.0.6.1", Plaintext: true, NoTLS: true, Stock: true,
		Extra: "passdb {\n  driver = checkpassword\n  args = " + script + "\n}\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	itest.Ran(t, "Dovecot")
	target := netip.AddrPortFrom(d.Addr, d.IMAP).String()
	const lookup = 300 * time.Millisecond

	cases := []struct {
		name   string
		source string
		begins []time.Duration
	}{
		{"a pair, then one", "127.0.6.2", []time.Duration{0, 50 * time.Millisecond, 700 * time.Millisecond}},
		{"one, then one", "127.0.6.3", []time.Duration{0, 700 * time.Millisecond}},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := dovecotWaits(target, c.source, c.begins)
			if err != nil {
				t.Errorf("%s: %v\n%s", c.name, err, d.Log())
				return
			}
			model := NewDovecotPenalty()
			model.Lookup = lookup
			t0 := time.Now()
			for i, b := range c.begins {
				want := model.begin(t0.Add(b), netip.MustParseAddr(c.source), "nobody-kensa", "kp-calibration")
				t.Logf("%s: login %d (at +%v) waited %v on Dovecot, %v in the model", c.name, i+1, b, got[i].Round(time.Millisecond), want)
				if diff := got[i] - want; diff < -1500*time.Millisecond || diff > 1500*time.Millisecond {
					t.Errorf("%s: login %d waited %v on Dovecot, %v in the model", c.name, i+1, got[i].Round(time.Millisecond), want)
				}
			}
		}()
	}
	wg.Wait()
}

// dovecotWaits logs in from source to target's IMAP once per begin (its
// time after the first), each on a connection of its own opened before,
// and returns how long each waited for its answer.
func dovecotWaits(target, source string, begins []time.Duration) ([]time.Duration, error) {
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []conn
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	for range begins {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
		c, err := nd.Dial("tcp", target)
		if err != nil {
			return nil, err
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return nil, fmt.Errorf("greeting: %w", err)
		}
		conns = append(conns, conn{c, br})
	}
	waits := make([]time.Duration, len(begins))
	errs := make(chan error, len(begins))
	start := time.Now()
	for i, b := range begins {
		go func() {
			time.Sleep(time.Until(start.Add(b)))
			sent := time.Now()
			if _, err := fmt.Fprintf(conns[i].c, "a LOGIN nobody-kensa kp-calibration\r\n"); err != nil {
				errs <- err
				return
			}
			for {
				line, err := conns[i].br.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("login %d: %w", i+1, err)
					return
				}
				if strings.HasPrefix(line, "a ") {
					waits[i] = time.Since(sent)
					if !strings.HasPrefix(line, "a NO") {
						errs <- fmt.Errorf("login %d answered %q", i+1, strings.TrimSpace(line))
						return
					}
					errs <- nil
					return
				}
			}
		}()
	}
	for range begins {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return waits, nil
}
