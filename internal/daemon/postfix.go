package daemon

import (
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

// Paths of Debian's Postfix.
const (
	PostfixBin    = "/usr/sbin/postfix"
	PostfixMaster = "/usr/lib/postfix/sbin/master"
)

// PostfixMissing says why Postfix cannot be started here, or nil.
func PostfixMissing() error {
	if err := needFiles("Postfix", "postfix", PostfixBin, PostfixMaster); err != nil {
		return err
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return missing("Postfix not installed (no postfix user)")
	}
	return needRoot("Postfix")
}

// PostfixService is one more smtpd service of master.cf, such as a
// submission port with its -o overrides.
type PostfixService struct {
	// Port is the port on the instance's address (0: a free one).
	Port int
	// Options are master.cf -o overrides ("smtpd_tls_security_level=encrypt").
	Options []string
}

// PostfixConfig configures one Postfix instance.
type PostfixConfig struct {
	// Dir holds the configuration, queue, data and log (it must exist).
	Dir string
	// Listen is the loopback address of every smtpd service; Port the
	// main smtp service's port (0: a free one).
	Listen string
	Port   int
	// MyNetworks are the trusted clients (Postfix relays for them).
	MyNetworks string
	// Main are extra main.cf lines, after the defaults (later lines win).
	Main []string
	// Services are more smtpd services on Listen (submission, smtps).
	Services []PostfixService
	// Stock keeps Postfix's stock error sleep (smtpd_error_sleep_time,
	// 1 s after smtpd_soft_error_limit errors); without it the sleep is 0.
	Stock bool
	// Postscreen puts postscreen in front of the main smtp service's
	// smtpd, as Debian's master.cf does when it is enabled (with
	// tlsproxy for its STARTTLS and dnsblog); its tests are set with
	// postscreen_* lines in Main. Its cache lives in the data directory.
	Postscreen bool
	// DovecotSASL is the path of a Dovecot auth socket (DovecotConfig.
	// AuthSocket): smtpd_sasl_type = dovecot with that smtpd_sasl_path.
	// SASL is switched on per service, -o smtpd_sasl_auth_enable=yes.
	DovecotSASL string
	// Resolver, if set, is the loopback address of the only name server
	// Postfix may ask (an NXDomain responder): Postfix then runs in a
	// private mount namespace whose /etc/resolv.conf names it, for
	// restrictions that look names up (reject_unknown_recipient_domain)
	// without a query leaving the machine. Without it Postfix is
	// configured to look nothing up.
	Resolver string
	// Delivery, if set, makes the instance deliver the mail of a few
	// test mailboxes (content.go); everything else is still discarded.
	Delivery *PostfixDelivery
}

// PostfixDelivery makes an instance deliver: a queue manager and an
// LMTP client hand the mail of Recipients, at the virtual mailbox
// domain Domain, to an LMTP server on loopback (Dovecot's).
type PostfixDelivery struct {
	Domain     string
	Recipients []string
	// LMTP is the LMTP server, as Postfix names it ("inet:127.0.7.9:24").
	LMTP string
}

// Programs that run Postfix with its own resolv.conf.
const (
	unshareBin = "/usr/bin/unshare"
	mountBin   = "/bin/mount"
)

// PrivateResolverMissing says why Postfix cannot be run with a private
// resolv.conf here (PostfixConfig.Resolver), or nil: it needs unshare,
// mount, root and the right to make a mount namespace (CAP_SYS_ADMIN,
// which containers often withhold).
func PrivateResolverMissing() error {
	if err := needFiles("a private resolver", "util-linux mount", unshareBin, mountBin); err != nil {
		return err
	}
	if err := needRoot("Postfix with a private resolver"); err != nil {
		return err
	}
	if out, err := exec.Command(unshareBin, "--mount", "--propagation", "private", "/bin/true").CombinedOutput(); err != nil {
		return missing("cannot make a mount namespace for a private resolv.conf (CAP_SYS_ADMIN?): %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Postfix is a running Postfix instance: master in the foreground with
// smtpd, cleanup, trivial-rewrite, anvil and tlsmgr, and no queue
// manager or delivery agent, so that nothing is ever delivered (every
// transport is discard: as well) — unless PostfixConfig.Delivery names
// test mailboxes, whose mail a queue manager hands to an LMTP server.
type Postfix struct {
	// Addr is the main smtp service; Services the extra ones, in order.
	Addr     netip.AddrPort
	Services []netip.AddrPort
	// Dir is the instance's directory; Conf its configuration directory.
	Dir, Conf string
	proc      *process
}

// StartPostfix starts an instance and waits until every service
// accepts connections.
func StartPostfix(cfg PostfixConfig) (*Postfix, error) {
	if err := PostfixMissing(); err != nil {
		return nil, err
	}
	base := cfg.Dir
	// The daemons run as the postfix user: the directories must be
	// traversable.
	if err := traversable(base); err != nil {
		return nil, err
	}
	conf := filepath.Join(base, "conf")
	queue := filepath.Join(base, "queue")
	data := filepath.Join(base, "data")
	for _, d := range []string{conf, queue, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	if err := os.Chown(data, uid, -1); err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(conf, "cert.pem"), filepath.Join(conf, "key.pem")
	if err := writeSelfSigned("mx.postfix-test.example", certFile, keyFile); err != nil {
		return nil, err
	}
	ports := []int{cfg.Port}
	for _, s := range cfg.Services {
		ports = append(ports, s.Port)
	}
	for i, p := range ports {
		if p == 0 {
			if ports[i], err = FreePort(cfg.Listen); err != nil {
				return nil, err
			}
		}
	}
	sleep := "smtpd_error_sleep_time = 0"
	if cfg.Stock {
		sleep = "# stock smtpd_error_sleep_time"
	}
	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + queue,
		"data_directory = " + data,
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = mx.postfix-test.example",
		"mydomain = postfix-test.example",
		"myorigin = $myhostname",
		"mydestination = $myhostname, localhost",
		// No wildcard: master.cf names the one address; inet_interfaces
		// only has to pass Postfix's own interface check.
		"inet_interfaces = 127.0.0.1",
		"proxy_interfaces = " + cfg.Listen,
		"inet_protocols = ipv4",
		"mynetworks = " + cfg.MyNetworks,
		"smtpd_peername_lookup = no",
		"disable_dns_lookups = yes",
		"smtp_dns_support_level = disabled",
		"lmtp_dns_support_level = disabled",
		"alias_maps =",
		"alias_database =",
		"local_recipient_maps = unix:passwd.byname",
		// Nothing is ever delivered anywhere: no queue manager runs,
		// and every transport discards (the error transport would make
		// smtpd refuse the recipient, hiding an open relay).
		"default_transport = discard:kensa test instance",
		"relay_transport = discard:kensa test instance",
		"local_transport = discard:kensa test instance",
		"relayhost =",
		"smtpd_tls_security_level = may",
		"smtpd_tls_cert_file = " + certFile,
		"smtpd_tls_key_file = " + keyFile,
		"maillog_file = " + filepath.Join(base, "maillog"),
		"maillog_file_prefixes = " + base,
		sleep,
		// No queue manager hands out flow tokens: do not wait for one.
		"in_flow_delay = 0",
		"biff = no",
	}
	if cfg.DovecotSASL != "" {
		main = append(main, "smtpd_sasl_type = dovecot", "smtpd_sasl_path = "+cfg.DovecotSASL)
	}
	if d := cfg.Delivery; d != nil {
		var rs []string
		for _, r := range d.Recipients {
			rs = append(rs, r+"=ok")
		}
		main = append(main, "virtual_mailbox_domains = "+d.Domain,
			"virtual_mailbox_maps = inline:{ "+strings.Join(rs, ", ")+" }",
			"virtual_transport = lmtp:"+d.LMTP,
			"lmtp_connection_cache_on_demand = no")
	}
	main = append(main, cfg.Main...)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(strings.Join(main, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	master := fmt.Sprintf("%s:%d inet n - n - - smtpd\n", cfg.Listen, ports[0])
	if cfg.Postscreen {
		master = fmt.Sprintf("%s:%d inet n - n - 1 postscreen\n", cfg.Listen, ports[0]) +
			"smtpd     pass  - - n - - smtpd\n" +
			"tlsproxy  unix  - - n - 0 tlsproxy\n" +
			"dnsblog   unix  - - n - 0 dnsblog\n"
	}
	for i, s := range cfg.Services {
		master += fmt.Sprintf("%s:%d inet n - n - - smtpd\n", cfg.Listen, ports[i+1])
		for _, o := range s.Options {
			master += "  -o " + o + "\n"
		}
	}
	master += `cleanup   unix  n - n - 0 cleanup
rewrite   unix  - - n - - trivial-rewrite
anvil     unix  - - n - 1 anvil
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
`
	if cfg.Delivery != nil {
		// The queue manager and what it needs to deliver, defer and
		// bounce; the transports other than lmtp discard.
		master += `qmgr      unix  n - n 300 1 qmgr
lmtp      unix  - - n - - lmtp
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
proxymap  unix  - - n - - proxymap
`
	}
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(master), 0o644); err != nil {
		return nil, err
	}
	p := &Postfix{Dir: base, Conf: conf}
	for i, port := range ports {
		ap := netip.AddrPortFrom(netip.MustParseAddr(cfg.Listen), uint16(port))
		if i == 0 {
			p.Addr = ap
		} else {
			p.Services = append(p.Services, ap)
		}
	}
	// "postfix check" creates the queue directories with their owners.
	if out, err := exec.Command(PostfixBin, "-c", conf, "check").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("postfix check: %v: %s%s", err, out, p.Log())
	}
	cmd := exec.Command(PostfixMaster, "-d", "-c", conf)
	if cfg.Resolver != "" {
		if a, err := netip.ParseAddr(cfg.Resolver); err != nil || !a.IsLoopback() {
			return nil, fmt.Errorf("postfix: resolver %q is not a loopback address", cfg.Resolver)
		}
		if err := PrivateResolverMissing(); err != nil {
			return nil, err
		}
		resolv := filepath.Join(conf, "resolv.conf")
		if err := os.WriteFile(resolv, []byte("nameserver "+cfg.Resolver+"\noptions attempts:1 timeout:1\n"), 0o644); err != nil {
			return nil, err
		}
		// The bind mount exists only in the new namespace (private
		// propagation) and ends with its last process; sh execs master,
		// which keeps the process id the instance is stopped by.
		cmd = exec.Command(unshareBin, "--mount", "--propagation", "private", "/bin/sh", "-c",
			`mount --bind "$0" /etc/resolv.conf && exec "$1" -d -c "$2"`, resolv, PostfixMaster, conf)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if p.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("starting Postfix master: %w", err)
	}
	if err := waitTCP(p.proc, 15*time.Second, append([]netip.AddrPort{p.Addr}, p.Services...)...); err != nil {
		p.Stop()
		return nil, fmt.Errorf("postfix: %w%s", err, p.Log())
	}
	return p, nil
}

// Stop ends the instance by its process id (master then stops its own
// children), and its process group if it does not go.
func (p *Postfix) Stop() { p.proc.stop(10 * time.Second) }

// Log returns the instance's mail log, prefixed with a heading, or "".
func (p *Postfix) Log() string {
	b, err := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	if err != nil {
		return ""
	}
	return "\nmaillog:\n" + string(b)
}
