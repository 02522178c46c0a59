package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
)

const matchInventory = "id,org,unit,host,services,declared,notes\n" +
	"m-a,org,u,192.0.2.1,smtp:25,,\n" +
	"m-b,org,u,192.0.2.2,smtp:25,,\n"

// scanned returns a set of records of some of the servers of the
// inventory at path, as a scan of it writes them.
func scanned(t *testing.T, path string, ids ...string) *results.Set {
	t.Helper()
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	set := &results.Set{Name: "res.jsonl"}
	set.Meta = results.ScanMeta{InventoryPath: path, InventoryDigest: inv.Digest, InventoryServers: len(inv.Servers)}
	for _, id := range ids {
		set.Records = append(set.Records, &results.Record{Scan: set.Meta, Server: results.ServerRef{ID: id}})
	}
	return set
}

func writeInventory(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMatchInventoryGiven(t *testing.T) {
	dir := t.TempDir()
	scannedPath := filepath.Join(dir, "inv.csv")
	writeInventory(t, scannedPath, matchInventory)
	set := scanned(t, scannedPath, "m-a")

	// The one scanned, given: used, nothing to say.
	inv, note, err := MatchInventory(set, scannedPath)
	if err != nil || inv == nil || len(inv.Servers) != 2 || note != "" {
		t.Fatalf("same inventory: %v %q", err, note)
	}
	// Another, given: used, with a note.
	other := filepath.Join(dir, "other.csv")
	writeInventory(t, other, matchInventory+"m-c,org,u,192.0.2.3,smtp:25,,\n")
	inv, note, err = MatchInventory(set, other)
	if err != nil || inv == nil || len(inv.Servers) != 3 ||
		note != "note: inventory "+other+" differs from the one scanned ("+set.Meta.InventoryDigest+")" {
		t.Fatalf("other inventory: %v %q", err, note)
	}
	// Records that name no inventory digest: no note.
	set.Meta.InventoryDigest = ""
	if _, note, err := MatchInventory(set, other); err != nil || note != "" {
		t.Fatalf("no digest: %v %q", err, note)
	}
	// A given inventory that does not load is an error naming it.
	bad := filepath.Join(dir, "bad.csv")
	writeInventory(t, bad, "id,org\nx\n")
	if _, _, err := MatchInventory(set, bad); err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Fatalf("bad inventory: %v", err)
	}
	if _, _, err := MatchInventory(set, filepath.Join(dir, "none.csv")); err == nil {
		t.Fatal("a missing inventory given was accepted")
	}
}

func TestMatchInventoryNamed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "inv.csv")
	writeInventory(t, path, matchInventory)
	partial := scanned(t, path, "m-a")
	complete := scanned(t, path, "m-a", "m-b")

	// Still there and unchanged: used, nothing to say.
	for _, set := range []*results.Set{partial, complete} {
		inv, note, err := MatchInventory(set, "")
		if err != nil || inv == nil || inv.Digest != set.Meta.InventoryDigest || note != "" {
			t.Fatalf("unchanged: %v %q", err, note)
		}
	}
	// Changed since: not used; a note only when servers are missing.
	writeInventory(t, path, matchInventory+"m-c,org,u,192.0.2.3,smtp:25,,\n")
	inv, note, err := MatchInventory(partial, "")
	if err != nil || inv != nil || note != "note: the scanned inventory "+path+" has changed since the scan; pass --inventory to place missing servers" {
		t.Fatalf("changed, servers missing: %v %v %q", err, inv, note)
	}
	if inv, note, err := MatchInventory(complete, ""); err != nil || inv != nil || note != "" {
		t.Fatalf("changed, complete: %v %v %q", err, inv, note)
	}
	// Now refused by the loader: as changed.
	writeInventory(t, path, "id,org\nx\n")
	if inv, note, err := MatchInventory(partial, ""); err != nil || inv != nil || !strings.Contains(note, "has changed since the scan") {
		t.Fatalf("unloadable, servers missing: %v %v %q", err, inv, note)
	}
	// Gone: not used; a note only when servers are missing.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	inv, note, err = MatchInventory(partial, "")
	if err != nil || inv != nil || !strings.HasPrefix(note, "note: the scanned inventory "+path+" cannot be read (") ||
		!strings.HasSuffix(note, "); pass --inventory to place missing servers") {
		t.Fatalf("gone, servers missing: %v %v %q", err, inv, note)
	}
	if inv, note, err := MatchInventory(complete, ""); err != nil || inv != nil || note != "" {
		t.Fatalf("gone, complete: %v %v %q", err, inv, note)
	}
	// Records that name no inventory file: none, nothing to say.
	partial.Meta.InventoryPath = ""
	if inv, note, err := MatchInventory(partial, ""); err != nil || inv != nil || note != "" {
		t.Fatalf("no path: %v %v %q", err, inv, note)
	}
}
