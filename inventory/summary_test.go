package inventory

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/inventory")

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := fixtures + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func sampleSummary(t *testing.T) Summary {
	data, err := os.ReadFile(fixtures + "sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Parse("sample.csv", data)
	if err != nil {
		t.Fatal(err)
	}
	return Summarize(inv)
}

func TestSummary(t *testing.T) {
	s := sampleSummary(t)
	if s.Servers != 12 || len(s.Orgs) != 4 {
		t.Fatalf("servers %d, orgs %d", s.Servers, len(s.Orgs))
	}
	mof := s.Orgs[1]
	if mof.Org != "財務省" || mof.Servers != 4 || len(mof.Units) != 3 ||
		mof.Units[0].Unit != "本省" || mof.Units[0].Servers != 2 || mof.Units[2].Unit != "国税庁" ||
		mof.Services["smtp"] != 4 || mof.Services["telnet"] != 1 || mof.Units[0].Services["telnet"] != 1 {
		t.Errorf("財務省 = %+v", mof)
	}
	var svc []string
	for _, c := range s.Services {
		svc = append(svc, c.Service)
	}
	if got := strings.Join(svc, " "); got != "smtp submission smtps pop3 pop3s imap imaps ssh ntp telnet rlogin" {
		t.Errorf("services in order %s", got)
	}
	if s.Services[0].Servers != 12 {
		t.Errorf("smtp on %d servers", s.Services[0].Servers)
	}
	var decl []string
	for _, d := range s.Declared {
		decl = append(decl, d.Item)
	}
	if got := strings.Join(decl, " "); got != "M1 M3 S2 X2" {
		t.Errorf("declared in order %s", got)
	}
	if d := s.Declared[2]; d.Servers != 10 || d.Pass != 8 || d.Fail != 2 {
		t.Errorf("S2 = %+v", d)
	}
}

func TestSummaryJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleSummary(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("the JSON does not read back: %v", err)
	}
	if back.Servers != 12 || back.Encoding != "utf-8" || back.Format != "csv" || !strings.HasPrefix(back.Digest, "sha256:") {
		t.Errorf("read back %+v", back)
	}
	golden(t, "sample.summary.json", b.Bytes())
}

func TestSummaryText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleSummary(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.summary.txt", b.Bytes())
	// Every row of the table ends its counts in the same terminal cell.
	lines := strings.Split(b.String(), "\n")
	var widths []int
	for _, l := range lines {
		if strings.HasPrefix(l, "org ") || strings.HasPrefix(l, "total") || strings.Contains(l, "省") || strings.HasPrefix(l, "  ") {
			widths = append(widths, runewidth.StringWidth(l))
		}
	}
	if len(widths) < 10 {
		t.Fatalf("table rows not found in\n%s", b.String())
	}
	for _, w := range widths {
		if w != widths[0] {
			t.Errorf("rows of the table differ in width: %v\n%s", widths, b.String())
			break
		}
	}
}

func TestSummaryNoDeclared(t *testing.T) {
	inv := parseOK(t, "inv.csv", header+"mx-1,総務省,本省,192.0.2.1,,,\n")
	s := Summarize(inv)
	if len(s.Services) != 0 || len(s.Declared) != 0 {
		t.Errorf("summary %+v", s)
	}
	var b bytes.Buffer
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"services": []`) || !strings.Contains(b.String(), `"declared": []`) {
		t.Errorf("empty lists should be [] in JSON:\n%s", b.String())
	}
	b.Reset()
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "no declared items") {
		t.Errorf("text:\n%s", b.String())
	}
}
