package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func contentInventory(t *testing.T, dir string) *Inventory {
	t.Helper()
	path := filepath.Join(dir, "inv.csv")
	csv := "id,org,unit,host,services,declared,notes\nmx-1,総務省,本省,192.0.2.10,smtp:25,,\nmx-2,外務省,本省,192.0.2.11,smtp:25,,\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestContentTests reads a good file (a server entry wins over its
// organisation's, a relative password file is found beside the file,
// an environment variable is read) and refuses a bad one with every
// problem at its line and column.
func TestContentTests(t *testing.T) {
	dir := t.TempDir()
	inv := contentInventory(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`from: kensa@inspection.example.jp
tests:
  - org: 総務省
    rcpt: test@soumu.example.jp
    imap: imaps://imap.soumu.example.jp
    imap_user: kensa-test
    imap_password_file: pw
  - server: mx-1
    rcpt: other@soumu.example.jp
    imap: imaps://192.0.2.20:10993
    imap_user: u
    imap_password_env: PW
`), 0o644)
	ct, err := LoadContentTests(good, inv, func(k string) string { return map[string]string{"PW": "envpw"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if e := ct.For(&inv.Servers[0]); e == nil || e.Rcpt != "other@soumu.example.jp" || e.IMAPPassword != "envpw" {
		t.Errorf("mx-1: %+v", e)
	}
	if e := ct.For(&inv.Servers[1]); e != nil {
		t.Errorf("mx-2 (外務省, not named) got %+v", e)
	}
	if e := ct.Tests[0]; e.IMAPPassword != "secret" {
		t.Errorf("password file beside the file: %q", e.IMAPPassword)
	}
	if h, p := ct.Tests[1].IMAPAddress(); h != "192.0.2.20" || p != 10993 {
		t.Errorf("IMAPAddress = %s %d", h, p)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`tests:
  - org: 総務省
    rcpt: not an address
  - server: mx-9
    rcpt: a@b.example
  - org: 総務省
    server: mx-1
    rcpt: a@b.example
  - server: mx-2
    rcpt: a@b.example
    imap: imap://plain.example
    imap_password_env: UNSET
`), 0o644)
	_, err = LoadContentTests(bad, inv, func(string) string { return "" })
	var ce *ContentTestsError
	if !errors.As(err, &ce) {
		t.Fatalf("bad file: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.yaml:3:11: rcpt:", "bad.yaml:4:13: server: no server \"mx-9\"", "bad.yaml:6:5: server: name exactly one",
		"bad.yaml:11:11: imap:", "imap_user: a mailbox check needs imap_user", "UNSET is not set",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
