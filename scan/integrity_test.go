package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// integrityNet is the loopback network of these tests' fleets.
const integrityNet = 23

// servePlan starts every host of p in this process and writes its
// inventory.
func servePlan(t *testing.T, p *fleet.Plan) *inventory.Inventory {
	t.Helper()
	_, inv := serveHosts(t, p)
	return inv
}

// serveHosts is servePlan, also returning the running hosts.
func serveHosts(t *testing.T, p *fleet.Plan) ([]*fleet.Running, *inventory.Inventory) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	rs, err := fleet.Serve(p, 0, len(p.Hosts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range rs {
			r.Close()
		}
	})
	path := filepath.Join(t.TempDir(), "inventory.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	p.WriteInventory(f)
	f.Close()
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return rs, inv
}

// scanWith scans inv with the judge jc (advisories, exceptions) and
// discovery on or off, and returns the records by id.
func scanWith(t *testing.T, p *fleet.Plan, inv *inventory.Inventory, jc scan.JudgeConfig, discover bool) map[string]*results.Record {
	t.Helper()
	jc.Catalog, jc.Policy = scoring.MailCatalog, rules.DefaultPolicy()
	if jc.AsOf.IsZero() {
		jc.AsOf = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	judge, err := scan.NewJudge(jc)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	recs := map[string]*results.Record{}
	b := scan.DefaultBounds()
	b.Limits = wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: time.Second}
	b.HostRate = 50
	cfg := scan.Config{
		Inventory: inv, Discover: discover, Bounds: b, Resolver: planResolver(p),
		Probe: scan.MailProbe(scan.ProbeOptions{}),
		Judge: judge.JudgeServer,
		Write: func(r *results.Record) error {
			mu.Lock()
			recs[r.Server.ID] = r
			mu.Unlock()
			return nil
		},
	}
	if sum, err := scan.Run(context.Background(), cfg); err != nil || sum.Done != len(inv.Servers) {
		t.Fatalf("scan: %+v %v", sum, err)
	}
	return recs
}

// completeData writes the shipped advisory data with products vouched
// complete, as an office does after importing a full feed.
func completeData(t *testing.T, products ...string) string {
	t.Helper()
	db := advisory.Default().Clone()
	if err := db.MarkComplete(products...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "advisories.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func svc(profile string, port int) *fleet.Service {
	return &fleet.Service{Profile: profile, Port: port, Listed: true}
}

// TestM2EveryMailService: on data complete for Postfix, a current
// Postfix banner passes M2 only when every mail service of the server
// shows its version — not beside a silent IMAP service, nor when the
// server's second address is down. The expected verdicts are the
// plan's truth, written from what the behaviours mean.
func TestM2EveryMailService(t *testing.T) {
	relay := func(i int, id string) fleet.Host {
		return fleet.Host{ID: id, Org: "総務省", Unit: "本省", Addr: fleet.AddrIn(integrityNet, i), Name: id + ".fleet.example",
			Banners: "postfix-current-smtp-only", SMTP: svc(string(smtpd.Closed), 20025), SSH: svc(string(sshd.PublicKey), 20022)}
	}
	p := &fleet.Plan{Name: "m2-integrity", NTPMaxOffset: time.Second, ReadTimeout: time.Second, Complete: []string{"Postfix"}}
	ok := relay(0, "relay-ok")
	silentIMAP := relay(1, "relay-silent-imap")
	silentIMAP.IMAP = svc(string(imapd.Silent), 20143)
	secondDown := relay(2, "relay-second-down")
	secondDown.Second = &fleet.Second{Addr: fleet.AddrIn(integrityNet, 100), Down: true}
	p.Hosts = []fleet.Host{ok, silentIMAP, secondDown}
	inv := servePlan(t, p)
	recs := scanWith(t, p, inv, scan.JudgeConfig{AdvisoriesFile: completeData(t, banners.DemoComplete...)}, false)
	for i := range p.Hosts {
		h := &p.Hosts[i]
		truth := p.Truth(h)
		for _, code := range scoring.MailCatalog.Codes() {
			if got := recs[h.ID].Items[code]; got.Outcome != truth[code] {
				t.Errorf("%s %s: got %s, truth %s: %s", h.ID, code, got.Outcome, truth[code], got.Reason)
			}
		}
	}
	// The truth says so by meaning: the control passes, the others not.
	if recs["relay-ok"].Items["M2"].Outcome != scoring.Pass {
		t.Fatalf("control: %+v", recs["relay-ok"].Items["M2"])
	}
	for _, id := range []string{"relay-silent-imap", "relay-second-down"} {
		if v := recs[id].Items["M2"]; v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "version cannot be seen") {
			t.Errorf("%s M2: %s %s", id, v.Outcome, v.Reason)
		}
	}
}

// TestExceptionNeverLiftsM2: an old Exim whose every finding is excepted
// is judged as if they were absent — on data that is only a selection
// for Exim it stays unknown, like a current Exim, and the reason names
// the excepted findings.
func TestExceptionNeverLiftsM2(t *testing.T) {
	p := &fleet.Plan{Name: "exceptions", NTPMaxOffset: time.Second, ReadTimeout: time.Second, Hosts: []fleet.Host{{
		ID: "mx-exim", Org: "総務省", Unit: "本省", Addr: fleet.AddrIn(integrityNet, 10), Name: "mx-exim.fleet.example",
		Banners: "debian12-exim-4.96", SMTP: svc(string(smtpd.Closed), 20025), SSH: svc(string(sshd.PublicKey), 20022),
		NTP: svc(string(ntpd.Synced), 20123), // its greeting's date alone would leave S3 to chance
	}}}
	inv := servePlan(t, p)
	without := scanWith(t, p, inv, scan.JudgeConfig{}, false)["mx-exim"].Items["M2"]
	if without.Outcome != scoring.Fail {
		t.Fatalf("without exceptions the old Exim fails M2: %s %s", without.Outcome, without.Reason)
	}
	ids := failingIDs(without.Reason)
	if len(ids) < 2 {
		t.Fatalf("expected several findings for Exim 4.96: %s", without.Reason)
	}
	excPath := filepath.Join(t.TempDir(), "exceptions.yaml")
	yaml := "exceptions:\n  - server: mx-exim\n    advisories: [\"" + strings.Join(ids, `", "`) + "\"]\n    justification: backports verified on the host, ticket 1\n    expires: 2027-03-31\n"
	if err := os.WriteFile(excPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	v := scanWith(t, p, inv, scan.JudgeConfig{ExceptionsFile: excPath}, false)["mx-exim"].Items["M2"]
	if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "removed by exception") || v.Exception == "" {
		t.Fatalf("every finding excepted: %s %q %s", v.Outcome, v.Exception, v.Reason)
	}
	for _, id := range ids {
		if !strings.Contains(v.Reason, id) {
			t.Errorf("reason does not name the excepted %s: %s", id, v.Reason)
		}
	}
}

// failingIDs picks the finding ids (CVE-…, EOL:…, vendor ids) out of an
// M2 fail reason "addr:port smtp Exim 4.96 (…): CVE-1, CVE-2 (…)".
func failingIDs(reason string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(reason, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '(' || r == ')' }) {
		if strings.HasPrefix(f, "CVE-") || strings.HasPrefix(f, "EOL:") || strings.HasPrefix(f, "DSA-") {
			out = append(out, f)
		}
	}
	return out
}

// TestS1SaysWhatWasChecked: S1's reason names the cleartext
// administration ports it checked, and says so when telnet, rlogin and
// rsh were never probed (--no-discover).
func TestS1SaysWhatWasChecked(t *testing.T) {
	p := &fleet.Plan{Name: "s1", NTPMaxOffset: time.Second, ReadTimeout: time.Second, Hosts: []fleet.Host{{
		ID: "mx-ssh", Org: "総務省", Unit: "本省", Addr: fleet.AddrIn(integrityNet, 20), Name: "mx-ssh.fleet.example",
		SMTP: svc(string(smtpd.Closed), 20025), SSH: svc(string(sshd.PublicKey), 20022),
	}}}
	inv := servePlan(t, p)
	v := scanWith(t, p, inv, scan.JudgeConfig{}, false)["mx-ssh"].Items["S1"]
	if v.Outcome != scoring.Pass || strings.Contains(v.Reason, "no cleartext administration service answers") ||
		!strings.Contains(v.Reason, "telnet, rlogin, rsh not checked") {
		t.Fatalf("without discovery: %s %s", v.Outcome, v.Reason)
	}
	v = scanWith(t, p, inv, scan.JudgeConfig{}, true)["mx-ssh"].Items["S1"]
	a := fleet.AddrIn(integrityNet, 20)
	for _, want := range []string{"no cleartext administration service answers", a + ":23 telnet", a + ":513 rlogin", a + ":514 rsh"} {
		if !strings.Contains(v.Reason, want) {
			t.Errorf("with discovery, reason lacks %q: %s", want, v.Reason)
		}
	}
	if strings.Contains(v.Reason, "not checked") {
		t.Errorf("with discovery every port was checked: %s", v.Reason)
	}
}
