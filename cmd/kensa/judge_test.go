package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/internal/fleet/imapd"
	"github.com/kensa-inspect/kensa/internal/fleet/smtpd"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// probeToFile runs 'kensa probe 127.0.0.1 --format json' with args and
// writes the record to a results file.
func probeToFile(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runKensa(t, append([]string{"probe", "127.0.0.1", "--format", "json", "--read-timeout", "5s"}, args...)...)
	if code != 0 {
		t.Fatalf("probe: exit %d\n%s", code, errs)
	}
	path := filepath.Join(t.TempDir(), "probe.jsonl")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if _, err := strconv.Atoi(addr[i+1:]); i < 0 || err != nil {
		t.Fatalf("address %q", addr)
	}
	return addr[i+1:]
}

// oneRecord reads a results file of one record.
func oneRecord(t *testing.T, path string) *results.Record {
	t.Helper()
	set, err := results.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != 1 {
		t.Fatalf("%d records", len(set.Records))
	}
	return set.Records[0]
}

// regraded re-grades a results file in process, as grade --regrade
// does, with the judge flags given, and returns its only record.
func regraded(t *testing.T, path string, jf judgeFlags) *results.Record {
	t.Helper()
	set, err := results.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if err := regradeSet(&env{stderr: &errb}, set, &jf); err != nil {
		t.Fatalf("regrade: %v\n%s", err, errb.String())
	}
	return set.Records[0]
}

// gradePasses runs 'kensa grade --format json' with args and returns
// each item's pass count in the only group.
func gradePasses(t *testing.T, args ...string) map[string]int {
	t.Helper()
	code, out, errs := runKensa(t, append([]string{"grade", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("grade %v: exit %d\n%s", args, code, errs)
	}
	var g struct {
		Groups []struct {
			Items map[string]struct {
				Pass int `json:"pass"`
			} `json:"items"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil || len(g.Groups) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string]int{}
	for code, it := range g.Groups[0].Items {
		m[code] = it.Pass
	}
	return m
}

func hasFinding(rec *results.Record, sub string) bool {
	for _, f := range rec.Findings {
		if strings.Contains(f, sub) {
			return true
		}
	}
	return false
}

// TestRegradeWeakSSH probes a real x/crypto/ssh server offering legacy
// algorithms: the record keeps the raw KEXINIT and host keys (no grading
// in the observation), its findings list the weak algorithms, and a
// re-grade with --weak-ssh-fails fails S1 from the stored observation.
func TestRegradeWeakSSH(t *testing.T) {
	s, err := sshd.Start("127.0.0.1:0", sshd.Config{Profile: sshd.Weak})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	path := probeToFile(t, "--services", "ssh:"+portOf(t, s.Addr().String()))
	rec := oneRecord(t, path)
	if rec.Items["S1"].Outcome != scoring.Pass || !hasFinding(rec, "ssh: fail 3des-cbc") {
		t.Fatalf("S1 %+v, findings %v", rec.Items["S1"], rec.Findings)
	}
	var obs struct {
		SSH []map[string]json.RawMessage `json:"ssh"`
	}
	if err := json.Unmarshal(rec.Observations, &obs); err != nil || len(obs.SSH) != 1 {
		t.Fatalf("%v %s", err, rec.Observations)
	}
	if _, graded := obs.SSH[0]["findings"]; graded {
		t.Fatalf("the SSH observation carries a grading: %s", obs.SSH[0]["findings"])
	}
	if _, ok := obs.SSH[0]["kexinit"]; !ok {
		t.Fatal("no KEXINIT in the observation")
	}
	if got := gradePasses(t, path, "--regrade", "--weak-ssh-fails")["S1"]; got != 0 {
		t.Fatalf("regraded with --weak-ssh-fails: S1 passes on %d servers", got)
	}
	if got := gradePasses(t, path, "--regrade")["S1"]; got != 1 {
		t.Fatalf("regraded under the scan's policy: S1 passes on %d servers", got)
	}
	v := regraded(t, path, judgeFlags{weakSSHFails: true}).Items["S1"]
	if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "weak algorithms") || len(v.Evidence) == 0 {
		t.Fatalf("S1 %+v", v)
	}
}

// TestRegradeCertificateAtAsOf probes a real IMAP server whose
// certificate is valid today for 30 days and a real submission server
// (the fleet's certificate, valid a year): judged today nothing is
// weak; re-graded 400 days on, both certificates have expired — a
// finding, and P1 and X1 fail under --weak-tls-fails.
func TestRegradeCertificateAtAsOf(t *testing.T) {
	now := time.Now()
	cert, err := imapd.SelfSigned("imap.kensa.test", now.Add(-time.Hour), now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	im, err := imapd.Start("127.0.0.1:0", imapd.Config{Profile: imapd.TLSRequired, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	sub, err := smtpd.Start("127.0.0.1:0", smtpd.Config{Profile: smtpd.SubmissionAuthAfterTLS, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	today := now.UTC().Format(time.DateOnly)
	later := now.UTC().AddDate(0, 0, 400).Format(time.DateOnly)
	path := probeToFile(t, "--as-of", today, "--services",
		"imap:"+portOf(t, im.Addr().String())+",submission:"+portOf(t, sub.Addr().String()))
	rec := oneRecord(t, path)
	if rec.Items["P1"].Outcome != scoring.Pass || rec.Items["X1"].Outcome != scoring.Pass || hasFinding(rec, "certificate") {
		t.Fatalf("today: P1 %+v X1 %+v findings %v", rec.Items["P1"], rec.Items["X1"], rec.Findings)
	}
	p := gradePasses(t, path, "--regrade", "--as-of", later, "--weak-tls-fails")
	if p["P1"] != 0 || p["X1"] != 0 {
		t.Fatalf("regraded at %s with --weak-tls-fails: passes %v", later, p)
	}
	rec = regraded(t, path, judgeFlags{asOf: later})
	if rec.Items["P1"].Outcome != scoring.Pass || !hasFinding(rec, "imap: TLS: certificate expired") || !hasFinding(rec, "submission: TLS: certificate expired") {
		t.Fatalf("regraded at %s: P1 %+v findings %v", later, rec.Items["P1"], rec.Findings)
	}
	if rec.Scan.AsOf != later {
		t.Errorf("regraded record says as_of %s", rec.Scan.AsOf)
	}
	rec = regraded(t, path, judgeFlags{asOf: later, weakTLS: true})
	if v := rec.Items["X1"]; v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "certificate expired") || len(v.Evidence) == 0 {
		t.Fatalf("X1 %+v", v)
	}
}

// TestJudgedAtTheEvaluationDate: a scan with --as-of judges by that date,
// not by the scanner's clock (a certificate valid then has no finding),
// and a re-grade without --as-of keeps the scan's date: the exception
// in force then stays in force, though it has expired since.
func TestJudgedAtTheEvaluationDate(t *testing.T) {
	cert, err := imapd.SelfSigned("imap.kensa.test", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	im, err := imapd.Start("127.0.0.1:0", imapd.Config{Profile: imapd.TLSRequired, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, IdleTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	exc := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := os.WriteFile(exc, []byte("exceptions:\n  - server: 127.0.0.1\n    advisories: [CVE-2023-51764]\n    justification: backport verified\n    expires: 2020-07-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := probeToFile(t, "--as-of", "2020-06-01", "--exceptions", exc, "--services", "imap:"+portOf(t, im.Addr().String()))
	rec := oneRecord(t, path)
	if hasFinding(rec, "certificate") || hasFinding(rec, "expired exception") || rec.Scan.AsOf != "2020-06-01" {
		t.Fatalf("scanned as of 2020-06-01: as_of %s, findings %v", rec.Scan.AsOf, rec.Findings)
	}
	rec = regraded(t, path, judgeFlags{exceptions: exc})
	if rec.Scan.AsOf != "2020-06-01" || hasFinding(rec, "certificate") || hasFinding(rec, "expired exception") {
		t.Fatalf("regraded without --as-of: as_of %s, findings %v", rec.Scan.AsOf, rec.Findings)
	}
	rec = regraded(t, path, judgeFlags{asOf: "2020-08-01", exceptions: exc})
	if !hasFinding(rec, "expired exception ignored") || hasFinding(rec, "certificate") {
		t.Fatalf("regraded as of 2020-08-01: findings %v", rec.Findings)
	}
	rec = regraded(t, path, judgeFlags{asOf: "2021-02-01"})
	if !hasFinding(rec, "imap: TLS: certificate expired 2021-01-01") {
		t.Fatalf("regraded as of 2021-02-01: findings %v", rec.Findings)
	}
}

// TestResumeKeepsJudge: a resumed scan judges its new records with the
// evaluation date, policy, advisory data and exceptions of the records
// already in the file — an earlier date than today here, as after
// midnight — and refuses (exit 2) values given on the command line that
// differ from them, or a data file changed since.
func TestResumeKeepsJudge(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inv.csv")
	// Nothing listens on 127.0.3.0/24: the servers are unreachable and
	// quickly judged.
	if err := os.WriteFile(inv, []byte("id,org,unit,host,services,declared,notes\nr-a,org,u,127.0.3.1,smtp:2525,,\nr-b,org,u,127.0.3.2,smtp:2525,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	adv := filepath.Join(dir, "adv.json")
	db := advisory.Default().Clone()
	db.Description = "resume test data"
	if err := db.WriteFile(adv); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json")
	db.Description = "other data"
	if err := db.WriteFile(other); err != nil {
		t.Fatal(err)
	}
	exc := filepath.Join(dir, "exc.yaml")
	if err := os.WriteFile(exc, []byte("exceptions:\n  - server: r-a\n    advisories: [CVE-2023-51764]\n    justification: test\n    expires: 2026-12-31\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(dir, "res.jsonl")
	base := []string{"scan", "-i", inv, "-o", res, "--quiet", "--no-discover", "--dial-timeout", "2s"}
	if code, _, errs := runKensa(t, append(base, "--as-of", "2026-01-15", "--tolerate-ssh-passwords", "--advisories", adv, "--exceptions", exc)...); code != 0 {
		t.Fatalf("scan: exit %d\n%s", code, errs)
	}
	// Keep the first record only, as a scan stopped half-way does.
	data, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(res, []byte(lines[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	first := oneRecord(t, res)

	resume := append(base, "--resume")
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--as-of", "2026-01-16"}, "--as-of 2026-01-16 differs from the records' evaluation date 2026-01-15"},
		{[]string{"--weak-tls-fails"}, "the policy given"},
		{[]string{"--policy", writePolicy(t, dir)}, "the policy given"},
		{[]string{"--advisories", other}, "differs from the records'"},
		{[]string{"--exceptions", writeExceptions(t, dir)}, "exceptions"},
	} {
		code, _, errs := runKensa(t, append(append([]string(nil), resume...), c.args...)...)
		if code != exitBadInput || !strings.Contains(errs, c.err) || !strings.Contains(errs, "keeps the judge") {
			t.Errorf("resume %v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.err)
		}
	}
	// The records' advisory data changed on disk: the judge cannot be
	// kept.
	orig, _ := os.ReadFile(adv)
	if err := os.WriteFile(adv, bytes.Replace(orig, []byte("resume test data"), []byte("changed data"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runKensa(t, resume...); code != exitBadInput || !strings.Contains(errs, "has changed since the scan") {
		t.Errorf("changed advisory data: exit %d, stderr %q", code, errs)
	}
	if err := os.WriteFile(adv, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if set, _ := results.ReadFile(res); len(set.Records) != 1 {
		t.Fatalf("a refused resume wrote records: %d", len(set.Records))
	}

	// Resumed without judge flags (and with the same ones given): the
	// records' judge, today notwithstanding.
	if code, _, errs := runKensa(t, append(append([]string(nil), resume...), "--tolerate-ssh-passwords", "--as-of", "2026-01-15")...); code != 0 {
		t.Fatalf("resume with the same values: exit %d\n%s", code, errs)
	}
	set, err := results.ReadFile(res)
	if err != nil || len(set.Records) != 2 {
		t.Fatalf("%v; records %d", err, len(set.Records))
	}
	second := set.Records[1]
	a, b := first.Scan, second.Scan
	if b.AsOf != "2026-01-15" || b.PolicyDigest != a.PolicyDigest || string(b.Policy) != string(a.Policy) ||
		b.AdvisoriesDigest != a.AdvisoriesDigest || b.AdvisoriesPath != adv || b.ExceptionsDigest != a.ExceptionsDigest ||
		b.ExceptionsPath != exc || b.ScanID != a.ScanID {
		t.Fatalf("resumed record's judge differs:\nfirst  %+v\nsecond %+v", a, b)
	}
	if !strings.Contains(string(b.Policy), `"ssh_tolerate_passwords":true`) {
		t.Errorf("policy %s", b.Policy)
	}
	// Nothing left to scan, and no judge flags: still accepted.
	if code, _, errs := runKensa(t, resume...); code != 0 {
		t.Fatalf("resume of a finished scan: exit %d\n%s", code, errs)
	}
	// A bad flag with --overwrite leaves the results alone.
	if code, _, _ := runKensa(t, append(append([]string(nil), base...), "--overwrite", "--as-of", "tomorrow")...); code != exitBadInput {
		t.Fatalf("--overwrite with a bad --as-of: exit %d", code)
	}
	if set, err := results.ReadFile(res); err != nil || len(set.Records) != 2 {
		t.Fatalf("--overwrite refused, yet the results changed: %v", err)
	}
}

func writePolicy(t *testing.T, dir string) string {
	p := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(p, []byte("ntp_max_offset: 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeExceptions(t *testing.T, dir string) string {
	p := filepath.Join(dir, "exc2.yaml")
	if err := os.WriteFile(p, []byte("exceptions:\n  - server: r-b\n    advisories: [CVE-2023-51764]\n    justification: other\n    expires: 2026-12-31\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRegradeRecordsOfSeveralJudges: records written before kensa
// recorded its judge in full re-grade with notes saying what they lack;
// records judged at several dates need --as-of to choose one, and a
// resume of them is refused.
func TestRegradeRecordsOfSeveralJudges(t *testing.T) {
	// The sample records name their policy by digest only and were
	// judged with advisory data as of 2026-11-01, at 2026-11-01.
	code, _, errs := runKensa(t, "grade", sampleResults, "--regrade", "--inventory", sampleInventory)
	if code != 0 || !strings.Contains(errs, "name their policy only by its digest") || !strings.Contains(errs, "advisory data as of 2026-11-01") {
		t.Fatalf("legacy records: exit %d\n%s", code, errs)
	}
	set, err := results.ReadFile(sampleResults)
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if err := regradeSet(&env{stderr: &errb}, set, &judgeFlags{}); err != nil {
		t.Fatal(err)
	}
	if set.Meta.AsOf != "2026-11-01" || set.Records[0].Scan.AsOf != "2026-11-01" {
		t.Fatalf("regraded without --as-of at %s", set.Meta.AsOf)
	}

	// One record judged a day later.
	data, err := os.ReadFile(sampleResults)
	if err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(t.TempDir(), "mixed.jsonl")
	lines := strings.SplitAfter(string(data), "\n")
	lines[0] = strings.Replace(lines[0], `"as_of":"2026-11-01"`, `"as_of":"2026-11-02"`, 1)
	if err := os.WriteFile(mixed, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runKensa(t, "grade", mixed, "--regrade", "--inventory", sampleInventory)
	if code != exitBadInput || !strings.Contains(errs, "2 different evaluation dates (2026-11-01, 2026-11-02)") || !strings.Contains(errs, "pass --as-of") {
		t.Fatalf("mixed dates: exit %d\n%s", code, errs)
	}
	if code, _, errs := runKensa(t, "grade", mixed, "--regrade", "--as-of", "2026-11-02", "--inventory", sampleInventory); code != 0 {
		t.Fatalf("mixed dates with --as-of: exit %d\n%s", code, errs)
	}
	inv := filepath.Join(t.TempDir(), "inv.csv")
	invData, err := os.ReadFile(sampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, invData, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runKensa(t, "scan", "-i", inv, "-o", mixed, "--resume", "--quiet")
	if code != exitBadInput || !strings.Contains(errs, "2 different evaluation dates") {
		t.Fatalf("resume of mixed dates: exit %d\n%s", code, errs)
	}
}
