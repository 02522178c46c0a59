package telnetd_test

import (
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestTruthAndPorts(t *testing.T) {
	for _, p := range telnetd.Profiles() {
		if telnetd.Truth(p) != scoring.Fail {
			t.Errorf("%s: an answering cleartext listener must fail S1", p)
		}
		switch telnetd.Service(p) {
		case "telnet", "rlogin", "rsh":
		default:
			t.Errorf("%s: service %q", p, telnetd.Service(p))
		}
	}
	if telnetd.StandardPort(telnetd.Rsh) != 514 || telnetd.StandardPort(telnetd.Rlogin) != 513 || telnetd.StandardPort(telnetd.Telnet) != 23 {
		t.Fatal("standard ports")
	}
}
