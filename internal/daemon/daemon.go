// Package daemon starts real Debian daemons — Postfix, Dovecot, OpenSSH
// and chrony, and the content filters ClamAV (clamd, clamav-milter) and
// SpamAssassin (spamd, spamass-milter) — on loopback addresses and unix
// sockets, each with its configuration, state and logs in a directory of
// its own, for kensa's integration tests and benchmarks. The probes are
// only as good as the servers they were tried against; these are the
// servers kensa's users run.
//
// Every instance listens on the loopback address it is given (never a
// wildcard), is configured for local name lookups only, delivers
// nothing (except the test mailboxes of the content test: Postfix's
// Delivery into Dovecot's LMTP), downloads nothing (clamd loads only the
// signature database it is given; freshclam never runs), and is stopped
// by its own process id (Stop). The test
// integration delays that slow a scanner on purpose (Postfix's error
// sleep, Dovecot's failed-login delay) are switched off unless the
// configuration asks for the stock values.
//
// It is a package of its own, under internal/, because tests in several
// packages and the benchmarks share it, and nothing outside kensa should
// depend on it.
package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrMissing is wrapped by the errors of the Missing functions: the
// daemon is not installed, or this process may not start it.
var ErrMissing = errors.New("daemon not available")

func missing(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMissing, fmt.Sprintf(format, args...))
}

// needFiles returns a Missing error for the first path that does not
// exist.
func needFiles(what, pkg string, paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return missing("%s not installed (%s absent; apt-get install %s)", what, p, pkg)
		}
	}
	return nil
}

func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return missing("starting %s needs root", what)
	}
	return nil
}

// FreePort returns a TCP port free on addr at the time of the call.
func FreePort(addr string) (int, error) {
	ps, err := FreePorts(addr, 1)
	if err != nil {
		return 0, err
	}
	return int(ps[0]), nil
}

// FreePorts returns n distinct TCP ports free on addr at the time of the
// call.
func FreePorts(addr string, n int) ([]uint16, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []uint16
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, uint16(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}

// FreeUDPPort returns a UDP port free on addr at the time of the call.
func FreeUDPPort(addr string) (int, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

// traversable makes dir and its parent readable and searchable by the
// daemons' unprivileged users.
func traversable(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// process is a daemon running in the foreground.
type process struct {
	cmd  *exec.Cmd
	done chan error
}

// start runs cmd in its own process group (a master that signals its
// group when it stops must not reach the caller).
func start(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	default:
		return nil, false
	}
}

// stop sends SIGTERM to the process by its id, waits for it, and kills
// its process group if it does not end (or leaves children behind).
func (p *process) stop(grace time.Duration) {
	if p == nil || p.cmd.Process == nil {
		return
	}
	pid := p.cmd.Process.Pid
	if _, ok := p.exited(); !ok {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// waitTCP waits until every address accepts a connection, the process
// exits, or the deadline passes.
func waitTCP(p *process, timeout time.Duration, addrs ...netip.AddrPort) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a.String(), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if err, ok := p.exited(); ok {
				return fmt.Errorf("exited before listening on %s: %v", a, err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("not listening on %s after %s: %v", a, timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// writeSelfSigned writes a fresh self-signed ECDSA certificate for name
// to certPath and its key to keyPath.
func writeSelfSigned(name, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}
