package advisory

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestShippedDataSet(t *testing.T) {
	db := Default()
	if db.AsOf.String() != "2026-11-29" {
		t.Errorf("as-of %s", db.AsOf)
	}
	want := map[string]string{
		"CVE-2010-4344": "Exim", "CVE-2019-10149": "Exim", "CVE-2020-28017": "Exim", "CVE-2023-42115": "Exim",
		"CVE-2011-1720": "Postfix", "CVE-2023-51764": "Postfix", "CVE-2009-4565": "Sendmail", "CVE-2023-51765": "Sendmail",
		"CVE-2020-7247": "OpenSMTPD", "CVE-2019-11500": "Dovecot", "CVE-2024-6387": "OpenSSH", "CVE-2025-26466": "OpenSSH",
	}
	for id, p := range want {
		found := false
		for _, a := range db.For(p) {
			if a.ID == id {
				found = true
				if !a.Remote || a.Source == "" || a.Published.IsZero() || len(a.Affected) == 0 {
					t.Errorf("%s: incomplete entry %+v", id, a)
				}
				for _, d := range a.Distro {
					if d.Source == "" {
						t.Errorf("%s: %s %s entry without source", id, d.Distro, d.Release)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s (%s) missing from the shipped data", id, p)
		}
	}
	for _, p := range db.Products {
		if p.Complete {
			t.Errorf("product %s marked complete; the shipped data is a selection", p.Name)
		}
	}
	// Every advisory names distribution fixes for Debian or Ubuntu where
	// the issue asks for them.
	for _, id := range []string{"CVE-2024-6387", "CVE-2019-11500", "CVE-2020-7247", "CVE-2019-10149", "CVE-2020-28017"} {
		var a *Advisory
		for i := range db.Advisories {
			if db.Advisories[i].ID == id {
				a = &db.Advisories[i]
			}
		}
		deb, ubu := false, false
		for _, d := range a.Distro {
			deb = deb || d.Distro == "debian"
			ubu = ubu || d.Distro == "ubuntu"
		}
		if !deb || !ubu {
			t.Errorf("%s: debian %v ubuntu %v", id, deb, ubu)
		}
	}
}

func TestEndOfLife(t *testing.T) {
	db := Default()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		kind, name, release string
		eol                 string
		ended               bool
	}{
		{KindOS, "debian", "12", "2028-06-30", false},
		{KindOS, "debian", "11", "2026-08-31", true},
		{KindOS, "debian", "9", "2022-07-01", true},
		{KindOS, "ubuntu", "22.04", "2027-04-01", false},
		{KindOS, "ubuntu", "20.04", "2025-05-31", true},
		{KindOS, "ubuntu", "24.04", "2029-05-31", false},
		{KindOS, "el", "7", "2024-12-31", true},
		{KindOS, "el", "8", "2029-07-31", false},
		{KindOS, "rhel", "7", "2024-06-30", true},
		{KindOS, "centos", "8", "2021-12-31", true},
		{KindOS, "windows", "2003", "2015-07-14", true},
		{KindOS, "windows", "2012 R2", "2023-10-10", true},
		{KindOS, "windows", "2016", "2027-01-12", false},
		{KindOS, "freebsd", "13.5", "2026-04-30", true},
		{KindProduct, "Microsoft Exchange", "2016", "2025-10-14", true},
		{KindProduct, "Microsoft Exchange", "2013", "2023-04-11", true},
		{KindProduct, "Microsoft Exchange", "2003", "2014-04-08", true},
		{KindProduct, "Postfix", "2.5", "2012-02-06", true},
		{KindProduct, "Postfix", "2.3", "2012-02-06", true},
		{KindProduct, "Postfix", "3.7", "2026-03-06", true},
		{KindProduct, "Exim", "4.96", "2023-11-04", true},
		{KindProduct, "Exim", "4.60", "2025-10-28", true},
		{KindProduct, "Sendmail", "8.17", "2024-01-31", true},
		{KindProduct, "Dovecot", "2.2", "2025-01-24", true},
		{KindProduct, "Microsoft SMTP Service (IIS)", "6.0", "2015-07-14", true},
	}
	for _, c := range cases {
		l, ok := db.EndOfLife(c.kind, c.name, c.release)
		if !ok {
			t.Errorf("%s %s: no entry", c.name, c.release)
			continue
		}
		if l.EOL.String() != c.eol || l.Ended(at) != c.ended {
			t.Errorf("%s %s: eol %s ended %v, want %s %v", c.name, c.release, l.EOL, l.Ended(at), c.eol, c.ended)
		}
		if l.Source == "" {
			t.Errorf("%s %s: no source", c.name, c.release)
		}
	}
	for _, c := range [][3]string{{KindProduct, "Postfix", "3.9"}, {KindProduct, "Exim", "4.99"}, {KindProduct, "Dovecot", "2.3"}, {KindProduct, "Sendmail", "8.18"}, {KindOS, "debian", "99"}, {KindOS, "ubuntu", ""}} {
		if l, ok := db.EndOfLife(c[0], c[1], c[2]); ok {
			t.Errorf("%s %s: unexpected entry %v", c[1], c[2], l)
		}
	}
	if l, ok := db.OSEndOfLife("raspbian", "10"); !ok || l.EOL.String() != "2024-06-30" {
		t.Errorf("raspbian 10: %v %v", l, ok)
	}
	if l, ok := db.OSEndOfLife("el", "7"); !ok || l.ID() != "EOL:el:7" {
		t.Errorf("el 7: %v", l)
	}
	if l, _ := db.EndOfLife(KindProduct, "Exim", "4.60"); l.ID() != "EOL:Exim:<4.98" {
		t.Errorf("below id %s", l.ID())
	}
}

func TestDatePassedAt(t *testing.T) {
	d := MustDate("2026-08-31")
	if d.PassedAt(time.Date(2026, 8, 31, 23, 59, 59, 0, time.UTC)) {
		t.Error("passed on its own day")
	}
	if !d.PassedAt(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("not passed the next day")
	}
	if (Date{}).PassedAt(time.Now()) {
		t.Error("zero date passed")
	}
	if _, err := ParseDate("2026-13-01"); err == nil {
		t.Error("bad date accepted")
	}
}

func TestCheck(t *testing.T) {
	db := Default()
	status := func(tg Target, id string) Status {
		for _, m := range db.Check(tg) {
			if m.Advisory.ID == id {
				return m.Status
			}
		}
		t.Fatalf("%s not checked", id)
		return ""
	}
	cases := []struct {
		t    Target
		id   string
		want Status
	}{
		{Target{Product: "Exim", Version: "4.91"}, "CVE-2019-10149", Affected},
		{Target{Product: "Exim", Version: "4.86"}, "CVE-2019-10149", NotAffected},
		{Target{Product: "Exim", Version: "4.92"}, "CVE-2019-10149", NotAffected},
		{Target{Product: "Exim", Version: "4.96"}, "CVE-2023-42115", Affected},
		{Target{Product: "Exim", Version: "4.96.1"}, "CVE-2023-42115", NotAffected},
		{Target{Product: "Exim", Version: ""}, "CVE-2023-42115", Undecidable},
		{Target{Product: "OpenSSH", Version: "8.4p1"}, "CVE-2024-6387", NotAffected},
		{Target{Product: "OpenSSH", Version: "8.5p1"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "9.8"}, "CVE-2024-6387", NotAffected},
		{Target{Product: "OpenSSH", Version: "9.7"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "4.3p2"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "9.9p1"}, "CVE-2025-26466", Affected},
		{Target{Product: "OpenSSH", Version: "9.9p2"}, "CVE-2025-26466", NotAffected},
		{Target{Product: "OpenSSH", Version: "9.2p1", Distro: "debian", Release: "12", Package: "1:9.2p1-2+deb12u2"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "9.2p1", Distro: "debian", Release: "12", Package: "1:9.2p1-2+deb12u3"}, "CVE-2024-6387", NotAffected},
		{Target{Product: "OpenSSH", Version: "9.2p1", Distro: "debian", Release: "12", Package: "1:9.2p1-2+deb12u2"}, "CVE-2025-26466", NotAffected},
		{Target{Product: "OpenSSH", Version: "9.2p1", Distro: "raspbian", Release: "12", Package: "1:9.2p1-2+deb12u1+rpt1"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "8.9p1", Distro: "ubuntu", Release: "22.04", Package: "1:8.9p1-3ubuntu0.10"}, "CVE-2024-6387", NotAffected},
		{Target{Product: "OpenSSH", Version: "8.9p1", Distro: "ubuntu", Release: "22.04", Package: "1:8.9p1-3ubuntu0.6"}, "CVE-2024-6387", Affected},
		{Target{Product: "OpenSSH", Version: "9.6p1", Distro: "ubuntu", Release: "24.04", Package: ""}, "CVE-2024-6387", Undecidable},
		{Target{Product: "OpenSSH", Version: "9.6p1", Distro: "ubuntu", Release: "", Package: "1:9.6p1-3ubuntu13"}, "CVE-2024-6387", Undecidable},
		{Target{Product: "OpenSSH", Version: "8.9p1", Distro: "ubuntu", Release: "23.04", Package: "1:8.9p1-3"}, "CVE-2024-6387", Undecidable},
		{Target{Product: "Sendmail", Version: "8.15.2", Distro: "ubuntu", Release: "22.04", Package: "8.15.2-22ubuntu3"}, "CVE-2023-51765", Affected},
		{Target{Product: "Postfix", Version: "3.6.4", Distro: "ubuntu", Release: "22.04", Package: "3.6.4-1ubuntu1.3"}, "CVE-2023-51764", NotAffected},
		{Target{Product: "Postfix", Version: "3.6.12"}, "CVE-2023-51764", Affected},
		{Target{Product: "Postfix", Version: "3.6.13"}, "CVE-2023-51764", NotAffected},
		{Target{Product: "Postfix", Version: "2.11.3"}, "CVE-2023-51764", Affected},
		{Target{Product: "Postfix", Version: "2.7.3"}, "CVE-2011-1720", Affected},
		{Target{Product: "Postfix", Version: "2.4.6"}, "CVE-2011-1720", NotAffected},
		{Target{Product: "Dovecot", Version: "2.3.7.1"}, "CVE-2019-11500", Affected},
		{Target{Product: "Dovecot", Version: "2.2.36.4"}, "CVE-2019-11500", NotAffected},
		{Target{Product: "Sendmail", Version: "8.14.3"}, "CVE-2009-4565", Affected},
		{Target{Product: "Sendmail", Version: "8.17.1.9"}, "CVE-2023-51765", Affected},
		{Target{Product: "Sendmail", Version: "8.18.1"}, "CVE-2023-51765", NotAffected},
		{Target{Product: "OpenSMTPD", Version: "6.6.1p1"}, "CVE-2020-7247", Affected},
		{Target{Product: "OpenSMTPD", Version: "6.0.3p1", Distro: "debian", Release: "10", Package: "6.0.3p1-5+deb10u3"}, "CVE-2020-7247", NotAffected},
		{Target{Product: "OpenSMTPD", Version: "6.0.3p1", Distro: "debian", Release: "10", Package: "6.0.3p1-5+deb10u2"}, "CVE-2020-7247", Affected},
	}
	for _, c := range cases {
		if got := status(c.t, c.id); got != c.want {
			t.Errorf("%+v %s: %s, want %s", c.t, c.id, got, c.want)
		}
	}
}

func TestParseAndWriteRoundTrip(t *testing.T) {
	db := Default()
	var buf bytes.Buffer
	if err := db.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Advisories) != len(db.Advisories) || back.AsOf != db.AsOf || len(back.EOL) != len(db.EOL) {
		t.Fatalf("round trip lost data: %d/%d advisories, %d/%d eol", len(back.Advisories), len(db.Advisories), len(back.EOL), len(db.EOL))
	}
	if strings.Contains(buf.String(), `"eol": [`) {
		t.Error("built-in end-of-life entries were written out")
	}
	// A file may override an end-of-life date.
	custom := strings.Replace(buf.String(), `"advisories": [`, `"eol": [{"kind": "os", "name": "debian", "release": "12", "eol": "2026-06-10", "source": "local policy"}], "advisories": [`, 1)
	over, err := Parse([]byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := over.EndOfLife(KindOS, "debian", "12"); l.EOL.String() != "2026-06-10" {
		t.Errorf("override ignored: %v", l)
	}
	path := filepath.Join(t.TempDir(), "adv.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	yamlDoc := `
schema: kensa-advisories/v1
as_of: 2026-01-01
products:
  - name: Exim
    complete: true
advisories:
  - id: CVE-2099-0001
    product: Exim
    remote: true
    source: local test
    affected: [{fixed: "4.99.9"}]
`
	y, err := Parse([]byte(yamlDoc))
	if err != nil {
		t.Fatal(err)
	}
	if !y.Complete("Exim") || len(y.EOL) == 0 {
		t.Errorf("yaml: complete %v, eol %d", y.Complete("Exim"), len(y.EOL))
	}
}

func TestParseRefusesBadData(t *testing.T) {
	bad := map[string]string{
		"schema":      `{"schema":"other","as_of":"2026-01-01","products":[],"advisories":[]}`,
		"as_of":       `{"schema":"kensa-advisories/v1","products":[],"advisories":[]}`,
		"unknown key": `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[],"advisories":[],"extra":1}`,
		"no source":   `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[{"name":"Exim","complete":false}],"advisories":[{"id":"CVE-1","product":"Exim","remote":true,"source":""}]}`,
		"no product":  `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[],"advisories":[{"id":"CVE-1","product":"Exim","remote":true,"source":"x"}]}`,
		"bad deb":     `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[{"name":"Exim","complete":false}],"advisories":[{"id":"CVE-1","product":"Exim","remote":true,"source":"x","distro":[{"distro":"debian","release":"12","package":"exim4","fixed":"not a version!"}]}]}`,
		"bad status":  `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[{"name":"Exim","complete":false}],"advisories":[{"id":"CVE-1","product":"Exim","remote":true,"source":"x","distro":[{"distro":"debian","release":"12","package":"exim4","status":"maybe"}]}]}`,
		"empty range": `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[{"name":"Exim","complete":false}],"advisories":[{"id":"CVE-1","product":"Exim","remote":true,"source":"x","affected":[{}]}]}`,
		"bad date":    `{"schema":"kensa-advisories/v1","as_of":"01/01/2026","products":[],"advisories":[]}`,
		"bad eol":     `{"schema":"kensa-advisories/v1","as_of":"2026-01-01","products":[],"advisories":[],"eol":[{"kind":"os","name":"debian","release":"12","eol":"2026-01-01"}]}`,
	}
	for name, doc := range bad {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestMerge(t *testing.T) {
	a := &DB{Schema: Schema, AsOf: MustDate("2026-11-01"), Products: []Product{{Name: "Exim"}},
		Advisories: []Advisory{{ID: "CVE-1", Product: "Exim", Source: "a", Affected: []Range{{Fixed: "4.92"}},
			Distro: []DistroFix{{Distro: "debian", Release: "9", Package: "exim4", Fixed: "4.89-2+deb9u4"}}}}}
	b := &DB{Schema: Schema, AsOf: MustDate("2026-10-01"), Products: []Product{{Name: "Exim", Complete: true}},
		Advisories: []Advisory{{ID: "CVE-1", Product: "Exim", Source: "b", Remote: true,
			Distro: []DistroFix{{Distro: "ubuntu", Release: "18.04", Package: "exim4", Fixed: "4.90.1-1ubuntu1.2"}}}}}
	m := Merge(a, b)
	if m.AsOf.String() != "2026-10-01" || !m.Complete("Exim") || len(m.Advisories) != 1 {
		t.Fatalf("merge: %+v", m)
	}
	adv := m.Advisories[0]
	if len(adv.Distro) != 2 || !adv.Remote || adv.Source != "a b" || len(adv.Affected) != 1 {
		t.Errorf("merged advisory %+v", adv)
	}
	if len(a.Advisories[0].Distro) != 1 {
		t.Error("merge modified its input")
	}
}

func TestImportNVD(t *testing.T) {
	db, err := ImportNVD([]string{"testdata/nvd/exim-openssh.json"}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if db.AsOf.String() != "2026-11-20" {
		t.Errorf("as-of %s", db.AsOf)
	}
	if len(db.Advisories) != 2 {
		t.Fatalf("%d advisories, want 2 (Apache is not a mail product): %+v", len(db.Advisories), db.Advisories)
	}
	exim := db.For("Exim")[0]
	if exim.ID != "CVE-2019-10149" || exim.Severity != "critical" || !exim.Remote || exim.Published.String() != "2019-06-05" {
		t.Errorf("exim %+v", exim)
	}
	if len(exim.Affected) != 1 || exim.Affected[0] != (Range{Introduced: "4.87", LastAffected: "4.91"}) {
		t.Errorf("exim ranges %+v", exim.Affected)
	}
	if !strings.HasPrefix(exim.Summary, "A flaw was found in Exim") {
		t.Errorf("summary %q", exim.Summary)
	}
	if !exim.AffectsUpstream("4.91") || exim.AffectsUpstream("4.92") || exim.AffectsUpstream("4.86.2") {
		t.Error("exim range semantics")
	}
	ssh := db.For("OpenSSH")[0]
	for v, want := range map[string]bool{"4.3p2": true, "4.4p1": false, "8.4p1": false, "8.5p1": true, "9.7p1": true, "9.8p1": false, "9.8": false} {
		if got := ssh.AffectsUpstream(v); got != want {
			t.Errorf("OpenSSH %s affected %v, want %v (ranges %+v)", v, got, want, ssh.Affected)
		}
	}
	if ssh.Severity != "high" {
		t.Errorf("severity from the secondary metric: %q", ssh.Severity)
	}
	// A directory, with a gzipped file, remote-only and a completeness
	// claim.
	dir := t.TempDir()
	raw, _ := os.ReadFile("testdata/nvd/postfix-local.json")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw)
	w.Close()
	os.WriteFile(filepath.Join(dir, "postfix.json.gz"), gz.Bytes(), 0o644)
	copyFile(t, "testdata/nvd/exim-openssh.json", filepath.Join(dir, "sub", "a.json"))
	db, err = ImportNVD([]string{dir}, ImportOptions{RemoteOnly: true, Complete: []string{"Postfix"}, AsOf: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, a := range db.Advisories {
		ids[a.ID] = true
	}
	if !ids["CVE-2011-1720"] || ids["CVE-2008-2936"] || !ids["CVE-2019-10149"] {
		t.Errorf("ids %v (the local-only CVE must be dropped)", ids)
	}
	if !db.Complete("Postfix") || db.Complete("Exim") || db.AsOf.String() != "2026-11-25" {
		t.Errorf("complete/as-of: %v %v %s", db.Complete("Postfix"), db.Complete("Exim"), db.AsOf)
	}
	p := db.For("Postfix")[0]
	if len(p.Affected) != 4 || len(p.Fixed) != 4 || p.Severity != "medium" {
		t.Errorf("postfix %+v", p)
	}
	// The result writes and reads back.
	var buf bytes.Buffer
	if err := db.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	// Not NVD.
	bad := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(bad, []byte(`{"id":"DSA-1"}`), 0o644)
	if _, err := ImportNVD([]string{bad}, ImportOptions{}); err == nil {
		t.Error("a non-NVD document was accepted")
	}
	if _, err := ImportNVD([]string{"testdata/nope"}, ImportOptions{}); err == nil {
		t.Error("a missing path was accepted")
	}
}

func TestImportOSV(t *testing.T) {
	db, err := ImportOSV([]string{"testdata/osv"}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Advisory{}
	for i := range db.Advisories {
		byID[db.Advisories[i].ID] = &db.Advisories[i]
	}
	dsa := byID["DSA-5724-1"]
	if dsa == nil || dsa.Product != "OpenSSH" || len(dsa.Distro) != 1 || dsa.Distro[0] != (DistroFix{Distro: "debian", Release: "12", Package: "openssh", Fixed: "1:9.2p1-2+deb12u3", Source: "https://security-tracker.debian.org/tracker/DSA-5724-1"}) {
		t.Errorf("DSA-5724-1: %+v", dsa)
	}
	if dsa != nil && !contains(dsa.Aliases, "CVE-2024-6387") {
		t.Errorf("DSA aliases %v", dsa.Aliases)
	}
	usn := byID["USN-6859-1"]
	if usn == nil || len(usn.Distro) != 2 || usn.Distro[1].Release != "24.04" || usn.Distro[1].Fixed != "1:9.6p1-3ubuntu13.3" {
		t.Errorf("USN-6859-1: %+v", usn)
	}
	sm := byID["CVE-2023-51765"]
	if sm == nil || sm.Product != "Sendmail" || len(sm.Distro) != 1 || sm.Distro[0].State() != StatusAffected || sm.Distro[0].Release != "22.04" || !sm.Remote {
		t.Errorf("UBUNTU-CVE-2023-51765 (Pro entry skipped, libreoffice ignored): %+v", sm)
	}
	dv := byID["CVE-2019-11500"]
	if dv == nil || len(dv.Distro) != 2 || !contains(dv.Aliases, "DEBIAN-CVE-2019-11500") {
		t.Errorf("DEBIAN-CVE-2019-11500 from an API answer: %+v", dv)
	}
	if byID["CVE-2024-0001"] != nil || byID["DEBIAN-CVE-2024-0001"] != nil {
		t.Error("a withdrawn record was imported")
	}
	if db.AsOf.String() != "2026-10-01" {
		t.Errorf("as-of %s (newest modification)", db.AsOf)
	}
	// The imported entries decide package versions.
	m := db.Check(Target{Product: "OpenSSH", Version: "9.2p1", Distro: "debian", Release: "12", Package: "1:9.2p1-2+deb12u2"})
	if len(m) != 2 || m[0].Status != Affected {
		t.Errorf("check with imported data: %+v", m)
	}
	// A zip archive as osv.dev publishes per ecosystem, and a single file.
	zpath := filepath.Join(t.TempDir(), "Debian.zip")
	f, _ := os.Create(zpath)
	zw := zip.NewWriter(f)
	for _, name := range []string{"DSA-5724-1.json", "api-answer.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata/osv", name))
		w, _ := zw.Create(name)
		w.Write(b)
	}
	zw.Close()
	f.Close()
	zdb, err := ImportOSV([]string{zpath, "testdata/osv/USN-6859-1.json"}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(zdb.Advisories) != 3 {
		t.Errorf("zip + file: %d advisories", len(zdb.Advisories))
	}
	for _, bad := range []string{`not json`, `{"summary":"no id"}`, `[1,2]`} {
		p := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := ImportOSV([]string{p}, ImportOptions{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExceptionsParsing(t *testing.T) {
	good := `
exceptions:
  - server: mx-01
    advisories: [CVE-2023-42115, "EOL:ubuntu:20.04"]
    justification: backport verified
    expires: 2027-03-31
  - host: 192.0.2.10
    advisories: [CVE-2024-6387]
    justification: fixed package installed, restart pending
    expires: 2026-10-01
`
	x, err := ParseExceptionsString(good)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	active, expired := x.For("mx-01", "192.0.2.10", at)
	if len(active) != 1 || len(expired) != 1 || expired[0].Line != 6 {
		t.Fatalf("active %v expired %v", active, expired)
	}
	cov, left, used := Cover([]string{"CVE-2023-42115", "CVE-2023-51766", "eol:ubuntu:20.04"}, active)
	if len(cov) != 2 || len(left) != 1 || left[0] != "CVE-2023-51766" || len(used) != 1 {
		t.Errorf("cover %v left %v used %v", cov, left, used)
	}
	if a, _ := x.For("mx-02", "192.0.2.99", at); len(a) != 0 {
		t.Error("exception applied to another server")
	}
	if !strings.Contains(active[0].String(), "until 2027-03-31") {
		t.Error(active[0].String())
	}
	list, err := ParseExceptionsString("- server: a\n  advisories: [CVE-1]\n  justification: j\n  expires: 2027-01-01\n")
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("bare list: %v %v", list, err)
	}
	empty, err := ParseExceptionsString("")
	if err != nil || len(empty.Items) != 0 {
		t.Fatalf("empty: %v", err)
	}
	bad := map[string]string{
		"no target":        "- advisories: [CVE-1]\n  justification: j\n  expires: 2027-01-01\n",
		"no advisories":    "- server: a\n  justification: j\n  expires: 2027-01-01\n",
		"no justification": "- server: a\n  advisories: [CVE-1]\n  expires: 2027-01-01\n",
		"no expiry":        "- server: a\n  advisories: [CVE-1]\n  justification: j\n",
		"bad expiry":       "- server: a\n  advisories: [CVE-1]\n  justification: j\n  expires: soon\n",
		"unknown key":      "- server: a\n  advisory: [CVE-1]\n  advisories: [CVE-1]\n  justification: j\n  expires: 2027-01-01\n",
		"top key":          "exception:\n  - server: a\n",
		"not a list":       "exceptions: 3\n",
	}
	for name, doc := range bad {
		if _, err := ParseExceptionsString(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var nilx *Exceptions
	if a, e := nilx.For("a", "b", at); a != nil || e != nil || nilx.Expired(at) != nil {
		t.Error("nil exceptions")
	}
	path := filepath.Join(t.TempDir(), "exc.yaml")
	os.WriteFile(path, []byte(good), 0o644)
	if lx, err := LoadExceptions(path); err != nil || lx.Path != path {
		t.Errorf("LoadExceptions: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestImportBoth(t *testing.T) {
	db, err := Import([]string{"testdata/nvd/exim-openssh.json"}, []string{"testdata/osv/DSA-5724-1.json", "testdata/osv/USN-6859-1.json"}, ImportOptions{Complete: []string{"OpenSSH"}})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Complete("OpenSSH") || db.AsOf.String() != "2025-09-12" {
		t.Errorf("complete %v as-of %s", db.Complete("OpenSSH"), db.AsOf)
	}
	path := filepath.Join(t.TempDir(), "imported.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Advisories) != 4 || len(back.EOL) == 0 {
		t.Errorf("%d advisories, %d eol entries", len(back.Advisories), len(back.EOL))
	}
	if _, err := Import(nil, nil, ImportOptions{}); err == nil {
		t.Error("no input accepted")
	}
}
