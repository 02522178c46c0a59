package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes/content"
	"github.com/kensa-inspect/kensa/scan"
)

// passwordEnv is the environment variable that holds the test mailbox's
// password for --content-test-imap (a password is never a flag value).
const passwordEnv = "KENSA_CONTENT_TEST_IMAP_PASSWORD"

// contentFlags are the opt-in content test's flags.
type contentFlags struct {
	rcpt, file, from string
	imap, imapUser   string
	imapPasswordFile string
	imapCA, imapTLS  string
	wait, settle     time.Duration
	budget           time.Duration
	// getenv reads the environment (nil: os.Getenv).
	getenv func(string) string
}

func (f *contentFlags) register(fs *flagSet) {
	fs.StringVar(&f.rcpt, "content-test-rcpt", "", "opt in to the content test (M3, X2) for every server with an smtp service: the test recipient, a mailbox the office owns on a domain the servers receive mail for (see README: Content test)")
	fs.StringVar(&f.file, "content-tests", "", "opt in to the content test per server or organisation: a YAML file naming each one's test recipient and test mailbox")
	fs.StringVar(&f.from, "content-test-from", "", "envelope sender of the content test's messages, one the office's SPF allows (default: the null sender <>)")
	fs.StringVar(&f.imap, "content-test-imap", "", "with --content-test-rcpt: the test mailbox's IMAP server, imaps://HOST[:PORT], searched afterwards (password from --content-test-imap-password-file or $"+passwordEnv+")")
	fs.StringVar(&f.imapUser, "content-test-imap-user", "", "user of the test mailbox")
	fs.StringVar(&f.imapPasswordFile, "content-test-imap-password-file", "", "file whose first line is the test mailbox's password")
	fs.StringVar(&f.imapCA, "content-test-imap-ca", "", "PEM file of the certificates to trust for the test mailbox's server (default: the system's)")
	fs.StringVar(&f.imapTLS, "content-test-imap-tls-name", "", "name the test mailbox server's certificate must show (default: the host of --content-test-imap)")
	fs.DurationVar(&f.wait, "content-test-wait", content.DefaultWait, "how long to look for the control message in the test mailbox")
	fs.DurationVar(&f.settle, "content-test-settle", content.DefaultSettle, "how long to go on looking for the test messages once the control message arrived")
	fs.DurationVar(&f.budget, "content-test-budget", scan.DefaultContentBudget, "budget of one server's content test (messages and mailbox check)")
}

// config returns the scan's content test, or nil when the operator did
// not opt in. Bad flags or a bad file are bad input.
func (f *contentFlags) config(inv *inventory.Inventory, scanID string) (*scan.ContentConfig, error) {
	getenv := f.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	mailboxFlags := f.imap != "" || f.imapUser != "" || f.imapPasswordFile != "" || f.imapCA != "" || f.imapTLS != ""
	switch {
	case f.rcpt == "" && f.file == "":
		if mailboxFlags || f.from != "" {
			return nil, badInput("--content-test-from and --content-test-imap… need --content-test-rcpt or --content-tests: nothing is sent without a test recipient")
		}
		return nil, nil
	case f.rcpt != "" && f.file != "":
		return nil, badInput("give --content-test-rcpt or --content-tests, not both")
	case f.file != "" && mailboxFlags:
		return nil, badInput("with --content-tests the test mailboxes are named in the file (imap, imap_user, imap_password_file …), not by flags")
	case f.wait <= 0 || f.settle <= 0 || f.budget <= 0:
		return nil, badInput("--content-test-wait, --content-test-settle and --content-test-budget must be positive")
	}
	if f.from != "" && !inventory.ValidAddress(f.from) {
		return nil, badInput("--content-test-from %q: not a mail address (local@domain)", f.from)
	}
	tests := &inventory.ContentTests{From: f.from}
	if f.file != "" {
		t, err := inventory.LoadContentTests(f.file, inv, getenv)
		if err != nil {
			var ce *inventory.ContentTestsError
			if errors.As(err, &ce) {
				return nil, wrapBadInput(err)
			}
			return nil, badInput("--content-tests: %v", err)
		}
		if t.From == "" {
			t.From = f.from
		}
		tests = t
	} else {
		if !inventory.ValidAddress(f.rcpt) {
			return nil, badInput("--content-test-rcpt %q: not a mail address (local@domain)", f.rcpt)
		}
		e := inventory.ContentTest{Rcpt: f.rcpt, IMAP: f.imap, IMAPUser: f.imapUser, IMAPCA: f.imapCA, IMAPTLSName: f.imapTLS}
		if f.imap != "" {
			if msg := inventory.CheckMailboxURL(f.imap); msg != "" {
				return nil, badInput("--content-test-imap: %s", msg)
			}
			if f.imapUser == "" {
				return nil, badInput("--content-test-imap needs --content-test-imap-user")
			}
			env := ""
			if f.imapPasswordFile == "" {
				env = passwordEnv
			}
			pw, msg := inventory.ReadPassword(f.imapPasswordFile, env, getenv)
			if msg != "" {
				return nil, badInput("--content-test-imap: %s", msg)
			}
			e.IMAPPassword = pw
		} else if mailboxFlags {
			return nil, badInput("the mailbox flags need --content-test-imap imaps://HOST[:PORT]")
		}
		seen := map[string]bool{}
		for _, s := range inv.Servers {
			if !seen[s.Org] {
				seen[s.Org] = true
				x := e
				x.Org = s.Org
				tests.Tests = append(tests.Tests, x)
			}
		}
	}
	if f.wait < content.DefaultInterval {
		return nil, badInput("--content-test-wait %s: at least %s", f.wait, content.DefaultInterval)
	}
	return &scan.ContentConfig{Tests: tests, ScanID: scanID, Budget: f.budget, Wait: f.wait, Settle: f.settle}, nil
}

// describe says on stderr what the content test will send, before the
// scan starts.
func describeContent(cc *scan.ContentConfig) string {
	if cc == nil {
		return ""
	}
	n := len(cc.Tests.Tests)
	return fmt.Sprintf("kensa: content test opted in for %d entr%s: at most 3 test messages (control, EICAR, GTUBE) per named server, to its test recipient only, header X-Kensa-Test: scan=%s",
		n, map[bool]string{true: "y", false: "ies"}[n == 1], cc.ScanID)
}

// writeContentTests writes a fleet's content-tests file into dir, with
// the test mailboxes' password file and certificate, and returns its
// path.
func writeContentTests(p *fleet.Plan, dir string) (string, error) {
	pwPath := filepath.Join(dir, "mailbox-password")
	if err := os.WriteFile(pwPath, []byte(fleet.MailboxPassword+"\n"), 0o600); err != nil {
		return "", err
	}
	caPath := filepath.Join(dir, "mailbox-ca.pem")
	if err := writeFile(caPath, p.WriteMailboxCA); err != nil {
		// No host of the plan has a test mailbox: no entry names the file.
		os.Remove(caPath)
	}
	path := filepath.Join(dir, "content-tests.yaml")
	err := writeFile(path, func(w io.Writer) error { return p.WriteContentTests(w, "mailbox-password", "mailbox-ca.pem") })
	return path, err
}
