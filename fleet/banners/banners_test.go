package banners

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestTruthMatchesRules compares the written-down truth of every set with
// what the rules grade from its banners.
func TestTruthMatchesRules(t *testing.T) {
	at, err := time.Parse(time.DateOnly, AsOf)
	if err != nil {
		t.Fatal(err)
	}
	db := advisory.Default()
	seen := map[string]bool{}
	count := map[string]int{}
	for _, s := range Catalogue() {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("duplicate name")
			}
			seen[s.Name] = true
			if s.Description == "" || !s.M1.Valid() || !s.M2.Valid() || !s.M2Complete.Valid() {
				t.Fatalf("incomplete set")
			}
			fps := fingerprint.Identify(s.Banners("192.0.2.50", "mail.example.jp"))
			m1 := rules.M1(fps, db, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
			m2 := rules.M2(fps, db, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
			if m1.Outcome != s.M1 {
				t.Errorf("M1 %s, truth %s: %s", m1.Outcome, s.M1, m1.Reason)
			}
			if m2.Outcome != s.M2 {
				t.Errorf("M2 %s, truth %s: %s", m2.Outcome, s.M2, m2.Reason)
			}
			complete := db.Clone()
			for i := range complete.Products {
				for _, fp := range fps {
					if fingerprint.IsMail(fp.Service) && complete.Products[i].Name == fp.Product {
						complete.Products[i].Complete = true
					}
				}
			}
			m2c := rules.M2(fps, complete, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
			if m2c.Outcome != s.M2Complete {
				t.Errorf("M2 with complete data %s, truth %s: %s", m2c.Outcome, s.M2Complete, m2c.Reason)
			}
			count["M1 "+string(s.M1)]++
			count["M2 "+string(s.M2)]++
			count["M2complete "+string(s.M2Complete)]++
		})
	}
	for _, k := range []string{"M1 fail", "M1 unknown", "M2 fail", "M2 unknown", "M2complete pass"} {
		if count[k] == 0 {
			t.Errorf("no set with %s", k)
		}
	}
	if count["M2 pass"] != 0 {
		t.Error("a set passes M2 with the shipped data, which no product is complete in")
	}
}

func TestBannersRender(t *testing.T) {
	s, ok := ByName("debian12-current")
	if !ok {
		t.Fatal("missing set")
	}
	bs := s.Banners("192.0.2.1", "mx.example.jp")
	if len(bs) != 4 || bs[0].Text != "220 mx.example.jp ESMTP Postfix (Debian/GNU)" || !strings.HasPrefix(bs[3].Text, "SSH-2.0-OpenSSH_9.2p1") {
		t.Fatalf("%+v", bs)
	}
	if _, ok := ByName("nope"); ok {
		t.Error("unknown name found")
	}
	for _, s := range Catalogue() {
		if s.M2 == scoring.Pass && s.M2Complete != scoring.Pass {
			t.Errorf("%s: passes with a selection but not with complete data", s.Name)
		}
	}
}
