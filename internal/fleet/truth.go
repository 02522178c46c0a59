package fleet

import (
	"encoding/csv"
	"io"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/scoring"
)

// worst combines outcomes of several services of one item: any fail is a
// fail, else any unknown is unknown, else pass. Empty outcomes are
// skipped; with none at all the result is empty.
func worst(os ...scoring.Outcome) scoring.Outcome {
	out := scoring.Outcome("")
	rank := map[scoring.Outcome]int{"": 0, scoring.Pass: 1, scoring.Unknown: 2, scoring.Fail: 3}
	for _, o := range os {
		if rank[o] > rank[out] {
			out = o
		}
	}
	return out
}

// Truth returns the expected outcome of every catalog item on host h:
// the behaviours' own expectations, combined with the host's
// declarations as docs/CHECKLIST.md says a scan does.
func (p *Plan) Truth(h *Host) map[string]scoring.Outcome {
	probe := p.probeTruth(h)
	out := map[string]scoring.Outcome{}
	for _, code := range scoring.MailCatalog.Codes() {
		v := scoring.Verdict{Outcome: probe[code]}
		out[code] = scoring.Combine(v, h.Declared[code]).Outcome
	}
	return out
}

// probeTruth is the truth before declarations.
func (p *Plan) probeTruth(h *Host) map[string]scoring.Outcome {
	t := map[string]scoring.Outcome{}
	for _, c := range scoring.MailCatalog.Codes() {
		t[c] = scoring.NA
	}
	if h.Down {
		return p.downTruth(h)
	}
	if h.SMTP != nil {
		t["A1"] = p.delayed(h.SMTP, smtpd.Truth(smtpd.Profile(h.SMTP.Profile)).A1)
		t["M3"], t["X2"] = h.contentTruth()
	}
	if h.Submission != nil {
		e := h.submissionConfig().Truth()
		e.A1 = p.delayed(h.Submission, e.A1)
		if h.SMTP != nil {
			t["A1"] = worst(t["A1"], e.A1)
		} else {
			t["A1"] = e.A1
		}
		t["X1"] = e.X1
	}
	if h.IMAP != nil || h.POP3 != nil {
		var im, po scoring.Outcome
		if h.IMAP != nil {
			im = imapd.Truth(imapd.Profile(h.IMAP.Profile))
		}
		if h.POP3 != nil {
			po = pop3d.Truth(pop3d.Profile(h.POP3.Profile))
		}
		t["P1"] = worst(im, po)
	}
	var s1 []scoring.Outcome
	if h.SSH != nil {
		s1 = append(s1, sshd.Truth(sshd.Profile(h.SSH.Profile)))
	}
	if h.Admin != nil {
		s1 = append(s1, telnetd.Truth(telnetd.Profile(h.Admin.Profile)))
	}
	t["S1"] = worst(s1...)
	if t["S1"] == "" {
		t["S1"] = scoring.Unknown
	}
	t["S2"] = scoring.Unknown
	t["S3"] = p.timeTruth(h)
	t["M1"], t["M2"] = scoring.Unknown, scoring.Unknown
	if set, ok := banners.ByName(h.Banners); ok {
		t["M1"] = set.M1
		t["M2"] = set.M2
		if len(p.Complete) > 0 {
			if o, ok := set.M2With(p.Complete...); ok {
				t["M2"] = o
			} else {
				t["M2"] = "" // the set does not say: Validate refuses it
			}
		}
		// A mail service the set has no banner for shows no version.
		if (h.SMTP != nil || h.Submission != nil) && set.SMTP == "" ||
			h.IMAP != nil && set.IMAP == "" || h.POP3 != nil && set.POP3 == "" {
			t["M2"] = worst(t["M2"], scoring.Unknown)
		}
	}
	if h.Second != nil {
		p.secondTruth(h, t)
	}
	return t
}

// secondTruth adjusts the truth of a host with a second address: an
// item passes only if it passes on both. A second address that is down
// answers nothing, so whatever would pass on the first is unknown (a
// failure on the first stays one). A second address without NTP has no
// clock source but the date in its own SMTP greeting.
func (p *Plan) secondTruth(h *Host, t map[string]scoring.Outcome) {
	sec := h.Second
	if sec.Down {
		for code, o := range t {
			if o == scoring.Pass {
				t[code] = scoring.Unknown
			}
		}
		return
	}
	for _, w := range sec.Without {
		if w != "ntp" || h.NTP == nil || t["S3"] == scoring.Fail || t["S3"] == "" {
			continue
		}
		g := p.greetingTimeTruth(h)
		if g == "" {
			t["S3"] = ""
			continue
		}
		t["S3"] = worst(t["S3"], g)
	}
}

// SlowGreetingDelay is how long the slow-greeting behaviour waits before
// its greeting (smtpd's default).
const SlowGreetingDelay = smtpd.DefaultGreetingDelay

// DefaultProbeTimeout is the scan's default budget of one probe of one
// service, which the truth assumes when a plan does not say.
const DefaultProbeTimeout = 60 * time.Second

// greetingDelay is how long an SMTP service holds back its greeting (for
// postscreen, the pause inside the greeting of a client's first
// session).
func greetingDelay(s *Service) time.Duration {
	if s.Delay > 0 {
		return s.Delay
	}
	return smtpd.Profile(s.Profile).GreetingDelay()
}

// probeTimeout is the probe budget the truth assumes.
func (p *Plan) probeTimeout() time.Duration {
	if p.ProbeTimeout > 0 {
		return p.ProbeTimeout
	}
	return DefaultProbeTimeout
}

// delayed adjusts the truth of a held-back greeting to the scanner's
// patience: a patient client (RFC 5321 gives five minutes for the
// greeting) waits for it as long as its probe budget allows, so a
// greeting that leaves time for the rest of the conversation is judged
// as usual, one that comes after the budget is spent leaves the service
// unknown, and "" means the two are too close to call.
func (p *Plan) delayed(s *Service, o scoring.Outcome) scoring.Outcome {
	d := greetingDelay(s)
	budget := p.probeTimeout()
	switch {
	case d == 0 || budget >= 2*d+5*time.Second:
		return o
	case d >= budget:
		return scoring.Unknown
	}
	return ""
}

// downTruth is the truth of a host that answers nothing. With services
// listed in the inventory, every item that applies to them is unknown
// (the others do not apply); with none listed, nothing shows which items
// apply or not, so every item is unknown.
func (p *Plan) downTruth(h *Host) map[string]scoring.Outcome {
	services := map[string]bool{}
	for _, s := range h.services() {
		if s.S.Listed {
			services[s.Name] = true
		}
	}
	t := map[string]scoring.Outcome{}
	for _, it := range scoring.MailCatalog.Items {
		t[it.Code] = scoring.NA
		if len(services) == 0 || it.Applies(services) {
			t[it.Code] = scoring.Unknown
		}
	}
	return t
}

// timeTruth is S3: the NTP responder's expectation, or when it decides
// nothing, a greeting clock far enough off to fail whatever the
// uncertainty. "" means the plan cannot know (Validate refuses it).
func (p *Plan) timeTruth(h *Host) scoring.Outcome {
	if h.NTP != nil {
		o := ntpd.Truth(ntpd.Config{Profile: ntpd.Profile(h.NTP.Profile), Offset: h.NTP.Offset}, p.NTPMaxOffset)
		if o != scoring.Unknown {
			return o
		}
	}
	return p.greetingTimeTruth(h)
}

// greetingTimeTruth is S3 from the SMTP greeting's date alone: unknown
// without one, fail when the clock is far enough off to fail whatever
// the uncertainty, "" when the greeting's resolution decides.
func (p *Plan) greetingTimeTruth(h *Host) scoring.Outcome {
	if h.SMTP == nil || !p.greets(h.SMTP) || !h.showsTime() {
		return scoring.Unknown
	}
	off := h.SMTP.Offset
	if off < 0 {
		off = -off
	}
	if off >= p.NTPMaxOffset+3*time.Second {
		return scoring.Fail
	}
	return "" // within a second or two: the greeting's resolution decides
}

// greets reports whether an SMTP service sends a normal 220 greeting
// that the scanner reads in time.
func (p *Plan) greets(s *Service) bool {
	if p.delayed(s, scoring.Pass) != scoring.Pass {
		return false
	}
	switch smtpd.Profile(s.Profile) {
	case smtpd.Silent, smtpd.Drip, smtpd.EndlessLine, smtpd.Garbage, smtpd.Reset, smtpd.Greeting554:
		return false
	}
	return true
}

// showsTime reports whether the host's SMTP greeting states its clock.
func (h *Host) showsTime() bool {
	if h.GreetingTime {
		return true
	}
	set, ok := h.set()
	return ok && dateRE.MatchString(set.SMTP)
}

// WriteTruth writes the expected outcome of every item on every host as
// CSV: id, org, unit, then one column per item code.
func (p *Plan) WriteTruth(w io.Writer) error {
	cw := csv.NewWriter(w)
	codes := scoring.MailCatalog.Codes()
	cw.Write(append([]string{"id", "org", "unit"}, codes...))
	for i := range p.Hosts {
		h := &p.Hosts[i]
		tr := p.Truth(h)
		row := []string{h.ID, h.Org, h.Unit}
		for _, c := range codes {
			row = append(row, string(tr[c]))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
