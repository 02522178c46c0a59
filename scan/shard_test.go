package scan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// shardInventory is an inventory of n servers spread over orgs
// organisations of unequal size.
func shardInventory(t *testing.T, n, orgs int) *inventory.Inventory {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,org,unit,host,services,declared,notes\n")
	for i := 0; i < n; i++ {
		o := i % orgs
		if i%3 == 0 {
			o = 0 // one large organisation
		}
		org := fmt.Sprintf("org%d", o)
		fmt.Fprintf(&b, "mx-%03d,%s,unit%d,127.0.6.%d,smtp:25,,\n", i, org, i%2, i%250+1)
	}
	inv, err := inventory.Parse("shard.csv", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestShardsPartitionTheInventory: the shards of N, by id and by org,
// hold every server exactly once; by org each organisation is in one
// shard; the split by id of a server does not change when the inventory
// grows.
func TestShardsPartitionTheInventory(t *testing.T) {
	inv := shardInventory(t, 120, 7)
	for _, by := range []string{ShardByID, ShardByOrg} {
		for _, n := range []int{1, 2, 3, 5} {
			seen := map[string]int{}
			orgShard := map[string]int{}
			for k := 0; k < n; k++ {
				in, err := Select(inv, &results.Shard{Index: k, Count: n, By: by})
				if err != nil {
					t.Fatal(err)
				}
				if len(in) == 0 {
					t.Errorf("%s %d/%d: empty", by, k, n)
				}
				for id := range in {
					seen[id]++
				}
				for _, s := range inv.Servers {
					if !in[s.ID] || by != ShardByOrg {
						continue
					}
					if o, ok := orgShard[s.Org]; ok && o != k {
						t.Errorf("%s in shards %d and %d", s.Org, o, k)
					}
					orgShard[s.Org] = k
				}
			}
			if len(seen) != len(inv.Servers) {
				t.Errorf("%s /%d: %d servers of %d", by, n, len(seen), len(inv.Servers))
			}
			for id, c := range seen {
				if c != 1 {
					t.Errorf("%s /%d: %s in %d shards", by, n, id, c)
				}
			}
		}
	}
	grown := shardInventory(t, 200, 7)
	for _, s := range inv.Servers {
		if a, b := ShardOfID(s.ID, 4), ShardOfID(s.ID, 4); a != b {
			t.Fatal("ShardOfID is not a function of the id")
		}
	}
	a, _ := Select(inv, &results.Shard{Index: 2, Count: 4, By: ShardByID})
	b, _ := Select(grown, &results.Shard{Index: 2, Count: 4, By: ShardByID})
	for id := range a {
		if !b[id] {
			t.Errorf("%s left shard 2 when the inventory grew", id)
		}
	}
	if _, err := Select(inv, &results.Shard{Index: 0, Count: 8, By: ShardByOrg}); err == nil {
		t.Error("8 shards of 7 organisations by org: no error")
	}
}

func TestParseShardAndOnly(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == ShardIndexEnv {
				return v
			}
			return ""
		}
	}
	for _, c := range []struct {
		spec, by, env string
		want          string
		err           string
	}{
		{"1/4", "id", "", "1/4 by id", ""},
		{"/4", "org", "3", "3/4 by org", ""},
		{"/4", "id", "", "", "JOB_COMPLETION_INDEX is not set"},
		{"/4", "id", "4", "", `K "4" (from JOB_COMPLETION_INDEX) must be a whole number from 0 to 3`},
		{"4/4", "id", "", "", "from 0 to 3"},
		{"x/4", "id", "", "", "from 0 to 3"},
		{"2", "id", "", "", "want K/N"},
		{"0/0", "id", "", "", "at least 1"},
		{"0/2", "host", "", "", "want id or org"},
	} {
		sh, err := ParseShard(c.spec, c.by, env(c.env))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s %s: error %v, want %q", c.spec, c.by, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s %s: %v", c.spec, c.by, err)
		case c.err == "" && ShardLabel(sh) != c.want:
			t.Errorf("%s %s: %s, want %s", c.spec, c.by, ShardLabel(sh), c.want)
		}
	}
	inv := shardInventory(t, 20, 3)
	sh, err := ParseOnly("org=org1,unit=unit0")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Select(inv, sh)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range inv.Servers {
		if want := s.Org == "org1" && s.Unit == "unit0"; in[s.ID] != want {
			t.Errorf("%s (%s %s): selected %v", s.ID, s.Org, s.Unit, in[s.ID])
		}
	}
	if _, err := Select(inv, &results.Shard{Only: "org=none"}); err == nil || !strings.Contains(err.Error(), "selects no server") {
		t.Errorf("--only org=none: %v", err)
	}
	for _, bad := range []string{"org", "host=x", "org="} {
		if _, err := ParseOnly(bad); err == nil {
			t.Errorf("--only %s: no error", bad)
		}
	}
}

// shardRecord is a record of server id in shard k of n.
func shardRecord(id string, k, n int) *results.Record {
	return &results.Record{Schema: results.Schema, Server: results.ServerRef{ID: id, Org: "o", Unit: "u", Host: "127.0.6.1"},
		Scan: results.ScanMeta{ScanID: "s1", InventoryDigest: "sha256:inv", InventoryServers: 4, PolicyDigest: "sha256:p",
			AdvisoriesAsOf: "2026-11-01", AdvisoriesDigest: "sha256:a", AsOf: "2026-11-02", Shard: &results.Shard{Index: k, Count: n, By: ShardByID}},
		Items: map[string]scoring.Verdict{"A1": {Outcome: scoring.Pass}}}
}

// TestMerge: parts of one scan merge, with the missing shards and
// servers counted; parts of other inventories, policies, advisory data
// or scans, overlapping parts and a shard given twice are refused with
// the difference and both files named.
func TestMerge(t *testing.T) {
	part := func(name string, recs ...*results.Record) *results.Set {
		return &results.Set{Name: name, Records: recs}
	}
	m, err := Merge([]*results.Set{part("s0", shardRecord("a", 0, 3), shardRecord("b", 0, 3)), part("s2", shardRecord("c", 2, 3))})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Records) != 3 || m.Complete() || m.MissingServers != 1 || m.MissingLabel() != "1/3" || len(m.Present) != 2 {
		t.Fatalf("%+v", m)
	}
	m, err = Merge([]*results.Set{part("s0", shardRecord("a", 0, 2), shardRecord("b", 0, 2)), part("s1", shardRecord("c", 1, 2), shardRecord("d", 1, 2))})
	if err != nil || !m.Complete() || len(m.Missing) != 0 {
		t.Fatalf("complete merge: %+v %v", m, err)
	}
	for name, change := range map[string]func(r *results.Record){
		"inventory":       func(r *results.Record) { r.Scan.InventoryDigest = "sha256:other" },
		"policy":          func(r *results.Record) { r.Scan.PolicyDigest = "sha256:q" },
		"advisory data":   func(r *results.Record) { r.Scan.AdvisoriesDigest = "sha256:b" },
		"scan id":         func(r *results.Record) { r.Scan.ScanID = "s2" },
		"evaluation date": func(r *results.Record) { r.Scan.AsOf = "2026-11-03" },
		"sharding":        func(r *results.Record) { r.Scan.Shard.Count = 4 },
	} {
		other := shardRecord("c", 1, 3)
		change(other)
		_, err := Merge([]*results.Set{part("s0.jsonl", shardRecord("a", 0, 3)), part("s1.jsonl", other)})
		var ce *MergeConflictError
		if !errors.As(err, &ce) || ce.What != name || !strings.Contains(err.Error(), "s0.jsonl") || !strings.Contains(err.Error(), "s1.jsonl") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Merge([]*results.Set{part("s0", shardRecord("a", 0, 3)), part("s1", shardRecord("a", 1, 3))}); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlap: %v", err)
	}
	if _, err := Merge([]*results.Set{part("s0", shardRecord("a", 0, 3)), part("again", shardRecord("b", 0, 3))}); err == nil || !strings.Contains(err.Error(), "again") {
		t.Errorf("shard twice: %v", err)
	}
}
