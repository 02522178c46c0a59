package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// M1OSPatches grades item M1 (OS security patches applied) from every fingerprint
// of a server (OpenSSH's distribution suffix, Sendmail's Debian suffix,
// RPM release tags, IIS/Windows builds, telnet login banners), against
// the advisory and end-of-life data db at the evaluation date asOf.
//
//   - fail: an operating-system release seen in a banner is past its end
//     of life (all candidate releases, when a banner narrows it to
//     several), or a distribution package seen in a banner is older than
//     a security fix released for that release.
//   - unknown: otherwise. A banner can prove an OS unpatched but never
//     prove it patched; a declaration decides.
//
// Exceptions in force for the server remove exactly the findings they
// name (advisory ids, or end-of-life ids such as "EOL:ubuntu:20.04" for
// an Ubuntu Pro subscription); what remains is judged as if those
// findings were absent, so with none left M1 is unknown — never pass, as
// a banner cannot prove an OS patched — and the reason names the
// excepted findings and Verdict.Exception the exceptions used. Expired
// exceptions are ignored and listed in the evidence. M1 applies to every
// server.
func M1OSPatches(fps []observe.Fingerprint, db *advisory.DB, exc *advisory.Exceptions, serverID, host string, asOf time.Time, pol Policy) scoring.Verdict {
	_ = pol
	if db == nil {
		db = advisory.Default()
	}
	var (
		evidence  []string
		findings  []finding
		where     = map[string][]string{} // finding id -> services
		supported []string
		seenOS    bool
	)
	addFinding := func(fp observe.Fingerprint, f finding) {
		if _, ok := where[f.id]; !ok {
			findings = append(findings, f)
		}
		where[f.id] = append(where[f.id], fpWhere(fp))
	}
	for _, fp := range fps {
		if fp.Distro == "" && fp.OS == "" {
			continue
		}
		seenOS = true
		w := fpWhere(fp)
		for _, e := range fp.Evidence {
			evidence = append(evidence, w+" "+e)
		}
		// End of life of the release (or of every candidate release).
		if l, ok, all := osEOL(db, fp); ok {
			if all && l.Ended(asOf) {
				addFinding(fp, finding{id: l.ID(), reason: fmt.Sprintf("%s: free security updates ended %s%s", l.String(), l.EOL, noteSuffix(l.Note)), source: l.Source})
			} else if !l.Ended(asOf) {
				supported = appendUnique(supported, fmt.Sprintf("%s is supported until %s", l.String(), l.EOL))
			}
		}
		// Distribution packages older than a released security fix.
		if fp.Product == "" || fp.PackageVersion == "" || fp.DistroRelease == "" {
			continue
		}
		t := advisory.Target{Product: fp.Product, Version: fp.Version, Distro: fp.Distro, Release: fp.DistroRelease, Package: fp.PackageVersion}
		for _, m := range db.Check(t) {
			if m.Status == advisory.Affected && m.Basis == advisory.BasisPackage && m.Fixed != "" {
				src := ""
				if d, ok := m.Advisory.DistroEntry(fp.Distro, fp.DistroRelease, ""); ok {
					src = d.Source
				}
				addFinding(fp, finding{id: m.Advisory.ID, reason: m.Reason, source: src})
			}
		}
	}
	dataLine := dataAsOf(db)
	active, expired := exc.For(serverID, host, asOf)
	ids := findingIDs(findings)
	covered, left, used := advisory.Cover(ids, active)
	for _, f := range findings {
		mark := ""
		if contains(covered, f.id) {
			mark = " [removed by exception]"
		}
		evidence = append(evidence, strings.Join(uniq(where[f.id]), ", ")+" "+f.id+": "+f.reason+mark+sourceSuffix(f.source))
	}
	evidence = append(evidence, expiredIgnored(expired, ids)...)
	evidence = append(evidence, dataLine)
	note := ""
	if len(covered) > 0 {
		note = "; findings removed by exception: " + strings.Join(covered, ", ")
	}
	excName := exceptionNames(used)
	switch {
	case len(left) > 0:
		var parts []string
		for _, id := range left {
			for _, f := range findings {
				if f.id == id {
					parts = append(parts, f.id+" ("+f.reason+")")
				}
			}
		}
		return patchVerdict(scoring.Fail, clipReason(strings.Join(parts, "; ")+note), evidence, excName)
	case !seenOS:
		return patchVerdict(scoring.Unknown, "no banner shows the operating system or a distribution package; a declaration decides", evidence, "")
	default:
		what := "no end-of-life release and no package older than a known fix was seen"
		if len(covered) > 0 {
			what = "no finding is left after the exceptions"
		}
		reason := what + ", but a banner cannot prove the OS patched; a declaration decides"
		if len(supported) > 0 {
			sort.Strings(supported)
			reason = strings.Join(supported, "; ") + "; " + reason
		}
		return patchVerdict(scoring.Unknown, clipReason(reason+note), evidence, excName)
	}
}

// osEOL returns the end-of-life entry of a fingerprint's OS release. With
// several candidate releases it returns the latest-ending one, and all
// reports whether every candidate has an entry (only then can the
// release be called past its end of life).
func osEOL(db *advisory.DB, fp observe.Fingerprint) (l advisory.Lifecycle, ok, all bool) {
	if fp.Distro == "" {
		return l, false, false
	}
	if fp.DistroRelease != "" {
		l, ok = db.OSEndOfLife(fp.Distro, fp.DistroRelease)
		return l, ok, ok
	}
	if len(fp.ReleaseCandidates) == 0 {
		return l, false, false
	}
	all = true
	for _, r := range fp.ReleaseCandidates {
		c, found := db.OSEndOfLife(fp.Distro, r)
		if !found {
			all = false
			continue
		}
		if !ok || c.EOL.After(l.EOL.Time) {
			l, ok = c, true
		}
	}
	if ok && all && len(fp.ReleaseCandidates) > 1 {
		l.Label = fmt.Sprintf("%s (one of %s %s)", l.String(), fp.Distro, strings.Join(fp.ReleaseCandidates, ", "))
	}
	return l, ok, all
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func appendUnique(ss []string, s string) []string {
	if contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = appendUnique(out, s)
	}
	return out
}

func clipReason(s string) string {
	if len(s) <= 400 {
		return s
	}
	return strings.ToValidUTF8(s[:397], "") + "..."
}
