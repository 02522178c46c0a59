package scan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kensa-inspect/kensa/results"
)

// Merged is the parts of one sharded scan put together (kensa merge).
type Merged struct {
	// Records are the records of every part, in the order of the parts
	// given and of their files.
	Records []*results.Record
	// Meta is the scan metadata the parts share.
	Meta results.ScanMeta
	// Count and By are the sharding of the parts made with --shard (0
	// and "" when none was); Present lists the shard indexes given and
	// Missing those of 0..Count-1 that were not, both in order.
	Count   int
	By      string
	Present []int
	Missing []int
	// Only lists the --only selections among the parts.
	Only []string
	// MissingServers counts the servers of the inventory that no part
	// holds a record of: the merged scan is PARTIAL while it is not 0.
	MissingServers int
}

// Complete reports whether every server of the inventory has a record.
func (m *Merged) Complete() bool { return m.MissingServers == 0 }

// MergeConflictError reports parts that cannot be merged: they belong
// to different scans, inventories, judges or shardings, or two of them
// hold the same server.
type MergeConflictError struct {
	// What differs: "scan id", "inventory", "policy", "advisory data",
	// "evaluation date", "exceptions", "catalog", "sharding", or "server"
	// for a server in two parts.
	What string
	// A and B are the two files, ValueA and ValueB what each says.
	A, ValueA, B, ValueB string
}

func (e *MergeConflictError) Error() string {
	if e.What == "server" {
		return fmt.Sprintf("server %s has a record in %s and in %s: the parts overlap (were they scanned with different --shard or --only?)", e.ValueA, e.A, e.B)
	}
	return fmt.Sprintf("the parts are not of one scan: %s differs: %s has %s, %s has %s", e.What, e.A, e.ValueA, e.B, e.ValueB)
}

// mergeKey is one thing every record of every part must share, and how
// to read it from a record's metadata.
type mergeKey struct {
	what string
	of   func(m results.ScanMeta) string
}

var mergeKeys = []mergeKey{
	{"scan id", func(m results.ScanMeta) string { return m.ScanID }},
	{"inventory", func(m results.ScanMeta) string {
		return fmt.Sprintf("%s (%s, %d servers)", m.InventoryDigest, orNone(m.InventoryPath), m.InventoryServers)
	}},
	{"policy", func(m results.ScanMeta) string { return m.PolicyDigest }},
	{"advisory data", func(m results.ScanMeta) string {
		if m.AdvisoriesDigest == "" {
			return "data as of " + m.AdvisoriesAsOf
		}
		return fmt.Sprintf("%s (as of %s)", m.AdvisoriesDigest, m.AdvisoriesAsOf)
	}},
	{"evaluation date", func(m results.ScanMeta) string { return orNone(m.AsOf) }},
	{"exceptions", func(m results.ScanMeta) string { return orNone(m.ExceptionsDigest) }},
	{"catalog", func(m results.ScanMeta) string { return orNone(m.Catalog) }},
	{"sharding", func(m results.ScanMeta) string {
		if m.Shard == nil || m.Shard.Only != "" {
			return "none"
		}
		return fmt.Sprintf("%d shards by %s", m.Shard.Count, m.Shard.By)
	}},
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Merge puts the parts of one sharded scan together: every record of
// every part must name the same scan id, inventory, policy, advisory
// data, evaluation date, exceptions and catalog, and the parts made with
// --shard the same number of shards and assignment (else a
// *MergeConflictError naming the first difference and the two files); no
// server may have a record in two parts, nor a shard be given twice. A
// part without records adds nothing. Parts missing from the scan are
// not an error: Merged says which shards and how many servers are
// missing.
func Merge(parts []*results.Set) (*Merged, error) {
	m := &Merged{}
	var first *results.Record
	firstFile := ""
	where := map[string]string{}
	shardFile := map[int]string{}
	only := map[string]bool{}
	for _, set := range parts {
		indexes := map[int]bool{}
		for _, rec := range set.Records {
			if first == nil {
				first, firstFile = rec, set.Name
				m.Meta = rec.Scan
			}
			for _, k := range mergeKeys {
				if a, b := k.of(first.Scan), k.of(rec.Scan); a != b {
					return nil, &MergeConflictError{What: k.what, A: firstFile, ValueA: a, B: set.Name, ValueB: b}
				}
			}
			if f, dup := where[rec.Server.ID]; dup {
				return nil, &MergeConflictError{What: "server", ValueA: rec.Server.ID, A: f, B: set.Name}
			}
			where[rec.Server.ID] = set.Name
			m.Records = append(m.Records, rec)
			switch sh := rec.Scan.Shard; {
			case sh == nil:
			case sh.Only != "":
				if !only[sh.Only] {
					only[sh.Only] = true
					m.Only = append(m.Only, sh.Only)
				}
			default:
				m.Count, m.By = sh.Count, sh.By
				indexes[sh.Index] = true
			}
		}
		for k := range indexes {
			if f, dup := shardFile[k]; dup && f != set.Name {
				return nil, &MergeConflictError{What: "sharding", A: f, ValueA: fmt.Sprintf("shard %d/%d", k, m.Count), B: set.Name, ValueB: fmt.Sprintf("shard %d/%d again", k, m.Count)}
			}
			shardFile[k] = set.Name
		}
	}
	for k := range shardFile {
		m.Present = append(m.Present, k)
	}
	sort.Ints(m.Present)
	for k := 0; k < m.Count; k++ {
		if _, ok := shardFile[k]; !ok {
			m.Missing = append(m.Missing, k)
		}
	}
	if first != nil {
		m.MissingServers = max(0, first.Scan.InventoryServers-len(m.Records))
	}
	return m, nil
}

// MissingLabel says which shards are missing, for people: "1/4, 3/4".
func (m *Merged) MissingLabel() string {
	var out []string
	for _, k := range m.Missing {
		out = append(out, fmt.Sprintf("%d/%d", k, m.Count))
	}
	return strings.Join(out, ", ")
}
