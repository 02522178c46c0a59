package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/scoring"
)

const header = "id,org,unit,host,services,declared,notes\n"

// want is an expected problem: its place "file:line:col: field" exactly,
// and a part of its message.
type want struct {
	at  string
	msg string
}

// problemsOf parses data and returns the problems of the *Error it must
// give.
func problemsOf(t *testing.T, name, data string) []Problem {
	t.Helper()
	inv, err := Parse(name, []byte(data))
	if err == nil {
		t.Fatalf("Parse accepted a bad inventory: %d servers", len(inv.Servers))
	}
	if inv != nil {
		t.Errorf("Parse returned an inventory with an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error: %v", err, err)
	}
	if e.File != name {
		t.Errorf("Error.File = %q, want %q", e.File, name)
	}
	return e.Problems
}

// expect checks that parsing data gives exactly the wanted problems, in
// order.
func expect(t *testing.T, name, data string, wants ...want) {
	t.Helper()
	ps := problemsOf(t, name, data)
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	if len(ps) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%s", len(ps), len(wants), strings.Join(got, "\n"))
	}
	for i, w := range wants {
		s := got[i]
		if !strings.HasPrefix(s, w.at+": ") {
			t.Errorf("problem %d = %q, want it at %q", i, s, w.at)
		}
		if !strings.Contains(s, w.msg) {
			t.Errorf("problem %d = %q, want it to say %q", i, s, w.msg)
		}
	}
}

func parseOK(t *testing.T, name, data string) *Inventory {
	t.Helper()
	inv, err := Parse(name, []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return inv
}

func TestDuplicateID(t *testing.T) {
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,smtp:25,,\n"+
		"mx-2,総務省,本省,192.0.2.2,smtp:25,,\n"+
		"mx-1,財務省,本省,192.0.2.3,smtp:25,,\n",
		want{"inv.csv:4:1: id", `duplicate id "mx-1" (first at line 2, column 1)`})
}

func TestEmptyFields(t *testing.T) {
	expect(t, "inv.csv", header+
		",総務省,本省,192.0.2.1,smtp:25,,\n"+
		"mx-2,,本省,192.0.2.2,smtp:25,,\n"+
		"mx-3,総務省,  ,192.0.2.3,smtp:25,,\n"+
		"mx-4,総務省,本省,,smtp:25,,\n",
		want{"inv.csv:2:1: id", "empty id"},
		want{"inv.csv:3:6: org", "empty org"},
		want{"inv.csv:4:10: unit", "empty unit"},
		want{"inv.csv:5:13: host", "empty host"})
}

func TestIDWithSpace(t *testing.T) {
	expect(t, "inv.csv", header+"mx 1,総務省,本省,192.0.2.1,smtp:25,,\n",
		want{"inv.csv:2:1: id", `id "mx 1" holds white space`})
}

func TestBadHost(t *testing.T) {
	for _, tc := range []struct{ host, msg string }{
		{"192.0.2.300", "all-numeric top-level label"},
		{"192.0.2", "all-numeric top-level label"},
		{"mail_1.example.jp", `character '_' not allowed`},
		{"-mx.example.jp", "starts or ends with a hyphen"},
		{"mx-.example.jp", "starts or ends with a hyphen"},
		{"mx..example.jp", "empty label"},
		{"mx example.jp", `character ' ' not allowed`},
		{strings.Repeat("a", 64) + ".jp", "longer than 63 characters"},
		{strings.Repeat("abcdefghi.", 26) + "jp", "longer than 253 characters"},
		{"メール.example.jp", "punycode"},
		{"192.0.2.1:25", "ports belong in services"},
		{"[2001:db8::1]:25", "ports belong in services"},
		{"2001:db8::1::2", "not a valid IPv6 address"},
		{"fe80::1%eth0", "zone"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"192.0.2.01", "all-numeric"}, // leading zero: ambiguous, refused
		{".", "empty name"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			host := tc.host
			if strings.ContainsAny(host, ", ") {
				host = `"` + host + `"`
			}
			expect(t, "inv.csv", header+"mx-1,総務省,本省,"+host+",smtp:25,,\n",
				want{"inv.csv:2:13: host", "bad host"})
			ps := problemsOf(t, "inv.csv", header+"mx-1,総務省,本省,"+host+",smtp:25,,\n")
			if !strings.Contains(ps[0].Msg, tc.msg) {
				t.Errorf("message %q, want it to say %q", ps[0].Msg, tc.msg)
			}
		})
	}
}

func TestHostNormalised(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8::25", "2001:db8::25"},
		{"2001:DB8:0:0:0::25", "2001:db8::25"},
		{"[2001:db8::25]", "2001:db8::25"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"127.0.0.1", "127.0.0.1"},
		{"MX1.Example.JP.", "mx1.example.jp"},
		{"localhost", "localhost"},
		{"xn--eckwd4c7c.xn--zckzah", "xn--eckwd4c7c.xn--zckzah"},
		{"  mx.example.jp ", "mx.example.jp"},
	} {
		inv := parseOK(t, "inv.csv", header+"mx-1,総務省,本省,"+tc.in+",smtp:25,,\n")
		if got := inv.Servers[0].Host; got != tc.out {
			t.Errorf("host %q normalised to %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestIPv6(t *testing.T) {
	inv := parseOK(t, "inv.csv", header+
		"mx-6,総務省,本省,2001:db8:10::25,smtp:25 imap:143,,\n"+
		"mx-4,総務省,本省,192.0.2.25,smtp:25,,\n"+
		"mx-n,総務省,本省,mx.example.jp,smtp:25,,\n")
	a, ok := inv.Servers[0].IP()
	if !ok || !a.Is6() || a.String() != "2001:db8:10::25" {
		t.Errorf("IP() = %v, %v; want 2001:db8:10::25", a, ok)
	}
	if a, ok := inv.Servers[1].IP(); !ok || !a.Is4() {
		t.Errorf("IP() = %v, %v; want an IPv4 address", a, ok)
	}
	if _, ok := inv.Servers[2].IP(); ok {
		t.Errorf("IP() of a DNS name is ok")
	}
}

func TestUnknownService(t *testing.T) {
	expect(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,smtp:25 smtq:25  http:80,,\n",
		want{"inv.csv:2:31: services", `"smtq:25": unknown service "smtq"`},
		want{"inv.csv:2:40: services", `"http:80": unknown service "http"`})
}

func TestBadPort(t *testing.T) {
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,smtp:2x5 imap: ssh +ssh:22 pop3:-1,,\n"+
		"mx-2,総務省,本省,192.0.2.2,smtp:0 imap:65536 ssh:65535 pop3:99999999999999999999999,,\n",
		want{"inv.csv:2:23: services", `"smtp:2x5": bad port "2x5"`},
		want{"inv.csv:2:32: services", `"imap:": port missing`},
		want{"inv.csv:2:38: services", `"ssh": want name:port`},
		want{"inv.csv:2:42: services", `unknown service "+ssh"`},
		want{"inv.csv:2:50: services", `"pop3:-1": bad port "-1"`},
		want{"inv.csv:3:23: services", `"smtp:0": port 0 outside 1–65535`},
		want{"inv.csv:3:30: services", `"imap:65536": port 65536 outside 1–65535`},
		want{"inv.csv:3:51: services", `port 99999999999999999999999 outside 1–65535`})
}

func TestDuplicateService(t *testing.T) {
	expect(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,smtp:25 ssh:22 smtp:25 submission:22,,\n",
		want{"inv.csv:2:38: services", `"smtp:25": duplicate service entry (first at line 2, column 23)`},
		want{"inv.csv:2:46: services", `"submission:22": port 22 already listed for ssh`})
	// The same service on two ports, and ntp on a port a TCP service
	// uses, are fine.
	inv := parseOK(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,smtp:25 smtp:2525 ntp:25 SMTPS:465,,\n")
	if got := fmt.Sprint(inv.Servers[0].Services); got != "[{smtp 25} {smtp 2525} {ntp 25} {smtps 465}]" {
		t.Errorf("services = %s", got)
	}
}

func TestDeclared(t *testing.T) {
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,smtp:25,S2=pass Z9=pass S3=ok M1=unknown,\n"+
		"mx-2,総務省,本省,192.0.2.2,smtp:25,S2 M3=pass m3=fail Q=maybe,\n",
		want{"inv.csv:2:39: declared", `"Z9=pass": unknown item code "Z9"`},
		want{"inv.csv:2:47: declared", `"S3=ok": unknown outcome "ok" (want pass or fail)`},
		want{"inv.csv:2:53: declared", `"M1=unknown": unknown outcome "unknown"`},
		want{"inv.csv:3:31: declared", `"S2": want ITEM=pass or ITEM=fail`},
		want{"inv.csv:3:42: declared", `"m3=fail": item M3 declared twice (first at line 3, column 34)`},
		want{"inv.csv:3:50: declared", `unknown item code "Q"`},
		want{"inv.csv:3:50: declared", `unknown outcome "maybe"`})
	inv := parseOK(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,smtp:25,s2=PASS M3=fail X2=pass,\n")
	d := inv.Servers[0].Declared
	if len(d) != 3 || d["S2"] != scoring.Pass || d["M3"] != scoring.Fail || d["X2"] != scoring.Pass {
		t.Errorf("declared = %v", d)
	}
}

func TestColumnCount(t *testing.T) {
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,smtp:25,S2=pass,note,extra\n"+
		"mx-2,総務省,本省,192.0.2.2,smtp:25\n"+
		"mx-3,総務省,本省,192.0.2.3,smtp:25,,\"a\nb\",\n",
		want{"inv.csv:2:44: row", "8 columns, but the header has 7"},
		want{"inv.csv:3:30: row", "5 columns, but the header has 7"},
		want{"inv.csv:5:4: row", "8 columns, but the header has 7"})
}

func TestHeader(t *testing.T) {
	expect(t, "inv.csv", "id,org,unit,hostname,services,declared,notes,org\nmx-1,a,b,192.0.2.1,,,,\n",
		want{"inv.csv:1:1: header", `missing column "host"`},
		want{"inv.csv:1:13: header", `unknown column "hostname"`},
		want{"inv.csv:1:46: header", `column "org" twice (first at column 4)`})
	expect(t, "inv.csv", "id,org,unit,host,services,declared\nmx-1,a,b,192.0.2.1,,\n",
		want{"inv.csv:1:1: header", `missing column "notes"`})
	expect(t, "inv.csv", "id,org,,host,services,declared,notes,unit\n",
		want{"inv.csv:1:8: header", `empty column name`})
	expect(t, "inv.csv", "mx-1,総務省,本省,192.0.2.1,smtp:25,,\n",
		want{"inv.csv:1:1: header", "the first line is not the header"})
	expect(t, "inv.tsv", strings.ReplaceAll(header, ",", "\t")+"mx-1\t総務省\n",
		want{"inv.tsv:1:1: header", "separated by tabs"})
	expect(t, "inv.csv", "# only a comment\n\n",
		want{"inv.csv:1:1: header", "no header line"})
	expect(t, "inv.csv", header,
		want{"inv.csv:1:1: file", "no servers"})

	// Any order, any case, and empty trailing columns (a spreadsheet's
	// touched cells) are fine.
	inv := parseOK(t, "inv.csv", "Host,ID,notes,Org,unit,declared,services,,\n192.0.2.1,mx-1,備考,総務省,本省,S2=pass,smtp:25,,\n")
	s := inv.Servers[0]
	if s.ID != "mx-1" || s.Host != "192.0.2.1" || s.Org != "総務省" || s.Unit != "本省" || s.Notes != "備考" ||
		len(s.Services) != 1 || s.Declared["S2"] != scoring.Pass {
		t.Errorf("server = %+v", s)
	}
}

func TestQuotedFields(t *testing.T) {
	data := header +
		"# a comment line\n" +
		"\n" +
		"mx-1,\"総務省\",本省,192.0.2.1,\"smtp:25 imap:143\",,\"一行目, 続き\n二行目は \"\"引用\"\"\n三行目\"\n" +
		",,,,,,\n" +
		"   \n" +
		"mx-2,総務省,本省,\"192.0.2.2\",smtp:25,,\n"
	inv := parseOK(t, "inv.csv", data)
	if len(inv.Servers) != 2 {
		t.Fatalf("%d servers, want 2", len(inv.Servers))
	}
	s := inv.Servers[0]
	if want := "一行目, 続き\n二行目は \"引用\"\n三行目"; s.Notes != want {
		t.Errorf("notes = %q, want %q", s.Notes, want)
	}
	if s.Line != 4 || inv.Servers[1].Line != 9 {
		t.Errorf("lines = %d, %d; want 4, 9", s.Line, inv.Servers[1].Line)
	}
	// Lines after a multi-line field keep their numbers; a token inside a
	// quoted multi-line field is reported where it stands; a field that
	// spans lines is reported where it starts.
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,\"smtp:25\nimap:0\",,\"note\nmore\"\n"+
		"mx-2,総務省,\"本\n省\",192.0.2.2,smtp:25,,\n"+
		"mx-3,総務省,本省,192.0.2.300,smtp:25,,\n",
		want{"inv.csv:3:1: services", `"imap:0": port 0 outside`},
		want{"inv.csv:5:10: unit", "control character in unit"},
		want{"inv.csv:7:13: host", "bad host"})
}

func TestCSVSyntax(t *testing.T) {
	expect(t, "inv.csv", header+
		"mx-1,総務省,本省,192.0.2.1,smtp:25,,\n"+
		"mx-2,総務省,\"本省\"x,192.0.2.2,smtp:25,,\n"+
		"mx-3,総務省,本省,192.0.2.3,smtp:25,,\"never closed\n",
		want{"inv.csv:3:14: csv", "text after the closing quote"},
		want{"inv.csv:4:32: csv", "quoted field never closed"})
	// A quote inside an unquoted field is taken literally.
	inv := parseOK(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,smtp:25,,say \"hi\"\n")
	if inv.Servers[0].Notes != `say "hi"` {
		t.Errorf("notes = %q", inv.Servers[0].Notes)
	}
}

func TestLineEndings(t *testing.T) {
	for name, nl := range map[string]string{"crlf": "\r\n", "cr": "\r", "lf": "\n"} {
		data := strings.ReplaceAll(header+"mx-1,総務省,本省,192.0.2.1,smtp:25,,\"a\nb\"\n\nmx-2,総務省,本省,192.0.2.300,smtp:25,,\n", "\n", nl)
		ps := problemsOf(t, "inv.csv", data)
		if len(ps) != 1 || ps[0].Line != 5 || ps[0].Column != 13 {
			t.Errorf("%s: problems = %v, want one at 5:13", name, ps)
		}
	}
	inv := parseOK(t, "inv.csv", strings.ReplaceAll(header+"mx-1,総務省,本省,192.0.2.1,smtp:25,,\"a\nb\"\n", "\n", "\r\n"))
	if inv.Servers[0].Notes != "a\nb" {
		t.Errorf("notes = %q, want CRLF inside a field read as LF", inv.Servers[0].Notes)
	}
}

func TestEveryProblemReported(t *testing.T) {
	ps := problemsOf(t, "inv.csv", header+
		"mx-1,,本省,192.0.2.300,smtq:25,S9=pass,\n"+
		"mx-1,総務省,本省,192.0.2.2,smtp:25,,\n")
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%d:%d:%s", p.Line, p.Column, p.Field))
	}
	if s := strings.Join(got, " "); s != "2:6:org 2:10:host 2:22:services 2:30:declared 3:1:id" {
		t.Errorf("problems at %s", s)
	}
}

func TestProblemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 60 {
		fmt.Fprintf(&b, "mx-%d,総務省,本省,192.0.2.300,smtp:25,,\n", i)
	}
	_, err := Parse("inv.csv", []byte(b.String()))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v", err)
	}
	if len(e.Problems) != MaxProblems || e.More != 10 {
		t.Errorf("%d problems listed, %d more; want %d and 10", len(e.Problems), e.More, MaxProblems)
	}
	msg := e.Error()
	if !strings.HasPrefix(msg, "inv.csv: inventory refused: 60 problems\ninv.csv:2:13: host: bad host") ||
		!strings.HasSuffix(msg, "\n… and 10 more") {
		t.Errorf("Error() = %s", msg)
	}
}

func TestProblemError(t *testing.T) {
	p := Problem{File: "a.csv", Line: 3, Column: 7, Field: "host", Msg: "bad host"}
	if s := p.Error(); s != "a.csv:3:7: host: bad host" {
		t.Errorf("Error() = %q", s)
	}
	p = Problem{File: "a.yaml", Line: 3, Field: "yaml", Msg: "syntax"}
	if s := p.Error(); s != "a.yaml:3: yaml: syntax" {
		t.Errorf("Error() = %q", s)
	}
	e := &Error{File: "a.csv", Problems: []Problem{{File: "a.csv", Line: 1, Column: 1, Field: "header", Msg: "x"}}}
	if s := e.Error(); s != "a.csv: inventory refused: 1 problem\na.csv:1:1: header: x" {
		t.Errorf("Error() = %q", s)
	}
}

func TestControlCharacters(t *testing.T) {
	expect(t, "inv.csv", header+"mx-1,総\x01務省,本省,192.0.2.1,smtp:25,,ok\ttab\n",
		want{"inv.csv:2:6: org", "control character"})
}
