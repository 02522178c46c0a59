// Package advisory holds the vulnerability and end-of-life data that kensa
// grades software patch items (M1, M2) against: the advisory model, the
// shipped data set embedded in the binary, importers for the NVD CVE API
// 2.0 and OSV formats, end-of-life dates of operating systems and product
// lines, and exceptions an inspection office grants.
//
// # Data file format
//
// A data set is a JSON document (YAML with the same field names is read
// too) with schema "kensa-advisories/v1":
//
//	{
//	  "schema": "kensa-advisories/v1",
//	  "as_of": "2026-11-29",
//	  "products": [{"name": "Exim", "complete": false, "packages": {"debian": "exim4"}}],
//	  "advisories": [{
//	    "id": "CVE-2019-10149", "aliases": ["DSA-4456-1"], "product": "Exim",
//	    "severity": "critical", "remote": true, "published": "2019-06-05",
//	    "source": "https://nvd.nist.gov/vuln/detail/CVE-2019-10149",
//	    "affected": [{"introduced": "4.87", "fixed": "4.92"}],
//	    "fixed": ["4.92"],
//	    "distro": [{"distro": "debian", "release": "9", "package": "exim4",
//	                "fixed": "4.89-2+deb9u4", "source": "https://security-tracker.debian.org/tracker/DSA-4456-1"}]
//	  }],
//	  "eol": [{"kind": "os", "name": "debian", "release": "9", "eol": "2022-07-01", "source": "…"}]
//	}
//
// as_of is the date up to which the data was checked. A product marked
// complete lists every remotely exploitable advisory up to as_of; only then
// can a version be proven patched. The shipped data marks nothing
// complete; an office that vouches for its data marks products with
// `kensa advisories import … --complete PRODUCT` (ImportOptions.Complete)
// or DB.MarkComplete on a copy (see data/README.md for what completeness
// takes); both refuse a product the data holds no advisory of. Upstream
// ranges ("affected") use the product's upstream versions; distribution
// entries ("distro") use package versions compared as dpkg (Debian,
// Ubuntu) or rpm (Red Hat family) do.
// A distribution entry without "fixed" means no fix was released for that
// release ("status": "affected") or that it is not affected
// ("status": "not-affected"). End-of-life entries in a file are merged over
// the built-in ones (same kind, name and release replace them).
//
// An imported data set also names its inputs ("sources": ["nvd: FILE"])
// and the records the importer could not use although they may concern a
// product kensa knows ("dropped": CVEs NVD has not analysed, with the
// products their description names; "dropped_other" counts those naming
// none), so that a completeness claim never rests on a silent gap.
package advisory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Schema is the schema name of kensa's advisory data files.
const Schema = "kensa-advisories/v1"

// DB is a data set of advisories and end-of-life dates.
type DB struct {
	Schema string `json:"schema" yaml:"schema"`
	// AsOf is the date up to which the data was checked; every report
	// prints it.
	AsOf Date `json:"as_of" yaml:"as_of"`
	// Description says where the data set comes from.
	Description string     `json:"description,omitempty" yaml:"description,omitempty"`
	Products    []Product  `json:"products" yaml:"products"`
	Advisories  []Advisory `json:"advisories" yaml:"advisories"`
	// EOL holds end-of-life dates. A loaded file's entries are merged
	// over the built-in ones.
	EOL []Lifecycle `json:"eol,omitempty" yaml:"eol,omitempty"`
	// Sources names the inputs an importer read ("nvd: FILE",
	// "osv: FILE"); empty for hand-made data.
	Sources []string `json:"sources,omitempty" yaml:"sources,omitempty"`
	// Dropped lists the records an importer read but could not turn
	// into advisories although they may concern a product kensa knows:
	// CVEs NVD has not analysed yet (no configurations, so no product and
	// no version range), whose description names such a product. They
	// are kept so that the gap is never silent, least of all under a
	// completeness claim. DroppedOther counts the unanalysed CVEs whose
	// description names no product kensa knows.
	Dropped      []Dropped `json:"dropped,omitempty" yaml:"dropped,omitempty"`
	DroppedOther int       `json:"dropped_other,omitempty" yaml:"dropped_other,omitempty"`
}

// Dropped is one record an importer could not use (DB.Dropped).
type Dropped struct {
	ID string `json:"id" yaml:"id"`
	// Products are the products kensa knows that the record's
	// description names: the record itself does not say which product it
	// is about.
	Products []string `json:"products,omitempty" yaml:"products,omitempty"`
	// Status is NVD's analysis status ("Awaiting Analysis", "Received",
	// "Undergoing Analysis").
	Status    string `json:"status,omitempty" yaml:"status,omitempty"`
	Published Date   `json:"published,omitempty" yaml:"published,omitempty"`
	// Reason says why the record was dropped.
	Reason string `json:"reason" yaml:"reason"`
	Source string `json:"source" yaml:"source"`
}

// DroppedFor returns the dropped records that name the product.
func (db *DB) DroppedFor(product string) []Dropped {
	var out []Dropped
	for _, d := range db.Dropped {
		for _, p := range d.Products {
			if p == product {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// Product describes one product of the data set.
type Product struct {
	// Name is the canonical product name, as fingerprints name it.
	Name string `json:"name" yaml:"name"`
	// Complete is true when the data set lists every remotely exploitable
	// advisory of the product up to AsOf. Only then can M2 pass.
	Complete bool `json:"complete" yaml:"complete"`
	// Packages maps a distribution to the product's source package name
	// there ("debian": "exim4").
	Packages map[string]string `json:"packages,omitempty" yaml:"packages,omitempty"`
	Note     string            `json:"note,omitempty" yaml:"note,omitempty"`
}

// Advisory is one vulnerability of one product.
type Advisory struct {
	// ID is a CVE id, or a DSA/DLA/USN id for records that bundle several.
	ID      string   `json:"id" yaml:"id"`
	Aliases []string `json:"aliases,omitempty" yaml:"aliases,omitempty"`
	Product string   `json:"product" yaml:"product"`
	Summary string   `json:"summary,omitempty" yaml:"summary,omitempty"`
	// Severity is critical, high, medium, low or "".
	Severity string `json:"severity,omitempty" yaml:"severity,omitempty"`
	// Remote is true when the flaw is exploitable over the network.
	Remote    bool `json:"remote" yaml:"remote"`
	Published Date `json:"published,omitempty" yaml:"published,omitempty"`
	// Source names where the entry comes from (URLs, space separated).
	Source string `json:"source" yaml:"source"`
	// Affected are upstream version ranges.
	Affected []Range `json:"affected,omitempty" yaml:"affected,omitempty"`
	// Fixed lists the first fixed upstream version of each release line.
	Fixed []string `json:"fixed,omitempty" yaml:"fixed,omitempty"`
	// Distro lists distribution package fixes.
	Distro []DistroFix `json:"distro,omitempty" yaml:"distro,omitempty"`
	Note   string      `json:"note,omitempty" yaml:"note,omitempty"`
}

// Range is an upstream version range: versions at or above Introduced
// (from the first when empty) and below Fixed, or at most LastAffected.
// With neither Fixed nor LastAffected every version from Introduced on is
// affected.
type Range struct {
	Introduced   string `json:"introduced,omitempty" yaml:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty" yaml:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty" yaml:"last_affected,omitempty"`
}

// Distribution fix statuses.
const (
	StatusFixed       = "fixed"        // Fixed holds the first fixed package version
	StatusAffected    = "affected"     // no fix released for the release
	StatusNotAffected = "not-affected" // the release's package never had the flaw
)

// DistroFix is the state of an advisory in one distribution release.
type DistroFix struct {
	// Distro is debian, ubuntu, rhel, ...
	Distro string `json:"distro" yaml:"distro"`
	// Release is the release number: "12" for Debian bookworm, "22.04"
	// for Ubuntu jammy, "8" for RHEL 8.
	Release string `json:"release" yaml:"release"`
	// Package is the source package name.
	Package string `json:"package" yaml:"package"`
	// Fixed is the first fixed package version.
	Fixed string `json:"fixed,omitempty" yaml:"fixed,omitempty"`
	// Status is fixed (the default when Fixed is set), affected or
	// not-affected.
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
}

// State returns the entry's status, defaulting as documented.
func (d DistroFix) State() string {
	if d.Status != "" {
		return d.Status
	}
	if d.Fixed != "" {
		return StatusFixed
	}
	return StatusAffected
}

// Date is a calendar date written as "2006-01-02".
type Date struct{ time.Time }

// ParseDate reads a "2006-01-02" date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("bad date %q (want YYYY-MM-DD)", s)
	}
	return Date{t}, nil
}

// MustDate is ParseDate for constants; it panics on a bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String formats the date as "2006-01-02", or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// MarshalJSON writes the date as a string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a date string; "" is the zero date.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(s)
	*d = v
	return err
}

// MarshalYAML writes the date as a string.
func (d Date) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a date string.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// PassedAt reports whether the date's day has passed at t: a date of
// 2026-08-31 is past from 2026-09-01 00:00 UTC on.
func (d Date) PassedAt(t time.Time) bool {
	if d.IsZero() {
		return false
	}
	return !t.UTC().Before(d.Time.AddDate(0, 0, 1))
}
