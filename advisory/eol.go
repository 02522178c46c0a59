package advisory

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kensa-inspect/kensa/advisory/version"
)

// Kinds of end-of-life entries.
const (
	KindOS      = "os"      // an operating-system release
	KindProduct = "product" // a product release line
)

// Lifecycle is the end of free security updates of an operating-system
// release or a product line. Supported means free security updates are
// still published: Debian through its LTS period, Ubuntu until the end of
// standard support (ESM needs a subscription no banner shows), RHEL and
// rebuilds until the end of maintenance support, Windows Server and
// Exchange until the end of extended support (paid ESU does not count).
type Lifecycle struct {
	Kind string `json:"kind" yaml:"kind"`
	// Name is the distribution (debian, ubuntu, el, rhel, centos,
	// centos-stream, windows, freebsd) or the canonical product name.
	Name string `json:"name" yaml:"name"`
	// Release is the release ("12", "22.04", "2012 R2") or product line
	// ("4.96", "2016").
	Release string `json:"release,omitempty" yaml:"release,omitempty"`
	// Below, instead of Release, covers every release or line older than
	// it (compared as upstream versions); such entries give an upper
	// bound for lines without an entry of their own.
	Below string `json:"below,omitempty" yaml:"below,omitempty"`
	Label string `json:"label,omitempty" yaml:"label,omitempty"`
	// EOL is the last day of free security updates.
	EOL    Date   `json:"eol" yaml:"eol"`
	Source string `json:"source" yaml:"source"`
	Note   string `json:"note,omitempty" yaml:"note,omitempty"`
}

// String returns a readable name of the entry.
func (l Lifecycle) String() string {
	if l.Label != "" {
		return l.Label
	}
	if l.Below != "" {
		return l.Name + " before " + l.Below
	}
	return l.Name + " " + l.Release
}

// Ended reports whether free security updates had ended at t.
func (l Lifecycle) Ended(t time.Time) bool { return l.EOL.PassedAt(t) }

// ID returns the finding id of the end of life, as exceptions name it:
// "EOL:debian:9", "EOL:Exim:4.96".
func (l Lifecycle) ID() string {
	r := l.Release
	if r == "" {
		r = "<" + l.Below
	}
	return "EOL:" + l.Name + ":" + r
}

//go:embed data/eol.json
var eolJSON []byte

var (
	eolOnce sync.Once
	eolData []Lifecycle
	eolErr  error
)

// builtinEOL returns a copy of the built-in end-of-life data.
func builtinEOL() []Lifecycle {
	eolOnce.Do(func() {
		eolErr = json.Unmarshal(eolJSON, &eolData)
		if eolErr == nil {
			db := DB{Schema: Schema, AsOf: MustDate("2000-01-01"), EOL: eolData}
			eolErr = db.Validate()
		}
	})
	if eolErr != nil {
		panic("advisory: built-in end-of-life data is invalid: " + eolErr.Error())
	}
	return append([]Lifecycle(nil), eolData...)
}

// BuiltinEOL returns the built-in end-of-life data.
func BuiltinEOL() []Lifecycle { return builtinEOL() }

func eolKey(l Lifecycle) string {
	return l.Kind + "\x00" + l.Name + "\x00" + l.Release + "\x00" + l.Below
}

// mergeEOL returns base with the entries of over added, replacing those
// with the same kind, name and release.
func mergeEOL(base, over []Lifecycle) []Lifecycle {
	out := append([]Lifecycle(nil), base...)
	idx := map[string]int{}
	for i, l := range out {
		idx[eolKey(l)] = i
	}
	for _, l := range over {
		if i, ok := idx[eolKey(l)]; ok {
			out[i] = l
			continue
		}
		idx[eolKey(l)] = len(out)
		out = append(out, l)
	}
	return out
}

// withoutBuiltin drops the entries identical to built-in ones.
func withoutBuiltin(ls []Lifecycle) []Lifecycle {
	builtin := map[string]Lifecycle{}
	for _, l := range builtinEOL() {
		builtin[eolKey(l)] = l
	}
	var out []Lifecycle
	for _, l := range ls {
		if b, ok := builtin[eolKey(l)]; ok && b == l {
			continue
		}
		out = append(out, l)
	}
	return out
}

// EndOfLife returns the end-of-life entry of an operating-system release
// (kind KindOS, name "debian", release "9") or a product line (kind
// KindProduct, name "Exim", release "4.96"). An entry for the exact
// release wins; otherwise the "below" entry with the smallest bound above
// the release applies. Release names compare case-insensitively.
func (db *DB) EndOfLife(kind, name, release string) (Lifecycle, bool) {
	eol := db.EOL
	if eol == nil {
		eol = builtinEOL()
	}
	release = strings.TrimSpace(release)
	if release == "" {
		return Lifecycle{}, false
	}
	var best Lifecycle
	found := false
	for _, l := range eol {
		if l.Kind != kind || !strings.EqualFold(l.Name, name) {
			continue
		}
		if l.Release != "" && strings.EqualFold(l.Release, release) {
			return l, true
		}
	}
	for _, l := range eol {
		if l.Kind != kind || !strings.EqualFold(l.Name, name) || l.Below == "" {
			continue
		}
		if version.CompareUpstream(release, l.Below) < 0 {
			if !found || version.CompareUpstream(l.Below, best.Below) < 0 {
				best, found = l, true
			}
		}
	}
	return best, found
}

// OSEndOfLife returns the end-of-life entry of a distribution release as
// fingerprints name them: Raspbian follows Debian; a Red Hat family
// release ("rhel", "centos" ... or the .el tag family "el") is looked up
// under its own name first, then under "el".
func (db *DB) OSEndOfLife(distro, release string) (Lifecycle, bool) {
	switch distro {
	case "raspbian":
		return db.EndOfLife(KindOS, "debian", release)
	}
	if l, ok := db.EndOfLife(KindOS, distro, release); ok {
		return l, true
	}
	if version.SchemeFor(distro) == version.RPM {
		major := release
		if i := strings.IndexByte(major, '.'); i > 0 {
			major = major[:i]
		}
		if l, ok := db.EndOfLife(KindOS, distro, major); ok {
			return l, true
		}
		return db.EndOfLife(KindOS, "el", major)
	}
	return Lifecycle{}, false
}

// ProductLineEndOfLife returns the end-of-life entry of a product's
// release line: the line given, or the line of the upstream version.
func (db *DB) ProductLineEndOfLife(product, line, upstream string) (Lifecycle, bool) {
	if line == "" {
		line = version.Line(upstream)
	}
	if line == "" {
		return Lifecycle{}, false
	}
	return db.EndOfLife(KindProduct, product, line)
}

// describe formats an end-of-life fact for reasons and evidence.
func describeEOL(l Lifecycle) string {
	return fmt.Sprintf("%s: free security updates ended %s (source: %s)", l.String(), l.EOL, l.Source)
}

// HasLifecycle reports whether the data holds any end-of-life entry for a
// distribution or product (kind KindOS or KindProduct), that is whether
// the absence of an entry for one release means "supported" rather than
// "not known".
func (db *DB) HasLifecycle(kind, name string) bool {
	eol := db.EOL
	if eol == nil {
		eol = builtinEOL()
	}
	for _, l := range eol {
		if l.Kind == kind && strings.EqualFold(l.Name, name) {
			return true
		}
	}
	return false
}
