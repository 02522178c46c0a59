package inventory

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/kensa-inspect/kensa/scoring"
)

func TestYAMLGood(t *testing.T) {
	inv := load(t, "sample.yaml")
	if inv.Format != FormatYAML || inv.Encoding != EncodingUTF8 {
		t.Errorf("Format, Encoding = %s, %s", inv.Format, inv.Encoding)
	}
	want := []Server{{
		ID: "mx-soumu-01", Org: "総務省", Unit: "本省", Host: "192.0.2.10",
		Services: []Service{{"smtp", 25}, {"submission", 587}, {"imap", 143}, {"ssh", 22}},
		Declared: map[string]scoring.Outcome{"S2": scoring.Pass, "M3": scoring.Pass},
		Line:     3,
	}, {
		ID: "mx-soumu-kinki", Org: "総務省", Unit: "地方支分部局", Host: "2001:db8:10::25",
		Services: []Service{{"smtp", 25}, {"imap", 143}, {"ntp", 123}},
		Declared: map[string]scoring.Outcome{"S2": scoring.Pass, "M3": scoring.Fail},
		Notes:    "近畿総合通信局",
		Line:     9,
	}, {
		ID: "mx-mof-01", Org: "財務省", Unit: "本省", Host: "mx1.example.jp",
		Services: []Service{{"smtp", 25}, {"imaps", 993}, {"ssh", 22}},
		Notes:    "二行の\n備考",
		Line:     16,
	}}
	if !reflect.DeepEqual(inv.Servers, want) {
		t.Errorf("servers:\n%+v\nwant\n%+v", inv.Servers, want)
	}
}

func TestYAMLBad(t *testing.T) {
	_, err := Load(fixtures + "bad.yaml")
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v", err)
	}
	var got []string
	for _, p := range e.Problems {
		got = append(got, strings.TrimPrefix(p.Error(), fixtures))
	}
	want := []string{
		`bad.yaml:5:11: host: bad host "192.0.2.300"`,
		`bad.yaml:6:23: services: "smtq:26": unknown service "smtq"`,
		`bad.yaml:7:26: declared: "Z9: fail": unknown item code "Z9"`,
		`bad.yaml:8:5: unit: missing unit`,
		`bad.yaml:8:9: id: duplicate id "mx-1" (first at line 2, column 9)`,
		`bad.yaml:11:16: services: "smtp:99999": port 99999 outside 1–65535`,
		`bad.yaml:12:5: yaml: unknown key "colour"`,
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

func TestYAMLSyntax(t *testing.T) {
	_, err := Load(fixtures + "syntax.yaml")
	e, ok := err.(*Error)
	if !ok || len(e.Problems) != 1 {
		t.Fatalf("error %v", err)
	}
	p := e.Problems[0]
	if p.Line != 2 || p.Column != 0 || p.Field != "yaml" || !strings.Contains(p.Msg, "did not find expected") {
		t.Errorf("problem %+v", p)
	}
	if s := strings.TrimPrefix(p.Error(), fixtures); !strings.HasPrefix(s, "syntax.yaml:2: yaml: ") {
		t.Errorf("Error() = %q", s)
	}
}

const y1 = "- id: mx-1\n  org: 総務省\n  unit: 本省\n  host: 192.0.2.1\n"

func TestYAMLProblems(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		wants      []want
	}{
		{"quoted services", y1 + "  services: \"smtp:25 smtq:1\"\n",
			[]want{{"i.yaml:5:22: services", `unknown service "smtq"`}}},
		{"single-quoted declared", y1 + "  declared: 'S2=pass S9=pass'\n",
			[]want{{"i.yaml:5:22: declared", `unknown item code "S9"`}}},
		{"escaped string falls back to the value", y1 + "  services: \"smtp:25\\tsmtq:1\"\n",
			[]want{{"i.yaml:5:13: services", `unknown service "smtq"`}}},
		{"folded plain scalar falls back to the value", y1 + "  services: smtp:25\n    smtq:1\n",
			[]want{{"i.yaml:5:13: services", `unknown service "smtq"`}}},
		{"list of services", y1 + "  services:\n    - smtp:25\n    - imap:0\n    - {name: pop3, port: x}\n    - {name: pop3}\n    - ssh: 99999\n    - [a]\n    - smtp:25 imap:143\n",
			[]want{
				{"i.yaml:7:7: services", `"imap:0": port 0 outside`},
				{"i.yaml:8:7: services", `"pop3:x": bad port "x"`},
				{"i.yaml:9:7: services", `want {name: NAME, port: PORT}`},
				{"i.yaml:10:7: services", `"ssh:99999": port 99999 outside`},
				{"i.yaml:11:7: services", `want name:port`},
				{"i.yaml:12:7: services", `want one name:port per list item`},
			}},
		{"services as a mapping", y1 + "  services: {smtp: 25}\n",
			[]want{{"i.yaml:5:13: services", `want a string such as "smtp:25 imap:143" or a list`}}},
		{"declared as a list", y1 + "  declared: [S2=pass]\n",
			[]want{{"i.yaml:5:13: declared", `want a string such as "S2=pass M3=fail" or a mapping`}}},
		{"declared mapping", y1 + "  declared:\n    S2: pass\n    M3: unknown\n    s2: fail\n",
			[]want{
				{"i.yaml:7:5: declared", `"M3: unknown": unknown outcome "unknown"`},
				{"i.yaml:8:5: declared", `item S2 declared twice (first at line 6, column 5)`},
			}},
		{"id not a string", "- id: [a, b]\n  org: 総務省\n  unit: 本省\n  host: 192.0.2.1\n",
			[]want{{"i.yaml:1:7: id", "want a string"}}},
		{"missing keys", "- id: mx-1\n  notes: x\n",
			[]want{
				{"i.yaml:1:3: org", "missing org"},
				{"i.yaml:1:3: unit", "missing unit"},
				{"i.yaml:1:3: host", "missing host"},
			}},
		{"null host", y1[:strings.Index(y1, "  host")] + "  host: ~\n",
			[]want{{"i.yaml:4:9: host", "empty host"}}},
		{"duplicate key", y1 + "  host: 192.0.2.2\n",
			[]want{{"i.yaml:5:3: host", "key host twice (first at line 4, column 3)"}}},
		{"alias", "- &a\n  id: mx-1\n  org: 総務省\n  unit: 本省\n  host: 192.0.2.1\n- *a\n",
			[]want{{"i.yaml:6:3: yaml", "aliases (*a) are not supported"}}},
		{"server not a mapping", y1 + "- mx-2\n",
			[]want{{"i.yaml:5:3: yaml", "want a mapping with the keys id, org"}}},
		{"not a list", "servers: mx-1\n",
			[]want{{"i.yaml:1:10: yaml", "want a list of servers"}}},
		{"top-level scalar", "just text\n",
			[]want{{"i.yaml:1:1: yaml", "want a list of servers"}}},
		{"unknown top-level key", "servers:\n" + strings.ReplaceAll("  "+y1[:len(y1)-1], "\n", "\n  ") + "\nversion: 2\n",
			[]want{{"i.yaml:6:1: yaml", `unknown top-level key "version"`}}},
		{"no servers key", "hosts: []\n",
			[]want{{"i.yaml:1:1: yaml", `unknown top-level key "hosts"`}, {"i.yaml:1:1: yaml", "no key servers"}}},
		{"empty list", "servers: []\n",
			[]want{{"i.yaml:1:1: file", "no servers"}}},
		{"null list", "servers:\n",
			[]want{{"i.yaml:1:1: file", "no servers"}}},
		{"comments only", "# nothing\n",
			[]want{{"i.yaml:1:1: yaml", "no servers"}}},
		{"two documents", y1 + "---\n" + y1,
			[]want{{"i.yaml:5: yaml", "a second YAML document"}}},
		{"tab indentation", "- id: mx-1\n\torg: x\n",
			[]want{{"i.yaml:2: yaml", "tab"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, "i.yaml", tc.data, tc.wants...)
		})
	}
}

func TestYAMLEncodings(t *testing.T) {
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(y1 + "  notes: 髙橋①\n"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Parse("s.yaml", sjis)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Encoding != EncodingSJIS || inv.Servers[0].Org != "総務省" || inv.Servers[0].Notes != "髙橋①" {
		t.Errorf("Shift_JIS YAML: %s %+v", inv.Encoding, inv.Servers[0])
	}
	inv, err = Parse("b.yaml", []byte("\uFEFF"+y1))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Encoding != EncodingUTF8BOM || inv.Servers[0].Line != 1 {
		t.Errorf("YAML with BOM: %s %+v", inv.Encoding, inv.Servers[0])
	}
	expect(t, "b.yaml", "\uFEFF"+strings.Replace(y1, "192.0.2.1", "192.0.2.300", 1),
		want{"b.yaml:4:9: host", "bad host"})
}
