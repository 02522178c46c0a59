package advisory

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ImportOptions steers the importers.
type ImportOptions struct {
	// AsOf is the data set's as-of date; the zero value means the newest
	// modification date found in the records, or today.
	AsOf time.Time
	// Complete names products the user vouches are complete in the
	// imported data (every remotely exploitable advisory up to AsOf):
	// `kensa advisories import … --complete Postfix --complete Cyrus`.
	// Only for these can M2 pass. Names are matched as CanonicalProduct
	// does ("postfix", "cyrus-imapd" and "Cyrus IMAP" work); an unknown
	// name makes the import fail rather than silently mark nothing, and
	// so does a product the inputs hold no record of (a claim of
	// completeness over no data at all).
	Complete []string
	// RemoteOnly keeps only advisories marked remotely exploitable (NVD
	// records with a network attack vector). OSV records carry no attack
	// vector reliably and are always kept.
	RemoteOnly bool
	// MaxFileBytes bounds each file read (default 256 MiB).
	MaxFileBytes int64
}

// canonicalize replaces the names in Complete by canonical product
// names, failing on unknown ones.
func (o *ImportOptions) canonicalize() error {
	if len(o.Complete) == 0 {
		return nil
	}
	names, err := canonicalProducts(o.Complete)
	if err != nil {
		return fmt.Errorf("import: --complete: %w", err)
	}
	o.Complete = names
	return nil
}

func (o ImportOptions) maxBytes() int64 {
	if o.MaxFileBytes > 0 {
		return o.MaxFileBytes
	}
	return 256 << 20
}

// inputFile is one JSON document found in the inputs.
type inputFile struct {
	name string
	data []byte
}

// readInputs expands each path: a file (.json, or .json.gz), a directory
// (walked for *.json and *.json.gz files), or a .zip archive (its *.json
// members). Files are returned in a stable order.
func readInputs(paths []string, opt ImportOptions) ([]inputFile, error) {
	var out []inputFile
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		switch {
		case st.IsDir():
			var names []string
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".json.gz") || strings.HasSuffix(path, ".zip")) {
					names = append(names, path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("import: %w", err)
			}
			sort.Strings(names)
			files, err := readInputs(names, opt)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		case strings.HasSuffix(strings.ToLower(p), ".zip"):
			files, err := readZip(p, opt)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		default:
			b, err := readFile(p, opt.maxBytes())
			if err != nil {
				return nil, err
			}
			out = append(out, inputFile{name: p, data: b})
		}
	}
	return out, nil
}

func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("import: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("import: %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("import: %s is larger than %d bytes", path, max)
	}
	return b, nil
}

func readZip(path string, opt ImportOptions) ([]inputFile, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("import: %s: %w", path, err)
	}
	defer zr.Close()
	var out []inputFile
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		if int64(f.UncompressedSize64) > opt.maxBytes() {
			return nil, fmt.Errorf("import: %s: member %s is larger than %d bytes", path, f.Name, opt.maxBytes())
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("import: %s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, opt.maxBytes()+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("import: %s: %s: %w", path, f.Name, err)
		}
		out = append(out, inputFile{name: path + ":" + f.Name, data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// finish fills in a data set built by an importer: schema, as-of date,
// products (with completeness), sorted advisories.
func finish(db *DB, opt ImportOptions, newest time.Time, desc string) *DB {
	db.Schema = Schema
	db.Description = desc
	switch {
	case !opt.AsOf.IsZero():
		db.AsOf = Date{opt.AsOf.UTC().Truncate(24 * time.Hour)}
	case !newest.IsZero():
		db.AsOf = Date{newest.UTC().Truncate(24 * time.Hour)}
	default:
		db.AsOf = Date{time.Now().UTC().Truncate(24 * time.Hour)}
	}
	complete := map[string]bool{}
	for _, c := range opt.Complete {
		complete[c] = true
	}
	seen := map[string]bool{}
	for _, a := range db.Advisories {
		if !seen[a.Product] {
			seen[a.Product] = true
			db.Products = append(db.Products, Product{Name: a.Product, Complete: complete[a.Product], Packages: packagesOf(a.Product)})
		}
	}
	sort.Slice(db.Products, func(i, j int) bool { return db.Products[i].Name < db.Products[j].Name })
	sort.SliceStable(db.Advisories, func(i, j int) bool {
		a, b := db.Advisories[i], db.Advisories[j]
		if a.Product != b.Product {
			return a.Product < b.Product
		}
		return a.ID < b.ID
	})
	sort.Slice(db.Dropped, func(i, j int) bool { return db.Dropped[i].ID < db.Dropped[j].ID })
	return db
}

// ErrNoRecord is wrapped by the error of an import that was asked to
// vouch a product complete although its inputs hold no record of it.
var ErrNoRecord = errors.New("completeness vouched for a product without any record")

// checkComplete refuses a completeness claim for a product the data set
// holds no advisory of: an empty or wrong feed (a keyword search for
// another product, a file of another year) would otherwise vouch that
// every version is patched.
func checkComplete(db *DB, complete []string) error {
	var missing []string
	for _, c := range complete {
		if len(db.For(c)) > 0 {
			continue
		}
		m := c
		if d := db.DroppedFor(c); len(d) > 0 {
			ids := make([]string, len(d))
			for i, x := range d {
				ids[i] = x.ID
			}
			m += fmt.Sprintf(" (only CVEs NVD has not analysed name it: %s)", strings.Join(ids, ", "))
		}
		missing = append(missing, m)
	}
	if len(missing) > 0 {
		return fmt.Errorf("import: --complete: the inputs hold no record of %s (import a feed that covers it): %w", strings.Join(missing, ", "), ErrNoRecord)
	}
	return nil
}

// sourcePackages maps Debian and Ubuntu source package names to canonical
// products.
var sourcePackages = map[string]string{
	"exim4":       "Exim",
	"exim":        "Exim",
	"postfix":     "Postfix",
	"sendmail":    "Sendmail",
	"opensmtpd":   "OpenSMTPD",
	"dovecot":     "Dovecot",
	"openssh":     "OpenSSH",
	"cyrus-imapd": "Cyrus",
	"uw-imap":     "UW-IMAP",
	"courier":     "Courier",
	"qpopper":     "Qpopper",
	"dropbear":    "Dropbear",
	"netqmail":    "qmail",
}

func packagesOf(product string) map[string]string {
	for pkg, p := range sourcePackages {
		if p == product && pkg != "exim" {
			return map[string]string{"debian": pkg, "ubuntu": pkg}
		}
	}
	return nil
}

func jsonPrefix(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// Import builds a data set from NVD and OSV inputs together, for
// `kensa advisories import --nvd FILE|DIR --osv FILE|DIR|ZIP`: each
// importer's result is merged (advisories with the same product and id
// are united), the products named in opt.Complete are marked complete,
// and the as-of date is opt.AsOf or else the earliest of the inputs'.
// Write the result with WriteFile; --advisories reads it back.
func Import(nvdPaths, osvPaths []string, opt ImportOptions) (*DB, error) {
	if len(nvdPaths) == 0 && len(osvPaths) == 0 {
		return nil, fmt.Errorf("import: no --nvd or --osv input given")
	}
	if err := opt.canonicalize(); err != nil {
		return nil, err
	}
	var parts []*DB
	if len(nvdPaths) > 0 {
		db, err := importNVD(nvdPaths, opt)
		if err != nil {
			return nil, err
		}
		parts = append(parts, db)
	}
	if len(osvPaths) > 0 {
		db, err := importOSV(osvPaths, opt)
		if err != nil {
			return nil, err
		}
		parts = append(parts, db)
	}
	out := Merge(parts...)
	if !opt.AsOf.IsZero() {
		out.AsOf = Date{opt.AsOf.UTC().Truncate(24 * time.Hour)}
	}
	out.EOL = nil
	if err := checkComplete(out, opt.Complete); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
