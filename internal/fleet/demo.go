package fleet

import (
	"fmt"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/scoring"
)

// DemoAsOf is the demo's pinned evaluation date, so end-of-life dates do
// not change the demo over time.
const DemoAsOf = "2026-11-01"

// DemoCompleteProducts are the products whose advisory data the demo
// treats as complete, as an office does after importing a full feed and
// vouching for it ('kensa advisories import --complete').
var DemoCompleteProducts = []string{"Postfix", "Cyrus"}

// Banner sets of the demo (fleet/banners).
const (
	demoMailbox   = "postfix-cyrus-current"     // Postfix and Cyrus, current: M2 passes with complete data
	demoRelayOnly = "postfix-current-smtp-only" // a relay without mailboxes
	demoOutdated  = "postfix-outdated"          // an old Postfix line: M2 fails
	demoEOLOS     = "postfix-cyrus-eol-os"      // current mail software on an end-of-life OS: M1 fails
)

// demoOrg is one ministry of the source document's September 2007 table
// with its grade there.
type demoOrg struct {
	Name  string
	Grade string
}

// demoOrgs are the 19 organisations in the source's order.
var demoOrgs = []demoOrg{
	{"内閣官房", "B"}, {"内閣法制局", "B"}, {"人事院", "A"}, {"内閣府", "B"}, {"宮内庁", "B"},
	{"公正取引委員会", "B"}, {"警察庁", "A"}, {"金融庁", "A"}, {"総務省", "B"}, {"法務省", "B"},
	{"外務省", "B"}, {"財務省", "A"}, {"文部科学省", "A"}, {"厚生労働省", "A"}, {"農林水産省", "A"},
	{"経済産業省", "A"}, {"国土交通省", "B"}, {"環境省", "A"}, {"防衛省", "A"},
}

// DemoOrgs returns the names of the 19 organisations of the source.
func DemoOrgs() []string {
	out := make([]string, len(demoOrgs))
	for i, o := range demoOrgs {
		out[i] = o.Name
	}
	return out
}

// DemoGrades returns the grade of each organisation in the source's
// September 2007 mail-server column, which the demo reproduces.
func DemoGrades() map[string]string {
	out := map[string]string{}
	for _, o := range demoOrgs {
		out[o.Name] = o.Grade
	}
	return out
}

// A flaw makes the host it is applied to fail (or leave undecided) one
// item, the way real servers do.
type flaw func(h *Host, low bool)

// demoFlaws lists each B organisation's flaws, each applied to one host
// (spread over the organisation). The A organisations have none that
// counts: 環境省 has a submission service offering AUTH before TLS,
// which only the supplementary X1 sees.
var demoFlaws = map[string][]flaw{
	"内閣官房":    {sshPasswords, sshPasswords, sshPasswords, ntpOffset},
	"内閣法制局":   {openRelay, openRelay},
	"内閣府":     {pop3Cleartext, pop3Cleartext, pop3Cleartext, pop3Cleartext},
	"宮内庁":     {telnetUnlisted, telnetUnlisted},
	"公正取引委員会": {outdatedMailSoftware, outdatedMailSoftware, outdatedMailSoftware},
	"総務省":     {eolOS, eolOS, greylisting},
	"法務省":     {ntpStratum16, ntpLeap3, ntpStratum16, localSenderRelay},
	"外務省":     {imapLoginDisabledLie, imapLoginDisabledLie, recoveryDeclaredFail, recoveryDeclaredFail},
	"国土交通省":   {addressTrickRelay, addressTrickRelay, sshKeyboardInteractive},
	"環境省":     {submissionAuthBeforeTLS},
}

func sshPasswords(h *Host, _ bool)           { h.SSH.Profile = string(sshd.Password) }
func sshKeyboardInteractive(h *Host, _ bool) { h.SSH.Profile = string(sshd.KeyboardInteractive) }
func ntpOffset(h *Host, _ bool)              { h.NTP.Profile, h.NTP.Offset = string(ntpd.Offset), 4*time.Second }
func ntpStratum16(h *Host, _ bool)           { h.NTP.Profile = string(ntpd.Stratum16) }
func ntpLeap3(h *Host, _ bool)               { h.NTP.Profile = string(ntpd.Leap3) }
func openRelay(h *Host, _ bool)              { h.SMTP.Profile = string(smtpd.OpenRelay) }
func localSenderRelay(h *Host, _ bool)       { h.SMTP.Profile = string(smtpd.LocalSender) }
func addressTrickRelay(h *Host, _ bool)      { h.SMTP.Profile = string(smtpd.AddressTrick) }
func greylisting(h *Host, _ bool)            { h.SMTP.Profile = string(smtpd.Greylist) }
func outdatedMailSoftware(h *Host, _ bool)   { h.Banners = demoOutdated; h.IMAP, h.POP3 = nil, nil }
func eolOS(h *Host, _ bool)                  { h.Banners = demoEOLOS }

func pop3Cleartext(h *Host, low bool) {
	if h.POP3 == nil {
		h.POP3 = &Service{Port: portFor("pop3", low), Listed: true}
	}
	h.POP3.Profile = string(pop3d.Plaintext)
}

func imapLoginDisabledLie(h *Host, low bool) {
	if h.IMAP == nil {
		h.IMAP = &Service{Port: portFor("imap", low), Listed: true}
	}
	h.IMAP.Profile = string(imapd.LoginDisabledLie)
}

func telnetUnlisted(h *Host, low bool) {
	h.Admin = &Service{Profile: string(telnetd.Telnet), Port: portFor("telnet", low), Listed: !low}
}

func recoveryDeclaredFail(h *Host, _ bool) { h.Declared["S2"] = scoring.Fail }

func submissionAuthBeforeTLS(h *Host, low bool) {
	if h.Submission == nil {
		h.Submission = &Service{Port: portFor("submission", low), Listed: true}
	}
	h.Submission.Profile = string(smtpd.SubmissionAuthBeforeTLS)
}

// Demo returns the demo fleet: n hosts (about 1,900) for the 19
// organisations of the source document, each with a main office (本省)
// and regional offices (地方支分部局), composed so that a scan reproduces
// the source's September 2007 mail-server grades from genuine probe
// verdicts. Declarations appear only for what no probe decides: S2, M3,
// X2, and M1 where no banner proves the OS unpatched.
func Demo(n int, low bool) *Plan { return DemoIn(1, n, low) }

// DemoIn is Demo on the addresses 127.net.x.y (tests use their own
// networks so that they do not collide with a running demo).
func DemoIn(net byte, n int, low bool) *Plan {
	p := &Plan{Name: "demo", NTPMaxOffset: time.Second, ReadTimeout: 10 * time.Second, Complete: DemoCompleteProducts}
	cert, err := NewMailboxCert()
	if err != nil {
		// A key that cannot be made is a broken machine, not a plan.
		panic(fmt.Sprintf("fleet: the demo's mailbox certificate: %v", err))
	}
	per := n / len(demoOrgs)
	extra := n % len(demoOrgs)
	idx := 0
	for oi, org := range demoOrgs {
		count := per
		if oi < extra {
			count++
		}
		flaws := demoFlaws[org.Name]
		for k := 0; k < count; k++ {
			h := demoHost(org.Name, oi, k, count, AddrIn(net, idx), low)
			// Spread the flaws over the organisation: main office and
			// regional offices alike.
			if len(flaws) > 0 && count >= len(flaws) {
				step := count / len(flaws)
				if k%step == step/2 && k/step < len(flaws) {
					flaws[k/step](&h, low)
				}
			}
			demoContent(org.Name, &h, k, cert)
			declare(p, &h)
			withRealLimits(&h, idx, 0)
			p.Hosts = append(p.Hosts, h)
			idx++
		}
	}
	return p
}

// demoHost is a well-run mail server of an organisation.
func demoHost(org string, oi, k, count int, addr string, low bool) Host {
	unit := "地方支分部局"
	if k < (count+4)/5 {
		unit = "本省"
	}
	svc := func(name, profile string) *Service {
		return &Service{Profile: profile, Port: portFor(name, low), Listed: true}
	}
	h := Host{
		ID:   fmt.Sprintf("mx-%02d-%03d", oi+1, k+1),
		Org:  org,
		Unit: unit,
		Addr: addr,
		Name: fmt.Sprintf("mx%d.org%02d.demo.example", k+1, oi+1),
	}
	relayRefusals := []smtpd.Profile{smtpd.RelayDenied454, smtpd.Closed, smtpd.AuthRequired}
	h.SMTP = svc("smtp", string(pick(relayRefusals, k)))
	if k%2 == 0 {
		h.Submission = svc("submission", string(smtpd.SubmissionAuthAfterTLS))
	}
	h.Banners = demoRelayOnly
	if k%4 != 3 {
		h.Banners = demoMailbox
		h.IMAP = svc("imap", string(imapd.TLSRequired))
		h.POP3 = svc("pop3", string(pop3d.TLSRequired))
	}
	h.SSH = svc("ssh", string(sshd.PublicKey))
	h.NTP = svc("ntp", string(pick([]ntpd.Profile{ntpd.Synced, ntpd.Stratum1}, k)))
	h.Declared = map[string]scoring.Outcome{}
	return h
}

// demoContentOrgs are the offices that opted in to the content test,
// and demoContentTagged the one host (of 総務省) whose filter only
// marks the EICAR file and delivers it: M3 fails there, against the
// office's declared pass.
var (
	demoContentOrgs   = map[string]bool{"警察庁": true, "財務省": true, "総務省": true, "環境省": true}
	demoContentTagged = map[string]int{"総務省": 3}
)

// demoContent gives the hosts of the offices that opted in a content
// filter: in turn one that refuses the test messages at DATA, one that
// quarantines them with a test mailbox to look into, and one that
// quarantines them without (the scan cannot see what became of them, so
// the declaration decides). Every one of them passes M3 or leaves it to
// the declaration, except the one tagged host.
func demoContent(org string, h *Host, k int, cert string) {
	if !demoContentOrgs[org] || h.SMTP == nil || !contentProfiles[smtpd.Profile(h.SMTP.Profile)] {
		return
	}
	c := &ContentTest{OptIn: true}
	switch k % 3 {
	case 0:
		c.Filter = string(smtpd.FilterReject)
	case 1:
		c.Filter, c.Mailbox = string(smtpd.FilterQuarantine), true
	default:
		c.Filter = string(smtpd.FilterQuarantine)
	}
	if n, ok := demoContentTagged[org]; ok && k == n {
		c.Filter, c.Mailbox = string(smtpd.FilterTag), true
	}
	if c.Mailbox {
		c.Cert = cert
	}
	h.Content = c
}

// declare adds the declarations of items no probe decides: recovery (S2),
// anti-malware (M3) and spam (X2) measures, and OS patches (M1) where the
// banners cannot prove them missing.
func declare(p *Plan, h *Host) {
	if _, ok := h.Declared["S2"]; !ok {
		h.Declared["S2"] = scoring.Pass
	}
	if h.SMTP != nil {
		h.Declared["M3"] = scoring.Pass
		h.Declared["X2"] = scoring.Pass
	}
	if p.probeTruth(h)["M1"] == scoring.Unknown {
		h.Declared["M1"] = scoring.Pass
	}
}
