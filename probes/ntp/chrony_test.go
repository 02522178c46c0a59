package ntp_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/wire"
)

const chronydPath = "/usr/sbin/chronyd"

// startChrony runs chronyd in the foreground serving time on a loopback
// port, never touching the machine's clock (-x), with no sources; extra
// is added to its configuration ("local stratum 8" makes it serve as
// synchronised).
func startChrony(t *testing.T, extra string) wire.Target {
	t.Helper()
	if _, err := os.Stat(chronydPath); err != nil {
		t.Skipf("chrony not installed (%s): %v", chronydPath, err)
	}
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "chrony.conf")
	text := fmt.Sprintf(`port %d
bindaddress 127.0.0.1
allow 127.0.0.0/8
pidfile %s
driftfile %s
cmdport 0
bindcmdaddress /
%s
`, port, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"), extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(chronydPath, "-d", "-x", "-u", "root", "-f", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chronyd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chronyd log:\n%s", logs.String())
		}
	})
	tg := wire.Target{Service: "ntp", Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}
	// Wait until it answers at all.
	env := testEnv()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		obs := ntp.Probe(context.Background(), env, tg, ntp.Options{Samples: 1})
		if obs.Answered > 0 {
			return tg
		}
		if cmd.ProcessState != nil {
			t.Fatalf("chronyd exited: %v", cmd.ProcessState)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("chronyd never answered")
	return tg
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
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
