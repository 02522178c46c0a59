package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/advisory"
)

const importedAdvisories = "../../testdata/advisories-imported.json"

// TestAdvisoriesImportCompleteWithoutRecord: --complete for a product the
// feed holds no record of is bad input (exit 2), and nothing is written.
func TestAdvisoriesImportCompleteWithoutRecord(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data.json")
	code, _, errs := runKensa(t, "advisories", "import", "--nvd", "../../advisory/testdata/nvd/postfix-local.json", "--complete", "Dovecot", "-o", out)
	if code != exitBadInput || !strings.Contains(errs, "no record of Dovecot") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused import wrote its file")
	}
	// The same feed vouches for the product it covers.
	if code, _, errs := runKensa(t, "advisories", "import", "--nvd", "../../advisory/testdata/nvd/postfix-local.json", "--complete", "Postfix", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestAdvisoriesImportListsDropped: the CVEs NVD has not analysed are
// listed on stdout, a completeness claim over them is warned about, and
// the file keeps them.
func TestAdvisoriesImportListsDropped(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data.json")
	code, stdout, errs := runKensa(t, "advisories", "import", "--nvd", "../../advisory/testdata/nvd-unanalysed/postfix-2026.json", "--complete", "postfix", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"dropped 3 CVEs NVD has not analysed", "1 of them name no product kensa knows", "CVE-2026-99901  Postfix  Awaiting Analysis", "CVE-2026-99902  Exim,Postfix"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "CVE-2026-99904") {
		t.Error("a rejected CVE is listed as dropped")
	}
	if !strings.Contains(errs, "Postfix is vouched complete, but 2 CVEs that name it were dropped") {
		t.Errorf("stderr %q", errs)
	}
	db, err := advisory.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.DroppedFor("Postfix")) != 2 || db.DroppedOther != 1 {
		t.Fatalf("file keeps %+v and %d others", db.Dropped, db.DroppedOther)
	}
}

func TestAdvisoriesShow(t *testing.T) {
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"advisories-show.txt", []string{"advisories", "show", importedAdvisories}},
		{"advisories-show.json", []string{"advisories", "show", "--format", "json", importedAdvisories}},
	} {
		code, out, errs := runKensa(t, c.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
		golden(t, c.golden, out)
	}
	// The embedded data by default, as scans use it: its digest is the
	// one scan metadata records.
	code, out, _ := runKensa(t, "advisories", "show", "--format", "json")
	var s advisory.Summary
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if !strings.HasPrefix(s.Data, "embedded in kensa") || s.Digest != advisory.Default().Digest() || s.AsOf != advisory.Default().AsOf.String() || len(s.Products) == 0 {
		t.Fatalf("embedded: %+v", s)
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"advisories", "show", "--help"}, 0, ""},
		{[]string{"advisories", "--help"}, 0, ""},
		{[]string{"advisories", "import", "--help"}, 0, ""},
		{[]string{"advisories", "show", "a.json", "b.json"}, 2, "want 0 to 1 arguments"},
		{[]string{"advisories", "show", "missing.json"}, 2, "missing.json"},
		{[]string{"advisories", "show", "--format", "xml"}, 2, "--format"},
		{[]string{"advisories", "show", "../../testdata/sample-inventory.csv"}, 2, "sample-inventory.csv"},
		{[]string{"advisories"}, 2, "want a subcommand"},
		{[]string{"advisories", "list"}, 2, "want a subcommand"},
	} {
		code, out, errs := runKensa(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.err)
		}
		if c.code == 0 && !strings.Contains(out, "Usage: kensa advisories") {
			t.Errorf("%v: no usage: %q", c.args, out)
		}
	}
}
