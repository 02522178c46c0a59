package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// noWait replaces the wait between two looks into a test mailbox: the
// simulated servers deliver before they answer the end of DATA.
func noWait(context.Context, time.Duration) error { return nil }

// scanContent scans the demo fleet p (served in this process, its
// running hosts rs) with the content tests ct (nil: no opt-in) and
// returns the records by id.
func scanContent(t *testing.T, p *fleet.Plan, inv *inventory.Inventory, ct *inventory.ContentTests) map[string]*results.Record {
	t.Helper()
	judge, err := scan.NewJudge(scan.JudgeConfig{Catalog: scoring.MailCatalog, Policy: rules.DefaultPolicy(), AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	recs := map[string]*results.Record{}
	b := scan.DefaultBounds()
	b.Limits = wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}
	b.HostRate = 50
	cfg := scan.Config{
		Inventory: inv, Discover: true, Bounds: b,
		Probe: scan.MailProbe(scan.ProbeOptions{RelayDomain: "kensa-relay-test.example", HeloName: "kensa.invalid"}),
		Judge: judge.JudgeServer,
		Write: func(r *results.Record) error {
			mu.Lock()
			recs[r.Server.ID] = r
			mu.Unlock()
			return nil
		},
	}
	if ct != nil {
		cfg.Content = &scan.ContentConfig{Tests: ct, ScanID: "20261205T000000Z-content", SMTP: smtp.Options{HeloName: "kensa.invalid"},
			Settle: 4 * time.Second, Interval: 2 * time.Second, Sleep: noWait}
	}
	sum, err := scan.Run(context.Background(), cfg)
	if err != nil || sum.Done != len(inv.Servers) {
		t.Fatalf("scan: %+v %v", sum, err)
	}
	return recs
}

// TestContentOptIn scans a small demo fleet twice. Without the opt-in
// no server receives a single DATA command (the relay test never sends
// DATA) and M3 and X2 say the test was not requested. With the offices'
// content-tests file, only the servers it names get DATA, never more
// than the three messages each, and M3 and X2 equal the fleet's truth
// on every server.
func TestContentOptIn(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a fleet")
	}
	p := fleet.DemoIn(27, 57, fleet.LowPorts())
	if !p.OptedIn() {
		t.Fatal("the demo plan has no opted-in host")
	}
	rs, inv := serveHosts(t, p)
	dir := t.TempDir()
	write := func(name string, fn func(f *os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	write("mailbox-password", func(f *os.File) error { _, err := f.WriteString(fleet.MailboxPassword + "\n"); return err })
	write("mailbox-ca.pem", func(f *os.File) error { return p.WriteMailboxCA(f) })
	ctPath := write("content-tests.yaml", func(f *os.File) error { return p.WriteContentTests(f, "mailbox-password", "mailbox-ca.pem") })
	data := func() map[string]int {
		out := map[string]int{}
		for _, r := range rs {
			out[r.Host.ID] = r.DataCommands()
		}
		return out
	}

	recs := scanContent(t, p, inv, nil)
	for id, n := range data() {
		if n != 0 {
			t.Errorf("%s: %d DATA commands in a scan without the opt-in", id, n)
		}
	}
	for id, rec := range recs {
		for _, code := range []string{"M3", "X2"} {
			v := rec.Items[code]
			if v.Outcome != scoring.NA && (v.Probed != scoring.Unknown && v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "not requested")) {
				t.Errorf("%s %s without the opt-in: %+v", id, code, v)
			}
		}
	}

	ct, err := inventory.LoadContentTests(ctPath, inv, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	before := data()
	recs = scanContent(t, p, inv, ct)
	after := data()
	named := 0
	for i := range p.Hosts {
		h := &p.Hosts[i]
		sent := after[h.ID] - before[h.ID]
		optIn := h.Content != nil && h.Content.OptIn
		switch {
		case !optIn && sent != 0:
			t.Errorf("%s: %d DATA commands, but its office did not opt in", h.ID, sent)
		case optIn && (sent < 1 || sent > 3):
			t.Errorf("%s: %d DATA commands, want 1 to 3", h.ID, sent)
		}
		if optIn {
			named++
		}
		truth := p.Truth(h)
		for _, code := range []string{"M3", "X2"} {
			if got := recs[h.ID].Items[code]; got.Outcome != truth[code] {
				t.Errorf("%s %s: %s (%s), truth %s", h.ID, code, got.Outcome, got.Reason, truth[code])
			}
		}
	}
	if named == 0 {
		t.Error("no host opted in")
	}
}
