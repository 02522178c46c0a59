// Package version compares software version strings under the schemes kensa
// meets in banners and advisories: upstream dotted versions with their
// quirks (Sendmail 8.17.1.9, OpenSSH 9.2p1, UW-IMAP 2007b, Exim 4.96.1),
// Debian and Ubuntu package versions (dpkg ordering with epochs and "~"),
// and RPM versions with release tags.
package version

import (
	"fmt"
	"regexp"
	"strings"

	hv "github.com/hashicorp/go-version"
	deb "github.com/knqyf263/go-deb-version"
	rpm "github.com/knqyf263/go-rpm-version"
)

// Scheme names a version ordering.
type Scheme string

// The schemes kensa understands.
const (
	// Upstream orders the versions projects publish: dotted numbers with
	// letters and patch suffixes (see CompareUpstream).
	Upstream Scheme = "upstream"
	// Deb orders Debian and Ubuntu package versions as dpkg does.
	Deb Scheme = "deb"
	// RPM orders RPM [epoch:]version-release strings as rpm does.
	RPM Scheme = "rpm"
)

// SchemeFor returns the package-version scheme of a distribution: Deb for
// debian, ubuntu and raspbian, RPM for the Red Hat family, Upstream
// otherwise.
func SchemeFor(distro string) Scheme {
	switch strings.ToLower(distro) {
	case "debian", "ubuntu", "raspbian":
		return Deb
	case "el", "rhel", "centos", "centos-stream", "rocky", "almalinux", "oracle", "fedora", "amazon":
		return RPM
	}
	return Upstream
}

// Compare orders a and b under scheme s: -1 when a < b, 0 when equal, 1
// when a > b. It fails when a version is empty or, for Deb, not a valid
// Debian version.
func Compare(s Scheme, a, b string) (int, error) {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return 0, fmt.Errorf("version: cannot compare an empty version (%q, %q)", a, b)
	}
	switch s {
	case Deb:
		return CompareDeb(a, b)
	case RPM:
		return CompareRPM(a, b), nil
	case Upstream, "":
		return CompareUpstream(a, b), nil
	}
	return 0, fmt.Errorf("version: unknown scheme %q", s)
}

// CompareDeb orders two Debian package versions ([epoch:]upstream[-revision])
// as dpkg does: "~" sorts before anything, even the end of the string.
func CompareDeb(a, b string) (int, error) {
	va, err := deb.NewVersion(a)
	if err != nil {
		return 0, fmt.Errorf("version: %q is not a Debian version: %w", a, err)
	}
	vb, err := deb.NewVersion(b)
	if err != nil {
		return 0, fmt.Errorf("version: %q is not a Debian version: %w", b, err)
	}
	return sign(va.Compare(vb)), nil
}

// CompareRPM orders two RPM versions ([epoch:]version[-release]) as rpm's
// rpmvercmp does.
func CompareRPM(a, b string) int {
	va, vb := rpm.NewVersion(a), rpm.NewVersion(b)
	return sign(va.Compare(vb))
}

var plainDotted = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,9}){0,9}$`)

// CompareUpstream orders two upstream versions. Purely numeric dotted
// versions (8.17.1.9, 4.96.1) are compared with hashicorp/go-version, so
// 1.0 equals 1.0.0. Other versions are split into runs of digits and of
// letters: numbers compare numerically, letters alphabetically (case
// ignored), a number sorts after letters (9.2p1 < 9.2.1), and when one
// version runs out the longer one is newer (2007 < 2007b, 8.17.1 <
// 8.17.1.9) unless what remains is a pre-release marker (rc, beta, alpha,
// pre, dev, "~"), which makes it older (4.97rc1 < 4.97).
func CompareUpstream(a, b string) int {
	if plainDotted.MatchString(a) && plainDotted.MatchString(b) {
		va, err1 := hv.NewVersion(a)
		vb, err2 := hv.NewVersion(b)
		if err1 == nil && err2 == nil {
			return sign(va.Compare(vb))
		}
	}
	ta, tb := tokens(a), tokens(b)
	for i := 0; ; i++ {
		switch {
		case i >= len(ta) && i >= len(tb):
			return 0
		case i >= len(ta):
			if tb[i].pre() {
				return 1
			}
			if tb[i].zero() && allZero(tb[i:]) {
				return 0
			}
			return -1
		case i >= len(tb):
			if ta[i].pre() {
				return -1
			}
			if ta[i].zero() && allZero(ta[i:]) {
				return 0
			}
			return 1
		}
		if c := ta[i].compare(tb[i]); c != 0 {
			return c
		}
	}
}

type token struct {
	s   string
	num bool
}

func (t token) pre() bool {
	if t.num {
		return false
	}
	switch strings.ToLower(t.s) {
	case "~", "rc", "beta", "alpha", "pre", "dev", "snap":
		return true
	}
	return false
}

func (t token) zero() bool { return t.num && strings.Trim(t.s, "0") == "" }

func allZero(ts []token) bool {
	for _, t := range ts {
		if !t.zero() {
			return false
		}
	}
	return true
}

func (t token) compare(o token) int {
	switch {
	case t.num && o.num:
		return compareDigits(t.s, o.s)
	case t.num:
		return 1
	case o.num:
		return -1
	}
	tp, op := t.pre(), o.pre()
	switch {
	case tp && !op:
		return -1
	case op && !tp:
		return 1
	}
	return sign(strings.Compare(strings.ToLower(t.s), strings.ToLower(o.s)))
}

// compareDigits compares two runs of decimal digits of any length.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return sign(strings.Compare(a, b))
}

// tokens splits a version into runs of digits and runs of letters; other
// characters separate runs, except "~", which is a pre-release token.
func tokens(v string) []token {
	var out []token
	i := 0
	for i < len(v) {
		c := v[i]
		switch {
		case isDigit(c):
			j := i
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			out = append(out, token{s: v[i:j], num: true})
			i = j
		case isLetter(c):
			j := i
			for j < len(v) && isLetter(v[j]) {
				j++
			}
			out = append(out, token{s: v[i:j]})
			i = j
		case c == '~':
			out = append(out, token{s: "~"})
			i++
		default:
			i++
		}
	}
	return out
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// Normalize returns the form of an upstream version that compares right
// for a product. OpenSSH versions without a portable suffix, as Red Hat
// and OpenBSD show them ("OpenSSH_7.4"), are the first portable release
// of that version ("7.4p1").
func Normalize(product, v string) string {
	v = strings.TrimSpace(v)
	if product == "OpenSSH" && v != "" && !strings.ContainsAny(v, "pP") && plainDotted.MatchString(v) {
		return v + "p1"
	}
	return v
}

// Line returns the release line of an upstream version: its first two
// numeric components ("4.96" for Exim 4.96.1, "3.7" for Postfix 3.7.9,
// "8.17" for Sendmail 8.17.1.9, "9.2" for OpenSSH 9.2p1), the year and
// letter-free part of UW-IMAP versions ("2007" for 2007b.404), or "" when
// the version has no leading number.
func Line(v string) string {
	ts := tokens(strings.TrimSpace(v))
	if len(ts) == 0 || !ts[0].num {
		return ""
	}
	first := strings.TrimLeft(ts[0].s, "0")
	if first == "" {
		first = "0"
	}
	if len(ts) > 1 && ts[1].num {
		second := strings.TrimLeft(ts[1].s, "0")
		if second == "" {
			second = "0"
		}
		return first + "." + second
	}
	return first
}
