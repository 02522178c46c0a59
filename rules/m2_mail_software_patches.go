package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

// M2MailSoftwarePatches grades item M2 (mail software security patches applied) from the
// fingerprints of a server's SMTP, submission, SMTPS, IMAP(S) and POP3(S)
// services (other fingerprints are ignored), against the advisory data
// db at the evaluation date asOf. services are the server's planned
// services and what became of them: every mail service the inventory
// lists, or that answered, must show its version for M2 to pass.
//
//   - fail: a version lies in an advisory's affected range, decided on the
//     distribution package version where the banner shows one, and on the
//     upstream version where the banner shows no distribution marker (the
//     reason then says a backported fix needs an exception); or, with no
//     distribution marker, the product line is past its end of life.
//   - unknown: a mail service did not answer, was not probed, sits on an
//     address outside the scope, or answered without a banner (TLS
//     failed); a version is hidden; a distribution marker shows without a
//     package version (backports cannot be seen); the product is not
//     recognised; or the data for the product is only a selection.
//   - pass: only when every mail service shows a version at or above the
//     newest fixed version of its release line, in data marked complete
//     for that product, and (without a distribution marker) the data has
//     end-of-life dates for the product so its line is known supported.
//
// Exceptions in force for the server (by id or host) remove exactly the
// findings they name; what remains is judged as if those findings were
// absent — an exception never lifts M2 above what the data can prove, so
// a version with every finding excepted passes only on data complete for
// its product. The reason names the excepted findings and
// Verdict.Exception the exceptions used. Expired exceptions are ignored
// and listed in the evidence. M2 applies to every server: without any
// mail service the outcome is unknown.
func M2MailSoftwarePatches(fps []observe.Fingerprint, services []observe.Service, db *advisory.DB, exc *advisory.Exceptions, serverID, host string, asOf time.Time, pol Policy) scoring.Verdict {
	_ = pol
	if db == nil {
		db = advisory.Default()
	}
	var mail []observe.Fingerprint
	seen := map[string]bool{}
	for _, fp := range fps {
		if fingerprint.IsMail(fp.Service) {
			mail = append(mail, fp)
			seen[endpointKey(fp.Service, fp.Address, fp.Port)] = true
		}
	}
	// Mail services that showed no banner at all.
	var silent []string
	for _, s := range services {
		if !fingerprint.IsMail(s.Service) || !(s.Listed || s.State == observe.StateAnswered) || seen[endpointKey(s.Service, s.Address, s.Port)] {
			continue
		}
		w := where(s.Service, s.Address, s.Port)
		switch s.State {
		case observe.StateAnswered:
			silent = append(silent, w+": answered but showed no banner, so its version cannot be seen")
		case observe.StateNotProbed:
			silent = append(silent, w+": not probed before the budget ran out, so its version cannot be seen")
		case observe.StateOutOfScope:
			silent = append(silent, w+": outside the scope, not contacted, so its version cannot be seen")
		default:
			silent = append(silent, w+": listed but did not answer, so its version cannot be seen")
		}
	}
	dataLine := dataAsOf(db)
	if len(mail) == 0 && len(silent) == 0 {
		return patchVerdict(scoring.Unknown, "no SMTP, IMAP or POP3 banner was seen, so the mail software cannot be identified", []string{dataLine}, "")
	}
	active, expired := exc.For(serverID, host, asOf)
	var (
		evidence []string
		failed   []string
		unknowns = silent
		passes   []string
		used     []advisory.Exception
		excepted []string
		allIDs   []string
	)
	for _, fp := range mail {
		w := fpWhere(fp)
		for _, e := range fp.Evidence {
			evidence = append(evidence, w+" "+e)
		}
		r := m2One(fp, db, asOf, active)
		for _, f := range r.findings {
			allIDs = append(allIDs, f.id)
			mark := ""
			if contains(r.covered, f.id) {
				mark = " [removed by exception]"
			}
			evidence = append(evidence, w+" "+f.id+": "+f.reason+mark+sourceSuffix(f.source))
		}
		used = appendExceptions(used, r.used)
		if len(r.covered) > 0 {
			excepted = append(excepted, fmt.Sprintf("%s %s: %s", w, productLabel(fp), strings.Join(r.covered, ", ")))
		}
		switch {
		case len(r.left) > 0:
			msg := fmt.Sprintf("%s %s: %s", w, productLabel(fp), strings.Join(r.left, ", "))
			if r.upstream {
				msg += " (no distribution marker: a backported fix needs an exception)"
			}
			failed = append(failed, msg)
		case r.pass:
			passes = append(passes, w+" "+r.reason)
			evidence = append(evidence, w+" "+r.reason)
		default:
			unknowns = append(unknowns, w+" "+r.reason)
		}
	}
	evidence = append(evidence, expiredIgnored(expired, allIDs)...)
	evidence = append(evidence, dataLine)
	excName := exceptionNames(used)
	note := ""
	if len(excepted) > 0 {
		note = "; findings removed by exception: " + strings.Join(excepted, "; ")
	}
	switch {
	case len(failed) > 0:
		return patchVerdict(scoring.Fail, strings.Join(failed, "; ")+note, evidence, excName)
	case len(unknowns) > 0:
		return patchVerdict(scoring.Unknown, strings.Join(unknowns, "; ")+note, evidence, excName)
	}
	return patchVerdict(scoring.Pass, "every mail service shows a version at or above the newest fix of its release line, in data complete for its product"+note, evidence, excName)
}

// endpointKey names one service of one address.
func endpointKey(service, address string, port int) string {
	return service + " " + address + " " + strconv.Itoa(port)
}

// finding is one fact that fails a patch item.
type finding struct {
	id, reason, source string
}

// m2Result is the judgement of one mail service.
type m2Result struct {
	findings []finding // every finding, excepted or not
	left     []string  // ids of the findings no exception removes
	covered  []string  // ids removed by an exception
	used     []advisory.Exception
	upstream bool   // some finding was decided on the upstream version
	pass     bool   // no finding left and the data proves the version patched
	reason   string // for pass and unknown
}

// m2One judges one mail service's fingerprint. Findings covered by an
// active exception are removed; with none left, the service is judged as
// if they had never been found.
func m2One(fp observe.Fingerprint, db *advisory.DB, asOf time.Time, active []advisory.Exception) m2Result {
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
		}
	}
	t := advisory.Target{Product: fp.Product, Version: fp.Version, Package: fp.PackageVersion}
	if marker {
		t.Distro, t.Release = fp.Distro, fp.DistroRelease
	}
	undecided := ""
	upstream := map[string]bool{}
	for _, l := range r.findings {
		upstream[l.id] = true
	}
	for _, m := range db.Check(t) {
		switch m.Status {
		case advisory.Affected:
			r.findings = append(r.findings, finding{id: m.Advisory.ID, reason: m.Reason, source: firstSource(m.Advisory.Source)})
			if m.Basis == advisory.BasisUpstream {
				upstream[m.Advisory.ID] = true
			}
		case advisory.Undecidable:
			if undecided == "" {
				undecided = m.Reason
			}
		}
	}
	sort.SliceStable(r.findings, func(i, j int) bool { return r.findings[i].id < r.findings[j].id })
	r.covered, r.left, r.used = advisory.Cover(findingIDs(r.findings), active)
	if len(r.left) > 0 {
		for _, id := range r.left {
			r.upstream = r.upstream || upstream[id]
		}
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
		what := "no known advisory applies"
		if len(r.covered) > 0 {
			what = "no finding is left after the exceptions"
		}
		r.reason = fmt.Sprintf("%s: %s, but the data for %s is a selection, not complete, so the version cannot be proven patched", label, what, fp.Product)
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

func productLabel(fp observe.Fingerprint) string {
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
func fpWhere(fp observe.Fingerprint) string { return where(fp.Service, fp.Address, fp.Port) }

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
func distroSupported(db *advisory.DB, fp observe.Fingerprint, asOf time.Time) bool {
	l, ok, all := osEOL(db, fp)
	return ok && all && !l.Ended(asOf)
}
