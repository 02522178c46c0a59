package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestS1OpenSSH judges Debian's OpenSSH: public keys only passes S1,
// passwords fail it, and the stock algorithms are no weakness.
func TestS1OpenSSH(t *testing.T) {
	itest.Need(t, daemon.OpenSSHMissing())
	for _, tc := range []struct {
		name string
		conf string
		want scoring.Outcome
	}{
		{"public keys only", "PasswordAuthentication no\nKbdInteractiveAuthentication no", scoring.Pass},
		{"passwords", "PasswordAuthentication yes\nKbdInteractiveAuthentication no", scoring.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := daemon.StartOpenSSH(t.TempDir(), "127.0.0.1", tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			itest.Ran(t, "OpenSSH")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env := wire.Env{Limits: wire.Limits{ReadTimeout: 5 * time.Second}}
			obs := ssh.Probe(ctx, env, observe.Target{Service: "ssh", Addr: d.Addr}, ssh.Options{})
			for _, f := range rules.SSHFindings(obs) {
				if f.Weak() {
					t.Errorf("stock OpenSSH graded weak: %s", f)
				}
			}
			v := rules.S1AdminAuth([]*observe.SSH{obs}, nil, nil, rules.DefaultPolicy())
			if v.Outcome != tc.want {
				t.Fatalf("S1 %s, want %s: %s\n%s", v.Outcome, tc.want, v.Reason, d.Log())
			}
		})
	}
}
