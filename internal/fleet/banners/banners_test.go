package banners

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/fingerprint"
	"github.com/kensa-inspect/kensa/observe"
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

// TestDemoData grades every set with the demo's data (the shipped data
// with Postfix and Cyrus marked complete) and compares with M2With.
func TestDemoData(t *testing.T) {
	at, err := time.Parse(time.DateOnly, AsOf)
	if err != nil {
		t.Fatal(err)
	}
	demo := advisory.Default().Clone()
	if err := demo.MarkComplete(DemoComplete...); err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, s := range Catalogue() {
		want, ok := s.M2With(DemoComplete...)
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
	if told < len(Catalogue())/2 {
		t.Errorf("M2With told only %d of %d sets", told, len(Catalogue()))
	}
	// The sets made for the demo, as issue 7 composes the ministries.
	for name, w := range map[string][3]scoring.Outcome{
		"postfix-cyrus-current":     {unknown, unknown, pass},
		"postfix-current-smtp-only": {unknown, unknown, pass},
		"postfix-cyrus-eol-os":      {fail, unknown, pass},
		"postfix-outdated":          {unknown, fail, fail},
		"postfix-cyrus-outdated":    {unknown, fail, fail},
	} {
		s, ok := ByName(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		got, ok := s.M2With(DemoComplete...)
		if s.M1 != w[0] || s.M2 != w[1] || s.M2Complete != w[2] || !ok || got != w[2] {
			t.Errorf("%s: M1 %s M2 %s M2Complete %s M2With %s %v, want %v", name, s.M1, s.M2, s.M2Complete, got, ok, w)
		}
	}
}

func TestM2With(t *testing.T) {
	s := Set{M2: unknown, M2Complete: pass, Mail: []string{"Postfix", "Dovecot"}}
	for _, c := range []struct {
		complete []string
		want     scoring.Outcome
		ok       bool
	}{
		{[]string{"Postfix", "Dovecot", "Cyrus"}, pass, true},
		{[]string{"Exim"}, unknown, true},
		{nil, unknown, true},
		{[]string{"Postfix"}, "", false},
	} {
		got, ok := s.M2With(c.complete...)
		if got != c.want || ok != c.ok {
			t.Errorf("%v: %s %v, want %s %v", c.complete, got, ok, c.want, c.ok)
		}
	}
	f := Set{M2: fail, M2Complete: fail, Mail: []string{"Postfix", "Cyrus"}}
	if got, ok := f.M2With("Postfix"); got != fail || !ok {
		t.Errorf("partial with agreeing truth: %s %v", got, ok)
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
