// Package inventory reads and validates inventories of mail servers: CSV
// (UTF-8 with or without BOM, or Shift_JIS/CP932 as Excel writes it) and
// YAML with the same fields. A file with any bad row is refused whole,
// with the file, line and column of every problem.
package inventory

import (
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
}
