package rules_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/content"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

const contentDomain = "content.kensa.test"

// contentPeers are the real daemons of the content test: clamd with a
// hash signature of the EICAR file only, spamd with SpamAssassin's
// shipped rules, and Dovecot delivering over LMTP into the test mailbox.
type contentPeers struct {
	clamd, spamd *daemon.Filter
	dovecot      *daemon.Dovecot
}

func startContentPeers(t *testing.T) *contentPeers {
	t.Helper()
	itest.Need(t, daemon.PostfixMissing())
	itest.Need(t, daemon.DovecotMissing())
	itest.Need(t, daemon.ContentFiltersMissing())
	dir := t.TempDir()
	// The signature database, as sigtool --md5 writes it: the test file
	// is written only for sigtool to read, and removed at once.
	f := filepath.Join(dir, content.AttachmentName)
	if err := os.WriteFile(f, content.EICAR(), 0o600); err != nil {
		t.Fatal(err)
	}
	sig, err := daemon.HashSignature(f)
	os.Remove(f)
	if err != nil {
		t.Fatal(err)
	}
	p := &contentPeers{}
	if p.clamd, err = daemon.StartClamd(filepath.Join(dir, "clamd"), "kensa-test.hdb", sig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.clamd.Stop)
	if p.spamd, err = daemon.StartSpamd(filepath.Join(dir, "spamd")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.spamd.Stop)
	// Dovecot's unprivileged processes must reach its directory: one
	// of its own (the daemon opens it and its parent).
	ddir := t.TempDir()
	if p.dovecot, err = daemon.StartDovecot(daemon.DovecotConfig{Dir: ddir, Addr: "127.0.7.200", LMTP: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.dovecot.Stop)
	return p
}

// mailbox is the Dovecot test mailbox, its self-signed certificate
// trusted.
func (p *contentPeers) mailbox(t *testing.T) *content.Mailbox {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dovecot.Dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in Dovecot's cert.pem")
	}
	// Delivery goes through Postfix's queue manager, so the mailbox is
	// polled for real; the look ends as soon as every accepted message
	// is there, and only a message that never comes costs the settle.
	return &content.Mailbox{Addr: netip.AddrPortFrom(p.dovecot.Addr, p.dovecot.IMAPS), Host: p.dovecot.Addr.String(),
		TLSName: "dovecot.kensa.test", RootCAs: pool, User: p.dovecot.User, Password: p.dovecot.Password,
		Wait: 90 * time.Second, Settle: 15 * time.Second, Interval: time.Second}
}

// postfix starts Postfix on listen, delivering the test recipient's mail
// to Dovecot, behind milters (none: no filtering).
func (p *contentPeers) postfix(t *testing.T, listen string, milters ...*daemon.Filter) *daemon.Postfix {
	t.Helper()
	var main []string
	if len(milters) > 0 {
		var socks []string
		for _, m := range milters {
			socks = append(socks, "unix:"+m.Socket)
		}
		main = append(main, "smtpd_milters = "+strings.Join(socks, ", "), "milter_default_action = tempfail")
	}
	d, err := daemon.StartPostfix(daemon.PostfixConfig{Dir: t.TempDir(), Listen: listen, MyNetworks: listen + "/32", Main: main,
		Delivery: &daemon.PostfixDelivery{Domain: contentDomain, Recipients: []string{"someone@" + contentDomain},
			LMTP: fmt.Sprintf("inet:%s:%d", p.dovecot.Addr, p.dovecot.LMTP)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d
}

// send runs the content test against d, looking into the mailbox when
// mb is not nil.
func sendContent(t *testing.T, d *daemon.Postfix, mb *content.Mailbox) *observe.Content {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts := content.Options{ScanID: "20261205T000000Z-postfix", Server: "mx-postfix", Recipient: "someone@" + contentDomain,
		SMTP: smtp.Options{HeloName: "kensa.invalid"}, Mailbox: mb}
	obs := content.Run(ctx, wire.Env{}, observe.Target{Service: "smtp", Addr: d.Addr}, opts)
	checkElided(t, obs)
	return obs
}

func expectContent(t *testing.T, obs *observe.Content, m3, x2 scoring.Outcome, logs ...string) {
	t.Helper()
	cs := []*observe.Content{obs}
	gm3, gx2 := rules.M3ContentMalware(cs), rules.X2ContentSpam(cs)
	if gm3.Outcome != m3 || gx2.Outcome != x2 {
		t.Errorf("M3 %s (%s)\nX2 %s (%s)\nwant M3 %s, X2 %s\ntranscript:\n%s\nmailbox: %+v%s", gm3.Outcome, gm3.Reason, gx2.Outcome, gx2.Reason,
			m3, x2, strings.Join(obs.Transcript, "\n"), obs.Mailbox, strings.Join(logs, ""))
	}
	t.Logf("M3 %s: %s", gm3.Outcome, gm3.Reason)
	t.Logf("X2 %s: %s", gx2.Outcome, gx2.Reason)
}

// TestContentPostfixClamAVSpamAssassin runs the content test against real
// Postfix with clamav-milter (clamd loading one local hash signature of
// the EICAR file) and spamass-milter (spamd with the shipped rules),
// delivering through the queue manager and Dovecot's LMTP into a test
// mailbox that the test searches over IMAPS:
//
//   - reject at DATA: clamav-milter OnInfected Reject and spamass-milter
//     -r refuse both test messages with their verdict: M3 and X2 pass,
//     with no need to look into the mailbox;
//   - filtering on, tag and deliver, then look: clamav-milter's default
//     Quarantine holds the EICAR message in Postfix's hold queue and
//     spamass-milter tags the GTUBE message: the EICAR message is
//     absent where the control arrived (M3 passes), the GTUBE message
//     is there with X-Spam-Flag: YES (X2 passes);
//   - filtering off, deliver then look: both are delivered untouched
//     (M3 and X2 fail); without the look, accepted means unknown.
func TestContentPostfixClamAVSpamAssassin(t *testing.T) {
	p := startContentPeers(t)
	clamd, spamd := p.clamd.Socket, p.spamd.Socket

	t.Run("reject at DATA", func(t *testing.T) {
		cm, err := daemon.StartClamavMilter(t.TempDir(), clamd, "Reject", "Rejected: virus %v found")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cm.Stop)
		sm, err := daemon.StartSpamassMilter(t.TempDir(), spamd, "15")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sm.Stop)
		d := p.postfix(t, "127.0.7.201", cm, sm)
		itest.Ran(t, "Postfix, clamav-milter (Reject), spamass-milter (-r), clamd, spamd")
		obs := sendContent(t, d, nil)
		for _, kind := range []string{observe.ContentEICAR, observe.ContentGTUBE} {
			if m := obs.Message(kind); m.EndReply.Class() != 5 {
				t.Errorf("%s answered %s, want a 5xx", kind, m.EndReply)
			}
		}
		expectContent(t, obs, scoring.Pass, scoring.Pass, d.Log(), cm.Log())
	})

	t.Run("filtering on: tag and deliver, then look", func(t *testing.T) {
		cm, err := daemon.StartClamavMilter(t.TempDir(), clamd, "Quarantine", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cm.Stop)
		sm, err := daemon.StartSpamassMilter(t.TempDir(), spamd, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sm.Stop)
		d := p.postfix(t, "127.0.7.202", cm, sm)
		itest.Ran(t, "Postfix, clamav-milter (Quarantine), spamass-milter (tag), clamd, spamd, Dovecot LMTP and IMAPS")
		obs := sendContent(t, d, p.mailbox(t))
		expectContent(t, obs, scoring.Pass, scoring.Pass, d.Log(), cm.Log())
		if g := obs.Mailbox.Find(observe.ContentGTUBE); g == nil || len(g.Header("X-Spam-Flag")) == 0 {
			t.Errorf("GTUBE message not found tagged: %+v", g)
		}
	})

	t.Run("filtering off: deliver, then look", func(t *testing.T) {
		d := p.postfix(t, "127.0.7.203")
		itest.Ran(t, "Postfix without filters, Dovecot LMTP and IMAPS")
		obs := sendContent(t, d, nil)
		expectContent(t, obs, scoring.Unknown, scoring.Unknown, d.Log())
		obs = sendContent(t, d, p.mailbox(t))
		expectContent(t, obs, scoring.Fail, scoring.Fail, d.Log(), p.dovecot.Log())
	})
}
