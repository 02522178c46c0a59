package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/scoring"
)

const fixtures = "../testdata/inventory/"

func load(t *testing.T, name string) *Inventory {
	t.Helper()
	inv, err := Load(fixtures + name)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return inv
}

func TestLoadSample(t *testing.T) {
	path := fixtures + "sample.csv"
	inv := load(t, "sample.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); inv.Digest != want {
		t.Errorf("Digest = %s, want %s", inv.Digest, want)
	}
	if inv.Path != path || inv.Format != FormatCSV || inv.Encoding != EncodingUTF8 {
		t.Errorf("Path, Format, Encoding = %q, %q, %q", inv.Path, inv.Format, inv.Encoding)
	}
	if len(inv.Servers) != 12 {
		t.Fatalf("%d servers, want 12", len(inv.Servers))
	}
	want := Server{
		ID: "mx-soumu-01", Org: "総務省", Unit: "本省", Host: "192.0.2.10",
		Services: []Service{{"smtp", 25}, {"submission", 587}, {"imap", 143}, {"pop3", 110}, {"ssh", 22}, {"ntp", 123}},
		Declared: map[string]scoring.Outcome{"S2": scoring.Pass, "M3": scoring.Pass},
		Line:     2,
	}
	if !reflect.DeepEqual(inv.Servers[0], want) {
		t.Errorf("first server = %+v\nwant %+v", inv.Servers[0], want)
	}
	if got := strings.Join(inv.Orgs(), " "); got != "総務省 財務省 外務省 国土交通省" {
		t.Errorf("Orgs() = %s", got)
	}
	if got := strings.Join(inv.Units("財務省"), " "); got != "本省 地方支分部局 国税庁" {
		t.Errorf("Units(財務省) = %s", got)
	}
	s, ok := inv.ByID("mx-mof-02")
	if !ok || s.Host != "198.51.100.11" || s.Notes != "旧系統。\n移行予定" || s.Line != 7 {
		t.Errorf("ByID(mx-mof-02) = %+v, %v", s, ok)
	}
	if !s.HasService("telnet") || s.HasService("imap") {
		t.Errorf("HasService wrong for %v", s.Services)
	}
	if got := s.ServiceSet(); !reflect.DeepEqual(got, map[string]bool{"smtp": true, "ssh": true, "telnet": true}) {
		t.Errorf("ServiceSet() = %v", got)
	}
	if s, _ := inv.ByID("mx-mlit-kanto"); s.Line != 14 {
		t.Errorf("line of the row after a two-line note = %d, want 14", s.Line)
	}
	if _, ok := inv.ByID("nope"); ok {
		t.Errorf("ByID(nope) found a server")
	}
	// ByID works on an inventory built by hand too.
	hand := &Inventory{Servers: []Server{{ID: "a"}, {ID: "b"}}}
	if s, ok := hand.ByID("b"); !ok || s != &hand.Servers[1] {
		t.Errorf("ByID on a hand-made inventory = %v, %v", s, ok)
	}
	// ServiceSet feeds scoring: A1 applies, P1 does not.
	a1, _ := scoring.MailCatalog.Item("A1")
	p1, _ := scoring.MailCatalog.Item("P1")
	if !a1.Applies(s.ServiceSet()) || p1.Applies(s.ServiceSet()) {
		t.Errorf("applicability from ServiceSet wrong")
	}
}

func TestPorts(t *testing.T) {
	s := Server{Services: []Service{{"smtp", 25}, {"ssh", 22}, {"smtp", 2525}}}
	if got := s.Ports("smtp"); !reflect.DeepEqual(got, []int{25, 2525}) {
		t.Errorf("Ports(smtp) = %v", got)
	}
	if got := s.Ports("imap"); got != nil {
		t.Errorf("Ports(imap) = %v", got)
	}
}

func TestShiftJIS(t *testing.T) {
	raw, err := os.ReadFile(fixtures + "sjis.csv")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "総務省") {
		t.Fatal("fixture sjis.csv is not Shift_JIS")
	}
	inv := load(t, "sjis.csv")
	if inv.Encoding != EncodingSJIS {
		t.Errorf("Encoding = %q, want shift_jis", inv.Encoding)
	}
	if len(inv.Servers) != 3 {
		t.Fatalf("%d servers, want 3", len(inv.Servers))
	}
	s := inv.Servers[1]
	if s.Org != "総務省" || s.Unit != "地方支分部局" || s.Notes != "ｶﾝﾄｳ 髙橋～担当" {
		t.Errorf("decoded server = %+v", s)
	}
	if inv.Servers[0].Notes != "本館①" {
		t.Errorf("NEC special character: notes = %q", inv.Servers[0].Notes)
	}
	if inv.Servers[2].Host != "2001:db8::25" {
		t.Errorf("host = %q", inv.Servers[2].Host)
	}
	// Columns count characters of the decoded line, not bytes.
	_, err = Load(fixtures + "sjis_bad.csv")
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v", err)
	}
	var got []string
	for _, p := range e.Problems {
		got = append(got, strings.TrimPrefix(p.Error(), fixtures))
	}
	want := []string{
		`sjis_bad.csv:2:24: host: bad host "192.0.2.300"`,
		`sjis_bad.csv:3:39: services: "ｲﾒｰﾙ:110": unknown service "ｲﾒｰﾙ"`,
		`sjis_bad.csv:3:48: declared: "S2=合格": unknown outcome "合格"`,
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %q, want %q…", got[i], want[i])
		}
	}
}

func TestBOM(t *testing.T) {
	inv := load(t, "bom.csv")
	if inv.Encoding != EncodingUTF8BOM {
		t.Errorf("Encoding = %q, want utf-8-bom", inv.Encoding)
	}
	if inv.Servers[0].ID != "mx-somu-01" || inv.Servers[0].Line != 2 {
		t.Errorf("first server %q at line %d", inv.Servers[0].ID, inv.Servers[0].Line)
	}
	// The BOM is not a character of the first line: the header starts at
	// column 1.
	_, err := Load(fixtures + "bom_bad_header.csv")
	e, ok := err.(*Error)
	if !ok || len(e.Problems) != 2 {
		t.Fatalf("error %v", err)
	}
	if p := e.Problems[0]; p.Line != 1 || p.Column != 1 || p.Field != "header" || !strings.Contains(p.Msg, `unknown column "idx"`) {
		t.Errorf("problem %v", p)
	}
	// A BOM and an error further in: the column ignores the BOM.
	expect(t, "b.csv", "\uFEFF"+header+"mx-1,総務省,本省,192.0.2.300,,,\n",
		want{"b.csv:2:13: host", "bad host"})
}

func TestEncodingErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		at, msg    string
	}{
		{"latin1", "", "latin1.csv:2:12: encoding", "neither UTF-8 nor Shift_JIS (CP932)"},
		{"utf16", "", "utf16.csv:1:1: encoding", "UTF-16 is not supported"},
		{"bad-after-bom", "\xEF\xBB\xBFid,org\nmx,\x82\n", "bad-after-bom.csv:2:4: encoding", "invalid UTF-8 (byte 0x82) in a file that starts with a UTF-8 byte-order mark"},
		{"sjis-truncated", header + "mx-1,\x91\x8d\x96\xb1\x8f,", "sjis-truncated.csv:2:8: encoding", "neither UTF-8 nor Shift_JIS"},
		{"nul", header + "mx-1,a\x00b", "nul.csv:2:7: encoding", "NUL byte"},
		{"empty", "", "empty.csv:1:1: file", "the file is empty"},
		{"blank", " \n\r\n", "blank.csv:1:1: file", "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".csv"
			data := []byte(tc.data)
			if tc.name == "latin1" || tc.name == "utf16" {
				var err error
				if data, err = os.ReadFile(fixtures + name); err != nil {
					t.Fatal(err)
				}
			}
			ps := problemsOf(t, name, string(data))
			if len(ps) != 1 {
				t.Fatalf("problems %v", ps)
			}
			if s := ps[0].Error(); !strings.HasPrefix(s, tc.at+": ") || !strings.Contains(s, tc.msg) {
				t.Errorf("problem %q, want %q and %q", s, tc.at, tc.msg)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.csv"))
	if err == nil || !strings.Contains(err.Error(), "read inventory: open ") || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestFormatSniffing(t *testing.T) {
	y := "- id: mx-1\n  org: 総務省\n  unit: 本省\n  host: 192.0.2.1\n"
	for _, tc := range []struct{ name, data, format string }{
		{"inventory", y, FormatYAML},
		{"inventory.txt", "# comment\n" + y, FormatYAML},
		{"inventory", "servers:\n" + strings.ReplaceAll("\n"+y, "\n", "\n  ")[1:], FormatYAML},
		{"inventory", header + "mx-1,総務省,本省,192.0.2.1,,,\n", FormatCSV},
		{"INVENTORY.CSV", header + "mx-1,総務省,本省,192.0.2.1,,,\n", FormatCSV},
		{"inv.yml", y, FormatYAML},
	} {
		inv := parseOK(t, tc.name, tc.data)
		if inv.Format != tc.format || len(inv.Servers) != 1 {
			t.Errorf("%s %q: format %s, %d servers; want %s", tc.name, tc.data[:12], inv.Format, len(inv.Servers), tc.format)
		}
	}
}
