package rules

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/scoring"
)

// M2 grades item M2 (mail software security patches applied) from the
// fingerprints of a server's SMTP, submission, SMTPS, IMAP(S) and POP3(S)
// services (other fingerprints are ignored), against the advisory data
// db at the evaluation date asOf.
//
//   - fail: a version lies in an advisory's affected range, decided on the
//     distribution package version where the banner shows one, and on the
//     upstream version where the banner shows no distribution marker (the
//     reason then says a backported fix needs an exception); or, with no
//     distribution marker, the product line is past its end of life.
//   - unknown: a version is hidden, a distribution marker shows without a
//     package version (backports cannot be seen), the product is not
//     recognised, or the data for the product is only a selection.
//   - pass: only when every mail service shows a version at or above the
//     newest fixed version of its release line, in data marked complete
//     for that product, and (without a distribution marker) the data has
//     end-of-life dates for the product so its line is known supported.
//
// Exceptions in force for the server (by id or host) turn exactly the
// findings they name into a pass marked in Verdict.Exception; expired
// exceptions are ignored and listed in the evidence. M2 applies to every
// server: without any mail fingerprint the outcome is unknown.
func M2(fps []fingerprint.Fingerprint, db *advisory.DB, exc *advisory.Exceptions, serverID, host string, asOf time.Time, pol Policy) scoring.Verdict {
	_ = pol
	if db == nil {
		db = advisory.Default()
	}
	var mail []fingerprint.Fingerprint
	for _, fp := range fps {
		if fingerprint.IsMail(fp.Service) {
			mail = append(mail, fp)
		}
	}
	dataLine := dataAsOf(db)
	if len(mail) == 0 {
		return patchVerdict(scoring.Unknown, "no SMTP, IMAP or POP3 banner was seen, so the mail software cannot be identified", []string{dataLine}, "")
	}
	active, expired := exc.For(serverID, host, asOf)
	var (
		evidence  []string
		failed    []string
		unknowns  []string
		passes    int
		byExc     []advisory.Exception
		allIDs    []string
		excReason []string
	)
	for _, fp := range mail {
		w := fpWhere(fp)
		for _, e := range fp.Evidence {
			evidence = append(evidence, w+" "+e)
		}
		r := m2One(fp, db, asOf)
		for _, f := range r.findings {
			allIDs = append(allIDs, f.id)
		}
		switch {
		case len(r.findings) > 0:
			ids := findingIDs(r.findings)
			covered, left, used := advisory.Cover(ids, active)
			for _, f := range r.findings {
				mark := ""
				if contains(covered, f.id) {
					mark = " [covered by exception]"
				}
				evidence = append(evidence, w+" "+f.id+": "+f.reason+mark+sourceSuffix(f.source))
			}
			if len(left) == 0 {
				passes++
				byExc = appendExceptions(byExc, used)
				excReason = append(excReason, fmt.Sprintf("%s %s: %s by exception", w, productLabel(fp), strings.Join(covered, ", ")))
				continue
			}
			byExc = appendExceptions(byExc, used)
			msg := fmt.Sprintf("%s %s: %s", w, productLabel(fp), strings.Join(left, ", "))
			if r.upstream {
				msg += " (no distribution marker: a backported fix needs an exception)"
			}
			failed = append(failed, msg)
		case r.pass:
			passes++
			evidence = append(evidence, w+" "+r.reason)
		default:
			unknowns = append(unknowns, w+" "+r.reason)
		}
	}
	evidence = append(evidence, expiredIgnored(expired, allIDs)...)
	evidence = append(evidence, dataLine)
	excName := exceptionNames(byExc)
	switch {
	case len(failed) > 0:
		return patchVerdict(scoring.Fail, strings.Join(failed, "; "), evidence, "")
	case len(unknowns) > 0:
		return patchVerdict(scoring.Unknown, strings.Join(unknowns, "; "), evidence, "")
	case passes == len(mail) && len(excReason) > 0:
		return patchVerdict(scoring.Pass, "passes by exception: "+strings.Join(excReason, "; "), evidence, excName)
	default:
		return patchVerdict(scoring.Pass, "every mail service shows a version at or above the newest fix of its release line, in data complete for its product", evidence, "")
	}
}

// finding is one fact that fails a patch item.
type finding struct {
	id, reason, source string
}

type m2Result struct {
	findings []finding
	upstream bool // some finding was decided on the upstream version
	pass     bool
	reason   string // for pass and unknown
}

func m2One(fp fingerprint.Fingerprint, db *advisory.DB, asOf time.Time) m2Result {
	var r m2Result
	if fp.Product == "" {
		r.reason = "the mail software is not recognised from its banner"
		return r
	}
	label := productLabel(fp)
	marker := fp.Distro != "" && fp.Distro != "windows"
	// A product line past its end of life, where no distribution
	// maintains the package.
	if !marker {
		if l, ok := db.ProductLineEndOfLife(fp.Product, fp.Line, fp.Version); ok && l.Ended(asOf) {
			r.findings = append(r.findings, finding{id: l.ID(), reason: fmt.Sprintf("%s: free security updates ended %s", l.String(), l.EOL), source: l.Source})
			r.upstream = true
		}
	}
	t := advisory.Target{Product: fp.Product, Version: fp.Version, Package: fp.PackageVersion}
	if marker {
		t.Distro, t.Release = fp.Distro, fp.DistroRelease
	}
	undecided := ""
	for _, m := range db.Check(t) {
		switch m.Status {
		case advisory.Affected:
			r.findings = append(r.findings, finding{id: m.Advisory.ID, reason: m.Reason, source: firstSource(m.Advisory.Source)})
			if m.Basis == advisory.BasisUpstream {
				r.upstream = true
			}
		case advisory.Undecidable:
			if undecided == "" {
				undecided = m.Reason
			}
		}
	}
	if len(r.findings) > 0 {
		sort.SliceStable(r.findings, func(i, j int) bool { return r.findings[i].id < r.findings[j].id })
		return r
	}
	switch {
	case fp.Version == "" && fp.Line == "":
		r.reason = label + ": version hidden, so its patch level cannot be seen"
	case fp.Version == "":
		r.reason = label + ": the banner names the release line but no version"
	case undecided != "":
		r.reason = label + ": " + undecided
	case marker && fp.PackageVersion == "":
		r.reason = label + ": a " + fp.Distro + " marker shows without a package version, so backported fixes cannot be seen"
	case !db.Complete(fp.Product):
		r.reason = fmt.Sprintf("%s: no known advisory applies, but the data for %s is a selection, not complete, so the version cannot be proven patched", label, fp.Product)
	case marker && !distroSupported(db, fp, asOf):
		r.reason = fmt.Sprintf("%s: the %s release is unknown or past its end of life, so its package cannot be shown maintained (M1 reports the release)", label, fp.Distro)
	case !marker && !db.HasLifecycle(advisory.KindProduct, fp.Product):
		r.reason = fmt.Sprintf("%s: no end-of-life data for %s, so its release line cannot be shown supported", label, fp.Product)
	default:
		r.pass = true
		r.reason = fmt.Sprintf("%s: at or above every fix in data complete for %s as of %s", label, fp.Product, db.AsOf)
	}
	return r
}

func productLabel(fp fingerprint.Fingerprint) string {
	s := fp.Product
	switch {
	case fp.Version != "":
		s += " " + fp.Version
	case fp.Line != "":
		s += " " + fp.Line
	}
	if fp.PackageVersion != "" && fp.Distro != "" && fp.Distro != "freebsd" {
		s += " (" + fp.Distro + " package " + fp.PackageVersion + ")"
	}
	return s
}

// fpWhere names a fingerprint's service: "192.0.2.1:25 smtp".
func fpWhere(fp fingerprint.Fingerprint) string {
	if a, err := netip.ParseAddr(fp.Address); err == nil {
		return netip.AddrPortFrom(a, uint16(fp.Port)).String() + " " + fp.Service
	}
	return fp.Address + ":" + strconv.Itoa(fp.Port) + " " + fp.Service
}

func dataAsOf(db *advisory.DB) string {
	return "advisory data as of " + db.AsOf.String()
}

func patchVerdict(o scoring.Outcome, reason string, evidence []string, exception string) scoring.Verdict {
	return scoring.Verdict{Outcome: o, Source: scoring.FromProbe, Reason: reason, Evidence: evidence, Exception: exception}
}

func findingIDs(fs []finding) []string {
	var out []string
	for _, f := range fs {
		if !contains(out, f.id) {
			out = append(out, f.id)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func appendExceptions(dst, add []advisory.Exception) []advisory.Exception {
	for _, e := range add {
		dup := false
		for _, d := range dst {
			if d.Line == e.Line && d.Server == e.Server && d.Host == e.Host && strings.Join(d.Advisories, ",") == strings.Join(e.Advisories, ",") {
				dup = true
			}
		}
		if !dup {
			dst = append(dst, e)
		}
	}
	return dst
}

// expiredIgnored returns an evidence line for each expired exception
// that names one of the findings ids: it was ignored.
func expiredIgnored(expired []advisory.Exception, ids []string) []string {
	var lines []string
	for _, e := range expired {
		for _, id := range ids {
			if e.Covers(id) {
				lines = append(lines, "expired exception ignored: "+e.String())
				break
			}
		}
	}
	return lines
}

func exceptionNames(es []advisory.Exception) string {
	var out []string
	for _, e := range es {
		out = append(out, e.String())
	}
	return strings.Join(out, "; ")
}

func firstSource(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func sourceSuffix(s string) string {
	if s = firstSource(s); s != "" {
		return " (" + s + ")"
	}
	return ""
}

// distroSupported reports whether a fingerprint's distribution release is
// known and still receives free security updates at asOf.
func distroSupported(db *advisory.DB, fp fingerprint.Fingerprint, asOf time.Time) bool {
	l, ok, all := osEOL(db, fp)
	return ok && all && !l.Ended(asOf)
}
