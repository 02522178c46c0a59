package ssh_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

const sshdPath = "/usr/sbin/sshd"

// startOpenSSH runs the Debian OpenSSH server in the foreground on a
// loopback port with its own configuration and host keys.
func startOpenSSH(t *testing.T, extra string) wire.Target {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("OpenSSH server not installed (%s): %v", sshdPath, err)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	// sshd insists on its privilege-separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot create /run/sshd: %v", err)
	}
	dir := t.TempDir()
	var keys []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		k := filepath.Join(dir, "ssh_host_"+typ+"_key")
		args := []string{"-q", "-N", "", "-t", typ, "-f", k}
		if typ == "rsa" {
			args = append(args, "-b", "2048")
		}
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		keys = append(keys, "HostKey "+k)
	}
	port := freePort(t)
	cfg := filepath.Join(dir, "sshd_config")
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
%s
PidFile %s
UsePAM no
StrictModes no
PermitRootLogin no
LogLevel VERBOSE
%s
`, port, strings.Join(keys, "\n"), filepath.Join(dir, "sshd.pid"), extra)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	waitListening(t, addr.String(), cmd)
	return wire.Target{Service: "ssh", Addr: addr}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, addr string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if cmd.ProcessState != nil {
			t.Fatalf("sshd exited: %v", cmd.ProcessState)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sshd did not listen on %s", addr)
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
			for _, f := range obs.Findings {
				if f.Weak() {
					t.Errorf("stock OpenSSH graded weak: %s", f)
				}
			}
			if testing.Verbose() {
				t.Logf("%s\n%s", obs.Ident.Line, strings.Join(obs.Transcript, "\n"))
			}
		})
	}
}
