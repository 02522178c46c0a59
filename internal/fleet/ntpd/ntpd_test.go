package ntpd_test

import (
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestTruth(t *testing.T) {
	for _, p := range ntpd.Profiles() {
		if o := ntpd.Truth(ntpd.Config{Profile: p}, time.Second); !o.Valid() || o == scoring.NA {
			t.Errorf("%s: truth %q", p, o)
		}
	}
	if ntpd.Truth(ntpd.Config{Profile: ntpd.Offset}, time.Second) != scoring.Fail ||
		ntpd.Truth(ntpd.Config{Profile: ntpd.Offset}, 10*time.Second) != scoring.Pass ||
		ntpd.Truth(ntpd.Config{Profile: ntpd.Synced, Offset: -2 * time.Second}, time.Second) != scoring.Fail {
		t.Fatal("offset truth")
	}
}

func TestOwnLoopbackAddress(t *testing.T) {
	s, err := ntpd.Start("127.3.4.5:0", ntpd.Config{Profile: ntpd.Synced})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Addr().String(); got[:10] != "127.3.4.5:" {
		t.Fatalf("listening on %s", got)
	}
}
