// Package inventory reads and validates inventories of mail servers: CSV
// (UTF-8 with or without BOM, or Shift_JIS/CP932 as Excel writes it) and
// YAML with the same fields. A file with any bad row is refused whole,
// with the file, line and column of every problem.
//
// Load and Parse read an inventory and return an *Inventory or, when any
// row is bad, an *Error listing every Problem as "file:line:col: field:
// msg". Summarize counts servers per organisation, unit, service and
// declared item for `kensa inventory check`. The services an inventory
// may list, and their standard ports, are those of the probes' registry
// (probes.Registry).
package inventory

import (
	"net/netip"

	"github.com/kensa-inspect/kensa/scoring"
)

// Service is one service a server offers: a name from the registry and a
// port.
type Service struct {
	Name string `json:"name" yaml:"name"`
	Port int    `json:"port" yaml:"port"`
}

// Server is one row of an inventory.
type Server struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Unit string `json:"unit"`
	// Host is an IP address literal (IPv4 or IPv6) or a DNS name.
	Host     string    `json:"host"`
	Services []Service `json:"services"`
	// Declared holds the self-reported outcomes (pass or fail) by item
	// code.
	Declared map[string]scoring.Outcome `json:"declared,omitempty"`
	Notes    string                     `json:"notes,omitempty"`
	// Line is the line of the file where the server is defined.
	Line int `json:"-"`
}

// Inventory is a validated inventory.
type Inventory struct {
	// Path is the file it was read from.
	Path string
	// Digest is "sha256:" and the hex SHA-256 of the file's bytes, so that
	// results can name the inventory they were scanned from.
	Digest string
	// Format is "csv" or "yaml"; Encoding is "utf-8", "utf-8-bom" or
	// "shift_jis".
	Format, Encoding string
	Servers          []Server

	// byID maps an id to its index in Servers; built by Parse.
	byID map[string]int
}

// ServiceSet returns the names of the services the server lists, as the
// set scoring.Item.Applies takes.
func (s Server) ServiceSet() map[string]bool {
	set := make(map[string]bool, len(s.Services))
	for _, svc := range s.Services {
		set[svc.Name] = true
	}
	return set
}

// HasService reports whether the server lists the service called name.
func (s Server) HasService(name string) bool {
	for _, svc := range s.Services {
		if svc.Name == name {
			return true
		}
	}
	return false
}

// Ports returns the ports the server lists for the service called name,
// in inventory order.
func (s Server) Ports(name string) []int {
	var out []int
	for _, svc := range s.Services {
		if svc.Name == name {
			out = append(out, svc.Port)
		}
	}
	return out
}

// IP returns the server's address when Host is an IP literal; ok is false
// when Host is a DNS name.
func (s Server) IP() (addr netip.Addr, ok bool) {
	a, err := netip.ParseAddr(s.Host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

// ByID returns the server with the given id.
func (inv *Inventory) ByID(id string) (*Server, bool) {
	if i, ok := inv.byID[id]; ok && i < len(inv.Servers) && inv.Servers[i].ID == id {
		return &inv.Servers[i], true
	}
	for i := range inv.Servers {
		if inv.Servers[i].ID == id {
			return &inv.Servers[i], true
		}
	}
	return nil, false
}

// Orgs returns the organisations in the order they first appear in the
// file.
func (inv *Inventory) Orgs() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range inv.Servers {
		if !seen[s.Org] {
			seen[s.Org] = true
			out = append(out, s.Org)
		}
	}
	return out
}

// Units returns the units of the organisation org in the order they first
// appear in the file.
func (inv *Inventory) Units(org string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range inv.Servers {
		if s.Org == org && !seen[s.Unit] {
			seen[s.Unit] = true
			out = append(out, s.Unit)
		}
	}
	return out
}
