package ntp_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/daemon"
	"github.com/kensa-inspect/kensa/internal/itest"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// startChrony runs chronyd (package daemon) serving time on a loopback
// port, never touching the machine's clock, with no sources, stopped
// when the test ends; extra is added to its configuration ("local
// stratum 8" makes it serve as synchronised). It returns once chronyd
// answers.
func startChrony(t *testing.T, extra string) observe.Target {
	t.Helper()
	itest.Need(t, daemon.ChronyMissing())
	d, err := daemon.StartChrony(t.TempDir(), "127.0.0.1", extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("chronyd log:\n%s", d.Log())
		}
	})
	tg := observe.Target{Service: "ntp", Addr: d.Addr}
	env := testEnv()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		obs := ntp.Probe(context.Background(), env, tg, ntp.Options{Samples: 1})
		if obs.Answered > 0 {
			itest.Ran(t, "chrony")
			return tg
		}
		if d.Exited() {
			t.Fatalf("chronyd exited:\n%s", d.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("chronyd never answered")
	return tg
}

func TestChronyLocalStratum(t *testing.T) {
	tg := startChrony(t, "local stratum 8")
	env := wire.Env{Limits: wire.Limits{ReadTimeout: 2 * time.Second}}
	obs := ntp.Probe(context.Background(), env, tg, ntp.Options{})
	if obs.Error != "" || obs.Answered != 4 || !obs.OffsetValid {
		t.Fatalf("error %q answered %d\n%s", obs.Error, obs.Answered, strings.Join(obs.Transcript, "\n"))
	}
	if obs.Stratum != 8 || obs.Leap != 0 || obs.KissCode != "" {
		t.Fatalf("stratum %d leap %d kiss %q", obs.Stratum, obs.Leap, obs.KissCode)
	}
	// Same machine, same clock.
	if math.Abs(obs.OffsetMS) > 100 {
		t.Fatalf("offset %v ms against our own clock", obs.OffsetMS)
	}
	t.Logf("chrony: stratum %d refid %s offset %.3f ms ± %.3f, root distance %.3f ms",
		obs.Stratum, obs.RefID, obs.OffsetMS, obs.UncertaintyMS, obs.RootDistanceMS)
}

func TestChronyUnsynchronised(t *testing.T) {
	tg := startChrony(t, "")
	obs := ntp.Probe(context.Background(), testEnv(), tg, ntp.Options{Spacing: 50 * time.Millisecond})
	if obs.Error != "" || obs.Answered != 4 {
		t.Fatalf("error %q answered %d", obs.Error, obs.Answered)
	}
	// chrony without a source answers leap 3 (alarm), stratum 0, a zero
	// reference ID: not synchronised.
	if obs.Leap != 3 || obs.Stratum != 0 || obs.OffsetValid {
		t.Fatalf("leap %d stratum %d offset valid %v", obs.Leap, obs.Stratum, obs.OffsetValid)
	}
	t.Logf("chrony without source: leap %d stratum %d refid %q kiss %q", obs.Leap, obs.Stratum, obs.RefID, obs.KissCode)
}
