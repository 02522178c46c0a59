package fleet

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/scoring"
)

// Plan is a simulated fleet: its hosts and how to judge them.
type Plan struct {
	// Name says which plan this is ("demo", "mix", …).
	Name string `json:"name"`
	// NTPMaxOffset is the S3 limit the truth assumes (the default
	// policy's 1 s).
	NTPMaxOffset time.Duration `json:"ntp_max_offset"`
	// ReadTimeout is the scanner read timeout the plan was made for:
	// held-back greetings are made longer than it.
	ReadTimeout time.Duration `json:"read_timeout"`
	// ProbeTimeout is the budget of one probe the truth assumes (0: the
	// scan's default, DefaultProbeTimeout): a patient scanner waits for
	// a held-back greeting within it.
	ProbeTimeout time.Duration `json:"probe_timeout,omitempty"`
	// Complete names the products whose advisory data the scan treats as
	// complete; the M2 truth assumes the same (banners.Set.M2With).
	Complete []string `json:"complete,omitempty"`
	Hosts    []Host   `json:"hosts"`
}

// Service is one simulated service of a host. Profile names the
// behaviour in the package of the service's protocol.
type Service struct {
	Profile string `json:"profile"`
	Port    int    `json:"port"`
	// Listed puts the service in the inventory; an unlisted service is
	// on its standard port, for discovery to find.
	Listed bool `json:"listed"`
	// Offset sets the clock of an NTP responder or of an SMTP greeting's
	// timestamp.
	Offset time.Duration `json:"offset,omitempty"`
	// Delay holds back an SMTP greeting (a tarpit), whatever the profile;
	// on IMAP and POP3 with the "dovecot" limits it is the delay of the
	// first failed login (default Dovecot's 2 s; each later one waits
	// twice that more, as Dovecot's auth penalty does).
	Delay time.Duration `json:"delay,omitempty"`
	// Limits names the real daemon whose stock limits and delays toward
	// a client the service has: "postfix", "exim" or "sendmail" on SMTP
	// (smtpd.Limits), "dovecot" on IMAP and POP3 (failed logins
	// delayed, shared by the host's IMAP and POP3). They change no
	// verdict: a client that keeps under them sees the profile's own
	// answers.
	Limits string `json:"limits,omitempty"`
}

// Host is one simulated mail server.
type Host struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Unit string `json:"unit"`
	// Addr is the host's own loopback address.
	Addr string `json:"addr"`
	// Name is its host name, shown in greetings.
	Name string `json:"name"`
	// Banners names a set of fleet/banners ("" for neutral banners that
	// show no product).
	Banners string `json:"banners,omitempty"`
	// Latency delays every reply of every service.
	Latency time.Duration `json:"latency,omitempty"`

	SMTP       *Service `json:"smtp,omitempty"`
	Submission *Service `json:"submission,omitempty"`
	IMAP       *Service `json:"imap,omitempty"`
	POP3       *Service `json:"pop3,omitempty"`
	SSH        *Service `json:"ssh,omitempty"`
	NTP        *Service `json:"ntp,omitempty"`
	// Admin is a telnet, rlogin or rsh listener (telnetd profiles).
	Admin *Service `json:"admin,omitempty"`
	// GreetingTime puts the server's clock in its SMTP greeting.
	GreetingTime bool `json:"greeting_time,omitempty"`
	// Down leaves the address without any listener: every connection is
	// refused, as with a server that is switched off.
	Down bool `json:"down,omitempty"`
	// Second gives the host a second address: the inventory then names
	// the host by Name, which resolves to both (Plan.WriteHosts).
	Second *Second `json:"second,omitempty"`

	// Declared are the self-reported outcomes the inventory carries.
	Declared map[string]scoring.Outcome `json:"declared,omitempty"`
	// Content is the content filter behind the host's smtp service and
	// whether its office opted in to the content test (content.go).
	Content *ContentTest `json:"content,omitempty"`
}

// Second is a host's second address, as a server whose name resolves to
// two addresses has.
type Second struct {
	// Addr is the second loopback address.
	Addr string `json:"addr"`
	// Down leaves the second address without any listener.
	Down bool `json:"down,omitempty"`
	// Without names the services the second address does not run (only
	// "ntp" is modelled by the truth).
	Without []string `json:"without,omitempty"`
}

// InventoryHost is what the inventory's host column says of h: its
// address, or its name when it has a second address.
func (h *Host) InventoryHost() string {
	if h.Second != nil {
		return h.Name
	}
	return h.Addr
}

// Names returns the names of the hosts with a second address and both
// their addresses: what the plan's DNS would answer.
func (p *Plan) Names() map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for i := range p.Hosts {
		h := &p.Hosts[i]
		if h.Second != nil {
			out[h.Name] = []netip.Addr{netip.MustParseAddr(h.Addr), netip.MustParseAddr(h.Second.Addr)}
		}
	}
	return out
}

// WriteHosts writes Names as a hosts(5) file, for kensa scan --hosts.
func (p *Plan) WriteHosts(w io.Writer) error {
	names := p.Names()
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		for _, a := range names[n] {
			if _, err := fmt.Fprintf(w, "%s %s\n", a, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// named is a service of a host with its inventory name.
type named struct {
	Name string
	S    *Service
}

// services lists a host's services with their inventory names.
func (h *Host) services() []named {
	var out []named
	add := func(name string, s *Service) {
		if s != nil {
			out = append(out, named{name, s})
		}
	}
	add("smtp", h.SMTP)
	add("submission", h.Submission)
	add("imap", h.IMAP)
	add("pop3", h.POP3)
	add("ssh", h.SSH)
	add("ntp", h.NTP)
	if h.Admin != nil {
		add(telnetd.Service(telnetd.Profile(h.Admin.Profile)), h.Admin)
	}
	return out
}

// Validate checks every profile name, address and port of the plan.
func (p *Plan) Validate() error {
	seen := map[string]bool{}
	for i := range p.Hosts {
		h := &p.Hosts[i]
		if _, err := netip.ParseAddr(h.Addr); err != nil || !netip.MustParseAddr(h.Addr).IsLoopback() {
			return fmt.Errorf("fleet: host %s: address %q is not a loopback address", h.ID, h.Addr)
		}
		if seen[h.ID] {
			return fmt.Errorf("fleet: host id %s twice", h.ID)
		}
		seen[h.ID] = true
		if sec := h.Second; sec != nil {
			if a, err := netip.ParseAddr(sec.Addr); err != nil || !a.IsLoopback() || sec.Addr == h.Addr {
				return fmt.Errorf("fleet: host %s: second address %q is not another loopback address", h.ID, sec.Addr)
			}
			if h.Name == "" {
				return fmt.Errorf("fleet: host %s: a host with a second address needs a name", h.ID)
			}
			for _, w := range sec.Without {
				if w != "ntp" {
					// The truth knows what a missing NTP means there;
					// other services are not modelled.
					return fmt.Errorf("fleet: host %s: second address without %q: only ntp can be left out", h.ID, w)
				}
			}
		}
		if err := h.checkContent(); err != nil {
			return err
		}
		for code, o := range p.Truth(h) {
			if o == "" {
				return fmt.Errorf("fleet: host %s: the truth of %s cannot be known (%s)", h.ID, code, h.describe())
			}
		}
		for _, s := range h.services() {
			if s.S.Port < 1 || s.S.Port > 65535 {
				return fmt.Errorf("fleet: host %s: %s port %d", h.ID, s.Name, s.S.Port)
			}
			if !profileKnown(s.Name, s.S.Profile) {
				return fmt.Errorf("fleet: host %s: %s has no profile %q", h.ID, s.Name, s.S.Profile)
			}
			if !limitsKnown(s.Name, s.S.Limits) {
				return fmt.Errorf("fleet: host %s: %s has no limits %q", h.ID, s.Name, s.S.Limits)
			}
		}
	}
	return nil
}

// limitsKnown reports whether a service can have the named limits.
func limitsKnown(service, limits string) bool {
	if limits == "" {
		return true
	}
	switch service {
	case "smtp", "submission":
		for _, l := range smtpd.LimitsNames() {
			if string(l) == limits {
				return true
			}
		}
	case "imap", "pop3":
		return limits == DovecotLimits
	}
	return false
}

// DovecotLimits names Dovecot's stock delays of failed logins on a
// host's IMAP and POP3 (Service.Limits).
const DovecotLimits = "dovecot"

func profileKnown(service, profile string) bool {
	var names []string
	switch service {
	case "smtp", "submission":
		for _, p := range smtpd.Profiles() {
			names = append(names, string(p))
		}
	case "imap":
		for _, p := range imapd.Profiles() {
			names = append(names, string(p))
		}
	case "pop3":
		for _, p := range pop3d.Profiles() {
			names = append(names, string(p))
		}
	case "ssh":
		for _, p := range sshd.Profiles() {
			names = append(names, string(p))
		}
	case "ntp":
		for _, p := range ntpd.Profiles() {
			names = append(names, string(p))
		}
	default:
		for _, p := range telnetd.Profiles() {
			names = append(names, string(p))
		}
	}
	for _, n := range names {
		if n == profile {
			return true
		}
	}
	return false
}

// Load reads a plan written by Save.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("fleet plan %s: %w", path, err)
	}
	return &p, p.Validate()
}

// Save writes the plan as JSON.
func (p *Plan) Save(path string) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// WriteInventory writes the plan's inventory as kensa CSV.
func (p *Plan) WriteInventory(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "org", "unit", "host", "services", "declared", "notes"})
	for i := range p.Hosts {
		h := &p.Hosts[i]
		var svcs []string
		for _, s := range h.services() {
			if s.S.Listed {
				svcs = append(svcs, fmt.Sprintf("%s:%d", s.Name, s.S.Port))
			}
		}
		var decl []string
		for _, code := range sortedCodes(h.Declared) {
			decl = append(decl, code+"="+string(h.Declared[code]))
		}
		cw.Write([]string{h.ID, h.Org, h.Unit, h.InventoryHost(), strings.Join(svcs, " "), strings.Join(decl, " "), "simulated: " + h.describe()})
	}
	cw.Flush()
	return cw.Error()
}

func (h *Host) describe() string {
	var parts []string
	for _, s := range h.services() {
		part := s.Name + "=" + s.S.Profile
		if s.S.Limits != "" {
			part += "[" + s.S.Limits + "]"
		}
		if s.S.Delay > 0 {
			part += "(delay " + s.S.Delay.String() + ")"
		}
		if !s.S.Listed {
			part += "(unlisted)"
		}
		parts = append(parts, part)
	}
	if h.Banners != "" {
		parts = append(parts, "banners="+h.Banners)
	}
	if s := h.Second; s != nil {
		switch {
		case s.Down:
			parts = append(parts, "second="+s.Addr+"(down)")
		case len(s.Without) > 0:
			parts = append(parts, "second="+s.Addr+"(without "+strings.Join(s.Without, ",")+")")
		default:
			parts = append(parts, "second="+s.Addr)
		}
	}
	return strings.Join(parts, " ")
}

func sortedCodes(m map[string]scoring.Outcome) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	order := map[string]int{}
	for i, c := range scoring.MailCatalog.Codes() {
		order[c] = i
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}
