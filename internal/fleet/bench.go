package fleet

import (
	"fmt"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
)

// BenchOptions shape a Bench plan.
type BenchOptions struct {
	// Tarpits makes 3 % of the hosts hold their SMTP greeting back for
	// TarpitDelay.
	Tarpits bool
	// TarpitDelay is the tarpits' greeting delay (default 6 s, under the
	// default read timeout: they are slow, not dead).
	TarpitDelay time.Duration
	// Latency delays every reply (default 30 ms).
	Latency time.Duration
	// LowPorts uses the standard ports.
	LowPorts bool
	// Net is the second octet of the addresses (default 1).
	Net byte
}

// Bench returns the benchmark's fleet of n hosts under realistic
// conditions: per-reply latency, 3 % tarpits (with Tarpits), 2 % hosts
// whose every service is silent, 2 % switched off (connections refused),
// and otherwise servers that behave, most of them well configured.
func Bench(n int, o BenchOptions) *Plan {
	if o.Latency == 0 {
		o.Latency = 30 * time.Millisecond
	}
	if o.TarpitDelay == 0 {
		o.TarpitDelay = 6 * time.Second
	}
	p := &Plan{Name: "bench", NTPMaxOffset: time.Second, ReadTimeout: 10 * time.Second}
	if o.Tarpits {
		p.Name = "bench-tarpits"
	}
	if o.Net == 0 {
		o.Net = 1
	}
	orgs := DemoOrgs()
	for i := 0; i < n; i++ {
		h := Host{ID: fmt.Sprintf("bench-%05d", i), Org: orgs[i%len(orgs)], Unit: "本省", Addr: AddrIn(o.Net, i),
			Name: fmt.Sprintf("mx%d.bench.example", i), Latency: o.Latency}
		if i%5 != 0 {
			h.Unit = "地方支分部局"
		}
		svc := func(name string, profile string) *Service {
			return &Service{Profile: profile, Port: portFor(name, o.LowPorts), Listed: true}
		}
		good := i%10 != 3
		smtpP, subP := smtpd.Closed, smtpd.SubmissionAuthAfterTLS
		imapP, pop3P, sshP, ntpP := imapd.TLSRequired, pop3d.TLSRequired, sshd.PublicKey, ntpd.Synced
		if !good {
			smtpP, subP = pick(smtpRelay[:6], i/10), pick(submissions[:5], i/10)
			imapP, pop3P = pick(imapNormal, i/10), pick(pop3Normal, i/10+1)
			sshP, ntpP = pick(sshNormal[:5], i/10), pick(ntpNormal, i/10)
		}
		h.SMTP = svc("smtp", string(smtpP))
		if i%2 == 0 {
			h.Submission = svc("submission", string(subP))
		}
		h.IMAP = svc("imap", string(imapP))
		h.POP3 = svc("pop3", string(pop3P))
		h.SSH = svc("ssh", string(sshP))
		h.NTP = svc("ntp", string(ntpP))
		switch {
		case i%50 == 17: // silent: every service accepts and says nothing
			h.SMTP.Profile, h.IMAP.Profile, h.POP3.Profile = string(smtpd.Silent), string(imapd.Silent), string(pop3d.Silent)
			h.SSH.Profile, h.NTP.Profile = string(sshd.Silent), string(ntpd.Silent)
			if h.Submission != nil {
				h.Submission.Profile = string(smtpd.Silent)
			}
		case i%50 == 41: // switched off
			h.Down = true
		case o.Tarpits && i%33 == 8:
			h.SMTP.Delay = o.TarpitDelay
		}
		if !h.Down && h.SMTP.Profile != string(smtpd.Silent) {
			withRealLimits(&h, i, 0)
		}
		p.Hosts = append(p.Hosts, h)
	}
	return p
}
