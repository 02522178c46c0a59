package advisory

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/kensa-inspect/kensa/advisory/version"
)

//go:embed data/advisories.json
var shippedJSON []byte

var (
	defaultOnce sync.Once
	defaultDB   *DB
	defaultErr  error
)

// Default returns the shipped data set embedded in the binary, with the
// built-in end-of-life data. The value is shared: callers must not modify
// it (Clone it first).
func Default() *DB {
	defaultOnce.Do(func() {
		defaultDB, defaultErr = Parse(shippedJSON)
	})
	if defaultErr != nil {
		panic("advisory: shipped data set is invalid: " + defaultErr.Error())
	}
	return defaultDB
}

// Load reads a data set from a file (JSON, or YAML with the same fields),
// as given with --advisories FILE. The built-in end-of-life data is merged
// under the file's own end-of-life entries.
func Load(path string) (*DB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("advisories: %w", err)
	}
	db, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// Parse decodes and validates a data set. Unknown fields are refused, so
// that a misspelt key does not silently drop data.
func Parse(b []byte) (*DB, error) {
	var db DB
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&db); err != nil {
			return nil, fmt.Errorf("advisories: %w", err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&db); err != nil {
			return nil, fmt.Errorf("advisories: %w", err)
		}
	}
	if err := db.Validate(); err != nil {
		return nil, err
	}
	db.EOL = mergeEOL(builtinEOL(), db.EOL)
	return &db, nil
}

// Validate checks a data set: schema, as-of date, and that every advisory
// names an id, a known product and a source, with well-formed ranges and
// distribution entries.
func (db *DB) Validate() error {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if db.Schema != Schema {
		add("schema is %q, want %q", db.Schema, Schema)
	}
	if db.AsOf.IsZero() {
		add("as_of date missing")
	}
	products := map[string]bool{}
	for i, p := range db.Products {
		if p.Name == "" {
			add("product %d: name missing", i+1)
		}
		if products[p.Name] {
			add("product %q listed twice", p.Name)
		}
		products[p.Name] = true
	}
	ids := map[string]bool{}
	for i, a := range db.Advisories {
		where := fmt.Sprintf("advisory %d (%s)", i+1, a.ID)
		if a.ID == "" {
			add("%s: id missing", where)
		}
		key := a.Product + "\x00" + a.ID
		if ids[key] {
			add("%s: listed twice for %s", where, a.Product)
		}
		ids[key] = true
		if !products[a.Product] {
			add("%s: product %q is not in products", where, a.Product)
		}
		if strings.TrimSpace(a.Source) == "" {
			add("%s: source missing (every entry names its source)", where)
		}
		for j, r := range a.Affected {
			if r.Introduced == "" && r.Fixed == "" && r.LastAffected == "" {
				add("%s: affected range %d is empty", where, j+1)
			}
			if r.Fixed != "" && r.LastAffected != "" {
				add("%s: affected range %d has both fixed and last_affected", where, j+1)
			}
		}
		for j, d := range a.Distro {
			if d.Distro == "" || d.Release == "" || d.Package == "" {
				add("%s: distro entry %d needs distro, release and package", where, j+1)
			}
			switch d.State() {
			case StatusFixed:
				if d.Fixed == "" {
					add("%s: distro entry %d is fixed without a version", where, j+1)
				} else if version.SchemeFor(d.Distro) == version.Deb {
					if _, err := version.CompareDeb(d.Fixed, d.Fixed); err != nil {
						add("%s: distro entry %d: %v", where, j+1, err)
					}
				}
			case StatusAffected, StatusNotAffected:
			default:
				add("%s: distro entry %d has unknown status %q", where, j+1, d.Status)
			}
		}
	}
	for i, d := range db.Dropped {
		if d.ID == "" || strings.TrimSpace(d.Reason) == "" {
			add("dropped record %d (%s): needs id and reason", i+1, d.ID)
		}
		for _, p := range d.Products {
			if _, known := productNames[p]; !known && !products[p] {
				add("dropped record %d (%s): unknown product %q", i+1, d.ID, p)
			}
		}
	}
	if db.DroppedOther < 0 {
		add("dropped_other is negative")
	}
	for i, l := range db.EOL {
		if l.Kind != KindOS && l.Kind != KindProduct {
			add("eol entry %d: kind %q (want os or product)", i+1, l.Kind)
		}
		if l.Name == "" || (l.Release == "" && l.Below == "") {
			add("eol entry %d: needs name and release (or below)", i+1)
		}
		if l.EOL.IsZero() {
			add("eol entry %d (%s %s): eol date missing", i+1, l.Name, l.Release)
		}
		if strings.TrimSpace(l.Source) == "" {
			add("eol entry %d (%s %s): source missing", i+1, l.Name, l.Release)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("advisories: %d problem(s): %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}

// Digest returns "sha256:" and the hex digest of the data set's JSON
// form as loaded: the advisories, products, dropped records and the
// end-of-life dates (the built-in ones merged in). Two data sets with the
// same digest judge alike; scan metadata records it so that a resumed
// scan or a re-grade can tell whether it has the same data.
func (db *DB) Digest() string {
	b, err := json.Marshal(db)
	if err != nil {
		panic("advisory: digest: " + err.Error())
	}
	return digestBytes(b)
}

func digestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Product returns the product entry of a name.
func (db *DB) Product(name string) (Product, bool) {
	for _, p := range db.Products {
		if p.Name == name {
			return p, true
		}
	}
	return Product{}, false
}

// Complete reports whether the data set lists every remotely exploitable
// advisory of the product up to its as-of date.
func (db *DB) Complete(product string) bool {
	p, ok := db.Product(product)
	return ok && p.Complete
}

// For returns the advisories of a product.
func (db *DB) For(product string) []*Advisory {
	var out []*Advisory
	for i := range db.Advisories {
		if db.Advisories[i].Product == product {
			out = append(out, &db.Advisories[i])
		}
	}
	return out
}

// Clone returns a deep copy of the data set.
func (db *DB) Clone() *DB {
	b, err := json.Marshal(db)
	if err != nil {
		panic("advisory: clone: " + err.Error())
	}
	var out DB
	if err := json.Unmarshal(b, &out); err != nil {
		panic("advisory: clone: " + err.Error())
	}
	return &out
}

// Write writes the data set in kensa's format (indented JSON, products,
// advisories and end-of-life entries sorted), the file --advisories reads.
// Built-in end-of-life entries are left out unless the data set changed
// them, so that a file written today picks up tomorrow's built-in dates.
func (db *DB) Write(w io.Writer) error {
	out := *db
	if out.Schema == "" {
		out.Schema = Schema
	}
	out.Products = append([]Product(nil), db.Products...)
	sort.Slice(out.Products, func(i, j int) bool { return out.Products[i].Name < out.Products[j].Name })
	out.Advisories = append([]Advisory(nil), db.Advisories...)
	sort.SliceStable(out.Advisories, func(i, j int) bool {
		a, b := out.Advisories[i], out.Advisories[j]
		if a.Product != b.Product {
			return a.Product < b.Product
		}
		return a.ID < b.ID
	})
	out.EOL = withoutBuiltin(db.EOL)
	out.Dropped = append([]Dropped(nil), db.Dropped...)
	sort.Slice(out.Dropped, func(i, j int) bool { return out.Dropped[i].ID < out.Dropped[j].ID })
	if err := out.Validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&out)
}

// WriteFile writes the data set to a file (see Write).
func (db *DB) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := db.Write(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("advisories: %w", err)
	}
	return nil
}

// Merge combines data sets into a new one: products are united (complete
// only if some input marks them complete), advisories with the same
// product and id are merged (ranges, fixed versions, aliases and
// distribution entries united), end-of-life entries of later sets replace
// earlier ones, sources and dropped records are united, and the as-of
// date is the earliest of the inputs, since the merged set is only
// checked up to the oldest of them.
func Merge(dbs ...*DB) *DB {
	out := &DB{Schema: Schema}
	prod := map[string]int{}
	adv := map[string]int{}
	dropped := map[string]int{}
	var descs []string
	for _, db := range dbs {
		if db == nil {
			continue
		}
		if out.AsOf.IsZero() || (!db.AsOf.IsZero() && db.AsOf.Before(out.AsOf.Time)) {
			out.AsOf = db.AsOf
		}
		if db.Description != "" {
			descs = append(descs, db.Description)
		}
		for _, p := range db.Products {
			if i, ok := prod[p.Name]; ok {
				q := &out.Products[i]
				q.Complete = q.Complete || p.Complete
				for k, v := range p.Packages {
					if q.Packages == nil {
						q.Packages = map[string]string{}
					}
					q.Packages[k] = v
				}
				continue
			}
			prod[p.Name] = len(out.Products)
			cp := p
			if p.Packages != nil {
				cp.Packages = map[string]string{}
				for k, v := range p.Packages {
					cp.Packages[k] = v
				}
			}
			out.Products = append(out.Products, cp)
		}
		for _, a := range db.Advisories {
			key := a.Product + "\x00" + a.ID
			if i, ok := adv[key]; ok {
				mergeAdvisory(&out.Advisories[i], a)
				continue
			}
			adv[key] = len(out.Advisories)
			out.Advisories = append(out.Advisories, cloneAdvisory(a))
		}
		out.EOL = mergeEOL(out.EOL, db.EOL)
		out.Sources = unionStrings(out.Sources, db.Sources)
		for _, d := range db.Dropped {
			if i, ok := dropped[d.ID]; ok {
				out.Dropped[i].Products = unionStrings(out.Dropped[i].Products, d.Products)
				continue
			}
			dropped[d.ID] = len(out.Dropped)
			d.Products = append([]string(nil), d.Products...)
			out.Dropped = append(out.Dropped, d)
		}
		out.DroppedOther += db.DroppedOther
	}
	out.Description = strings.Join(descs, "; ")
	return out
}

func cloneAdvisory(a Advisory) Advisory {
	a.Aliases = append([]string(nil), a.Aliases...)
	a.Affected = append([]Range(nil), a.Affected...)
	a.Fixed = append([]string(nil), a.Fixed...)
	a.Distro = append([]DistroFix(nil), a.Distro...)
	return a
}

func mergeAdvisory(dst *Advisory, src Advisory) {
	dst.Aliases = unionStrings(dst.Aliases, src.Aliases)
	dst.Fixed = unionStrings(dst.Fixed, src.Fixed)
	for _, r := range src.Affected {
		if !containsRange(dst.Affected, r) {
			dst.Affected = append(dst.Affected, r)
		}
	}
	for _, d := range src.Distro {
		replaced := false
		for i, e := range dst.Distro {
			if e.Distro == d.Distro && e.Release == d.Release && e.Package == d.Package {
				dst.Distro[i] = d
				replaced = true
			}
		}
		if !replaced {
			dst.Distro = append(dst.Distro, d)
		}
	}
	dst.Remote = dst.Remote || src.Remote
	if dst.Severity == "" {
		dst.Severity = src.Severity
	}
	if dst.Summary == "" {
		dst.Summary = src.Summary
	}
	if dst.Published.IsZero() {
		dst.Published = src.Published
	}
	if !strings.Contains(dst.Source, src.Source) {
		dst.Source = strings.TrimSpace(dst.Source + " " + src.Source)
	}
}

func containsRange(rs []Range, r Range) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func unionStrings(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
