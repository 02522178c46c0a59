package scan

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
)

// Shard assignments (results.Shard.By).
const (
	// ShardByID assigns each server by a stable hash of its id: a re-run,
	// or the same server in a grown inventory, lands in the same shard.
	ShardByID = "id"
	// ShardByOrg keeps each organisation whole in one shard, the
	// organisations spread so that the shards hold about as many
	// servers.
	ShardByOrg = "org"
)

// ShardIndexEnv is the environment variable a Kubernetes Indexed Job
// sets to the 0-based index of its pod: --shard /N takes K from it.
const ShardIndexEnv = "JOB_COMPLETION_INDEX"

// ParseShard reads --shard K/N and --shard-by: K in 0..N-1, N ≥ 1. A
// spec without K ("/N") takes K from the environment variable
// ShardIndexEnv, read with getenv. by is ShardByID or ShardByOrg.
func ParseShard(spec, by string, getenv func(string) string) (*results.Shard, error) {
	if by != ShardByID && by != ShardByOrg {
		return nil, fmt.Errorf("shard assignment %q: want %s or %s", by, ShardByID, ShardByOrg)
	}
	k, n, ok := strings.Cut(spec, "/")
	if !ok {
		return nil, fmt.Errorf("shard %q: want K/N (K from 0 to N-1), or /N with K from %s", spec, ShardIndexEnv)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return nil, fmt.Errorf("shard %q: N must be a whole number of at least 1", spec)
	}
	from := ""
	if k == "" {
		k = getenv(ShardIndexEnv)
		if k == "" {
			return nil, fmt.Errorf("shard %q: no K given, and %s is not set", spec, ShardIndexEnv)
		}
		from = " (from " + ShardIndexEnv + ")"
	}
	index, err := strconv.Atoi(k)
	if err != nil || index < 0 || index >= count {
		return nil, fmt.Errorf("shard %q: K %q%s must be a whole number from 0 to %d", spec, k, from, count-1)
	}
	return &results.Shard{Index: index, Count: count, By: by}, nil
}

// onlyKeys are the fields --only selects by.
var onlyKeys = map[string]func(inventory.Server) string{
	"org":  func(s inventory.Server) string { return s.Org },
	"unit": func(s inventory.Server) string { return s.Unit },
}

// ParseOnly reads --only: comma-separated key=value terms with the keys
// org and unit. A server is selected when, for each key named, its value
// is one of the values given for that key (org=A,org=B,unit=本省: the
// 本省 of A and of B).
func ParseOnly(spec string) (*results.Shard, error) {
	if _, err := parseOnly(spec); err != nil {
		return nil, err
	}
	return &results.Shard{Only: spec}, nil
}

func parseOnly(spec string) (map[string][]string, error) {
	terms := map[string][]string{}
	for _, term := range strings.Split(spec, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(term), "=")
		if !ok || value == "" {
			return nil, fmt.Errorf("--only term %q: want key=value (org=…, unit=…)", term)
		}
		if onlyKeys[key] == nil {
			return nil, fmt.Errorf("--only term %q: unknown key %q (want org or unit)", term, key)
		}
		terms[key] = append(terms[key], value)
	}
	return terms, nil
}

// Select returns the ids of the servers of inv that sh selects: the
// servers of shard Index of Count, or those an --only selection names.
// An --only selection that names no server of inv is an error (a typo
// would otherwise scan nothing); so is a shard of an inventory with
// fewer organisations than shards under ShardByOrg, which would leave a
// shard empty.
func Select(inv *inventory.Inventory, sh *results.Shard) (map[string]bool, error) {
	in := map[string]bool{}
	if sh.Only != "" {
		terms, err := parseOnly(sh.Only)
		if err != nil {
			return nil, err
		}
		for _, s := range inv.Servers {
			ok := true
			for key, values := range terms {
				ok = ok && contains(values, onlyKeys[key](s))
			}
			if ok {
				in[s.ID] = true
			}
		}
		if len(in) == 0 {
			return nil, fmt.Errorf("--only %s selects no server of %s", sh.Only, inv.Path)
		}
		return in, nil
	}
	switch sh.By {
	case ShardByOrg:
		of, orgs := orgShards(inv, sh.Count)
		if orgs < sh.Count {
			return nil, fmt.Errorf("--shard-by org: %s has %d organisations, fewer than %d shards", inv.Path, orgs, sh.Count)
		}
		for _, s := range inv.Servers {
			if of[s.Org] == sh.Index {
				in[s.ID] = true
			}
		}
	default:
		for _, s := range inv.Servers {
			if ShardOfID(s.ID, sh.Count) == sh.Index {
				in[s.ID] = true
			}
		}
	}
	return in, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ShardOfID returns the shard of n a server id belongs to under
// ShardByID: the FNV-1a hash of the id modulo n, which depends on the id
// alone.
func ShardOfID(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// orgShards assigns every organisation of inv to one of n shards: the
// largest organisation first (ties by name), each to the shard that holds
// the fewest servers so far (ties: the lowest index). It depends only on
// the inventory, which every shard of a scan reads alike. It returns the
// assignment and the number of organisations.
func orgShards(inv *inventory.Inventory, n int) (map[string]int, int) {
	size := map[string]int{}
	for _, s := range inv.Servers {
		size[s.Org]++
	}
	orgs := make([]string, 0, len(size))
	for o := range size {
		orgs = append(orgs, o)
	}
	sort.Slice(orgs, func(i, j int) bool {
		if size[orgs[i]] != size[orgs[j]] {
			return size[orgs[i]] > size[orgs[j]]
		}
		return orgs[i] < orgs[j]
	})
	load := make([]int, n)
	of := map[string]int{}
	for _, o := range orgs {
		best := 0
		for k := 1; k < n; k++ {
			if load[k] < load[best] {
				best = k
			}
		}
		of[o] = best
		load[best] += size[o]
	}
	return of, len(orgs)
}

// ShardLabel names a shard for people: "2/4 by id", "org=総務省".
func ShardLabel(sh *results.Shard) string {
	if sh == nil {
		return "the whole inventory"
	}
	if sh.Only != "" {
		return "--only " + sh.Only
	}
	return fmt.Sprintf("%d/%d by %s", sh.Index, sh.Count, sh.By)
}
