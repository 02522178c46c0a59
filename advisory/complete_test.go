package advisory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCanonicalProduct(t *testing.T) {
	for in, want := range map[string]string{
		"Postfix": "Postfix", "postfix": "Postfix", " POSTFIX ": "Postfix",
		"Cyrus": "Cyrus", "cyrus-imapd": "Cyrus", "Cyrus IMAP": "Cyrus", "cyrus  imap": "Cyrus",
		"exim4": "Exim", "openssh": "OpenSSH", "microsoft exchange": "Microsoft Exchange",
	} {
		got, ok := CanonicalProduct(in)
		if !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "postfixx", "Cyrus SASL", "nginx"} {
		if got, ok := CanonicalProduct(in); ok {
			t.Errorf("%q: known as %q", in, got)
		}
	}
	known := KnownProducts()
	for _, p := range []string{"Postfix", "Cyrus", "Exim", "Dovecot", "OpenSSH"} {
		found := false
		for _, k := range known {
			found = found || k == p
		}
		if !found {
			t.Errorf("%s not in KnownProducts %v", p, known)
		}
	}
}

func TestMarkComplete(t *testing.T) {
	if err := Default().MarkComplete("Postfix"); !errors.Is(err, ErrSharedData) {
		t.Fatalf("shared data set: %v", err)
	}
	if Default().Complete("Postfix") {
		t.Fatal("shared data set changed")
	}
	db := Default().Clone()
	if err := db.MarkComplete("postfix", "cyrus-imapd", "Postfix"); err != nil {
		t.Fatal(err)
	}
	if !db.Complete("Postfix") || !db.Complete("Cyrus") || db.Complete("Exim") {
		t.Fatalf("complete: %v", db.CompleteProducts())
	}
	if got := strings.Join(db.CompleteProducts(), ","); got != "Cyrus,Postfix" {
		t.Errorf("CompleteProducts %s", got)
	}
	if Default().Complete("Postfix") || Default().Complete("Cyrus") {
		t.Fatal("marking a clone changed the shipped data set")
	}
	// An unknown name changes nothing and names the culprit.
	db2 := Default().Clone()
	err := db2.MarkComplete("Postfix", "Postfux")
	if err == nil || !strings.Contains(err.Error(), `"Postfux"`) || db2.Complete("Postfix") {
		t.Fatalf("unknown name: %v, postfix complete %v", err, db2.Complete("Postfix"))
	}
	// A known product the data set holds no advisory of cannot be
	// vouched complete: that would prove every version patched on no
	// data at all. Nothing is changed.
	db3 := &DB{Schema: Schema, AsOf: MustDate("2026-11-01"), Products: []Product{{Name: "Dovecot"}}}
	if err := db3.MarkComplete("Postfix", "Dovecot"); !errors.Is(err, ErrNoRecord) || db3.Complete("Dovecot") || db3.Complete("Postfix") {
		t.Fatalf("product without advisories: %v %+v", err, db3.Products)
	}
	// A marked data set round-trips through a file, as --advisories
	// reads it.
	path := filepath.Join(t.TempDir(), "demo.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Complete("Postfix") || !back.Complete("Cyrus") || back.Complete("Dovecot") || back.AsOf != db.AsOf {
		t.Fatalf("round trip: %v as of %s", back.CompleteProducts(), back.AsOf)
	}
}

func TestImportCompleteNames(t *testing.T) {
	nvd := "testdata/nvd/postfix-local.json"
	db, err := Import([]string{nvd}, nil, ImportOptions{Complete: []string{"postfix"}, AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Complete("Postfix") || db.Complete("Cyrus") {
		t.Fatalf("complete %v", db.CompleteProducts())
	}
	if _, err := Import([]string{nvd}, nil, ImportOptions{Complete: []string{"Postfix", "qmial"}}); err == nil || !strings.Contains(err.Error(), "qmial") {
		t.Fatalf("unknown --complete name accepted: %v", err)
	}
	if _, err := ImportOSV([]string{nvd}, ImportOptions{Complete: []string{"nope"}}); err == nil {
		t.Fatal("ImportOSV accepted an unknown --complete name")
	}
}

// TestImportCompleteWithoutRecord: a feed with no record of a product
// (an empty answer, a keyword search for another product) is refused
// for a completeness claim on it, by every importer; the error names the
// product.
func TestImportCompleteWithoutRecord(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "nvd.json")
	if err := os.WriteFile(empty, []byte(`{"format":"NVD_CVE","version":"2.0","vulnerabilities":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, imp := range map[string]func() (*DB, error){
		"empty NVD answer": func() (*DB, error) {
			return Import([]string{empty}, nil, ImportOptions{Complete: []string{"Postfix"}})
		},
		"NVD without Cyrus": func() (*DB, error) {
			return Import([]string{"testdata/nvd/postfix-local.json"}, nil, ImportOptions{Complete: []string{"Postfix", "cyrus-imapd"}})
		},
		"ImportNVD": func() (*DB, error) {
			return ImportNVD([]string{"testdata/nvd/exim-openssh.json"}, ImportOptions{Complete: []string{"Dovecot"}})
		},
		"ImportOSV": func() (*DB, error) {
			return ImportOSV([]string{"testdata/osv/DSA-5724-1.json"}, ImportOptions{Complete: []string{"Postfix"}})
		},
	} {
		db, err := imp()
		if !errors.Is(err, ErrNoRecord) || db != nil && err == nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "no record of") {
			t.Errorf("%s: message %q", name, err)
		}
	}
}

// TestShippedFixesConsistent checks every shipped advisory against
// itself: each listed fixed version lies outside the affected ranges,
// each range's introduced version inside, and (for Postfix and Cyrus)
// each range's fixed version is listed.
func TestShippedFixesConsistent(t *testing.T) {
	for _, a := range Default().Advisories {
		a := a
		if a.Source == "" {
			t.Errorf("%s: no source", a.ID)
		}
		for _, f := range a.Fixed {
			if a.AffectsUpstream(f) {
				t.Errorf("%s %s: listed fixed version %s is in an affected range", a.Product, a.ID, f)
			}
		}
		for _, r := range a.Affected {
			if r.Fixed == "" {
				continue
			}
			listed := false
			for _, f := range a.Fixed {
				listed = listed || f == r.Fixed
			}
			// OpenSSH's CVE-2024-6387 lists only 9.8p1: its first range
			// (before 4.4p1) is the old CVE-2006-5051 regression.
			if !listed && (a.Product == "Postfix" || a.Product == "Cyrus") {
				t.Errorf("%s %s: range fix %s not in fixed %v", a.Product, a.ID, r.Fixed, a.Fixed)
			}
			if r.Introduced != "" && !a.AffectsUpstream(r.Introduced) {
				t.Errorf("%s %s: introduced version %s not affected", a.Product, a.ID, r.Introduced)
			}
		}
	}
}

func TestShippedPostfixAndCyrus(t *testing.T) {
	db := Default()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	want := map[string][]string{
		"Postfix": {"CVE-2003-0468", "CVE-2003-0540", "CVE-2011-0411", "CVE-2011-1720", "CVE-2023-51764", "CVE-2026-43964",
			"POSTFIX-2026-06-18", "POSTFIX-2026-07-07", "POSTFIX-2026-08-11"},
		"Cyrus": {"CVE-2009-2632", "CVE-2011-1926", "CVE-2011-3208", "CVE-2011-3372", "CVE-2011-3481", "CVE-2015-8076",
			"CVE-2015-8077", "CVE-2015-8078", "CVE-2017-12843", "CVE-2017-14230", "CVE-2019-11356", "CVE-2019-18928",
			"CVE-2019-19783", "CVE-2021-32056", "CVE-2021-33582", "CVE-2024-34055", "CVE-2026-47081", "CVE-2026-47084",
			"CVE-2026-47089", "CYRUS-ISSUE-5495"},
	}
	for p, ids := range want {
		have := map[string]bool{}
		for _, a := range db.For(p) {
			have[a.ID] = true
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("%s %s missing", p, id)
			}
		}
	}
	// Versions against the shipped ranges: the newest releases of the
	// supported lines are outside every range, older ones inside.
	affected := func(product, v string) []string {
		var ids []string
		for _, m := range db.Check(Target{Product: product, Version: v}) {
			if m.Status == Affected {
				ids = append(ids, m.Advisory.ID)
			}
		}
		return ids
	}
	for _, v := range []string{"3.8.20", "3.9.14", "3.10.13", "3.11.6"} {
		if ids := affected("Postfix", v); len(ids) > 0 {
			t.Errorf("Postfix %s affected by %v", v, ids)
		}
	}
	for v, id := range map[string]string{"3.10.12": "POSTFIX-2026-08-11", "3.10.8": "CVE-2026-43964", "3.11.0": "CVE-2026-43964",
		"3.5.25": "POSTFIX-2026-07-07", "3.8.3": "CVE-2023-51764", "2.7.2": "CVE-2011-0411", "1.1.12": "CVE-2003-0540"} {
		if ids := affected("Postfix", v); !contains(ids, id) {
			t.Errorf("Postfix %s: %v, want %s", v, ids, id)
		}
	}
	for _, v := range []string{"3.12.3", "3.13.7"} {
		if ids := affected("Cyrus", v); len(ids) > 0 {
			t.Errorf("Cyrus %s affected by %v", v, ids)
		}
	}
	for v, id := range map[string]string{"3.10.3": "CYRUS-ISSUE-5495", "3.10.1": "CVE-2026-47084", "3.12.2": "CVE-2026-47086",
		"3.10.0-beta2": "CVE-2024-34055", "3.8.2": "CVE-2024-34055", "3.4.1": "CVE-2021-33582", "3.0.12": "CVE-2019-19783",
		"2.5.12": "CVE-2019-11356", "2.4.10": "CVE-2011-3208", "2.3.16": "CVE-2011-3372"} {
		if ids := affected("Cyrus", v); !contains(ids, id) {
			t.Errorf("Cyrus %s: %v, want %s", v, ids, id)
		}
	}
	if ids := affected("Cyrus", "3.10.0"); contains(ids, "CVE-2024-34055") {
		t.Errorf("Cyrus 3.10.0 carries the CVE-2024-34055 fix of 3.10.0-rc1: %v", ids)
	}
	if ids := affected("Cyrus", "2.5.10"); contains(ids, "CVE-2017-12843") {
		t.Errorf("Cyrus 2.5 is not affected by CVE-2017-12843 (vendor): %v", ids)
	}
	// Debian package entries decide where a banner shows one.
	a := findAdvisory(t, db, "CVE-2021-33582")
	for pkg, want := range map[string]Status{"2.5.10-3+deb9u2": Affected, "2.5.10-3+deb9u3": NotAffected} {
		m := check(a, Target{Product: "Cyrus", Version: "2.5.10", Distro: "debian", Release: "9", Package: pkg}, "cyrus-imapd")
		if m.Status != want || m.Basis != BasisPackage {
			t.Errorf("debian 9 %s: %s %s", pkg, m.Status, m.Reason)
		}
	}
	// End of life at the demo's evaluation date.
	for _, c := range []struct {
		line  string
		ended bool
		ok    bool
	}{{"3.12", false, true}, {"3.10", false, true}, {"3.8", true, true}, {"3.6", true, true}, {"3.4", true, true},
		{"3.0", true, true}, {"2.3", true, true}, {"2.2", true, true}, {"3.11", true, true}, {"3.13", false, false}} {
		l, ok := db.EndOfLife(KindProduct, "Cyrus", c.line)
		if ok != c.ok || ok && l.Ended(at) != c.ended {
			t.Errorf("Cyrus %s: %v ok %v ended %v", c.line, l, ok, l.Ended(at))
		}
	}
	if !db.HasLifecycle(KindProduct, "Cyrus") {
		t.Error("no Cyrus lifecycle")
	}
	for _, line := range []string{"3.8", "3.9", "3.10", "3.11"} {
		if l, ok := db.EndOfLife(KindProduct, "Postfix", line); ok && l.Ended(at) {
			t.Errorf("Postfix %s ended at 2026-11-01: %v", line, l)
		}
	}
	for _, line := range []string{"3.5", "3.6", "3.7"} {
		if l, ok := db.EndOfLife(KindProduct, "Postfix", line); !ok || !l.Ended(at) || !strings.Contains(l.Note, "courtesy") {
			t.Errorf("Postfix %s: %v %v", line, l, ok)
		}
	}
}

func findAdvisory(t *testing.T, db *DB, id string) *Advisory {
	t.Helper()
	for i := range db.Advisories {
		if db.Advisories[i].ID == id {
			return &db.Advisories[i]
		}
	}
	t.Fatalf("%s not found", id)
	return nil
}

// TestImportListsUnanalysed: CVEs NVD has not analysed (no
// configurations) cannot be imported; those whose description names a
// product kensa knows are kept in Dropped with the products, the others
// counted, rejected ones ignored, and a CVE analysed in another input is
// not dropped. The list survives a write and a read, and a completeness
// claim keeps it visible.
func TestImportListsUnanalysed(t *testing.T) {
	in := "testdata/nvd-unanalysed/postfix-2026.json"
	db, err := Import([]string{in}, nil, ImportOptions{Complete: []string{"Postfix"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Dropped) != 2 || db.DroppedOther != 1 {
		t.Fatalf("dropped %+v, other %d", db.Dropped, db.DroppedOther)
	}
	d := db.Dropped[0]
	if d.ID != "CVE-2026-99901" || strings.Join(d.Products, ",") != "Postfix" || d.Status != "Awaiting Analysis" ||
		d.Published.String() != "2026-11-20" || !strings.Contains(d.Reason, "not analysed by NVD") {
		t.Errorf("dropped %+v", d)
	}
	if got := strings.Join(db.Dropped[1].Products, ","); db.Dropped[1].ID != "CVE-2026-99902" || got != "Exim,Postfix" {
		t.Errorf("second dropped %+v", db.Dropped[1])
	}
	if len(db.DroppedFor("Postfix")) != 2 || len(db.DroppedFor("Exim")) != 1 || !db.Complete("Postfix") {
		t.Errorf("DroppedFor: %v / %v, complete %v", db.DroppedFor("Postfix"), db.DroppedFor("Exim"), db.Complete("Postfix"))
	}
	if len(db.Sources) != 1 || db.Sources[0] != "nvd: "+in {
		t.Errorf("sources %v", db.Sources)
	}
	path := filepath.Join(t.TempDir(), "data.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Dropped) != 2 || back.DroppedOther != 1 {
		t.Errorf("round trip: %+v %d", back.Dropped, back.DroppedOther)
	}

	// The same CVE analysed in a newer input is not dropped.
	dir := t.TempDir()
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	analysed := strings.Replace(string(raw), `"id": "CVE-2011-1720"`, `"id": "CVE-2026-99901"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "newer.json"), []byte(analysed), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = ImportNVD([]string{in, filepath.Join(dir, "newer.json")}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range db.Dropped {
		if x.ID == "CVE-2026-99901" {
			t.Errorf("analysed elsewhere, still dropped: %+v", x)
		}
	}
}

// TestProductsNamed: every product kensa knows can be found in a
// description, as a whole word.
func TestProductsNamed(t *testing.T) {
	for _, p := range KnownProducts() {
		if _, ok := productNames[p]; !ok {
			t.Errorf("no description words for %s", p)
		}
	}
	for text, want := range map[string]string{
		"Postfix before 3.11.8":                         "Postfix",
		"postfixadmin 3.3 allows XSS":                   "",
		"OpenSSH 9.8 (sshd) race condition":             "OpenSSH",
		"weak key exchange in a router":                 "",
		"Microsoft Exchange Server RCE":                 "Microsoft Exchange",
		"exim4 in Debian, and Dovecot's imap-login too": "Dovecot,Exim",
	} {
		if got := strings.Join(productsNamed(text), ","); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}
