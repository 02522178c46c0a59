package rules_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

func ntpScan(t *testing.T, cfg ntpd.Config) *observe.NTP {
	t.Helper()
	s, err := ntpd.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := adminEnv() // one-second queries at most, for the silent profile
	env.Limits.ReadTimeout = time.Second
	obs := ntp.Probe(ctx, env, addrOf(t, "ntp", s.Addr()), ntp.Options{Spacing: 20 * time.Millisecond})
	b, err := json.Marshal(obs)
	if err != nil {
		t.Fatal(err)
	}
	var back observe.NTP
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func TestS3FleetTruth(t *testing.T) {
	pol := rules.DefaultPolicy()
	cfgs := []ntpd.Config{{Profile: ntpd.Synced, Offset: -4 * time.Second}, {Profile: ntpd.Synced, Offset: 300 * time.Millisecond}}
	for _, p := range ntpd.Profiles() {
		cfgs = append(cfgs, ntpd.Config{Profile: p})
	}
	for _, cfg := range cfgs {
		t.Run(string(cfg.Profile)+"/"+cfg.Offset.String(), func(t *testing.T) {
			obs := ntpScan(t, cfg)
			v := rules.S3TimeSync(nil, []*observe.NTP{obs}, nil, nil, pol)
			want := ntpd.Truth(cfg, pol.NTPMaxOffset.D())
			t.Logf("%s: %s", v.Outcome, v.Reason)
			if v.Outcome != want {
				t.Fatalf("%s (%s), truth %s\n%s", v.Outcome, v.Reason, want, strings.Join(v.Evidence, "\n"))
			}
			if v.Source != scoring.FromProbe || v.Reason == "" || len(v.Evidence) == 0 {
				t.Fatalf("verdict %+v", v)
			}
			for _, e := range v.Evidence {
				if !strings.HasPrefix(e, obs.Address) {
					t.Fatalf("evidence %q", e)
				}
			}
		})
	}
}

func greeting(offset, rtt time.Duration) observe.TimeSample {
	recv := time.Date(2026, 11, 30, 1, 2, 3, 400_000_000, time.UTC)
	// The server stamped (whole seconds) a moment before the line arrived.
	server := recv.Add(offset).Add(-rtt / 2).Truncate(time.Second)
	return observe.TimeSample{Service: "smtp", Address: "192.0.2.1", Port: 25, Text: server.Format(time.RFC1123Z),
		Server: server, Received: recv, RTTMS: rtt.Milliseconds(), ResolutionMS: 1000}
}

// at moves a greeting sample to another address.
func at(addr string, g observe.TimeSample) observe.TimeSample {
	g.Address = addr
	return g
}

func TestS3Greeting(t *testing.T) {
	pol := rules.DefaultPolicy()
	noNTP := &observe.NTP{Endpoint: observe.Endpoint{Service: "ntp", Address: "192.0.2.1", Port: 123, Error: "query: timeout"}}
	for _, tc := range []struct {
		name string
		g    observe.TimeSample
		want scoring.Outcome
	}{
		// Offsets in [lo, lo+1s+rtt]: only clearly-inside and
		// clearly-outside intervals decide.
		{"in sync", greeting(0, 10*time.Millisecond), scoring.Pass}, // [-0.4 s, +0.611 s]
		{"ahead 5s", greeting(5*time.Second, 10*time.Millisecond), scoring.Fail},
		{"behind 5s", greeting(-5*time.Second, 10*time.Millisecond), scoring.Fail},
		{"ahead 1.2s", greeting(1200*time.Millisecond, 10*time.Millisecond), scoring.Unknown},
	} {
		v := rules.S3TimeSync(nil, []*observe.NTP{noNTP}, []observe.TimeSample{tc.g}, nil, pol)
		if v.Outcome != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, v.Outcome, v.Reason, tc.want)
		}
		if !strings.Contains(v.Reason, "greeting") || len(v.Evidence) == 0 {
			t.Errorf("%s: reason %q", tc.name, v.Reason)
		}
	}
	// A slow round trip widens the interval past the limit: unknown.
	if v := rules.S3TimeSync(nil, nil, []observe.TimeSample{greeting(300*time.Millisecond, 900*time.Millisecond)}, nil, pol); v.Outcome != scoring.Unknown {
		t.Errorf("slow round trip: %s (%s)", v.Outcome, v.Reason)
	}
}

func TestS3Sources(t *testing.T) {
	pol := rules.DefaultPolicy()
	if v := rules.S3TimeSync(nil, nil, nil, nil, pol); v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "no time source") {
		t.Fatalf("nothing: %s (%s)", v.Outcome, v.Reason)
	}
	synced := ntpScan(t, ntpd.Config{Profile: ntpd.Synced})
	// NTP decides before the greeting fallback of the same address.
	if v := rules.S3TimeSync(nil, []*observe.NTP{synced}, []observe.TimeSample{at(synced.Address, greeting(5*time.Second, 0))}, nil, pol); v.Outcome != scoring.Pass {
		t.Fatalf("NTP first: %s (%s)", v.Outcome, v.Reason)
	}
	// RATE says nothing; the greeting decides.
	rate := ntpScan(t, ntpd.Config{Profile: ntpd.Rate})
	if v := rules.S3TimeSync(nil, []*observe.NTP{rate}, []observe.TimeSample{at(rate.Address, greeting(5*time.Second, 0))}, nil, pol); v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "RATE") {
		t.Fatalf("RATE then greeting: %s (%s)", v.Outcome, v.Reason)
	}
	// The scanner's clock: a warning, same outcome.
	cs := &observe.ClockStatus{Checked: true, Reason: "STA_UNSYNC"}
	v := rules.S3TimeSync(nil, []*observe.NTP{synced}, nil, cs, pol)
	if v.Outcome != scoring.Pass || !strings.Contains(v.Reason, "warning") || !strings.Contains(strings.Join(v.Evidence, "\n"), "scanner clock") {
		t.Fatalf("scanner warning: %s (%s)", v.Outcome, v.Reason)
	}
	// A tighter policy turns the same offset into a fail.
	off := ntpScan(t, ntpd.Config{Profile: ntpd.Synced, Offset: 300 * time.Millisecond})
	pol.NTPMaxOffset = rules.Duration(100 * time.Millisecond)
	if v := rules.S3TimeSync(nil, []*observe.NTP{off}, nil, nil, pol); v.Outcome != scoring.Fail {
		t.Fatalf("tight policy: %s (%s)", v.Outcome, v.Reason)
	}
}

// TestS3EveryAddress: each address of a server needs its own passing
// time source — its NTP answer, or the date in its own greeting; one
// address answering NTP says nothing of another's clock.
func TestS3EveryAddress(t *testing.T) {
	pol := rules.DefaultPolicy()
	synced := ntpScan(t, ntpd.Config{Profile: ntpd.Synced})
	a1 := synced.Address
	const a2 = "127.0.0.2"
	silent := &observe.NTP{Endpoint: observe.Endpoint{Service: "ntp", Address: a2, Port: 123, Error: "query: timeout"}}
	addrs := []string{a1, a2}
	for _, tc := range []struct {
		name      string
		ntp       []*observe.NTP
		greetings []observe.TimeSample
		want      scoring.Outcome
		why       string
	}{
		{"second address never answered NTP", []*observe.NTP{synced, silent}, nil, scoring.Unknown, a2},
		{"second address without NTP planned", []*observe.NTP{synced}, nil, scoring.Unknown, "no time source observable on " + a2},
		{"another address's greeting does not count", []*observe.NTP{synced, silent}, []observe.TimeSample{at(a1, greeting(0, 10*time.Millisecond))}, scoring.Unknown, a2},
		{"its own greeting in time", []*observe.NTP{synced, silent}, []observe.TimeSample{at(a2, greeting(0, 10*time.Millisecond))}, scoring.Pass, "SMTP greeting time"},
		{"its own greeting off", []*observe.NTP{synced, silent}, []observe.TimeSample{at(a2, greeting(5*time.Second, 10*time.Millisecond))}, scoring.Fail, "clock off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := rules.S3TimeSync(addrs, tc.ntp, tc.greetings, nil, pol)
			if v.Outcome != tc.want || !strings.Contains(v.Reason, tc.why) {
				t.Fatalf("%s (%s), want %s with %q", v.Outcome, v.Reason, tc.want, tc.why)
			}
		})
	}
}

func TestS3Synthetic(t *testing.T) {
	pol := rules.DefaultPolicy()
	mk := func(f func(o *observe.NTP)) *observe.NTP {
		o := &observe.NTP{Answered: 4, Stratum: 2, OffsetValid: true, TimingSamples: 4, RefID: "192.0.2.9"}
		o.Service, o.Address, o.Port, o.Reachable = "ntp", "192.0.2.1", 123, true
		f(o)
		return o
	}
	for _, tc := range []struct {
		name string
		o    *observe.NTP
		want scoring.Outcome
	}{
		{"fine", mk(func(o *observe.NTP) { o.OffsetMS = 12 }), scoring.Pass},
		{"near limit", mk(func(o *observe.NTP) { o.OffsetMS, o.UncertaintyMS = 990, 20 }), scoring.Unknown},
		{"beyond limit despite rtt", mk(func(o *observe.NTP) { o.OffsetMS, o.UncertaintyMS = -1100, 20 }), scoring.Fail},
		{"chrony without source", mk(func(o *observe.NTP) { o.Stratum, o.Leap, o.OffsetValid = 0, 3, false }), scoring.Fail},
		{"ntpd KoD RATE", mk(func(o *observe.NTP) { o.Stratum, o.Leap, o.KissCode, o.OffsetValid = 0, 3, "RATE", false }), scoring.Unknown},
		{"RSTR", mk(func(o *observe.NTP) { o.Stratum, o.KissCode, o.OffsetValid = 0, "RSTR", false }), scoring.Unknown},
		{"INIT leap 0", mk(func(o *observe.NTP) { o.Stratum, o.KissCode, o.OffsetValid = 0, "INIT", false }), scoring.Fail},
		{"odd code", mk(func(o *observe.NTP) { o.Stratum, o.KissCode, o.OffsetValid = 0, "XYZW", false }), scoring.Unknown},
		{"root distance", mk(func(o *observe.NTP) { o.RootDistanceMS = 17000 }), scoring.Fail},
		{"stratum 17", mk(func(o *observe.NTP) { o.Stratum = 17 }), scoring.Unknown},
	} {
		if v := rules.S3TimeSync(nil, []*observe.NTP{tc.o}, nil, nil, pol); v.Outcome != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, v.Outcome, v.Reason, tc.want)
		}
	}
}
