package scan

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/content"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// DefaultContentBudget bounds one server's content test: the messages
// and the look into the test mailbox.
const DefaultContentBudget = 5 * time.Minute

// ContentConfig is the opt-in content test of a scan (items M3 and X2).
// Only the servers Tests names get test messages, each at most the
// three of package content, once per scan.
type ContentConfig struct {
	// Tests names each server's test recipient and mailbox.
	Tests *inventory.ContentTests
	// ScanID is named in every message.
	ScanID string
	// SMTP sets the EHLO name and the SMTP patience.
	SMTP smtp.Options
	// Budget bounds one server's content test (default
	// DefaultContentBudget).
	Budget time.Duration
	// Wait, Settle and Interval bound the look into the test mailbox
	// (content.Mailbox; zero: its defaults). Sleep, if set, replaces
	// the wait between two looks (tests).
	Wait, Settle, Interval time.Duration
	Sleep                  func(ctx context.Context, d time.Duration) error
}

// contentTest runs the content test of one server after its other
// probes, through its first smtp service that answered, with the
// server's connection bounds. It returns nil for a server without a test
// recipient: nothing is sent to it.
func (cfg *Config) contentTest(ctx context.Context, d *hostDialer, s *inventory.Server, srv *Server) *observe.Content {
	cc := cfg.Content
	if cc == nil {
		return nil
	}
	e := cc.Tests.For(s)
	if e == nil {
		return nil
	}
	var target *Target
	for i := range srv.Targets {
		t := &srv.Targets[i]
		if t.Service == "smtp" && t.State == StateAnswered {
			target = &t.Target
			break
		}
	}
	if target == nil {
		return &observe.Content{Endpoint: observe.Endpoint{Service: "smtp", Started: cfg.Now(),
			Error: "no smtp service of the server answered: nothing was sent"},
			ScanID: cc.ScanID, Server: s.ID, Recipient: e.Rcpt, Sender: e.From}
	}
	budget := cc.Budget
	if budget <= 0 {
		budget = DefaultContentBudget
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	env := wire.Env{Dialer: d, Limits: cfg.Bounds.Limits, Tracer: cfg.Tracer, Now: cfg.Now,
		Log: cfg.Log.With("server", s.ID, "target", "content "+target.String())}
	opts := content.Options{ScanID: cc.ScanID, Server: s.ID, Recipient: e.Rcpt, Sender: e.From, SMTP: cc.SMTP}
	if opts.Sender == "" {
		opts.Sender = cc.Tests.From
	}
	var mboxErr string
	if e.IMAP != "" {
		mb, err := cfg.mailbox(cctx, e)
		if err != nil {
			mboxErr = err.Error()
		} else {
			mb.Wait, mb.Settle, mb.Interval, mb.Sleep = cc.Wait, cc.Settle, cc.Interval, cc.Sleep
			opts.Mailbox = mb
		}
	}
	obs := content.Run(cctx, env, target.Target, opts)
	if mboxErr != "" && obs.Message(observe.ContentControl).Accepted() {
		obs.Mailbox = &observe.MailboxCheck{Server: e.IMAP, User: e.IMAPUser, Error: mboxErr}
	}
	return obs
}

// mailbox resolves the test mailbox of e and reads its certificates.
func (cfg *Config) mailbox(ctx context.Context, e *inventory.ContentTest) (*content.Mailbox, error) {
	host, port := e.IMAPAddress()
	addr, err := netip.ParseAddr(host)
	if err != nil {
		rctx, cancel := context.WithTimeout(ctx, cfg.Bounds.Limits.DialTimeout+5*time.Second)
		addrs, lerr := cfg.Resolver.LookupNetIP(rctx, "ip", host)
		cancel()
		if lerr != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("mailbox %s: cannot resolve %s: %v", e.IMAP, host, lerr)
		}
		addr = addrs[0]
	}
	mb := &content.Mailbox{Addr: netip.AddrPortFrom(addr.Unmap(), uint16(port)), Host: host, TLSName: e.IMAPTLSName,
		User: e.IMAPUser, Password: e.IMAPPassword}
	if e.IMAPCA != "" {
		b, err := os.ReadFile(e.IMAPCA)
		if err != nil {
			return nil, fmt.Errorf("mailbox %s: %v", e.IMAP, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("mailbox %s: %s holds no PEM certificate", e.IMAP, e.IMAPCA)
		}
		mb.RootCAs = pool
	}
	return mb, nil
}
