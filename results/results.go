// Package results writes and reads kensa/v1 results: JSON Lines, one
// record per server, appended as each server finishes, so that a crashed
// or interrupted scan keeps every finished server and can be resumed.
package results

import (
	"encoding/json"
	"time"

	"github.com/kensa-inspect/kensa/scoring"
)

// Schema is the value of every record's "schema" field.
const Schema = "kensa/v1"

// ScanMeta describes the scan a record belongs to. Every record carries
// it, so a results file is self-describing even when cut or merged.
type ScanMeta struct {
	KensaVersion string `json:"kensa_version"`
	ScanID       string `json:"scan_id"`
	// InventoryPath is the inventory file as given to the scan;
	// InventoryDigest its "sha256:…" digest; InventoryServers how many
	// servers it lists.
	InventoryPath    string `json:"inventory_path,omitempty"`
	InventoryDigest  string `json:"inventory_digest"`
	InventoryServers int    `json:"inventory_servers"`
	// PolicyDigest names the rules policy the verdicts were derived with;
	// Policy is that policy itself (the rules' JSON form), so that a
	// resumed scan or a re-grade can apply it again.
	PolicyDigest string          `json:"policy_digest"`
	Policy       json.RawMessage `json:"policy,omitempty"`
	// AdvisoriesAsOf is the as-of date of the advisory data used for M1/M2.
	AdvisoriesAsOf string `json:"advisories_as_of"`
	// AdvisoriesPath is the advisory data file given (--advisories), ""
	// for the data embedded in kensa; AdvisoriesDigest is the
	// "sha256:…" digest of the data as loaded (advisory.DB.Digest: the
	// file with the built-in end-of-life dates merged in).
	AdvisoriesPath   string `json:"advisories_path,omitempty"`
	AdvisoriesDigest string `json:"advisories_digest,omitempty"`
	// ExceptionsPath is the exceptions file given (--exceptions), "" for
	// none; ExceptionsDigest is the "sha256:…" digest of its bytes.
	ExceptionsPath   string `json:"exceptions_path,omitempty"`
	ExceptionsDigest string `json:"exceptions_digest,omitempty"`
	// AsOf is the evaluation date, YYYY-MM-DD (UTC): end-of-life
	// decisions, exception expiry, TLS certificate validity.
	AsOf string `json:"as_of,omitempty"`
	// SourceAddress is the scanner's source address ("" when the system
	// chose it).
	SourceAddress string `json:"source_address"`
	// Scope is the --scope the scan was given (CIDRs and addresses); ""
	// when it was the default, the inventory's own addresses.
	Scope string `json:"scope,omitempty"`
	// Catalog names the catalog the items come from.
	Catalog string `json:"catalog,omitempty"`
	// Shard is set when the scan scanned one part of the inventory
	// (kensa scan --shard or --only): which part. kensa merge puts the
	// parts of one scan back together.
	Shard *Shard `json:"shard,omitempty"`
}

// Shard says which part of an inventory a sharded scan scanned: shard
// Index of Count (by server id, or by organisation), or the servers an
// --only selection names.
type Shard struct {
	// Index and Count are K and N of --shard K/N (0 ≤ K < N); both 0
	// for an --only selection.
	Index int `json:"index"`
	Count int `json:"count"`
	// By is "id" (a stable hash of the server id) or "org" (each
	// organisation whole in one shard); "" for an --only selection.
	By string `json:"by,omitempty"`
	// Only is the --only selection ("org=総務省,unit=本省"), "" for
	// --shard.
	Only string `json:"only,omitempty"`
}

// ServerRef identifies the server a record is about.
type ServerRef struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Unit string `json:"unit"`
	Host string `json:"host"`
	// Addresses are the addresses scanned (a DNS name may have several).
	Addresses []string `json:"addresses,omitempty"`
	// Services are the inventory's services ("smtp:25"), Declared the
	// inventory's declarations, kept so results can be re-graded without
	// the inventory.
	Services []string                   `json:"services,omitempty"`
	Declared map[string]scoring.Outcome `json:"declared,omitempty"`
}

// Record is one server's result.
type Record struct {
	Schema     string    `json:"schema"`
	Scan       ScanMeta  `json:"scan"`
	Server     ServerRef `json:"server"`
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"duration_ms"`
	// Items holds a verdict for every catalog item, na included.
	Items map[string]scoring.Verdict `json:"items"`
	// Observations holds what each probe saw, as the probes encode it.
	Observations json.RawMessage `json:"observations"`
	// Undeclared lists answering services the inventory omits
	// ("imap:143").
	Undeclared []string `json:"undeclared_services,omitempty"`
	// Findings are what an inspector wants to see besides the verdicts
	// (weak SSH algorithms, weak TLS, expired exceptions, undeclared
	// services), judged by the rules like the items (rules.Findings) and
	// derived again by a re-grade; weak algorithms and TLS fail items
	// only where the policy says so.
	Findings []string `json:"findings,omitempty"`
}

// Discrepancies returns the items where the probe and the declaration
// disagree, in catalog order.
func (r *Record) Discrepancies(cat *scoring.Catalog) []string {
	var out []string
	for _, code := range cat.Codes() {
		if v, ok := r.Items[code]; ok && v.Discrepancy {
			out = append(out, code)
		}
	}
	return out
}
