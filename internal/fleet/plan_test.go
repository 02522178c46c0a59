package fleet

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/scoring"
)

// gradeTruth grades a plan's truth by organisation.
func gradeTruth(p *Plan) map[string]string {
	var servers []scoring.ServerOutcomes
	for i := range p.Hosts {
		h := &p.Hosts[i]
		items := map[string]scoring.Verdict{}
		for code, o := range p.Truth(h) {
			items[code] = scoring.Verdict{Outcome: o}
		}
		servers = append(servers, scoring.ServerOutcomes{ID: h.ID, Org: h.Org, Unit: h.Unit, Items: items})
	}
	out := map[string]string{}
	for _, g := range scoring.Grade(scoring.MailCatalog, servers, scoring.ByOrg, scoring.CountUnknown, 0).Groups {
		out[g.Key] = g.Grade
	}
	return out
}

func TestPlansValidate(t *testing.T) {
	for _, low := range []bool{true, false} {
		for _, p := range []*Plan{
			Mix(300, MixOptions{LowPorts: low}),
			Mix(300, MixOptions{LowPorts: low, Hostile: true, ReadTimeout: time.Second}),
			Bench(500, BenchOptions{Tarpits: true, LowPorts: low}),
			Demo(1900, low),
			Demo(190, low),
		} {
			if err := p.Validate(); err != nil {
				t.Errorf("%s low=%v: %v", p.Name, low, err)
			}
			// The inventory a plan writes is one kensa accepts.
			var b bytes.Buffer
			if err := p.WriteInventory(&b); err != nil {
				t.Fatal(err)
			}
			inv, err := inventory.Parse(p.Name+".csv", b.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			if len(inv.Servers) != len(p.Hosts) {
				t.Fatalf("%s: %d servers in the inventory, %d hosts", p.Name, len(inv.Servers), len(p.Hosts))
			}
		}
	}
}

// TestDemoReproducesSource checks that the demo's truth grades every
// organisation as the source's September 2007 column does, at the full
// size and at a tenth of it.
func TestDemoReproducesSource(t *testing.T) {
	want := DemoGrades()
	for _, n := range []int{1900, 190} {
		got := gradeTruth(Demo(n, true))
		if len(got) != 19 {
			t.Fatalf("n=%d: %d organisations", n, len(got))
		}
		for org, g := range want {
			if got[org] != g {
				t.Errorf("n=%d: %s graded %s by the truth, the source says %s", n, org, got[org], g)
			}
		}
	}
}

// TestDemoDeclarationsOnlyWhereNoProbeDecides: declarations appear only
// for S2, M3, X2, and M1 where no banner proves the OS unpatched.
func TestDemoDeclarationsOnlyWhereNoProbeDecides(t *testing.T) {
	p := Demo(1900, true)
	declared := 0
	for i := range p.Hosts {
		h := &p.Hosts[i]
		probe := p.probeTruth(h)
		for code := range h.Declared {
			declared++
			switch code {
			case "S2", "M3", "X2":
			case "M1":
				if probe["M1"] != scoring.Unknown {
					t.Errorf("%s declares M1 where the banners decide it (%s)", h.ID, probe["M1"])
				}
			default:
				t.Errorf("%s declares %s, which a probe decides", h.ID, code)
			}
		}
	}
	if declared == 0 {
		t.Fatal("no declarations at all")
	}
}

// TestDemoFailuresAreMeasured: every fail and every unknown of the demo
// comes from a probe, except the declared recovery failures.
func TestDemoFailuresAreMeasured(t *testing.T) {
	p := Demo(1900, true)
	counts := map[string]int{}
	for i := range p.Hosts {
		h := &p.Hosts[i]
		probe := p.probeTruth(h)
		for code, o := range p.Truth(h) {
			if o == scoring.Fail && probe[code] != scoring.Fail {
				counts[fmt.Sprintf("%s declared fail", code)]++
			}
			if o == scoring.Fail && probe[code] == scoring.Fail {
				counts[code+" measured fail"]++
			}
		}
	}
	for k := range counts {
		if k != "S2 declared fail" && !bytes.HasSuffix([]byte(k), []byte("measured fail")) {
			t.Errorf("unexpected %s", k)
		}
	}
	for _, code := range []string{"M1", "M2", "S1", "S3", "A1", "P1"} {
		if counts[code+" measured fail"] == 0 {
			t.Errorf("no measured failure of %s in the demo", code)
		}
	}
}

func TestShards(t *testing.T) {
	p := Demo(1900, true)
	sh, err := p.Shards(20000)
	if err != nil || len(sh) != 2 || sh[0][0] != 0 || sh[len(sh)-1][1] != 1900 {
		t.Fatalf("%v %v", sh, err)
	}
	sh, err = Mix(10000, MixOptions{LowPorts: true}).Shards(20000)
	if err != nil || len(sh) < 3 {
		t.Fatalf("10,000 hosts in %v: %v", sh, err)
	}
	if _, err := Mix(10000, MixOptions{LowPorts: true}).Shards(4200); err == nil {
		t.Fatal("a machine that cannot hold the fleet must say so")
	}
}

func TestAddr(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		a := AddrIn(1, i)
		if seen[a] || a[len(a)-2:] == ".0" || a[len(a)-4:] == ".255" {
			t.Fatalf("address %d: %s", i, a)
		}
		seen[a] = true
	}
	if Addr(0) != "127.1.0.1" || Addr(254) != "127.1.1.1" {
		t.Fatal(Addr(0), Addr(254))
	}
}

// TestMixCoversEveryBehaviour checks that the fleets the end-to-end
// tests scan (240 hosts with the hostile behaviours, as the truth test
// in package scan runs; 300 without) give every behaviour of every
// rotated protocol to some host, so that the truth test covers it.
func TestMixCoversEveryBehaviour(t *testing.T) {
	for _, c := range []struct {
		n       int
		hostile bool
	}{{240, true}, {300, false}} {
		p := Mix(c.n, MixOptions{Hostile: c.hostile, LowPorts: true, ReadTimeout: time.Second})
		seen := map[string]bool{}
		for _, h := range p.Hosts {
			for _, s := range h.services() {
				seen[s.Name+"="+s.S.Profile] = true
			}
		}
		lists := map[string][]string{
			"imap": names(imapNormal, imapHostile, c.hostile), "pop3": names(pop3Normal, pop3Hostile, c.hostile),
			"ssh": names(sshNormal, sshHostile, c.hostile), "ntp": names(ntpNormal, ntpHostile, c.hostile),
		}
		for service, profiles := range lists {
			for _, pr := range profiles {
				if !seen[service+"="+pr] {
					t.Errorf("Mix(%d, hostile %v): no host has %s=%s", c.n, c.hostile, service, pr)
				}
			}
		}
	}
}

func names[P ~string](normal, hostile []P, withHostile bool) []string {
	var out []string
	for _, p := range normal {
		out = append(out, string(p))
	}
	if withHostile {
		for _, p := range hostile {
			out = append(out, string(p))
		}
	}
	return out
}
