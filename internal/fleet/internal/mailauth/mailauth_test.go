package mailauth

import (
	"testing"

	"github.com/kensa-inspect/kensa/scoring"
)

func TestTruth(t *testing.T) {
	type profile string
	cases := []struct {
		p                       profile
		implicitOnly, weakFails bool
		want                    scoring.Outcome
	}{
		{TLSRequired, false, false, scoring.Pass},
		{WeakTLS, false, false, scoring.Pass},
		{WeakTLS, false, true, scoring.Fail},
		{Plaintext, false, false, scoring.Fail},
		{Plaintext, true, false, scoring.Pass},
		{NoTLS, false, false, scoring.Fail},
		{LoginDisabledLie, true, false, scoring.Pass},
		{PreAuth, true, false, scoring.Fail},
		{Anonymous, false, false, scoring.Fail},
		{BareRefusal, false, false, scoring.Unknown},
		{BareRefusal, true, false, scoring.Pass},
		{ChallengeOnly, false, false, scoring.Pass},
		{ChallengeOnly, true, true, scoring.Pass},
		{NoTLSBare, false, false, scoring.Fail},
		{NoTLSBare, true, false, scoring.Pass},
		{Silent, false, false, scoring.Unknown},
		{Garbage, true, true, scoring.Unknown},
		{EndlessLine, false, false, scoring.Unknown},
		{Reset, false, false, scoring.Unknown},
		{"huge-literal", false, false, scoring.Unknown},
	}
	for _, c := range cases {
		if got := Truth(c.p, c.implicitOnly, c.weakFails); got != c.want {
			t.Errorf("%s (implicit TLS only %v, weak fails %v): %s, want %s", c.p, c.implicitOnly, c.weakFails, got, c.want)
		}
	}
}

func TestHostile(t *testing.T) {
	for _, p := range []string{Silent, Garbage, EndlessLine, Reset} {
		if !Hostile(p) {
			t.Errorf("%s not hostile", p)
		}
	}
	for _, p := range []string{TLSRequired, Plaintext, NoTLS, LoginDisabledLie, PreAuth, Anonymous, WeakTLS,
		BareRefusal, ChallengeOnly, NoTLSBare, "huge-literal", "flood", ""} {
		if Hostile(p) {
			t.Errorf("%s hostile", p)
		}
	}
}
