package rules

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// s3MaxRootDistance is RFC 5905's MAXDISP: a server whose root distance
// exceeds it is unfit for synchronisation.
const s3MaxRootDistance = 16 * time.Second

// s3SilentCodes are kiss codes that deny or limit service, or report an
// authentication problem: they say nothing of the server's clock.
var s3SilentCodes = map[string]bool{
	"RATE": true, "DENY": true, "RSTR": true, "DROP": true,
	"AUTH": true, "CRYP": true, "NKEY": true, "NTSN": true,
}

// S3TimeSync grades time synchronisation. S3 applies to every server, and
// passes only when every address of the server has a passing time
// source of its own: addresses are the server's scanned addresses (nil:
// those the observations name).
//
// From NTP (ntpObs, normally one observation of port 123 per address):
// an answer fails if the server reports stratum 16, leap indicator 3
// (including stratum 0 with leap 3, as chrony and NTPsec answer before
// they have a source, and the kiss code INIT or STEP), a root distance
// beyond 16 s, or an offset from the scanner's clock beyond
// pol.NTPMaxOffset even allowing for the round trip (|offset| - rtt/2 >
// limit). It passes when a synchronised server (stratum 1–15, leap 0–2)
// is within the limit allowing for the round trip (|offset| + rtt/2 <=
// limit). Kiss codes RATE, DENY, RSTR (and the other access and
// authentication codes) say nothing of the clock: undecided.
//
// Where an address's NTP decides nothing, the timestamps of that
// address's own SMTP greetings are the fallback: the server stated S (to
// ResolutionMS), the line arrived at R on the scanner's clock after a
// connection round trip RTT, so the offset lies within
// [S-R, S-R+resolution+RTT]. It fails only if that whole interval is
// beyond the limit, passes only if it lies within.
//
// Any failing source on any address fails S3; an address without a
// passing source (no NTP answer and no greeting timestamp, or only
// undecided ones) makes S3 unknown.
//
// clock is the scanner host's own clock status (ntp.LocalClock), nil if
// not checked. Offsets are measured against the scanner's clock, so when
// it looks unsynchronised the verdict carries a warning in its reason
// and evidence; the outcome is not changed (a fleet-wide pattern of
// offset failures then points at the scanner).
func S3TimeSync(addresses []string, ntpObs []*observe.NTP, greetings []observe.TimeSample, clock *observe.ClockStatus, pol Policy) scoring.Verdict {
	limit := pol.NTPMaxOffset.D()
	if limit <= 0 {
		limit = DefaultPolicy().NTPMaxOffset.D()
	}
	v := s3Decide(addresses, ntpObs, greetings, limit)
	if clock != nil && clock.Checked && !clock.Synced {
		v.Reason += "; warning: the scanner's own clock looks unsynchronised (" + clock.Reason + "), offsets are measured against it"
		v.Evidence = append(v.Evidence, "scanner clock: "+clock.Reason)
	}
	return v
}

// s3Addresses returns addresses, or when it is empty the addresses the
// observations name, in order of appearance.
func s3Addresses(addresses []string, ntpObs []*observe.NTP, greetings []observe.TimeSample) []string {
	if len(addresses) > 0 {
		return addresses
	}
	var out []string
	for _, o := range ntpObs {
		if o != nil && !contains(out, o.Address) {
			out = append(out, o.Address)
		}
	}
	for _, g := range greetings {
		if !contains(out, g.Address) {
			out = append(out, g.Address)
		}
	}
	return out
}

func s3Decide(addresses []string, ntpObs []*observe.NTP, greetings []observe.TimeSample, limit time.Duration) scoring.Verdict {
	addrs := s3Addresses(addresses, ntpObs, greetings)
	if len(addrs) == 0 {
		return s1Verdict(scoring.Unknown, "no time source observable: no NTP service probed; no SMTP greeting carried a timestamp", nil)
	}
	var fails, unknowns, passes []string
	var failEv, otherEv []string
	for _, a := range addrs {
		out, why, ev := s3Address(a, ntpObs, greetings, limit)
		switch out {
		case scoring.Fail:
			fails, failEv = append(fails, why), append(failEv, ev...)
		case scoring.Pass:
			passes, otherEv = append(passes, why), append(otherEv, ev...)
		default:
			unknowns, otherEv = append(unknowns, why), append(otherEv, ev...)
		}
	}
	switch {
	case len(fails) > 0:
		return s1Verdict(scoring.Fail, strings.Join(fails, "; "), append(failEv, otherEv...))
	case len(unknowns) > 0:
		reason := strings.Join(unknowns, "; ")
		if len(passes) > 0 {
			reason += " (while " + strings.Join(passes, "; ") + ")"
		}
		return s1Verdict(scoring.Unknown, reason, otherEv)
	}
	return s1Verdict(scoring.Pass, strings.Join(passes, "; "), otherEv)
}

// s3Address judges the time sources of one address: its NTP answers,
// and when they decide nothing, its SMTP greetings' timestamps.
func s3Address(addr string, ntpObs []*observe.NTP, greetings []observe.TimeSample, limit time.Duration) (scoring.Outcome, string, []string) {
	var fail, pass, unknown []string
	var failEv, passEv, otherEv []string
	probed := false
	for _, o := range ntpObs {
		if o == nil || o.Address != addr {
			continue
		}
		probed = true
		w := s1Where(o.Endpoint)
		out, why, ev := s3NTP(o, limit)
		ev = append([]string(nil), ev...)
		for i := range ev {
			ev[i] = w + " " + ev[i]
		}
		switch out {
		case scoring.Fail:
			fail, failEv = append(fail, w+": "+why), append(failEv, ev...)
		case scoring.Pass:
			pass, passEv = append(pass, w+": "+why), append(passEv, ev...)
		default:
			unknown, otherEv = append(unknown, w+": "+why), append(otherEv, ev...)
		}
	}
	if len(fail) > 0 {
		return scoring.Fail, strings.Join(fail, "; "), append(failEv, passEv...)
	}
	if len(pass) > 0 {
		return scoring.Pass, strings.Join(pass, "; "), append(passEv, otherEv...)
	}

	var gFail, gPass, gUnknown, gEv []string
	for _, g := range greetings {
		if g.Address != addr {
			continue
		}
		out, why, ev := s3Greeting(g, limit)
		gEv = append(gEv, ev)
		switch out {
		case scoring.Fail:
			gFail = append(gFail, why)
		case scoring.Pass:
			gPass = append(gPass, why)
		default:
			gUnknown = append(gUnknown, why)
		}
	}
	prefix := ""
	if len(unknown) > 0 {
		prefix = "NTP undecided (" + strings.Join(unknown, "; ") + "); "
	} else if !probed {
		prefix = addr + ": no NTP service probed; "
	}
	ev := append(otherEv, gEv...)
	switch {
	case len(gFail) > 0:
		return scoring.Fail, prefix + "SMTP greeting time: " + gFail[0], ev
	case len(gPass) > 0:
		return scoring.Pass, prefix + "SMTP greeting time: " + gPass[0], ev
	case len(gUnknown) > 0:
		return scoring.Unknown, prefix + "SMTP greeting time: " + gUnknown[0], ev
	}
	if len(unknown) > 0 {
		return scoring.Unknown, strings.Join(unknown, "; ") + "; no SMTP greeting of " + addr + " carried a timestamp", ev
	}
	return scoring.Unknown, "no time source observable on " + addr + ": no NTP service probed; no SMTP greeting carried a timestamp", ev
}

// s3NTP judges one NTP observation.
func s3NTP(o *observe.NTP, limit time.Duration) (scoring.Outcome, string, []string) {
	if o.Answered == 0 {
		return scoring.Unknown, "no NTP answer (" + s1Or(o.Error, "no reply") + ")", []string{"no answer: " + s1Or(o.Error, "no reply")}
	}
	state := fmt.Sprintf("leap %d, stratum %d, refid %s", o.Leap, o.Stratum, s1Or(o.RefID, "-"))
	if o.Stratum == 0 {
		code := o.KissCode
		ev := []string{fmt.Sprintf("S: %s, kiss code %q (%d answers)", state, code, o.Answered)}
		switch {
		case s3SilentCodes[code]:
			return scoring.Unknown, fmt.Sprintf("the server answers only with the kiss code %s, which says nothing of its clock", code), ev
		case o.Leap == 3:
			return scoring.Fail, fmt.Sprintf("not synchronised: %s%s", state, s3Code(code)), ev
		case code == "INIT" || code == "STEP":
			return scoring.Fail, fmt.Sprintf("not synchronised: kiss code %s (%s)", code, state), ev
		}
		return scoring.Unknown, fmt.Sprintf("stratum 0 answer%s with leap %d, which does not say whether the clock is synchronised", s3Code(code), o.Leap), ev
	}
	ev := []string{fmt.Sprintf("S: %s, root delay %.3f ms, root dispersion %.3f ms (%d answers)", state, o.RootDelayMS, o.RootDispersionMS, o.Answered)}
	if o.OffsetValid {
		ev = append(ev, fmt.Sprintf("offset %+.3f ms ± %.3f ms (median of %d samples; server minus scanner)", o.OffsetMS, o.UncertaintyMS, o.TimingSamples))
	}
	if o.KissCode != "" {
		ev = append(ev, "kiss code "+o.KissCode+" after the answers above")
	}
	switch {
	case o.Stratum == 16:
		return scoring.Fail, "not synchronised: stratum 16 (" + state + ")", ev
	case o.Stratum > 16:
		return scoring.Unknown, fmt.Sprintf("invalid stratum %d", o.Stratum), ev
	case o.Leap == 3:
		return scoring.Fail, "not synchronised: leap indicator 3 (alarm) (" + state + ")", ev
	case time.Duration(o.RootDistanceMS*float64(time.Millisecond)) > s3MaxRootDistance:
		return scoring.Fail, fmt.Sprintf("not synchronised: root distance %.1f s exceeds 16 s", o.RootDistanceMS/1000), ev
	case !o.OffsetValid:
		return scoring.Unknown, "no NTP answer gave a usable offset (" + state + ")", ev
	}
	off := math.Abs(o.OffsetMS)
	lim := float64(limit) / float64(time.Millisecond)
	switch {
	case off-o.UncertaintyMS > lim:
		return scoring.Fail, fmt.Sprintf("clock off by %s (limit %s)", s3Ms(o.OffsetMS), limit), ev
	case off+o.UncertaintyMS <= lim:
		return scoring.Pass, fmt.Sprintf("synchronised (%s), offset %s within %s", state, s3Ms(o.OffsetMS), limit), ev
	}
	return scoring.Unknown, fmt.Sprintf("offset %s ± %.3f ms too close to the limit %s to decide", s3Ms(o.OffsetMS), o.UncertaintyMS, limit), ev
}

// s3Greeting judges one SMTP greeting timestamp.
func s3Greeting(g observe.TimeSample, limit time.Duration) (scoring.Outcome, string, string) {
	w := s1Where(observe.Endpoint{Service: g.Service, Address: g.Address, Port: g.Port})
	res := time.Duration(g.ResolutionMS) * time.Millisecond
	if res <= 0 {
		res = time.Second
	}
	// RTTMS is whole milliseconds, cut: allow one more.
	rtt := time.Duration(g.RTTMS+1) * time.Millisecond
	if g.RTTMS < 0 {
		rtt = 0
	}
	lo := g.Server.Sub(g.Received)
	hi := lo + res + rtt
	ev := fmt.Sprintf("%s greeting time %q, received %s: offset between %s and %s (resolution %s, round trip %s)",
		w, g.Text, g.Received.UTC().Format(time.RFC3339Nano), s3Dur(lo), s3Dur(hi), res, rtt)
	switch {
	case g.Server.IsZero() || g.Received.IsZero():
		return scoring.Unknown, w + " greeting timestamp unusable", ev
	case lo > limit || hi < -limit:
		return scoring.Fail, fmt.Sprintf("%s clock off by %s to %s (limit %s)", w, s3Dur(lo), s3Dur(hi), limit), ev
	case lo >= -limit && hi <= limit:
		return scoring.Pass, fmt.Sprintf("%s clock within %s (offset %s to %s)", w, limit, s3Dur(lo), s3Dur(hi)), ev
	}
	return scoring.Unknown, fmt.Sprintf("%s offset %s to %s straddles the limit %s", w, s3Dur(lo), s3Dur(hi), limit), ev
}

func s3Code(code string) string {
	if code == "" {
		return ""
	}
	return ", kiss code " + code
}

func s3Ms(v float64) string {
	if math.Abs(v) >= 1000 {
		return fmt.Sprintf("%+.3f s", v/1000)
	}
	return fmt.Sprintf("%+.3f ms", v)
}

func s3Dur(d time.Duration) string {
	s := d.Round(time.Millisecond).String()
	if d >= 0 {
		return "+" + s
	}
	return s
}
