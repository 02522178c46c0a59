package advisory

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// productAliases are other spellings people give for canonical products
// (lower case), besides the canonical names and the Debian and Ubuntu
// source package names.
var productAliases = map[string]string{
	"cyrus imap":       "Cyrus",
	"cyrus-imap":       "Cyrus",
	"cyrus imapd":      "Cyrus",
	"cyrus imap4":      "Cyrus",
	"exchange":         "Microsoft Exchange",
	"domino":           "Lotus Domino",
	"ibm domino":       "Lotus Domino",
	"hcl domino":       "Lotus Domino",
	"uw imap":          "UW-IMAP",
	"uw-imapd":         "UW-IMAP",
	"courier-imap":     "Courier",
	"openssh-portable": "OpenSSH",
}

// KnownProducts returns the canonical names of the products kensa knows:
// those of the shipped data set and those the NVD and OSV importers map
// CPE and source package names to, sorted.
func KnownProducts() []string {
	seen := map[string]bool{}
	for _, p := range Default().Products {
		seen[p.Name] = true
	}
	for _, p := range cpeProducts {
		seen[p] = true
	}
	for _, p := range sourcePackages {
		seen[p] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// CanonicalProduct returns the canonical name of a product as
// fingerprints and the data set spell it ("Cyrus" for "cyrus",
// "cyrus-imapd" or "Cyrus IMAP"; "Exim" for "exim4"), and whether the
// name is known. Names compare case-insensitively.
func CanonicalProduct(name string) (string, bool) {
	n := strings.ToLower(strings.Join(strings.Fields(name), " "))
	if n == "" {
		return "", false
	}
	for _, p := range KnownProducts() {
		if strings.ToLower(p) == n {
			return p, true
		}
	}
	if p, ok := sourcePackages[n]; ok {
		return p, true
	}
	if p, ok := productAliases[n]; ok {
		return p, true
	}
	return "", false
}

// canonicalProducts maps names to canonical products, in order and
// without duplicates, or fails naming every unknown one.
func canonicalProducts(names []string) ([]string, error) {
	var out, unknown []string
	seen := map[string]bool{}
	for _, name := range names {
		p, ok := CanonicalProduct(name)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown product %s (known: %s)", strings.Join(unknown, ", "), strings.Join(KnownProducts(), ", "))
	}
	return out, nil
}

// ErrSharedData is returned by MarkComplete on the shared data set that
// Default returns.
var ErrSharedData = errors.New("advisories: the shipped data set is shared and read-only; Clone it first")

// MarkComplete marks products complete in the data set: whoever calls it
// vouches that the data lists every remotely exploitable advisory of
// each product up to db.AsOf (as an office does after importing a full
// NVD or OSV feed), so that M2 can pass for them. Names are matched as
// CanonicalProduct does. An unknown name, or a product the data set holds
// no advisory of (a claim of completeness over no data; the error wraps
// ErrNoRecord), is an error and then nothing is changed. Use it on a
// copy: Default().Clone().MarkComplete(…); the shared Default set itself
// is refused with ErrSharedData.
func (db *DB) MarkComplete(products ...string) error {
	if db == nil {
		return errors.New("advisories: MarkComplete on a nil data set")
	}
	if defaultDB != nil && db == defaultDB {
		return ErrSharedData
	}
	names, err := canonicalProducts(products)
	if err != nil {
		return fmt.Errorf("advisories: mark complete: %w", err)
	}
	var missing []string
	for _, name := range names {
		if len(db.For(name)) == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("advisories: mark complete: the data set holds no advisory of %s: %w", strings.Join(missing, ", "), ErrNoRecord)
	}
	for _, name := range names {
		for i := range db.Products {
			if db.Products[i].Name == name {
				db.Products[i].Complete = true
			}
		}
	}
	return nil
}

// CompleteProducts returns the names of the products the data set marks
// complete, sorted.
func (db *DB) CompleteProducts() []string {
	var out []string
	for _, p := range db.Products {
		if p.Complete {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}
