package fleet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/probes"
)

// Addr returns the address of the i-th host of a fleet: 127.1.0.1,
// 127.1.0.2, …, skipping addresses ending in .0 and .255.
func Addr(i int) string { return AddrIn(1, i) }

// AddrIn is Addr in 127.net.0.0/16 and the networks after it, so that
// fleets of tests running at the same time do not collide.
func AddrIn(net byte, i int) string {
	n := uint32(127)<<24 | uint32(net)<<16
	n += uint32(i/254)<<8 | uint32(i%254+1)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// LowPorts reports whether this process may listen on ports below 1024
// (the standard mail ports), which unlisted services need so that
// discovery finds them.
func LowPorts() bool {
	ln, err := net.Listen("tcp", "127.254.254.254:0")
	if err != nil {
		return false
	}
	ln.Close()
	ln, err = net.Listen("tcp", "127.254.254.254:1")
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return false
	}
	if ln != nil {
		ln.Close()
	}
	return true
}

// portFor returns the port of a service: its standard port when low ports
// are usable, a high one otherwise.
func portFor(service string, low bool) int {
	p := probes.StandardPort(service)
	if low {
		return p
	}
	return 20000 + p
}

// MixOptions shape a Mix plan.
type MixOptions struct {
	// Hostile adds the hostile behaviours (silent, garbage, endless
	// lines, resets…) to the rotation.
	Hostile bool
	// Latency delays every reply.
	Latency time.Duration
	// ReadTimeout is the scanner's read timeout: the greet-pause and
	// postscreen behaviours hold their greeting back longer than it.
	ReadTimeout time.Duration
	// ProbeTimeout is the scanner's budget of one probe the truth
	// assumes (default DefaultProbeTimeout).
	ProbeTimeout time.Duration
	// LowPorts uses the standard ports; without it every service is
	// listed on a high port and nothing is left to discovery.
	LowPorts bool
	// Orgs to spread hosts over (default three).
	Orgs []string
	// Net is the second octet of the hosts' addresses (default 1:
	// 127.1.x.y); tests use others so that they do not collide.
	Net byte
	// SecondAddresses gives every tenth host a second address (half of
	// them down, half without NTP there): the inventory then names those
	// hosts, and a scan must resolve the names through the plan's hosts
	// table (Plan.Names, Plan.WriteHosts).
	SecondAddresses bool
}

// secondOffset places second addresses far after the hosts' own.
const secondOffset = 30000

var (
	smtpRelay = []smtpd.Profile{smtpd.Closed, smtpd.OpenRelay, smtpd.LocalSender, smtpd.AddressTrick, smtpd.AuthRequired, smtpd.RelayDenied454, smtpd.Greylist, smtpd.SlowGreeting,
		smtpd.RateLimit, smtpd.AuthThenDefer, smtpd.UnknownDomain, smtpd.NullMX, smtpd.Unrouteable, smtpd.GreetPause, smtpd.Postscreen,
		smtpd.SubmissionClientRejected, smtpd.SubmissionHostnameRejected}
	smtpHostile = []smtpd.Profile{smtpd.Greeting554, smtpd.Silent, smtpd.Drip, smtpd.EndlessLine, smtpd.Garbage, smtpd.Reset}
	submissions = []smtpd.Profile{smtpd.SubmissionAuthAfterTLS, smtpd.SubmissionAuthBeforeTLS, smtpd.SubmissionNoAuth, smtpd.Closed, smtpd.OpenRelay,
		smtpd.SubmissionClientRejected, smtpd.SubmissionHostnameRejected, smtpd.RateLimit}
	imapNormal   = []imapd.Profile{imapd.TLSRequired, imapd.Plaintext, imapd.NoTLS, imapd.LoginDisabledLie, imapd.PreAuth, imapd.Anonymous, imapd.WeakTLS, imapd.BareRefusal, imapd.ChallengeOnly, imapd.NoTLSBare}
	imapHostile  = []imapd.Profile{imapd.Silent, imapd.Garbage, imapd.EndlessLine, imapd.HugeLiteral, imapd.Reset}
	pop3Normal   = []pop3d.Profile{pop3d.TLSRequired, pop3d.Plaintext, pop3d.NoTLS, pop3d.LoginDisabledLie, pop3d.PreAuth, pop3d.Anonymous, pop3d.WeakTLS, pop3d.BareRefusal, pop3d.ChallengeOnly, pop3d.NoTLSBare}
	pop3Hostile  = []pop3d.Profile{pop3d.Silent, pop3d.Garbage, pop3d.EndlessLine, pop3d.Flood, pop3d.Reset}
	sshNormal    = []sshd.Profile{sshd.PublicKey, sshd.Password, sshd.KeyboardInteractive, sshd.None, sshd.Weak, sshd.SSH199, sshd.SSH1, sshd.LegacyKexInit}
	sshHostile   = []sshd.Profile{sshd.Silent, sshd.Garbage, sshd.EndlessLines}
	ntpNormal    = []ntpd.Profile{ntpd.Synced, ntpd.Stratum1, ntpd.Offset, ntpd.Stratum16, ntpd.Leap3, ntpd.Init, ntpd.Rate, ntpd.Deny, ntpd.RateLimited}
	ntpHostile   = []ntpd.Profile{ntpd.Garbage, ntpd.Short, ntpd.WrongOrigin, ntpd.Silent}
	adminProfile = []telnetd.Profile{telnetd.Telnet, telnetd.TelnetSilent, telnetd.TelnetHangup, telnetd.Rlogin, telnetd.Rsh}
)

func pick[T any](list []T, i int) T { return list[i%len(list)] }

// unlistAll leaves every service of h out of the inventory: discovery
// on the standard ports is then all that finds them.
func (h *Host) unlistAll() {
	for _, s := range h.services() {
		s.S.Listed = false
	}
}

// spread picks the entry of list for the i-th host, stepping through the
// list by stride from off. The stride is made prime to the length of
// the list, so that every entry appears however long the list grows (a
// stride of 3 through 12 entries would only ever pick 4 of them).
func spread[T any](list []T, i, stride, off int) T {
	for gcd(stride, len(list)) != 1 {
		stride++
	}
	return list[(i*stride+off)%len(list)]
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Mix returns a plan of n hosts whose services rotate through every
// behaviour of every protocol, with realistic banner sets where the
// host's services fit them: the fleet the end-to-end tests compare
// against the truth.
func Mix(n int, o MixOptions) *Plan {
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 10 * time.Second
	}
	orgs := o.Orgs
	if len(orgs) == 0 {
		orgs = []string{"総務省", "財務省", "法務省"}
	}
	smtpP := smtpRelay
	imapP, pop3P, sshP, ntpP := imapNormal, pop3Normal, sshNormal, ntpNormal
	if o.Hostile {
		smtpP = append(append([]smtpd.Profile{}, smtpRelay...), smtpHostile...)
		imapP = append(append([]imapd.Profile{}, imapNormal...), imapHostile...)
		pop3P = append(append([]pop3d.Profile{}, pop3Normal...), pop3Hostile...)
		sshP = append(append([]sshd.Profile{}, sshNormal...), sshHostile...)
		ntpP = append(append([]ntpd.Profile{}, ntpNormal...), ntpHostile...)
	}
	sets := banners.Catalogue()
	p := &Plan{Name: "mix", NTPMaxOffset: time.Second, ReadTimeout: o.ReadTimeout, ProbeTimeout: o.ProbeTimeout}
	for i := 0; i < n; i++ {
		org := orgs[i%len(orgs)]
		unit := "本省"
		if i%3 == 2 {
			unit = "地方支分部局"
		}
		if o.Net == 0 {
			o.Net = 1
		}
		h := Host{ID: fmt.Sprintf("mix-%04d", i), Org: org, Unit: unit, Addr: AddrIn(o.Net, i),
			Name: fmt.Sprintf("mx%d.fleet.example", i), Latency: o.Latency}
		svc := func(name, profile string, listed bool) *Service {
			if !o.LowPorts {
				listed = true
			}
			return &Service{Profile: profile, Port: portFor(name, o.LowPorts), Listed: listed}
		}
		h.SMTP = svc("smtp", string(pick(smtpP, i)), true)
		switch smtpd.Profile(h.SMTP.Profile) {
		case smtpd.GreetPause, smtpd.Postscreen:
			// Held back longer than a read: only a patient client
			// gets past the greeting.
			h.SMTP.Delay = 2*o.ReadTimeout + time.Second
		}
		if i%3 == 0 {
			h.Submission = svc("submission", string(pick(submissions, i/3)), true)
		}
		if i%4 != 3 {
			h.IMAP = svc("imap", string(spread(imapP, i, 3, 1)), i%8 != 1)
		}
		if i%4 != 2 {
			// The start moves on with each round of the list, so that
			// IMAP and POP3 behaviours, whose lists are as long, do not
			// pair up the same way every round.
			h.POP3 = svc("pop3", string(spread(pop3P, i, 5, 2+i/len(pop3P))), true)
		}
		if i%5 != 4 {
			h.SSH = svc("ssh", string(spread(sshP, i, 7, 3)), true)
		}
		if i%6 != 5 {
			h.NTP = svc("ntp", string(spread(ntpP, i, 11, 4)), i%12 != 7)
		}
		if i%7 == 0 {
			a := pick(adminProfile, i/7)
			h.Admin = &Service{Profile: string(a), Port: telnetd.StandardPort(a), Listed: i%14 == 0 || !o.LowPorts}
			if !o.LowPorts {
				h.Admin.Port = 20000 + h.Admin.Port
			}
		}
		if i%9 == 4 && h.SMTP != nil && p.greets(h.SMTP) {
			h.GreetingTime = true
			h.SMTP.Offset = 30 * time.Second
		}
		if o.SecondAddresses && i%10 == 6 && i < 254*255-secondOffset {
			h.Second = &Second{Addr: AddrIn(o.Net, secondOffset+i)}
			if i%20 == 6 {
				// Its second address is down, and with nothing listed
				// only discovery sees the first: a pass there must not
				// stand for the address that never answered.
				h.Second.Down = true
				if o.LowPorts {
					h.unlistAll()
				}
			} else if h.NTP != nil {
				h.Second.Without = []string{"ntp"}
			}
		}
		if o.Hostile && i%40 == 13 {
			// Switched off: nothing answers. Half of these list no
			// service, so nothing shows which items apply.
			h.Down = true
			if o.LowPorts && i%80 == 13 {
				h.unlistAll()
			}
		}
		// Real daemons' limits; failed logins delayed well within the
		// read timeout, as Dovecot's 2 s are within the default 10 s.
		withRealLimits(&h, i, o.ReadTimeout/5)
		if set := pick(sets, i*13); p.fits(&h, set) {
			h.Banners = set.Name
			if p.Truth(&h)["S3"] == "" {
				h.Banners = "" // its greeting's clock would leave S3 to chance
			}
		}
		p.Hosts = append(p.Hosts, h)
	}
	return p
}

// fits reports whether a banner set's truth holds on host h: every
// service the set has a banner for runs on h with a behaviour that shows
// it, and a greeting that must state the clock has a banner stating it.
func (p *Plan) fits(h *Host, s banners.Set) bool {
	normal := func(svc *Service, ok func(string) bool) bool { return svc != nil && ok(svc.Profile) }
	if s.SMTP != "" && (h.SMTP == nil || !p.greets(h.SMTP)) {
		return false
	}
	if s.SMTP != "" && h.GreetingTime && !dateRE.MatchString(s.SMTP) {
		// The host's greeting must state its clock; the set's
		// greeting states none.
		return false
	}
	if s.IMAP != "" && !normal(h.IMAP, func(p string) bool {
		return p != string(imapd.PreAuth) && in(imapd.Profile(p), imapNormal)
	}) {
		return false
	}
	if s.POP3 != "" && !normal(h.POP3, func(p string) bool { return in(pop3d.Profile(p), pop3Normal) }) {
		return false
	}
	if s.SSH != "" && !normal(h.SSH, func(p string) bool {
		return in(sshd.Profile(p), []sshd.Profile{sshd.PublicKey, sshd.Password, sshd.KeyboardInteractive, sshd.None, sshd.Weak})
	}) {
		return false
	}
	return true
}

func in[T comparable](x T, list []T) bool {
	for _, y := range list {
		if x == y {
			return true
		}
	}
	return false
}
