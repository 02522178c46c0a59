package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/internal/fleet/banners"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/htmlcheck"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// opsNet is the loopback network of these tests' fleets (127.26.0.0/16).
const opsNet = 26

// serveOps plays every host of p in this process until the test ends,
// and writes its inventory (and hosts file, for hosts with a second
// address) into dir. It returns the running hosts, by index.
func serveOps(t *testing.T, p *fleet.Plan, dir string) (inv, hosts string, running []*fleet.Running) {
	t.Helper()
	running, stop, err := fleet.ServeAll(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	inv, hosts = filepath.Join(dir, "inventory.csv"), filepath.Join(dir, "hosts")
	var b, h bytes.Buffer
	if err := p.WriteInventory(&b); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteHosts(&h); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hosts, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return inv, hosts, running
}

// completeAdvisories writes the shipped advisory data with the demo's
// products vouched complete, as an office does after importing a feed.
func completeAdvisories(t *testing.T, dir string) string {
	t.Helper()
	db := advisory.Default().Clone()
	if err := db.MarkComplete(banners.DemoComplete...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "advisories.json")
	if err := db.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustRun runs kensa in process and wants exit code want.
func mustRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errs := runKensa(t, args...)
	if code != want {
		t.Fatalf("kensa %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out
}

// opsHost is a Postfix relay of the fleet with SSH by public key.
func opsHost(i int, id, org, set string) fleet.Host {
	return fleet.Host{ID: id, Org: org, Unit: "本省", Addr: fleet.AddrIn(opsNet, i), Name: id + ".fleet.example", Banners: set,
		SMTP:     &fleet.Service{Profile: string(smtpd.Closed), Port: 20025, Listed: true},
		SSH:      &fleet.Service{Profile: string(sshd.PublicKey), Port: 20022, Listed: true},
		Declared: map[string]scoring.Outcome{"M1": scoring.Pass, "M3": scoring.Pass, "S2": scoring.Pass}}
}

// diffJSON is what the test reads of 'kensa diff --format json'.
type diffJSON struct {
	Regraded bool     `json:"regraded"`
	Differ   []string `json:"judge_differs"`
	Cause    string   `json:"cause"`
	Orgs     []struct {
		Org      string `json:"org"`
		OldGrade string `json:"old_grade"`
		NewGrade string `json:"new_grade"`
		Delta    string `json:"delta"`
		Worse    bool   `json:"worse"`
	} `json:"orgs"`
	Servers []struct {
		ID            string   `json:"id"`
		NewlyFailing  []change `json:"newly_failing"`
		NewlyPassing  []change `json:"newly_passing"`
		BecameUnknown []change `json:"became_unknown"`
	} `json:"servers"`
	Added         []json.RawMessage `json:"servers_added"`
	Gone          []json.RawMessage `json:"servers_gone"`
	Undeclared    []json.RawMessage `json:"new_undeclared_services"`
	Discrepancies []json.RawMessage `json:"new_discrepancies"`
	Promises      []struct {
		Server, Org, Item, Status string
	} `json:"promises"`
	Regressions []string `json:"regressions"`
}

type change struct {
	Item, From, To, Cause string
}

// changes lists a diff's item changes as "server item from→to cause".
func (d diffJSON) changes() []string {
	var out []string
	for _, s := range d.Servers {
		for _, list := range [][]change{s.NewlyFailing, s.NewlyPassing, s.BecameUnknown} {
			for _, c := range list {
				out = append(out, fmt.Sprintf("%s %s %s→%s %s", s.ID, c.Item, c.From, c.To, c.Cause))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestScheduledScansDiff: a simulated fleet is scanned twice into one
// history database, with a change in between — one server starts
// relaying, another is patched (Postfix 3.5.25, past its end of life,
// upgraded to 3.10.13) — and the second scan is evaluated a day later,
// so that the two were judged differently. kensa diff re-grades both
// under one judge and lists exactly those two changes, as what the
// servers did, from the files and from the scan ids of the database;
// the history lists both scans; the plan's overdue promise comes first;
// the HTML report draws the trend; the metrics file is written.
func TestScheduledScansDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a fleet")
	}
	dir := t.TempDir()
	p := &fleet.Plan{Name: "ops-diff", NTPMaxOffset: time.Second, ReadTimeout: 2 * time.Second, Complete: banners.DemoComplete}
	p.Hosts = []fleet.Host{
		opsHost(0, "mx-relay-later", "総務省", "postfix-current-smtp-only"),
		opsHost(1, "mx-patched-later", "総務省", "postfix-outdated"),
		opsHost(2, "mx-passwords", "財務省", "postfix-current-smtp-only"),
		opsHost(3, "mx-steady", "財務省", "postfix-current-smtp-only"),
	}
	p.Hosts[2].SSH.Profile = string(sshd.Password)
	inv, _, running := serveOps(t, p, dir)
	adv := completeAdvisories(t, dir)
	db := filepath.Join(dir, "history.db")
	r1, r2, prom := filepath.Join(dir, "2026-11-01.jsonl"), filepath.Join(dir, "2026-12-01.jsonl"), filepath.Join(dir, "kensa.prom")
	common := []string{"-i", inv, "--history", db, "--advisories", adv, "--no-discover", "--quiet", "--read-timeout", "2s", "--dial-timeout", "2s"}
	mustRun(t, 0, append([]string{"scan", "-o", r1, "--as-of", "2026-11-01"}, common...)...)

	// Between the scans: mx-relay-later starts relaying, mx-patched-later
	// is patched.
	for _, i := range []int{0, 1} {
		running[i].Close()
	}
	p.Hosts[0].SMTP.Profile = string(smtpd.OpenRelay)
	p.Hosts[1].Banners = "postfix-current-smtp-only"
	for _, i := range []int{0, 1} {
		r, err := fleet.Start(&p.Hosts[i])
		if err != nil {
			t.Fatal(err)
		}
		running[i] = r
	}
	mustRun(t, 0, append([]string{"scan", "-o", r2, "--as-of", "2026-11-02", "--metrics", prom}, common...)...)

	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte(`promises:
  - server: mx-patched-later
    item: M2
    due: 2026-12-31
    note: upgrade to Postfix 3.10
  - server: mx-passwords
    item: S1
    due: 2026-10-15
    note: keys only for the administrators
  - org: 財務省
    item: S3
    due: 2027-03-31
    note: NTP for every server
`), 0o644)
	mustRun(t, 0, "plan", "check", plan, "--inventory", inv)

	// The history lists both scans, oldest first, complete and graded.
	var list struct {
		Scans []struct {
			ScanID           string `json:"scan_id"`
			AsOf             string `json:"as_of"`
			Records          int    `json:"records"`
			InventoryServers int    `json:"inventory_servers"`
			Grades           []struct{ Group, Grade string }
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, 0, "history", "list", "--db", db, "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	set1, _ := results.ReadFile(r1)
	set2, _ := results.ReadFile(r2)
	if len(list.Scans) != 2 || list.Scans[0].ScanID != set1.Meta.ScanID || list.Scans[1].ScanID != set2.Meta.ScanID ||
		list.Scans[0].AsOf != "2026-11-01" || list.Scans[1].Records != 4 || list.Scans[1].InventoryServers != 4 || len(list.Scans[1].Grades) != 2 {
		t.Fatalf("history list: %+v", list)
	}
	if text := mustRun(t, 0, "history", "list", "--db", db); !strings.Contains(text, set2.Meta.ScanID) || !strings.Contains(text, "4/4") {
		t.Errorf("history list text:\n%s", text)
	}

	want := []string{
		"mx-patched-later M2 fail→pass server changed",
		"mx-relay-later A1 pass→fail server changed",
	}
	for _, args := range [][]string{{r1, r2}, {set1.Meta.ScanID, set2.Meta.ScanID, "--db", db}} {
		var d diffJSON
		out := mustRun(t, 0, append([]string{"diff", "--format", "json", "--plan", plan}, args...)...)
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := d.changes(); !slices.Equal(got, want) {
			t.Errorf("diff %v: changes\n%s\nwant exactly\n%s", args, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !d.Regraded || !slices.Equal(d.Differ, []string{"evaluation date"}) || d.Cause != "server changed" {
			t.Errorf("judge: regraded %v, differ %v, cause %s", d.Regraded, d.Differ, d.Cause)
		}
		// 総務省 (S3 unknown without NTP: S = 66.67 in both scans):
		// before, M (100 + 50 + 100)/3 = 83.33 and A 100: (83.33 +
		// 66.67 + 100)/3 = 83.3, B; after, M 100 and A 50: (100 + 66.67
		// + 50)/3 = 72.2, C. 財務省 did not change: 83.3, B.
		if len(d.Orgs) != 2 || d.Orgs[0].Org != "総務省" || d.Orgs[0].OldGrade != "B" || d.Orgs[0].NewGrade != "C" ||
			d.Orgs[0].Delta != "-11.1" || !d.Orgs[0].Worse || d.Orgs[1].Delta != "0.0" || d.Orgs[1].Worse {
			t.Errorf("orgs %+v", d.Orgs)
		}
		if len(d.Added)+len(d.Gone)+len(d.Undeclared)+len(d.Discrepancies) != 0 {
			t.Errorf("added, gone, undeclared or discrepancies: %s", out)
		}
		if len(d.Promises) != 3 || d.Promises[0].Server != "mx-passwords" || d.Promises[0].Status != "overdue" ||
			d.Promises[1].Org != "財務省" || d.Promises[1].Status != "unverified" || d.Promises[2].Server != "mx-patched-later" || d.Promises[2].Status != "done" {
			t.Errorf("promises: %+v", d.Promises)
		}
	}
	// Without a re-grade there would be changes the judge made: here
	// there are none, so the judge-free comparison of the records
	// agrees; a pipeline stops on the regression.
	code, out, _ := runKensa(t, "diff", r1, r2, "--fail-on-regression", "--lang", "en")
	if code != exitBelowGrade || !strings.Contains(out, "mx-relay-later") || !strings.Contains(out, "got worse") {
		t.Errorf("--fail-on-regression: exit %d\n%s", code, out)
	}
	page := mustRun(t, 0, "diff", r1, r2, "--format", "html", "--plan", plan)
	doc, err := htmlcheck.Parse([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if p := htmlcheck.Inert(doc); len(p) > 0 {
		t.Errorf("diff html: %v", p)
	}
	report := mustRun(t, 0, "report", r2, "--html", "-", "--history", db, "--plan", plan)
	if strings.Count(report, `<svg class="trend"`) != 2 || !strings.Contains(report, `<tr class="p-overdue" data-status="overdue">`) {
		t.Errorf("report: no trend per organisation or no overdue promise")
	}
	doc, err = htmlcheck.Parse([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	if p := htmlcheck.Inert(doc); len(p) > 0 {
		t.Errorf("report html: %v", p)
	}
	m, err := os.ReadFile(prom)
	if err != nil || !bytes.Contains(m, []byte(`kensa_scan_info{scan_id="`+set2.Meta.ScanID+`"`)) ||
		!bytes.Contains(m, []byte(`kensa_item_outcomes{org="総務省",item="A1",outcome="fail"} 1`)) {
		t.Errorf("metrics: %v\n%s", err, m)
	}
	// A results file is not a history database.
	code, _, errs := runKensa(t, "history", "list", "--db", r1)
	if code != exitBadInput || !strings.Contains(errs, "not a kensa history database") {
		t.Errorf("history list --db results: exit %d: %s", code, errs)
	}
}

// TestShardsMergeAsOneScan: a simulated fleet is scanned once whole and
// once by three shard processes (K from JOB_COMPLETION_INDEX, as in a
// Kubernetes Indexed Job); the shards merged grade exactly as the single
// scan — grade table by organisation and by unit, questionnaire. Two
// shards merged are PARTIAL and name the missing one; a shard of
// another policy is refused.
func TestShardsMergeAsOneScan(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a fleet")
	}
	dir := t.TempDir()
	p := fleet.DemoIn(opsNet, 76, false)
	inv, hosts, _ := serveOps(t, p, dir)
	adv := completeAdvisories(t, dir)
	common := []string{"-i", inv, "--hosts", hosts, "--advisories", adv, "--as-of", "2026-11-01", "--scan-id", "20261101T000000Z-shards",
		"--quiet", "--no-discover"}
	single := filepath.Join(dir, "single.jsonl")
	mustRun(t, 0, append([]string{"scan", "-o", single}, common...)...)
	// The fleet's Dovecot hosts delay a failed login 4 s more when the
	// last one from the same address is less than 4 s old, as Dovecot
	// does: the shards' logins would wait behind the single scan's
	// (6 s in all: a shorter --read-timeout than the default would take
	// some for silence). Waiting that window out gives the shards the
	// servers the single scan had.
	time.Sleep(5 * time.Second)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	shards := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([][]byte, n)
	for k := 0; k < n; k++ {
		shards[k] = filepath.Join(dir, fmt.Sprintf("shard-%d.jsonl", k))
		cmd := exec.Command(self, append([]string{"scan", "-o", shards[k], "--shard", fmt.Sprintf("/%d", n)}, common...)...)
		cmd.Env = append(os.Environ(), "KENSA_TEST_AS_KENSA=1", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", k))
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			outs[k], errs[k] = cmd.CombinedOutput()
		}(k)
	}
	wg.Wait()
	total := 0
	for k := 0; k < n; k++ {
		if errs[k] != nil {
			t.Fatalf("shard %d: %v\n%s", k, errs[k], outs[k])
		}
		set, err := results.ReadFile(shards[k])
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Records) == 0 || set.Meta.Shard == nil || set.Meta.Shard.Index != k || set.Meta.Shard.Count != n {
			t.Fatalf("shard %d: %d records, %+v", k, len(set.Records), set.Meta.Shard)
		}
		total += len(set.Records)
	}
	if total != len(p.Hosts) {
		t.Fatalf("the shards hold %d records of %d servers", total, len(p.Hosts))
	}

	partial := filepath.Join(dir, "partial.jsonl")
	code, out, stderr := runKensa(t, "merge", shards[0], shards[2], "-o", partial)
	if code != exitIncomplete || !strings.Contains(out, "PARTIAL") || !strings.Contains(stderr, "shards missing: 1/3") {
		t.Errorf("two shards of three: exit %d\n%s\n%s", code, out, stderr)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	mustRun(t, 0, "merge", shards[2], shards[0], shards[1], "-o", merged)

	for _, c := range [][]string{
		{"grade", "--format", "json"}, {"grade", "--format", "json", "--by", "unit"}, {"questionnaire", "--format", "json"},
	} {
		var a, b map[string]json.RawMessage
		json.Unmarshal([]byte(mustRun(t, 0, append(c, single)...)), &a)
		json.Unmarshal([]byte(mustRun(t, 0, append(c, merged)...)), &b)
		for _, key := range []string{"groups", "rows", "partial", "missing"} {
			if string(a[key]) != string(b[key]) {
				t.Errorf("%v: %s of the merged shards differs from the single scan's:\n%s\n%s", c, key, b[key], a[key])
			}
		}
		if a["groups"] == nil && a["rows"] == nil {
			t.Errorf("%v: nothing compared", c)
		}
	}
	// A shard judged under another policy is refused, naming both files.
	data, _ := os.ReadFile(shards[1])
	other := filepath.Join(dir, "other-policy.jsonl")
	os.WriteFile(other, bytes.ReplaceAll(data, []byte(`"policy_digest":"sha256:`), []byte(`"policy_digest":"sha256:0`)), 0o644)
	code, _, stderr = runKensa(t, "merge", shards[0], other, shards[2], "-o", filepath.Join(dir, "refused.jsonl"))
	if code != exitBadInput || !strings.Contains(stderr, "policy differs") || !strings.Contains(stderr, "other-policy.jsonl") {
		t.Errorf("other policy: exit %d: %s", code, stderr)
	}
}
