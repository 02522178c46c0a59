package scoring

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCombine(t *testing.T) {
	probe := func(o Outcome) Verdict { return Verdict{Outcome: o, Source: FromProbe, Reason: "seen"} }
	cases := []struct {
		probe    Outcome
		declared Outcome
		want     Outcome
		source   Source
		disc     bool
	}{
		{Unknown, Pass, Pass, FromDeclared, false}, // a declaration fills in
		{Unknown, Fail, Fail, FromDeclared, false},
		{Pass, Fail, Fail, FromDeclared, true}, // declared failure believed
		{Fail, Pass, Fail, FromProbe, true},    // refuted declaration
		{Pass, Pass, Pass, FromProbe, false},
		{Fail, Fail, Fail, FromProbe, false},
		{NA, Pass, NA, FromProbe, false},
		{Pass, "", Pass, FromProbe, false},
	}
	for _, c := range cases {
		v := Combine(probe(c.probe), c.declared)
		if v.Outcome != c.want || v.Source != c.source || v.Discrepancy != c.disc {
			t.Errorf("probe %s declared %s: got %s/%s disc=%v", c.probe, c.declared, v.Outcome, v.Source, v.Discrepancy)
		}
	}
	v := Combine(probe(Fail), Pass)
	if v.Probed != Fail || v.Declared != Pass || !strings.Contains(v.Reason, "declared pass") {
		t.Errorf("discrepancy verdict %+v", v)
	}
}

func TestVerdictJSONEvidenceArray(t *testing.T) {
	b, _ := json.Marshal(Verdict{Outcome: Pass, Source: FromProbe})
	if !strings.Contains(string(b), `"evidence":[]`) {
		t.Fatal(string(b))
	}
}

func TestCatalog(t *testing.T) {
	codes := strings.Join(MailCatalog.Codes(), " ")
	if codes != "M1 M2 M3 S1 S2 S3 A1 P1 X1 X2" {
		t.Fatal(codes)
	}
	a1, _ := MailCatalog.Item("A1")
	if a1.Applies(map[string]bool{"imap": true}) || !a1.Applies(map[string]bool{"smtps": true}) {
		t.Fatal("A1 applicability")
	}
	s2, _ := MailCatalog.Item("S2")
	if !s2.Applies(nil) {
		t.Fatal("S2 applies to every server")
	}
	for _, bad := range []string{
		"categories: [{code: C}]\nitems: [{code: C1, category: Z, graded: true}]",
		"categories: [{code: C}]\nitems: [{code: C1, category: C, graded: true}, {code: C1, category: C, graded: true}]",
		"categories: [{code: C}]\nitems: [{code: X1, category: X}]",
		"categories: [{code: C}]\nitems: [{code: C1, category: C, graded: true, colour: red}]",
	} {
		if _, err := ParseCatalog([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
