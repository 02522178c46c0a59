package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EximBin is Exim's binary inside a root where Debian's exim4-daemon-light
// and exim4-base packages were unpacked (dpkg-deb -x). The package
// conflicts with postfix, so it is never installed: scripts/unpack-exim
// unpacks it into a private directory instead.
const EximBin = "usr/sbin/exim4"

// EximUser is the user Debian's Exim is built to run as.
const EximUser = "Debian-exim"

// EximMissing says why Exim cannot be started from root (a directory
// where Debian's packages were unpacked, as scripts/unpack-exim does),
// or nil.
func EximMissing(root string) error {
	if err := needFiles("Exim", "exim4-daemon-light (unpacked with dpkg-deb -x: scripts/unpack-exim)", filepath.Join(root, EximBin)); err != nil {
		return err
	}
	if _, err := user.Lookup(EximUser); err != nil {
		return missing("Exim's user %s does not exist (useradd --system %s)", EximUser, EximUser)
	}
	if out, err := exec.Command(filepath.Join(root, EximBin), "-C", "/dev/null", "-bV").CombinedOutput(); err != nil {
		return missing("%s -bV: %v: %s", filepath.Join(root, EximBin), err, firstLine(string(out)))
	}
	return needRoot("Exim")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// EximConfig configures one Exim instance: Debian's stock SMTP
// behaviour on one loopback address, delivering nothing.
type EximConfig struct {
	// Root is where Exim was unpacked; Dir holds the instance's
	// configuration, spool and log (it must exist).
	Root, Dir string
	// Listen is the loopback address; Port the SMTP port (0: a free one).
	Listen string
	Port   int
	// RelayFrom are the hosts Exim relays for (Debian's
	// dc_relay_nets); empty: none.
	RelayFrom string
	// Main are extra main-section lines (smtp_accept_max_per_host = 2).
	Main []string
}

// Exim is a running Exim daemon.
type Exim struct {
	Addr netip.AddrPort
	Dir  string
	out  bytes.Buffer
	proc *process
}

// StartExim starts an Exim daemon in the foreground with Debian's stock
// receiving ACL (restricted characters in local parts refused, mail for
// postmaster accepted, relaying only for RelayFrom, recipients verified)
// and Exim's stock limits (smtp_max_synprot_errors 3, no per-host
// limit unless Main sets one), no name lookups, and every accepted
// message thrown away (nothing is delivered: the relay test never sends
// DATA anyway).
func StartExim(cfg EximConfig) (*Exim, error) {
	if err := EximMissing(cfg.Root); err != nil {
		return nil, err
	}
	if err := traversable(cfg.Dir); err != nil {
		return nil, err
	}
	u, err := user.Lookup(EximUser)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	spool, logs := filepath.Join(cfg.Dir, "spool"), filepath.Join(cfg.Dir, "log")
	for _, d := range []string{spool, logs} {
		if err := os.Mkdir(d, 0o750); err != nil {
			return nil, err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, err
		}
	}
	port := cfg.Port
	if port == 0 {
		if port, err = FreePort(cfg.Listen); err != nil {
			return nil, err
		}
	}
	relay := cfg.RelayFrom
	conf := fmt.Sprintf(`exim_user = %[1]s
exim_group = %[1]s
primary_hostname = mx.exim-test.example
qualify_domain = exim-test.example
domainlist local_domains = @ : exim-test.example
domainlist relay_to_domains =
hostlist relay_from_hosts = %[2]s
local_interfaces = %[3]s
daemon_smtp_ports = %[4]d
spool_directory = %[5]s
log_file_path = %[6]s/%%slog
log_selector = +smtp_protocol_error +smtp_syntax_error +smtp_connection
host_lookup =
rfc1413_hosts =
keep_environment =
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt
%[7]s
begin acl
acl_check_mail:
  accept
acl_check_rcpt:
  accept hosts = :
  deny domains = +local_domains
    local_parts = ^[.] : ^.*[@%%!/|`+"`"+`#&?]
    message = restricted characters in address
  deny domains = !+local_domains
    local_parts = ^[./|] : ^.*[@%%!`+"`"+`#&?] : ^.*/\\.\\./
    message = restricted characters in address
  accept local_parts = postmaster
    domains = +local_domains
  accept hosts = +relay_from_hosts
    control = submission/sender_retain
  require message = relay not permitted
    domains = +local_domains : +relay_to_domains
  require verify = recipient
  accept
begin routers
localuser:
  driver = accept
  check_local_user
  transport = devnull
  domains = +local_domains
relayed:
  driver = accept
  transport = devnull
begin transports
devnull:
  driver = appendfile
  file = /dev/null
`, EximUser, relay, cfg.Listen, port, spool, logs, strings.Join(cfg.Main, "\n"))
	confPath := filepath.Join(cfg.Dir, "exim.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	e := &Exim{Addr: netip.AddrPortFrom(netip.MustParseAddr(cfg.Listen), uint16(port)), Dir: cfg.Dir}
	// -bdf: the daemon in the foreground; -odq: queue only, never
	// deliver; -q is not given, so no queue runner starts.
	cmd := exec.Command(filepath.Join(cfg.Root, EximBin), "-C", confPath, "-bdf", "-odq", "-oP", filepath.Join(cfg.Dir, "exim.pid"))
	cmd.Stdout, cmd.Stderr = &e.out, &e.out
	if e.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("start exim: %w", err)
	}
	if err := waitTCP(e.proc, 15*time.Second, e.Addr); err != nil {
		e.Stop()
		return nil, fmt.Errorf("exim: %w\n%s", err, e.Log())
	}
	return e, nil
}

// Stop ends the daemon by its process id.
func (e *Exim) Stop() { e.proc.stop(5 * time.Second) }

// Log returns what Exim wrote to its output, main log and reject log.
func (e *Exim) Log() string {
	out := e.out.String()
	for _, f := range []string{"mainlog", "rejectlog", "paniclog"} {
		if b, err := os.ReadFile(filepath.Join(e.Dir, "log", f)); err == nil {
			out += "\n" + f + ":\n" + string(b)
		}
	}
	return out
}
