package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ChronydPath is Debian's chrony daemon.
const ChronydPath = "/usr/sbin/chronyd"

// ChronyMissing says why chrony cannot be started here, or nil.
func ChronyMissing() error {
	return needFiles("chrony", "chrony", ChronydPath)
}

// Chrony is a running chronyd serving time on a loopback UDP port.
type Chrony struct {
	Addr netip.AddrPort
	logs bytes.Buffer
	proc *process
}

// StartChrony runs chronyd in the foreground serving time on addr (a
// free UDP port), never touching the machine's clock (-x), with no
// sources and its state in dir; extra is added to its configuration
// ("local stratum 8" makes it serve as synchronised). It does not wait
// for the first answer: callers probe until it answers.
func StartChrony(dir, addr, extra string) (*Chrony, error) {
	return StartChronyOn(dir, addr, 0, extra)
}

// StartChronyOn is StartChrony on the given UDP port (0: a free one).
func StartChronyOn(dir, addr string, port int, extra string) (*Chrony, error) {
	if err := ChronyMissing(); err != nil {
		return nil, err
	}
	var err error
	if port == 0 {
		if port, err = FreeUDPPort(addr); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "chrony.conf")
	text := fmt.Sprintf(`port %d
bindaddress %s
allow 127.0.0.0/8
pidfile %s
driftfile %s
cmdport 0
bindcmdaddress /
%s
`, port, addr, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"), extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	c := &Chrony{Addr: netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(port))}
	cmd := exec.Command(ChronydPath, "-d", "-x", "-u", "root", "-f", conf)
	cmd.Stdout, cmd.Stderr = &c.logs, &c.logs
	if c.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("start chronyd: %w", err)
	}
	return c, nil
}

// Exited reports whether chronyd has ended.
func (c *Chrony) Exited() bool {
	_, ok := c.proc.exited()
	return ok
}

// Stop ends chronyd by its process id.
func (c *Chrony) Stop() { c.proc.stop(5 * time.Second) }

// Log returns what chronyd logged.
func (c *Chrony) Log() string { return c.logs.String() }
