// Package history keeps the scans of an inspection office in one
// embedded SQLite database (modernc.org/sqlite, pure Go): each scan's
// metadata, every server's record with its observations, every verdict,
// and the grade of each organisation, so that scans can be listed,
// compared (kensa diff) and drawn as a trend (the HTML report).
//
// The results files stay the primary record: the database holds
// nothing that a file does not, and can be rebuilt from the files with
// kensa history import. Its schema is versioned (PRAGMA user_version)
// and migrated forward when a newer kensa opens it; a database written
// by a newer kensa is refused rather than guessed at.
package history

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/kensa-inspect/kensa/results"
)

// applicationID marks a kensa history database (PRAGMA application_id):
// "kens".
const applicationID = 0x6b656e73

// migrations bring the schema from version i to i+1: migrations[0]
// makes version 1 from an empty database. Append, never edit: a
// database at version v runs migrations[v:].
var migrations = []string{
	// 1: scans, records (with their observations, compressed) and
	// verdicts.
	`CREATE TABLE scans (
		id                INTEGER PRIMARY KEY,
		scan_id           TEXT NOT NULL UNIQUE,
		started           TEXT NOT NULL,
		finished          TEXT NOT NULL,
		as_of             TEXT NOT NULL,
		kensa_version     TEXT NOT NULL,
		inventory_path    TEXT NOT NULL,
		inventory_digest  TEXT NOT NULL,
		inventory_servers INTEGER NOT NULL,
		policy_digest     TEXT NOT NULL,
		advisories_as_of  TEXT NOT NULL,
		advisories_digest TEXT NOT NULL,
		exceptions_digest TEXT NOT NULL,
		meta              TEXT NOT NULL,
		imported          TEXT NOT NULL,
		sources           TEXT NOT NULL
	);
	CREATE TABLE records (
		scan         INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
		server_id    TEXT NOT NULL,
		org          TEXT NOT NULL,
		unit         TEXT NOT NULL,
		host         TEXT NOT NULL,
		started      TEXT NOT NULL,
		record       TEXT NOT NULL,
		observations BLOB NOT NULL,
		PRIMARY KEY (scan, server_id)
	);
	CREATE TABLE verdicts (
		scan        INTEGER NOT NULL,
		server_id   TEXT NOT NULL,
		item        TEXT NOT NULL,
		outcome     TEXT NOT NULL,
		source      TEXT NOT NULL,
		discrepancy INTEGER NOT NULL,
		PRIMARY KEY (scan, server_id, item),
		FOREIGN KEY (scan, server_id) REFERENCES records(scan, server_id) ON DELETE CASCADE
	);`,
	// 2: the grade of each organisation per scan, for the list and the
	// trend; outcomes by item, for queries across scans.
	`CREATE TABLE grades (
		scan       INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
		grp        TEXT NOT NULL,
		grade      TEXT NOT NULL,
		overall    TEXT NOT NULL,
		servers    INTEGER NOT NULL,
		missing    INTEGER NOT NULL,
		unknowns   INTEGER NOT NULL,
		categories TEXT NOT NULL,
		PRIMARY KEY (scan, grp)
	);
	CREATE INDEX verdicts_by_item ON verdicts (item, outcome);`,
}

// Version is the schema version this kensa writes.
var Version = len(migrations)

// DB is an open history database.
type DB struct {
	db *sql.DB
	// Path is the database file.
	Path string
}

// NewerError reports a database whose schema is newer than this
// kensa's: a newer kensa wrote it.
type NewerError struct {
	Path          string
	Version, Have int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("%s: history database of schema version %d, written by a newer kensa (this one knows versions up to %d): use that kensa", e.Path, e.Version, e.Have)
}

// Open opens the history database at path, creating it when it is not
// there, and migrates its schema to Version. A file that is not a kensa
// history database (another SQLite database, or not SQLite at all) and a
// database of a newer schema (*NewerError) are refused, and nothing in
// them is changed.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("no history database given")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// One connection: SQLite writes one at a time, and the pragmas
	// hold per connection.
	db.SetMaxOpenConns(1)
	d := &DB{db: db, Path: path}
	if err := d.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// SchemaVersion returns the schema version of the open database.
func (d *DB) SchemaVersion() (int, error) {
	var v int
	err := d.db.QueryRow(`PRAGMA user_version`).Scan(&v)
	return v, err
}

func (d *DB) migrate() error {
	var v, app, tables int
	if err := d.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("%s: not a kensa history database: %w", d.Path, err)
	}
	if err := d.db.QueryRow(`PRAGMA application_id`).Scan(&app); err != nil {
		return fmt.Errorf("%s: not a kensa history database: %w", d.Path, err)
	}
	if err := d.db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return fmt.Errorf("%s: not a kensa history database: %w", d.Path, err)
	}
	switch {
	case app != applicationID && (v > 0 || tables > 0):
		return fmt.Errorf("%s: not a kensa history database (an SQLite database of another program)", d.Path)
	case v > len(migrations):
		return &NewerError{Path: d.Path, Version: v, Have: len(migrations)}
	case v == len(migrations):
		return nil
	}
	tx, err := d.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := v; i < len(migrations); i++ {
		if _, err := tx.Exec(migrations[i]); err != nil {
			return fmt.Errorf("%s: migrating the schema to version %d: %w", d.Path, i+1, err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d`, applicationID, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Imported says what an import did with one results set.
type Imported struct {
	// ScanID is the scan the records belong to.
	ScanID string
	// New is set when the scan was not in the database before; Added
	// counts records of servers the scan had no record of, Replaced
	// those whose record was replaced by the set's, Same those already
	// there unchanged.
	New                   bool
	Added, Replaced, Same int
}

// Import stores the records of a results set (they must carry their
// observations) under their scan id, creating the scan when the
// database does not hold it. A scan already there gains the records of
// servers it had none of (another shard, a resumed scan) and has a
// server's record replaced by a different one, as a results file's
// later record replaces an earlier one; importing the same file again
// changes nothing. The scan's metadata becomes that of the set's last
// record. Records of several scans in one set are refused: the records
// of one scan id are imported together. source names the file, for the
// list.
func (d *DB) Import(set *results.Set, source string) (Imported, error) {
	var im Imported
	if len(set.Records) == 0 {
		return im, fmt.Errorf("%s: no records to import", set.Name)
	}
	scanID := set.Records[0].Scan.ScanID
	for _, r := range set.Records {
		if r.Scan.ScanID != scanID {
			return im, fmt.Errorf("%s: records of several scans (%s and %s): import the files of one scan at a time", set.Name, scanID, r.Scan.ScanID)
		}
	}
	if scanID == "" {
		return im, fmt.Errorf("%s: the records have no scan id", set.Name)
	}
	im.ScanID = scanID
	tx, err := d.db.Begin()
	if err != nil {
		return im, err
	}
	defer tx.Rollback()
	var id int64
	var sources string
	err = tx.QueryRow(`SELECT id, sources FROM scans WHERE scan_id = ?`, scanID).Scan(&id, &sources)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		im.New = true
		res, err := tx.Exec(`INSERT INTO scans (scan_id, started, finished, as_of, kensa_version, inventory_path, inventory_digest,
			inventory_servers, policy_digest, advisories_as_of, advisories_digest, exceptions_digest, meta, imported, sources)
			VALUES (?, '', '', '', '', '', '', 0, '', '', '', '', '{}', ?, '')`, scanID, time.Now().UTC().Format(time.RFC3339))
		if err != nil {
			return im, err
		}
		if id, err = res.LastInsertId(); err != nil {
			return im, err
		}
	case err != nil:
		return im, err
	}
	for _, r := range set.Records {
		light := *r
		light.Observations = nil
		line, err := results.Encode(&light)
		if err != nil {
			return im, err
		}
		obs, err := compress(r.Observations)
		if err != nil {
			return im, err
		}
		var old string
		err = tx.QueryRow(`SELECT record FROM records WHERE scan = ? AND server_id = ?`, id, r.Server.ID).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			im.Added++
		case err != nil:
			return im, err
		case old == string(line):
			im.Same++
			continue
		default:
			im.Replaced++
			if _, err := tx.Exec(`DELETE FROM records WHERE scan = ? AND server_id = ?`, id, r.Server.ID); err != nil {
				return im, err
			}
		}
		if _, err := tx.Exec(`INSERT INTO records (scan, server_id, org, unit, host, started, record, observations) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r.Server.ID, r.Server.Org, r.Server.Unit, r.Server.Host, r.Started.UTC().Format(time.RFC3339Nano), string(line), obs); err != nil {
			return im, err
		}
		for code, v := range r.Items {
			if _, err := tx.Exec(`INSERT INTO verdicts (scan, server_id, item, outcome, source, discrepancy) VALUES (?, ?, ?, ?, ?, ?)`,
				id, r.Server.ID, code, string(v.Outcome), string(v.Source), v.Discrepancy); err != nil {
				return im, err
			}
		}
	}
	m := set.Records[len(set.Records)-1].Scan
	meta, err := json.Marshal(m)
	if err != nil {
		return im, err
	}
	if sources == "" {
		sources = source
	} else if source != "" && !containsLine(sources, source) {
		sources += "\n" + source
	}
	if _, err := tx.Exec(`UPDATE scans SET
		started = (SELECT min(started) FROM records WHERE scan = ?1),
		finished = (SELECT max(started) FROM records WHERE scan = ?1),
		as_of = ?2, kensa_version = ?3, inventory_path = ?4, inventory_digest = ?5, inventory_servers = ?6,
		policy_digest = ?7, advisories_as_of = ?8, advisories_digest = ?9, exceptions_digest = ?10, meta = ?11, sources = ?12
		WHERE id = ?1`,
		id, m.AsOf, m.KensaVersion, m.InventoryPath, m.InventoryDigest, m.InventoryServers,
		m.PolicyDigest, m.AdvisoriesAsOf, m.AdvisoriesDigest, m.ExceptionsDigest, string(meta), sources); err != nil {
		return im, err
	}
	return im, tx.Commit()
}

func containsLine(lines, s string) bool {
	for _, l := range bytes.Split([]byte(lines), []byte("\n")) {
		if string(l) == s {
			return true
		}
	}
	return false
}

// Grade is the grade of one group (an organisation) of one scan, as
// the grade table shows it.
type Grade struct {
	// Group is the organisation.
	Group string `json:"group"`
	// Grade is A–D ("B*" for a withheld A, "-" when nothing applies);
	// Overall the overall rate as shown ("93.8", "-").
	Grade   string `json:"grade"`
	Overall string `json:"overall"`
	// Servers, Missing and Unknowns count the group's servers, those
	// without a record and its unknown graded outcomes.
	Servers  int `json:"servers"`
	Missing  int `json:"missing"`
	Unknowns int `json:"unknowns"`
	// Categories are the category rates as shown, by code.
	Categories map[string]string `json:"categories"`
}

// SetGrades replaces the grades stored for a scan: the caller grades
// the scan's records (Load) as the reports do and stores the result.
func (d *DB) SetGrades(scanID string, grades []Grade) error {
	tx, err := d.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRow(`SELECT id FROM scans WHERE scan_id = ?`, scanID).Scan(&id); err != nil {
		return d.noScan(scanID, err)
	}
	if _, err := tx.Exec(`DELETE FROM grades WHERE scan = ?`, id); err != nil {
		return err
	}
	for _, g := range grades {
		cats, err := json.Marshal(g.Categories)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO grades (scan, grp, grade, overall, servers, missing, unknowns, categories) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, g.Group, g.Grade, g.Overall, g.Servers, g.Missing, g.Unknowns, string(cats)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// NoScanError reports a scan id the database does not hold.
type NoScanError struct {
	Path, ScanID string
}

func (e *NoScanError) Error() string {
	return fmt.Sprintf("%s holds no scan %q (kensa history list --db %s lists them)", e.Path, e.ScanID, e.Path)
}

func (d *DB) noScan(scanID string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &NoScanError{Path: d.Path, ScanID: scanID}
	}
	return err
}

// Scan is one scan of the database, as the list shows it.
type Scan struct {
	ScanID string `json:"scan_id"`
	// Started and Finished are the first and last record's start.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// AsOf is the evaluation date; AdvisoriesAsOf the advisory data's.
	AsOf           string `json:"as_of"`
	AdvisoriesAsOf string `json:"advisories_as_of"`
	KensaVersion   string `json:"kensa_version"`
	// InventoryPath, InventoryDigest and InventoryServers name the
	// inventory scanned; Records counts the servers with a record.
	InventoryPath    string `json:"inventory_path"`
	InventoryDigest  string `json:"inventory_digest"`
	InventoryServers int    `json:"inventory_servers"`
	Records          int    `json:"records"`
	// Sources are the files imported.
	Sources []string `json:"sources"`
	// Grades are the organisations' grades (SetGrades), in the order
	// stored.
	Grades []Grade `json:"grades"`
}

// Partial reports whether servers of the inventory have no record.
func (s Scan) Partial() bool { return s.Records < s.InventoryServers }

// Scans lists the scans of the database, oldest first (by the start of
// their first record).
func (d *DB) Scans() ([]Scan, error) {
	rows, err := d.db.Query(`SELECT s.id, s.scan_id, s.started, s.finished, s.as_of, s.advisories_as_of, s.kensa_version,
		s.inventory_path, s.inventory_digest, s.inventory_servers, s.sources,
		(SELECT count(*) FROM records r WHERE r.scan = s.id)
		FROM scans s ORDER BY s.started, s.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Scan
	var ids []int64
	for rows.Next() {
		var s Scan
		var id int64
		var started, finished, sources string
		if err := rows.Scan(&id, &s.ScanID, &started, &finished, &s.AsOf, &s.AdvisoriesAsOf, &s.KensaVersion,
			&s.InventoryPath, &s.InventoryDigest, &s.InventoryServers, &sources, &s.Records); err != nil {
			return nil, err
		}
		s.Started, _ = time.Parse(time.RFC3339Nano, started)
		s.Finished, _ = time.Parse(time.RFC3339Nano, finished)
		for _, l := range bytes.Split([]byte(sources), []byte("\n")) {
			if len(l) > 0 {
				s.Sources = append(s.Sources, string(l))
			}
		}
		out = append(out, s)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Grades, err = d.grades(ids[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *DB) grades(id int64) ([]Grade, error) {
	rows, err := d.db.Query(`SELECT grp, grade, overall, servers, missing, unknowns, categories FROM grades WHERE scan = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grade
	for rows.Next() {
		var g Grade
		var cats string
		if err := rows.Scan(&g.Group, &g.Grade, &g.Overall, &g.Servers, &g.Missing, &g.Unknowns, &cats); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(cats), &g.Categories); err != nil {
			return nil, fmt.Errorf("%s: grades of %s: %w", d.Path, g.Group, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Has reports whether the database holds the scan.
func (d *DB) Has(scanID string) (bool, error) {
	var n int
	err := d.db.QueryRow(`SELECT count(*) FROM scans WHERE scan_id = ?`, scanID).Scan(&n)
	return n > 0, err
}

// Load returns the records of a scan as a results set, in the order
// they were first imported, with their observations unless
// withoutObservations; the set is named "DB#scan-id". A scan the
// database does not hold is a *NoScanError.
func (d *DB) Load(scanID string, withoutObservations bool) (*results.Set, error) {
	var id int64
	if err := d.db.QueryRow(`SELECT id FROM scans WHERE scan_id = ?`, scanID).Scan(&id); err != nil {
		return nil, d.noScan(scanID, err)
	}
	q := `SELECT record, observations FROM records WHERE scan = ? ORDER BY rowid`
	if withoutObservations {
		q = `SELECT record, x'' FROM records WHERE scan = ? ORDER BY rowid`
	}
	rows, err := d.db.Query(q, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var buf bytes.Buffer
	var obs [][]byte
	for rows.Next() {
		var line string
		var blob []byte
		if err := rows.Scan(&line, &blob); err != nil {
			return nil, err
		}
		buf.WriteString(line)
		obs = append(obs, blob)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	name := d.Path + "#" + scanID
	set, err := results.ReadWith(&buf, name, results.ReadOptions{SkipObservations: withoutObservations})
	if err != nil {
		return nil, err
	}
	if !withoutObservations {
		for i, r := range set.Records {
			if r.Observations, err = decompress(obs[i]); err != nil {
				return nil, fmt.Errorf("%s: observations of %s: %w", name, r.Server.ID, err)
			}
		}
	}
	return set, nil
}

// Point is one scan's grade of one organisation, for a trend.
type Point struct {
	ScanID  string    `json:"scan_id"`
	Started time.Time `json:"started"`
	Grade   string    `json:"grade"`
	Overall string    `json:"overall"`
}

// Trends returns each organisation's grades over the scans of the
// database, oldest first; scans without stored grades are left out.
func (d *DB) Trends() (map[string][]Point, error) {
	scans, err := d.Scans()
	if err != nil {
		return nil, err
	}
	out := map[string][]Point{}
	for _, s := range scans {
		for _, g := range s.Grades {
			out[g.Group] = append(out[g.Group], Point{ScanID: s.ScanID, Started: s.Started, Grade: g.Grade, Overall: g.Overall})
		}
	}
	return out, nil
}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompress(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
