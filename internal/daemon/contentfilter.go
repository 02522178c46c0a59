package daemon

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Debian's content filters: ClamAV's daemon and its milter, and
// SpamAssassin's daemon with its client and spamass-milter.
const (
	ClamdBin         = "/usr/sbin/clamd"
	ClamavMilterBin  = "/usr/sbin/clamav-milter"
	SigtoolBin       = "/usr/bin/sigtool"
	SpamdBin         = "/usr/sbin/spamd"
	SpamcBin         = "/usr/bin/spamc"
	SpamassMilterBin = "/usr/sbin/spamass-milter"
)

// ContentFiltersMissing says why ClamAV and SpamAssassin with their
// milters, and Dovecot's LMTP server for the test mailbox, cannot be
// started here, or nil.
func ContentFiltersMissing() error {
	if err := needFiles("ClamAV", "clamav clamav-daemon clamav-milter", ClamdBin, ClamavMilterBin, SigtoolBin); err != nil {
		return err
	}
	if err := needFiles("SpamAssassin", "spamd spamc spamass-milter", SpamdBin, SpamcBin, SpamassMilterBin); err != nil {
		return err
	}
	// The test mailbox is delivered to by Dovecot's LMTP server.
	if err := needFiles("Dovecot's LMTP server", "dovecot-lmtpd", DovecotLMTPBin); err != nil {
		return err
	}
	return needRoot("the content filters")
}

// Filter is a running content-filter daemon: clamd, clamav-milter, spamd
// or spamass-milter, listening on a unix socket of its own.
type Filter struct {
	// Name is the daemon's; Socket its unix socket (for a milter, what
	// Postfix's smtpd_milters names as unix:Socket).
	Name, Socket string
	// Dir holds its configuration and log.
	Dir  string
	log  string
	out  bytes.Buffer
	proc *process
}

// Stop ends the daemon by its process id.
func (f *Filter) Stop() {
	if f != nil {
		f.proc.stop(10 * time.Second)
	}
}

// Log returns what the daemon wrote to its output and its log file.
func (f *Filter) Log() string {
	b, _ := os.ReadFile(f.log)
	return fmt.Sprintf("\n%s output:\n%s%s", f.Name, f.out.String(), b)
}

// startFilter runs cmd in the foreground and waits until it listens on
// socket.
func startFilter(name, dir, socket, log string, cmd *exec.Cmd, wait time.Duration) (*Filter, error) {
	f := &Filter{Name: name, Socket: socket, Dir: dir, log: log}
	cmd.Stdout, cmd.Stderr = &f.out, &f.out
	var err error
	if f.proc, err = start(cmd); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("unix", socket, time.Second)
		if err == nil {
			c.Close()
			return f, nil
		}
		if perr, ok := f.proc.exited(); ok {
			return nil, fmt.Errorf("%s exited before listening on %s: %v%s", name, socket, perr, f.Log())
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("%s not listening on %s after %s: %v%s", name, socket, wait, err, f.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StartClamd starts clamd in dir with one signature database: the file
// dbName (a .hdb hash database, as sigtool --md5 writes it) holding
// signatures. It loads nothing else and downloads nothing (freshclam
// never runs), so it starts in a second or two.
func StartClamd(dir, dbName, signatures string) (*Filter, error) {
	if err := ContentFiltersMissing(); err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "db")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{db, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(db, dbName), []byte(signatures), 0o644); err != nil {
		return nil, err
	}
	sock, log := filepath.Join(dir, "clamd.sock"), filepath.Join(dir, "clamd.log")
	conf := fmt.Sprintf("LocalSocket %s\nLocalSocketMode 666\nDatabaseDirectory %s\nTemporaryDirectory %s\nForeground yes\nLogFile %s\nPidFile %s\nScanMail yes\nBytecode no\n",
		sock, db, tmp, log, filepath.Join(dir, "clamd.pid"))
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startFilter("clamd", dir, sock, log, exec.Command(ClamdBin, "--foreground", "--config-file="+confPath), time.Minute)
}

// HashSignature returns the line sigtool --md5 writes for the file at
// path (md5:size:name), run by sigtool itself.
func HashSignature(path string) (string, error) {
	out, err := exec.Command(SigtoolBin, "--md5", path).Output()
	if err != nil {
		return "", fmt.Errorf("sigtool --md5: %w", err)
	}
	return strings.TrimSpace(string(out)) + "\n", nil
}

// StartClamavMilter starts clamav-milter in dir, asking clamd at
// clamdSocket, doing onInfected with an infected message (Reject,
// Quarantine, Accept …) and refusing with rejectMsg ("" for the MTA's
// default text).
func StartClamavMilter(dir, clamdSocket, onInfected, rejectMsg string) (*Filter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock, log := filepath.Join(dir, "clamav-milter.sock"), filepath.Join(dir, "clamav-milter.log")
	conf := fmt.Sprintf("MilterSocket unix:%s\nMilterSocketMode 666\nClamdSocket unix:%s\nForeground yes\nOnInfected %s\nOnFail Defer\nAddHeader Replace\nLogFile %s\nLogInfected Full\nPidFile %s\n",
		sock, clamdSocket, onInfected, log, filepath.Join(dir, "clamav-milter.pid"))
	if rejectMsg != "" {
		conf += "RejectMsg " + rejectMsg + "\n"
	}
	confPath := filepath.Join(dir, "clamav-milter.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return startFilter("clamav-milter", dir, sock, log, exec.Command(ClamavMilterBin, "--config-file="+confPath), 30*time.Second)
}

// StartSpamd starts spamd in dir on a unix socket with SpamAssassin's
// shipped rules (GTUBE is built in), local tests only (-L: no DNS, no
// network), no user configuration.
func StartSpamd(dir string) (*Filter, error) {
	if err := ContentFiltersMissing(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Its children run as nobody: they need a home and a temporary
	// directory of their own.
	if err := traversable(dir); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "spamd.sock")
	cmd := exec.Command(SpamdBin, "-L", "-x", "--max-children=1", "--socketpath="+sock, "--socketmode=0666",
		"--pidfile="+filepath.Join(dir, "spamd.pid"), "-s", "stderr", "-u", "nobody", "--helper-home-dir="+tmp)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp)
	return startFilter("spamd", dir, sock, "", cmd, 2*time.Minute)
}

// StartSpamassMilter starts spamass-milter in dir, asking spamd at
// spamdSocket; rejectScore, if not empty, is its -r (reject messages
// scoring that much at the end of DATA); otherwise it tags.
func StartSpamassMilter(dir, spamdSocket, rejectScore string) (*Filter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "spamass.sock")
	args := []string{"-p", sock}
	if rejectScore != "" {
		args = append(args, "-r", rejectScore)
	}
	args = append(args, "--", "-U", spamdSocket)
	// Its socket must be open to Postfix's smtpd: umask 0, then exec,
	// which keeps the process id the daemon is stopped by.
	cmd := exec.Command("/bin/sh", append([]string{"-c", `umask 0; exec "$0" "$@"`, SpamassMilterBin}, args...)...)
	return startFilter("spamass-milter", dir, sock, "", cmd, 30*time.Second)
}
