package scan_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// startMix starts a Mix fleet of n hosts in this process and returns it
// with its inventory.
func startMix(t *testing.T, n int, o fleet.MixOptions) (*fleet.Plan, *inventory.Inventory) {
	t.Helper()
	p := fleet.Mix(n, o)
	return p, servePlan(t, p)
}

// fleetProbeTimeout is the probe budget of the fleet tests: a silent
// SMTP service is waited for that long.
const fleetProbeTimeout = 30 * time.Second

// scanAll scans inv with short timeouts and returns the records by id.
// The plan's hosts table resolves the names of hosts with two
// addresses (no name server is asked).
func scanAll(t *testing.T, p *fleet.Plan, inv *inventory.Inventory, readTimeout time.Duration) map[string]*results.Record {
	t.Helper()
	judge, err := scan.NewJudge(scan.JudgeConfig{Catalog: scoring.MailCatalog, Policy: rules.DefaultPolicy(), AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	recs := map[string]*results.Record{}
	b := scan.DefaultBounds()
	b.Limits = wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: readTimeout}
	b.ProbeTimeout = fleetProbeTimeout
	b.HostRate = 50
	cfg := scan.Config{
		Inventory: inv, Discover: true, Bounds: b,
		Probe:    scan.MailProbe(scan.ProbeOptions{RelayDomain: "kensa-relay-test.example", HeloName: "kensa.invalid"}),
		Judge:    judge.JudgeServer,
		Resolver: planResolver(p),
		Write: func(r *results.Record) error {
			mu.Lock()
			recs[r.Server.ID] = r
			mu.Unlock()
			return nil
		},
	}
	sum, err := scan.Run(context.Background(), cfg)
	if err != nil || sum.Done != len(inv.Servers) {
		t.Fatalf("scan: %+v %v", sum, err)
	}
	return recs
}

// TestFleetVerdictsEqualTruth scans a fleet of every behaviour, hostile
// ones included, and requires every verdict of every host to equal the
// fleet's ground truth.
func TestFleetVerdictsEqualTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a fleet")
	}
	readTimeout := 1 * time.Second
	p, inv := startMix(t, 240, fleet.MixOptions{Hostile: true, ReadTimeout: readTimeout, ProbeTimeout: fleetProbeTimeout, LowPorts: fleet.LowPorts(), Net: 2, SecondAddresses: true})
	recs := scanAll(t, p, inv, readTimeout)
	mismatches := 0
	for i := range p.Hosts {
		h := &p.Hosts[i]
		truth := p.Truth(h)
		rec := recs[h.ID]
		for _, code := range scoring.MailCatalog.Codes() {
			got := rec.Items[code]
			if got.Outcome != truth[code] {
				mismatches++
				if mismatches <= 40 {
					t.Errorf("%s %s: got %s, truth %s (%s)\n  reason: %s\n  evidence: %s", h.ID, code, got.Outcome, truth[code],
						hostDesc(h), got.Reason, strings.Join(got.Evidence, " | "))
				}
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d verdicts differ from the truth", mismatches)
	}
	// Hosts with a second address were scanned on both.
	down, noNTP := 0, 0
	for i := range p.Hosts {
		h := &p.Hosts[i]
		if h.Second == nil {
			continue
		}
		if got := recs[h.ID].Server.Addresses; len(got) != 2 {
			t.Errorf("%s: scanned %q, want its two addresses", h.ID, got)
		}
		if h.Second.Down {
			down++
		} else {
			noNTP++
		}
	}
	if down == 0 || noNTP == 0 {
		t.Errorf("the fleet lacks second addresses: %d down, %d without NTP", down, noNTP)
	}
}

// planResolver resolves the plan's names from its hosts table and
// refuses any other name: no name server is ever asked.
func planResolver(p *fleet.Plan) scan.Resolver {
	h := scan.NewHosts()
	for name, addrs := range p.Names() {
		for _, a := range addrs {
			h.Add(a, name)
		}
	}
	h.Next = refuseResolver{}
	return h
}

type refuseResolver struct{}

func (refuseResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, fmt.Errorf("test resolver: %s is not in the plan's hosts table", host)
}

func hostDesc(h *fleet.Host) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	p := &fleet.Plan{Hosts: []fleet.Host{*h}}
	p.WriteInventory(w2{&b})
	w.Flush()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return lines[len(lines)-1]
}

type w2 struct{ b *strings.Builder }

func (w w2) Write(p []byte) (int, error) { return w.b.Write(p) }

// fleetMixForTrace is a small well-behaved fleet with cleartext logins.
func fleetMixForTrace() fleet.MixOptions {
	return fleet.MixOptions{ReadTimeout: 5 * time.Second, LowPorts: false, Net: 4}
}
