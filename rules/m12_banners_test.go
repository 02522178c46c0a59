package rules_test

import (
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestTruthMatchesRules compares the written-down truth of every set with
// what the rules grade from its banners.
func TestTruthMatchesRules(t *testing.T) {
	at, err := time.Parse(time.DateOnly, banners.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	db := advisory.Default()
	seen := map[string]bool{}
	count := map[string]int{}
	for _, s := range banners.Catalogue() {
		t.Run(s.Name, func(t *testing.T) {
			if seen[s.Name] {
				t.Fatalf("duplicate name")
			}
			seen[s.Name] = true
			if s.Description == "" || !s.M1.Valid() || !s.M2.Valid() || !s.M2Complete.Valid() {
				t.Fatalf("incomplete set")
			}
			fps := fingerprint.Identify(s.Banners("192.0.2.50", "mail.example.jp"))
			m1 := rules.M1OSPatches(fps, db, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
			m2 := rules.M2MailSoftwarePatches(fps, answered(fps), db, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
			if m1.Outcome != s.M1 {
				t.Errorf("M1 %s, truth %s: %s", m1.Outcome, s.M1, m1.Reason)
			}
			if m2.Outcome != s.M2 {
				t.Errorf("M2 %s, truth %s: %s", m2.Outcome, s.M2, m2.Reason)
			}
			// The written list of mail products is the fingerprints'.
			seenMail := map[string]bool{}
			for _, fp := range fps {
				if fingerprint.IsMail(fp.Service) && fp.Product != "" {
					seenMail[fp.Product] = true
				}
			}
			if len(seenMail) != len(s.Mail) {
				t.Errorf("Mail %v, fingerprints name %v", s.Mail, seenMail)
			}
			for _, p := range s.Mail {
				if !seenMail[p] {
					t.Errorf("Mail %v, fingerprints name %v", s.Mail, seenMail)
				}
			}
			// Complete data for every mail product the shipped data has
			// records of; a product without any cannot be vouched for.
			complete := db.Clone()
			var vouch []string
			for _, p := range s.Mail {
				if len(db.For(p)) > 0 {
					vouch = append(vouch, p)
				}
			}
			if err := complete.MarkComplete(vouch...); err != nil {
				t.Fatal(err)
			}
			m2c := rules.M2MailSoftwarePatches(fps, answered(fps), complete, nil, s.Name, "192.0.2.50", at, rules.DefaultPolicy())
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

// TestDemoData grades every set with the demo's data (the shipped data
// with Postfix and Cyrus marked complete) and compares with M2With.
func TestDemoData(t *testing.T) {
	at, err := time.Parse(time.DateOnly, banners.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	demo := advisory.Default().Clone()
	if err := demo.MarkComplete(banners.DemoComplete...); err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, s := range banners.Catalogue() {
		want, ok := s.M2With(banners.DemoComplete...)
		if !ok {
			continue
		}
		told++
		fps := fingerprint.Identify(s.Banners("192.0.2.60", "mx.example.go.jp"))
		v := rules.M2MailSoftwarePatches(fps, answered(fps), demo, nil, s.Name, "192.0.2.60", at, rules.DefaultPolicy())
		if v.Outcome != want {
			t.Errorf("%s: M2 with the demo's data %s, truth %s: %s", s.Name, v.Outcome, want, v.Reason)
		}
	}
	if told < len(banners.Catalogue())/2 {
		t.Errorf("M2With told only %d of %d sets", told, len(banners.Catalogue()))
	}
	// The sets made for the demo, as the demo composes the ministries.
	unknown, fail, pass := scoring.Unknown, scoring.Fail, scoring.Pass
	for name, w := range map[string][3]scoring.Outcome{
		"postfix-cyrus-current":     {unknown, unknown, pass},
		"postfix-current-smtp-only": {unknown, unknown, pass},
		"postfix-cyrus-eol-os":      {fail, unknown, pass},
		"postfix-outdated":          {unknown, fail, fail},
		"postfix-cyrus-outdated":    {unknown, fail, fail},
	} {
		s, ok := banners.ByName(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		got, ok := s.M2With(banners.DemoComplete...)
		if s.M1 != w[0] || s.M2 != w[1] || s.M2Complete != w[2] || !ok || got != w[2] {
			t.Errorf("%s: M1 %s M2 %s M2Complete %s M2With %s %v, want %v", name, s.M1, s.M2, s.M2Complete, got, ok, w)
		}
	}
}

// answered lists the services of fingerprints as listed and answering:
// a set's banners are all its mail services.
func answered(fps []observe.Fingerprint) []observe.Service {
	var out []observe.Service
	for _, f := range fps {
		out = append(out, observe.Service{Service: f.Service, Address: f.Address, Port: f.Port, Listed: true, State: observe.StateAnswered})
	}
	return out
}
