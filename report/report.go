// Package report renders what kensa concluded for people and for other
// tools: the grade table (text, JSON, CSV, Markdown) and the inspection
// questionnaire counts (CSV, JSON). It reads graded tables and results
// and knows nothing of probes or networks.
package report

import (
	"fmt"
	"sort"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// Input is what every report is made from.
type Input struct {
	Catalog *scoring.Catalog
	// Results is the results file read; Servers the outcomes per server,
	// missing servers included (see Outcomes).
	Results *results.Set
	Servers []scoring.ServerOutcomes
	// Unattributed counts servers known to be missing whose group is not
	// known.
	Unattributed int
	// Policy is the unknown policy; Lang "ja" or "en" for item names.
	Policy scoring.UnknownPolicy
	Lang   string
	// Notes are extra lines shown under the table (warnings of the
	// reader, expired exceptions, inventory not found).
	Notes []string
	// Org is set when the input holds one organisation only (ForOrg).
	Org string
}

// Partial reports whether servers of the inventory have no record.
func (in Input) Partial() bool {
	if in.Unattributed > 0 {
		return true
	}
	for _, s := range in.Servers {
		if s.Missing {
			return true
		}
	}
	return false
}

// Outcomes turns records into the engine's input. inv, when not nil, is
// the inventory the scan read: servers come in its order (so groups do
// too), and each of its servers without a record is added as missing
// (unknown for every item that applies to its services). Without the
// inventory, servers come in the records' order, and the difference
// between the servers the records say the inventory holds and the
// records present is returned as unattributed.
func Outcomes(set *results.Set, cat *scoring.Catalog, inv []inventory.Server) (servers []scoring.ServerOutcomes, unattributed int) {
	byID := map[string]*results.Record{}
	for _, r := range set.Records {
		byID[r.Server.ID] = r
	}
	of := func(r *results.Record) scoring.ServerOutcomes {
		return scoring.ServerOutcomes{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit, Items: r.Items}
	}
	if inv == nil {
		for _, r := range set.Records {
			servers = append(servers, of(r))
		}
		if n := set.Meta.InventoryServers - len(set.Records); n > 0 {
			unattributed = n
		}
		return servers, unattributed
	}
	placed := map[string]bool{}
	for _, s := range inv {
		if r, ok := byID[s.ID]; ok {
			servers = append(servers, of(r))
			placed[s.ID] = true
			continue
		}
		servers = append(servers, scoring.ServerOutcomes{ID: s.ID, Org: s.Org, Unit: s.Unit, Missing: true,
			Items: scoring.MissingVerdicts(cat, s.ServiceSet())})
	}
	for _, r := range set.Records {
		if !placed[r.Server.ID] {
			servers = append(servers, of(r))
		}
	}
	return servers, 0
}

// Discrepancy is one item of one server where the probe and the
// declaration disagree.
type Discrepancy struct {
	ID       string          `json:"id"`
	Org      string          `json:"org"`
	Unit     string          `json:"unit"`
	Item     string          `json:"item"`
	Probed   scoring.Outcome `json:"probed"`
	Declared scoring.Outcome `json:"declared"`
	Counted  scoring.Outcome `json:"counted"`
	Reason   string          `json:"reason"`
}

// Discrepancies lists every discrepancy of the records, by server then
// item in catalog order.
func Discrepancies(set *results.Set, cat *scoring.Catalog) []Discrepancy {
	var out []Discrepancy
	for _, r := range set.Records {
		for _, code := range r.Discrepancies(cat) {
			v := r.Items[code]
			out = append(out, Discrepancy{ID: r.Server.ID, Org: r.Server.Org, Unit: r.Server.Unit, Item: code,
				Probed: v.Probed, Declared: v.Declared, Counted: v.Outcome, Reason: v.Reason})
		}
	}
	return out
}

// Undeclared lists answering services the inventory omits, per server.
func Undeclared(set *results.Set) map[string][]string {
	out := map[string][]string{}
	for _, r := range set.Records {
		if len(r.Undeclared) > 0 {
			out[r.Server.ID] = r.Undeclared
		}
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// partialLine returns the PARTIAL banner of a table, "" when it is
// complete.
func partialLine(l *labels, t *scoring.Table) string {
	switch {
	case t.Missing > 0 && t.Unattributed > 0:
		return fmt.Sprintf(l.PartialBoth, l.servers(t.Missing), t.Unattributed)
	case t.Missing > 0:
		return fmt.Sprintf(l.PartialMissing, l.servers(t.Missing))
	case t.Unattributed > 0:
		return fmt.Sprintf(l.PartialUnattributed, l.servers(t.Unattributed))
	}
	return ""
}
