package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SSHDPath is Debian's OpenSSH server.
const SSHDPath = "/usr/sbin/sshd"

// OpenSSHMissing says why OpenSSH cannot be started here, or nil.
func OpenSSHMissing() error {
	if err := needFiles("OpenSSH server", "openssh-server", SSHDPath); err != nil {
		return err
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		return missing("ssh-keygen not installed (apt-get install openssh-client)")
	}
	// sshd insists on its privilege-separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return missing("cannot create /run/sshd: %v", err)
	}
	return nil
}

// OpenSSH is a running sshd.
type OpenSSH struct {
	Addr netip.AddrPort
	logs bytes.Buffer
	proc *process
}

// StartOpenSSH runs sshd in the foreground on addr (a free port) with
// its own configuration and fresh Ed25519, ECDSA and RSA host keys in
// dir; extra is appended to sshd_config.
func StartOpenSSH(dir, addr, extra string) (*OpenSSH, error) {
	return StartOpenSSHOn(dir, addr, 0, extra)
}

// StartOpenSSHOn is StartOpenSSH on the given port (0: a free one).
func StartOpenSSHOn(dir, addr string, port int, extra string) (*OpenSSH, error) {
	if err := OpenSSHMissing(); err != nil {
		return nil, err
	}
	var keys []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		k := filepath.Join(dir, "ssh_host_"+typ+"_key")
		args := []string{"-q", "-N", "", "-t", typ, "-f", k}
		if typ == "rsa" {
			args = append(args, "-b", "2048")
		}
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
		keys = append(keys, "HostKey "+k)
	}
	var err error
	if port == 0 {
		if port, err = FreePort(addr); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "sshd_config")
	conf := fmt.Sprintf(`Port %d
ListenAddress %s
%s
PidFile %s
UsePAM no
StrictModes no
PermitRootLogin no
LogLevel VERBOSE
%s
`, port, addr, strings.Join(keys, "\n"), filepath.Join(dir, "sshd.pid"), extra)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s := &OpenSSH{Addr: netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(port))}
	cmd := exec.Command(SSHDPath, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	if s.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	if err := waitTCP(s.proc, 15*time.Second, s.Addr); err != nil {
		s.Stop()
		return nil, fmt.Errorf("sshd: %w\n%s", err, s.Log())
	}
	return s, nil
}

// Stop ends sshd by its process id.
func (s *OpenSSH) Stop() { s.proc.stop(5 * time.Second) }

// Log returns what sshd logged.
func (s *OpenSSH) Log() string { return s.logs.String() }
