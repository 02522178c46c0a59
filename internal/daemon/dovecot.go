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

// DovecotBin is Debian's Dovecot; DovecotLMTPBin its LMTP server
// (package dovecot-lmtpd).
const (
	DovecotBin     = "/usr/sbin/dovecot"
	DovecotLMTPBin = "/usr/lib/dovecot/lmtp"
)

// DovecotMissing says why Dovecot cannot be started here, or nil.
func DovecotMissing() error {
	if err := needFiles("Dovecot", "dovecot-imapd dovecot-pop3d", DovecotBin); err != nil {
		return err
	}
	// Its login processes switch users.
	return needRoot("Dovecot")
}

// DovecotConfig configures one Dovecot instance.
type DovecotConfig struct {
	// Dir holds the configuration, state, mail and log (it must exist).
	Dir string
	// Addr is the loopback address of its four listeners. It must not be
	// the probe's own source address: Dovecot treats a connection from
	// its own address as secure and allows plaintext there.
	Addr string
	// Plaintext sets disable_plaintext_auth = no.
	Plaintext bool
	// NoTLS sets ssl = no and leaves out the imaps and pop3s listeners
	// (Dovecot.IMAPS and POP3S are then 0): a server without any TLS.
	NoTLS bool
	// Mechanisms is auth_mechanisms; empty means "plain login".
	Mechanisms string
	// Stock keeps the stock failed-login delay (auth_failure_delay, 2 s);
	// without it the delay is 0.
	Stock bool
	// AuthSocket, if set, is the path of an auth-client socket that
	// Postfix's smtpd can use for SASL (smtpd_sasl_type = dovecot), open
	// to every user as the postfix user must reach it.
	AuthSocket string
	// Extra is appended to dovecot.conf.
	Extra string
	// Ports are the ports of imap, imaps, pop3 and pop3s; a zero port
	// is a free one.
	Ports [4]uint16
	// LMTP adds an LMTP listener on Addr (Dovecot.LMTP), delivering to
	// the user's maildir as the local part of the recipient names it.
	LMTP bool
}

// Dovecot is a running Dovecot instance serving imap, imaps, pop3 and
// pop3s (imap and pop3 only under DovecotConfig.NoTLS), with one real
// user (so the probes' fake user is really unknown).
type Dovecot struct {
	Addr netip.Addr
	// The ports of the services; IMAPS and POP3S are 0 without TLS,
	// LMTP 0 without DovecotConfig.LMTP.
	IMAP, IMAPS, POP3, POP3S, LMTP uint16
	// User and Password are the instance's one real user's.
	User, Password string
	// Dir is the instance's directory; LogPath its log file.
	Dir, LogPath string
	out          bytes.Buffer
	proc         *process
}

// StartDovecot starts an instance and waits until its services accept
// connections.
func StartDovecot(cfg DovecotConfig) (*Dovecot, error) {
	if err := DovecotMissing(); err != nil {
		return nil, err
	}
	if cfg.LMTP {
		if err := needFiles("Dovecot's LMTP server", "dovecot-lmtpd", DovecotLMTPBin); err != nil {
			return nil, err
		}
	}
	dir := cfg.Dir
	// Dovecot's unprivileged login processes must reach base_dir.
	if err := traversable(dir); err != nil {
		return nil, err
	}
	d := &Dovecot{Addr: netip.MustParseAddr(cfg.Addr), Dir: dir, LogPath: filepath.Join(dir, "dovecot.log")}
	ports, err := FreePorts(cfg.Addr, 5)
	if err != nil {
		return nil, err
	}
	for i, p := range cfg.Ports {
		if p != 0 {
			ports[i] = p
		}
	}
	d.IMAP, d.IMAPS, d.POP3, d.POP3S = ports[0], ports[1], ports[2], ports[3]
	if cfg.LMTP {
		d.LMTP = ports[4]
	}
	if cfg.NoTLS {
		d.IMAPS, d.POP3S = 0, 0
	}
	if err := writeSelfSigned("dovecot.kensa.test", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err != nil {
		return nil, err
	}
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	d.User, d.Password = "someone", fmt.Sprintf("s3cret-%d", time.Now().UnixNano())
	passwd := fmt.Sprintf("someone:{PLAIN}%s:65534:65534::%s/mail/someone::\n", d.Password, dir)
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		return nil, err
	}
	disable := "yes"
	if cfg.Plaintext {
		disable = "no"
	}
	ssl := fmt.Sprintf("ssl = yes\nssl_cert = <%[1]s/cert.pem\nssl_key = <%[1]s/key.pem", dir)
	imaps := fmt.Sprintf("inet_listener imaps {\n    port = %d\n    ssl = yes\n  }", d.IMAPS)
	pop3s := fmt.Sprintf("inet_listener pop3s {\n    port = %d\n    ssl = yes\n  }", d.POP3S)
	if cfg.NoTLS {
		ssl, imaps, pop3s = "ssl = no", "# no imaps", "# no pop3s"
	}
	mechs := cfg.Mechanisms
	if mechs == "" {
		mechs = "plain login"
	}
	delay := "auth_failure_delay = 0"
	if cfg.Stock {
		delay = "# stock auth_failure_delay"
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap pop3
listen = %[2]s
%[3]s
disable_plaintext_auth = %[4]s
auth_mechanisms = %[5]s
%[6]s
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
mail_location = maildir:%[1]s/mail/%%u
service imap-login {
  inet_listener imap {
    port = %[7]d
  }
  %[8]s
}
service pop3-login {
  inet_listener pop3 {
    port = %[9]d
  }
  %[10]s
}
%[11]s
`, dir, cfg.Addr, ssl, disable, mechs, delay, d.IMAP, imaps, d.POP3, pop3s, cfg.Extra)
	if cfg.LMTP {
		// The user delivers into its maildir as uid 65534.
		if err := os.Chown(filepath.Join(dir, "mail"), 65534, 65534); err != nil {
			return nil, err
		}
		conf = strings.Replace(conf, "protocols = imap pop3", "protocols = imap pop3 lmtp", 1)
		conf += fmt.Sprintf("auth_username_format = %%Ln\nservice lmtp {\n  inet_listener lmtp {\n    address = %s\n    port = %d\n  }\n}\n", cfg.Addr, d.LMTP)
	}
	if cfg.AuthSocket != "" {
		conf += fmt.Sprintf("service auth {\n  unix_listener %s {\n    mode = 0666\n  }\n}\n", cfg.AuthSocket)
	}
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(DovecotBin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &d.out, &d.out
	if d.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("start dovecot: %w", err)
	}
	var addrs []netip.AddrPort
	for _, p := range []uint16{d.IMAP, d.IMAPS, d.POP3, d.POP3S, d.LMTP} {
		if p != 0 {
			addrs = append(addrs, netip.AddrPortFrom(d.Addr, p))
		}
	}
	if err := waitTCP(d.proc, 20*time.Second, addrs...); err != nil {
		d.Stop()
		return nil, fmt.Errorf("dovecot: %w\n%s", err, d.Log())
	}
	return d, nil
}

// Stop ends the instance by its process id: SIGTERM lets the master
// stop its children; its process group is killed only if it does not.
func (d *Dovecot) Stop() { d.proc.stop(15 * time.Second) }

// Log returns what Dovecot wrote to its standard output and its log.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(d.LogPath)
	return d.out.String() + string(b)
}
