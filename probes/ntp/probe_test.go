package ntp_test

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

func testEnv() wire.Env {
	// One second per query: generous on a loaded machine, and the
	// silent responder costs two.
	return wire.Env{Limits: wire.Limits{DialTimeout: time.Second, ReadTimeout: time.Second}}
}

var fast = ntp.Options{Spacing: 20 * time.Millisecond}

func start(t *testing.T, cfg ntpd.Config) *ntpd.Server {
	t.Helper()
	s, err := ntpd.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tgt(t *testing.T, a net.Addr) observe.Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return observe.Target{Service: "ntp", Addr: ap}
}

func run(t *testing.T, s *ntpd.Server, opts ntp.Options) *observe.NTP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := ntp.Probe(ctx, testEnv(), tgt(t, s.Addr()), opts)
	if obs == nil {
		t.Fatal("nil observation")
	}
	if _, err := json.Marshal(obs); err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestSynced(t *testing.T) {
	for _, tc := range []struct {
		cfg     ntpd.Config
		offset  float64
		stratum int
		refid   string
	}{
		{ntpd.Config{Profile: ntpd.Synced}, 0, 2, "192.0.2.1"},
		{ntpd.Config{Profile: ntpd.Stratum1}, 0, 1, "GPS"},
		{ntpd.Config{Profile: ntpd.Offset}, 5000, 2, "192.0.2.1"},
		{ntpd.Config{Profile: ntpd.Synced, Offset: -3 * time.Second, Latency: 30 * time.Millisecond}, -3000, 2, "192.0.2.1"},
	} {
		t.Run(string(tc.cfg.Profile), func(t *testing.T) {
			s := start(t, tc.cfg)
			obs := run(t, s, fast)
			if obs.Error != "" || !obs.Reachable || obs.Answered != 4 || obs.TimingSamples != 4 {
				t.Fatalf("error %q answered %d timing %d\n%s", obs.Error, obs.Answered, obs.TimingSamples, strings.Join(obs.Transcript, "\n"))
			}
			if !obs.OffsetValid || math.Abs(obs.OffsetMS-tc.offset) > 50 {
				t.Fatalf("offset %v ms, want about %v", obs.OffsetMS, tc.offset)
			}
			if obs.Stratum != tc.stratum || obs.Leap != 0 || obs.RefID != tc.refid || obs.Version != 4 {
				t.Fatalf("stratum %d leap %d refid %q", obs.Stratum, obs.Leap, obs.RefID)
			}
			if obs.RootDelayMS < 15 || obs.RootDelayMS > 16 || obs.RootDistanceMS < obs.RootDispersionMS {
				t.Fatalf("root delay %v distance %v", obs.RootDelayMS, obs.RootDistanceMS)
			}
			// Latency is the server's processing time: the round trip
			// excludes it and the offset stays right.
			if tc.cfg.Latency > 0 && obs.DurationMS < 4*30 {
				t.Fatalf("probe took %d ms with 30ms latency per reply", obs.DurationMS)
			}
		})
	}
}

func TestUnsynchronised(t *testing.T) {
	for _, tc := range []struct {
		p              ntpd.Profile
		leap, stratum  int
		kiss           string
		timing         bool
		queries, sampl int
	}{
		{ntpd.Stratum16, 3, 16, "", true, 4, 4},
		{ntpd.Leap3, 3, 3, "", true, 4, 4},
		{ntpd.Init, 3, 0, "INIT", false, 4, 4},
		{ntpd.Rate, 3, 0, "RATE", false, 1, 1},
		{ntpd.Deny, 3, 0, "DENY", false, 1, 1},
	} {
		t.Run(string(tc.p), func(t *testing.T) {
			s := start(t, ntpd.Config{Profile: tc.p})
			obs := run(t, s, fast)
			if obs.Error != "" || obs.Answered != tc.sampl || len(obs.Samples) != tc.sampl {
				t.Fatalf("error %q answered %d samples %d", obs.Error, obs.Answered, len(obs.Samples))
			}
			if obs.Leap != tc.leap || obs.Stratum != tc.stratum || obs.KissCode != tc.kiss || obs.OffsetValid != tc.timing {
				t.Fatalf("leap %d stratum %d kiss %q timing %v", obs.Leap, obs.Stratum, obs.KissCode, obs.OffsetValid)
			}
			if int(s.Queries()) != tc.queries {
				t.Fatalf("server got %d queries, want %d", s.Queries(), tc.queries)
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	s := start(t, ntpd.Config{Profile: ntpd.RateLimited})
	obs := run(t, s, fast)
	if obs.Answered != 2 || obs.TimingSamples != 1 || obs.KissCode != "RATE" || obs.Stratum != 2 || !obs.OffsetValid {
		t.Fatalf("answered %d timing %d kiss %q stratum %d", obs.Answered, obs.TimingSamples, obs.KissCode, obs.Stratum)
	}
}

func TestHostile(t *testing.T) {
	for _, p := range []ntpd.Profile{ntpd.Garbage, ntpd.Short, ntpd.WrongOrigin, ntpd.Silent} {
		t.Run(string(p), func(t *testing.T) {
			s := start(t, ntpd.Config{Profile: p})
			begin := time.Now()
			obs := run(t, s, fast)
			if obs.Error == "" || obs.Reachable || obs.Answered != 0 || obs.OffsetValid {
				t.Fatalf("error %q reachable %v answered %d", obs.Error, obs.Reachable, obs.Answered)
			}
			if time.Since(begin) > 8*time.Second {
				t.Fatal("not bounded")
			}
			t.Logf("%s: %s (%d samples)", p, obs.Error, len(obs.Samples))
		})
	}
}

func TestClosedPort(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr()
	pc.Close()
	obs := ntp.Probe(context.Background(), testEnv(), tgt(t, a), fast)
	if obs.Reachable || !strings.Contains(obs.Error, "refused") || len(obs.Samples) != 1 {
		t.Fatalf("error %q samples %d", obs.Error, len(obs.Samples))
	}
}

func TestLocalClock(t *testing.T) {
	cs := ntp.LocalClock()
	t.Logf("scanner clock: %+v", cs)
	if cs.Checked && !cs.Synced && cs.Reason == "" {
		t.Fatal("unsynchronised without a reason")
	}
}

func TestParsePacket(t *testing.T) {
	if _, err := ntp.ParsePacket(make([]byte, 47)); err == nil {
		t.Fatal("short packet accepted")
	}
	b := make([]byte, 48)
	b[0] = 3<<6 | 4<<3 | 4
	copy(b[12:], "INIT")
	p, err := ntp.ParsePacket(b)
	if err != nil || p.Leap != 3 || p.Version != 4 || p.Mode != 4 || p.KissCode() != "INIT" || p.RefIDText() != "INIT" {
		t.Fatalf("%+v %v", p, err)
	}
	if got := ntp.Short(0x00018000); got != 1500*time.Millisecond {
		t.Fatalf("Short = %v", got)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 500000000, time.UTC)
	ts := uint64(want.Unix()+2208988800)<<32 | 1<<31
	if got := ntp.Time(ts); !got.Equal(want) {
		t.Fatalf("Time = %v", got)
	}
}

func FuzzParsePacket(f *testing.F) {
	f.Add(make([]byte, 48))
	f.Add([]byte("\xe4\x00\x06\xec\x00\x00\x00\x00\x00\x00\x00\x00INIT0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ntp.ParsePacket(b)
		if err != nil {
			if len(b) >= 48 {
				t.Fatal(err)
			}
			return
		}
		_ = p.RefIDText()
		_ = ntp.Time(p.Transmit)
		if p.Leap > 3 || p.Version > 7 || p.Mode > 7 {
			t.Fatal("field out of range")
		}
	})
}
