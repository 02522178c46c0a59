package ssh_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// startOpenSSH runs the Debian OpenSSH server (package daemon) on a
// loopback port with its own configuration and host keys, stopped when
// the test ends.
func startOpenSSH(t *testing.T, extra string) observe.Target {
	t.Helper()
	itest.Need(t, daemon.OpenSSHMissing())
	d, err := daemon.StartOpenSSH(t.TempDir(), "127.0.0.1", extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", d.Log())
		}
	})
	itest.Ran(t, "OpenSSH")
	return observe.Target{Service: "ssh", Addr: d.Addr}
}

func TestOpenSSH(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conf    string
		methods []string
	}{
		{"password-on", "PasswordAuthentication yes\nKbdInteractiveAuthentication no", []string{"publickey", "password"}},
		{"password-off", "PasswordAuthentication no\nKbdInteractiveAuthentication no", []string{"publickey"}},
		{"kbd-interactive", "PasswordAuthentication no\nKbdInteractiveAuthentication yes", []string{"publickey", "keyboard-interactive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startOpenSSH(t, tc.conf)
			env := wire.Env{Limits: wire.Limits{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			obs := ssh.Probe(ctx, env, tg, ssh.Options{})
			if obs.Error != "" {
				t.Fatalf("error %s\n%s", obs.Error, strings.Join(obs.Transcript, "\n"))
			}
			if !obs.AuthExamined || obs.NoneAccepted || !slices.Equal(obs.AuthMethods, tc.methods) {
				t.Fatalf("auth examined %v none %v methods %v, want %v", obs.AuthExamined, obs.NoneAccepted, obs.AuthMethods, tc.methods)
			}
			if !strings.HasPrefix(obs.Ident.Software, "OpenSSH_") || obs.SSH1 || !obs.SSH2 {
				t.Fatalf("ident %+v", obs.Ident)
			}
			if !obs.StrictKex {
				t.Error("Debian's OpenSSH offers strict kex")
			}
			types := map[string]int{}
			for _, hk := range obs.HostKeys {
				types[hk.Type] = hk.Bits
			}
			if types["ssh-rsa"] != 2048 || len(types) > 2 {
				t.Fatalf("host keys %+v", obs.HostKeys)
			}
			if testing.Verbose() {
				t.Logf("%s\n%s", obs.Ident.Line, strings.Join(obs.Transcript, "\n"))
			}
		})
	}
}
