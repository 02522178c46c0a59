package sshd_test

import (
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestTruth(t *testing.T) {
	for _, p := range sshd.Profiles() {
		if o := sshd.Truth(p); !o.Valid() || o == scoring.NA {
			t.Errorf("%s: truth %q", p, o)
		}
	}
	if sshd.TruthPolicy(sshd.Password, true, false) != scoring.Pass || sshd.TruthPolicy(sshd.Weak, false, true) != scoring.Fail {
		t.Fatal("policy truth")
	}
}

func TestIdent(t *testing.T) {
	for _, tc := range []struct {
		cfg  sshd.Config
		want string
	}{
		{sshd.Config{Profile: sshd.PublicKey}, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"},
		{sshd.Config{Profile: sshd.SSH199, Banner: "Cisco-1.25"}, "SSH-1.99-Cisco-1.25"},
		{sshd.Config{Profile: sshd.SSH1}, "SSH-1.5-OpenSSH_2.9p2"},
	} {
		if got := tc.cfg.Ident(); got != tc.want {
			t.Errorf("%+v: %q", tc.cfg, got)
		}
	}
}

func TestOwnLoopbackAddress(t *testing.T) {
	s, err := sshd.Start("127.3.4.6:0", sshd.Config{Profile: sshd.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Addr().String(); got[:10] != "127.3.4.6:" {
		t.Fatalf("listening on %s", got)
	}
}
