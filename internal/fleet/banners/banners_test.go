package banners

import (
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/scoring"
)

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
