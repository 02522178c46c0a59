package history

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

func record(scanID, id string, o scoring.Outcome, started time.Time) *results.Record {
	return &results.Record{Schema: results.Schema,
		Scan:   results.ScanMeta{ScanID: scanID, InventoryDigest: "sha256:inv", InventoryServers: 3, AsOf: "2026-11-01", AdvisoriesAsOf: "2026-10-01", InventoryPath: "inv.csv"},
		Server: results.ServerRef{ID: id, Org: "総務省", Unit: "本省", Host: "127.0.6.1"}, Started: started,
		Items:        map[string]scoring.Verdict{"A1": {Outcome: o, Source: scoring.FromProbe, Reason: "r"}},
		Observations: json.RawMessage(fmt.Sprintf(`{"addresses":["127.0.6.1"],"note":%q}`, id))}
}

func set(name string, recs ...*results.Record) *results.Set {
	return &results.Set{Name: name, Records: recs, Meta: recs[len(recs)-1].Scan}
}

// TestImportLoadList: records imported come back as they went in,
// observations included; a second shard of the same scan adds its
// records, a file imported twice changes nothing, a changed record
// replaces the old; scans list oldest first with their grades.
func TestImportLoadList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
	a := set("a.jsonl", record("s2", "mx-1", scoring.Pass, t0.Add(24*time.Hour)), record("s2", "mx-2", scoring.Fail, t0.Add(25*time.Hour)))
	im, err := db.Import(a, "a.jsonl")
	if err != nil || !im.New || im.Added != 2 {
		t.Fatalf("%+v %v", im, err)
	}
	im, err = db.Import(a, "a.jsonl")
	if err != nil || im.New || im.Same != 2 || im.Added != 0 {
		t.Fatalf("again: %+v %v", im, err)
	}
	shard := set("b.jsonl", record("s2", "mx-3", scoring.Unknown, t0.Add(26*time.Hour)), record("s2", "mx-2", scoring.Pass, t0.Add(27*time.Hour)))
	if im, err = db.Import(shard, "b.jsonl"); err != nil || im.Added != 1 || im.Replaced != 1 {
		t.Fatalf("shard: %+v %v", im, err)
	}
	older := set("old.jsonl", record("s1", "mx-1", scoring.Fail, t0))
	if _, err := db.Import(older, "old.jsonl"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetGrades("s2", []Grade{{Group: "総務省", Grade: "C", Overall: "66.6", Servers: 3, Categories: map[string]string{"A": "66.6"}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetGrades("s1", []Grade{{Group: "総務省", Grade: "D", Overall: "0.0", Servers: 3, Missing: 2}}); err != nil {
		t.Fatal(err)
	}
	scans, err := db.Scans()
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 2 || scans[0].ScanID != "s1" || scans[1].ScanID != "s2" {
		t.Fatalf("%+v", scans)
	}
	s := scans[1]
	if s.Records != 3 || s.Partial() || !s.Started.Equal(t0.Add(24*time.Hour)) || strings.Join(s.Sources, ",") != "a.jsonl,b.jsonl" ||
		len(s.Grades) != 1 || s.Grades[0].Grade != "C" || s.Grades[0].Categories["A"] != "66.6" {
		t.Fatalf("%+v", s)
	}
	if !scans[0].Partial() {
		t.Error("s1 with 1 record of 3 is not partial")
	}
	got, err := db.Load("s2", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 3 {
		t.Fatalf("%d records", len(got.Records))
	}
	for _, r := range got.Records {
		var o struct{ Note string }
		if err := json.Unmarshal(r.Observations, &o); err != nil || o.Note != r.Server.ID {
			t.Errorf("%s: observations %s", r.Server.ID, r.Observations)
		}
		if r.Server.ID == "mx-2" && r.Items["A1"].Outcome != scoring.Pass {
			t.Errorf("mx-2 not replaced: %+v", r.Items["A1"])
		}
	}
	light, err := db.Load("s2", true)
	if err != nil || len(light.Records) != 3 || len(light.Records[0].Observations) != 0 {
		t.Fatalf("without observations: %v", err)
	}
	var verdicts int
	db.db.QueryRow(`SELECT count(*) FROM verdicts`).Scan(&verdicts)
	if verdicts != 4 {
		t.Errorf("%d verdict rows, want 4 (a replaced record's verdicts go with it)", verdicts)
	}
	tr, err := db.Trends()
	if err != nil || len(tr["総務省"]) != 2 || tr["総務省"][0].Grade != "D" {
		t.Fatalf("trend %+v %v", tr, err)
	}
	var ne *NoScanError
	if _, err := db.Load("nope", false); !errors.As(err, &ne) {
		t.Errorf("unknown scan: %v", err)
	}
	if _, err := db.Import(set("mixed", record("s3", "a", scoring.Pass, t0), record("s4", "b", scoring.Pass, t0)), ""); err == nil {
		t.Error("records of two scans imported as one")
	}
}

// TestMigrations: a new database is at the latest version; one at an
// older version is migrated forward and keeps its scans; a newer one,
// another program's SQLite database and a file that is not SQLite are
// refused and left as they were.
func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.db")
	db, err := Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(); v != Version || Version != 2 {
		t.Fatalf("version %d", v)
	}
	db.Close()

	// A version 1 database, as the first kensa with history wrote it.
	old := filepath.Join(dir, "v1.db")
	raw, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(migrations[0] + fmt.Sprintf(`; PRAGMA application_id = %d; PRAGMA user_version = 1;`, applicationID)); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO scans VALUES (1, 'old', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01', 'v0', 'inv.csv', 'sha256:i', 1, 'p', '2025-12-01', '', '', '{}', 'now', 'old.jsonl')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = Open(old)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(); v != Version {
		t.Errorf("migrated to %d", v)
	}
	scans, err := db.Scans()
	if err != nil || len(scans) != 1 || scans[0].ScanID != "old" || len(scans[0].Grades) != 0 {
		t.Fatalf("%+v %v", scans, err)
	}
	if err := db.SetGrades("old", []Grade{{Group: "x", Grade: "A", Overall: "100.0"}}); err != nil {
		t.Errorf("the migrated grades table: %v", err)
	}
	db.Close()

	newer := filepath.Join(dir, "newer.db")
	raw, _ = sql.Open("sqlite", newer)
	raw.Exec(fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = 99`, applicationID))
	raw.Close()
	var ne *NewerError
	if _, err := Open(newer); !errors.As(err, &ne) || ne.Version != 99 || !strings.Contains(err.Error(), "newer kensa") {
		t.Errorf("newer: %v", err)
	}
	other := filepath.Join(dir, "other.db")
	raw, _ = sql.Open("sqlite", other)
	raw.Exec(`CREATE TABLE t (x)`)
	raw.Close()
	if _, err := Open(other); err == nil || !strings.Contains(err.Error(), "another program") {
		t.Errorf("another program's database: %v", err)
	}
	text := filepath.Join(dir, "results.jsonl")
	os.WriteFile(text, []byte(strings.Repeat(`{"schema":"kensa/v1"}`+"\n", 20)), 0o644)
	if _, err := Open(text); err == nil || !strings.Contains(err.Error(), "not a kensa history database") {
		t.Errorf("a results file as database: %v", err)
	}
	if b, _ := os.ReadFile(text); !strings.HasPrefix(string(b), `{"schema"`) {
		t.Error("the results file was changed")
	}
}
