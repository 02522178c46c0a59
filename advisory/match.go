package advisory

import (
	"fmt"

	"github.com/kensa-inspect/kensa/advisory/version"
)

// Target is what banners show of one piece of software on one service.
type Target struct {
	// Product is the canonical product name.
	Product string
	// Version is the upstream version, "" when hidden.
	Version string
	// Distro is the distribution whose marker the banner shows (debian,
	// ubuntu, raspbian, rhel ...), "" when none.
	Distro string
	// Release is the distribution release, "" when unknown.
	Release string
	// Package is the distribution package version, "" when not shown.
	Package string
}

// Status is the state of one advisory on one target.
type Status string

// The statuses of a Match.
const (
	Affected    Status = "affected"
	NotAffected Status = "not-affected"
	// Undecidable means the banner does not show enough: a hidden
	// version, or a distribution marker without a package version or
	// without data for the release (a backported fix cannot be seen).
	Undecidable Status = "undecidable"
)

// Bases of a decision.
const (
	BasisPackage  = "package"  // decided on the distribution package version
	BasisUpstream = "upstream" // decided on the upstream version
)

// Match is one advisory checked against a target.
type Match struct {
	Advisory *Advisory
	Status   Status
	// Basis says what decided it: BasisPackage or BasisUpstream ("" when
	// undecidable).
	Basis string
	// Fixed is the fixed version the decision compared with, if any.
	Fixed string
	// Reason explains the status in one line.
	Reason string
}

// AffectsUpstream reports whether an upstream version of the advisory's
// product lies in one of its affected ranges.
func (a *Advisory) AffectsUpstream(v string) bool {
	v = version.Normalize(a.Product, v)
	if v == "" {
		return false
	}
	for _, r := range a.Affected {
		if r.Introduced != "" && version.CompareUpstream(v, version.Normalize(a.Product, r.Introduced)) < 0 {
			continue
		}
		switch {
		case r.Fixed != "":
			if version.CompareUpstream(v, version.Normalize(a.Product, r.Fixed)) < 0 {
				return true
			}
		case r.LastAffected != "":
			if version.CompareUpstream(v, version.Normalize(a.Product, r.LastAffected)) <= 0 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// fixedFor returns the newest fixed version listed for the line of v, or
// the smallest listed fixed version above v.
func (a *Advisory) fixedFor(v string) string {
	line := version.Line(v)
	best := ""
	for _, f := range a.Fixed {
		if line != "" && version.Line(f) == line {
			return f
		}
		if version.CompareUpstream(f, v) > 0 && (best == "" || version.CompareUpstream(f, best) < 0) {
			best = f
		}
	}
	return best
}

// DistroEntry returns the advisory's entry for a distribution release.
// Raspbian uses Debian's entries. The package name must match when given.
func (a *Advisory) DistroEntry(distro, release, pkg string) (DistroFix, bool) {
	if distro == "raspbian" {
		distro = "debian"
	}
	for _, d := range a.Distro {
		if d.Distro == distro && d.Release == release && (pkg == "" || d.Package == pkg) {
			return d, true
		}
	}
	return DistroFix{}, false
}

// Check checks every advisory of the target's product, with the rules of
// item M2: on the distribution package version where the banner shows
// one, on the upstream version where it shows no distribution marker;
// undecidable where a marker shows without a package version, or the
// version is hidden.
func (db *DB) Check(t Target) []Match {
	var out []Match
	p, _ := db.Product(t.Product)
	pkgName := ""
	if p.Packages != nil {
		pkgName = p.Packages[t.Distro]
		if pkgName == "" && t.Distro == "raspbian" {
			pkgName = p.Packages["debian"]
		}
	}
	for _, a := range db.For(t.Product) {
		out = append(out, check(a, t, pkgName))
	}
	return out
}

func check(a *Advisory, t Target, pkgName string) Match {
	m := Match{Advisory: a}
	upAffected := t.Version != "" && a.AffectsUpstream(t.Version)
	if t.Distro != "" {
		if t.Package != "" && t.Release != "" {
			if d, ok := a.DistroEntry(t.Distro, t.Release, pkgName); ok {
				switch d.State() {
				case StatusNotAffected:
					m.Status, m.Basis = NotAffected, BasisPackage
					m.Reason = fmt.Sprintf("%s %s is not affected by %s", t.Distro, t.Release, a.ID)
				case StatusAffected:
					m.Status, m.Basis = Affected, BasisPackage
					m.Reason = fmt.Sprintf("%s %s package %s is affected by %s and no fix was released", t.Distro, t.Release, t.Package, a.ID)
				default:
					c, err := version.Compare(version.SchemeFor(t.Distro), t.Package, d.Fixed)
					switch {
					case err != nil:
						m.Status = Undecidable
						m.Reason = fmt.Sprintf("cannot compare package version %s with %s: %v", t.Package, d.Fixed, err)
					case c < 0:
						m.Status, m.Basis, m.Fixed = Affected, BasisPackage, d.Fixed
						m.Reason = fmt.Sprintf("%s %s package %s is older than the fix %s of %s", t.Distro, t.Release, t.Package, d.Fixed, a.ID)
					default:
						m.Status, m.Basis, m.Fixed = NotAffected, BasisPackage, d.Fixed
						m.Reason = fmt.Sprintf("%s %s package %s includes the fix %s of %s", t.Distro, t.Release, t.Package, d.Fixed, a.ID)
					}
				}
				return m
			}
		}
		if t.Version != "" && !upAffected {
			m.Status, m.Basis = NotAffected, BasisUpstream
			m.Reason = fmt.Sprintf("upstream %s %s is outside the affected ranges of %s", t.Product, t.Version, a.ID)
			return m
		}
		m.Status = Undecidable
		switch {
		case t.Version == "":
			m.Reason = fmt.Sprintf("%s version hidden behind a %s marker", t.Product, t.Distro)
		case t.Package == "":
			m.Reason = fmt.Sprintf("upstream %s %s is in the affected range of %s, but the %s marker shows no package version (a backported fix cannot be seen)", t.Product, t.Version, a.ID, t.Distro)
		case t.Release == "":
			m.Reason = fmt.Sprintf("%s package %s: the %s release is unknown, so %s cannot be decided", t.Distro, t.Package, t.Distro, a.ID)
		default:
			m.Reason = fmt.Sprintf("no %s %s data for %s; upstream %s %s is in its affected range", t.Distro, t.Release, a.ID, t.Product, t.Version)
		}
		return m
	}
	if t.Version == "" {
		m.Status = Undecidable
		m.Reason = fmt.Sprintf("%s version hidden", t.Product)
		return m
	}
	m.Basis = BasisUpstream
	if upAffected {
		m.Status, m.Fixed = Affected, a.fixedFor(t.Version)
		m.Reason = fmt.Sprintf("%s %s is in the affected range of %s", t.Product, t.Version, a.ID)
		if m.Fixed != "" {
			m.Reason += " (fixed in " + m.Fixed + ")"
		}
		return m
	}
	m.Status = NotAffected
	m.Reason = fmt.Sprintf("%s %s is outside the affected ranges of %s", t.Product, t.Version, a.ID)
	return m
}

// laterDeb reports whether Debian version a sorts after b (invalid
// versions never do).
func laterDeb(a, b string) bool {
	c, err := version.CompareDeb(a, b)
	return err == nil && c > 0
}
