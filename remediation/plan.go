// Package remediation reads an organisation's remediation plan — the
// follow-up table of planned completion dates (対応完了予定) — and says of
// each promise, against a scan's verdicts, whether it was kept: done (the
// item now passes by probe), declared done (it passes by declaration
// only), unverified (unknown), on track (still failing, date not passed)
// or overdue (date passed, item still failing).
//
// A plan is a YAML file:
//
//	promises:
//	  - org: 総務省              # or server: mx-soumu-01 (an inventory id)
//	    item: A1
//	    due: 2026-12-31
//	    note: relay closed with the migration to the new gateway
//
// A file with any bad promise is refused whole, every problem listed as
// file:line:column: field: message, as an inventory's are.
package remediation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/scoring"
)

// Promise is one row of a plan: an organisation or a server promises
// that an item will pass by a date.
type Promise struct {
	// Org or Server (an inventory id) is who promised; exactly one is
	// set.
	Org    string `json:"org,omitempty"`
	Server string `json:"server,omitempty"`
	// Item is the catalog code.
	Item string `json:"item"`
	// Due is the promised completion day (UTC).
	Due time.Time `json:"-"`
	// Note is the organisation's note, shown as written.
	Note string `json:"note,omitempty"`
	// Line and Column place the promise in the file.
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Who names who promised: the organisation, or "server ID".
func (p Promise) Who() string {
	if p.Server != "" {
		return "server " + p.Server
	}
	return p.Org
}

// DueDate returns the due day as YYYY-MM-DD.
func (p Promise) DueDate() string { return p.Due.Format(time.DateOnly) }

// Plan is a validated remediation plan.
type Plan struct {
	// Path is the file it was read from.
	Path     string
	Promises []Promise
}

// Error is the error Load and Parse return when a plan is refused: it
// lists every problem, as an inventory's *inventory.Error does.
type Error struct {
	File     string
	Problems []inventory.Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: plan refused: %d problem", e.File, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n" + p.Error())
	}
	return b.String()
}

// Load reads and validates the plan at path against the catalog.
func Load(path string, cat *scoring.Catalog) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, cat)
}

// Parse validates a plan: a mapping with the key promises, a list of
// promises each with org or server (not both), a catalog item, a due
// date YYYY-MM-DD and an optional note, and no promise twice.
func Parse(name string, data []byte, cat *scoring.Catalog) (*Plan, error) {
	r := &reader{file: name, cat: cat, first: map[string]int{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		line := 0
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		r.add(line, 0, "yaml", "%s", msg)
		return nil, r.err()
	}
	plan := &Plan{Path: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		r.add(1, 1, "yaml", "empty plan: want a mapping with the key promises")
		return nil, r.err()
	}
	root := doc.Content[0]
	var list *yaml.Node
	if root.Kind != yaml.MappingNode {
		r.at(root, "yaml", "want a mapping with the key promises")
		return nil, r.err()
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "promises" && list == nil {
			list = v
		} else {
			r.at(k, "yaml", "unknown key %q (want promises)", k.Value)
		}
	}
	switch {
	case list == nil:
		r.at(root, "yaml", "no key promises")
	case list.Kind == yaml.ScalarNode && list.Tag == "!!null":
	case list.Kind != yaml.SequenceNode:
		r.at(list, "promises", "want a list of promises")
	default:
		for _, n := range list.Content {
			if p, ok := r.promise(n); ok {
				plan.Promises = append(plan.Promises, p)
			}
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// reader collects the problems of one plan file.
type reader struct {
	file  string
	cat   *scoring.Catalog
	list  []inventory.Problem
	first map[string]int
}

func (r *reader) add(line, col int, field, format string, args ...any) {
	r.list = append(r.list, inventory.Problem{File: r.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (r *reader) at(n *yaml.Node, field, format string, args ...any) {
	r.add(n.Line, n.Column, field, format, args...)
}

func (r *reader) err() error {
	if len(r.list) == 0 {
		return nil
	}
	sort.SliceStable(r.list, func(i, j int) bool {
		if r.list[i].Line != r.list[j].Line {
			return r.list[i].Line < r.list[j].Line
		}
		return r.list[i].Column < r.list[j].Column
	})
	return &Error{File: r.file, Problems: r.list}
}

// promise reads one promise; ok is false when it has a problem.
func (r *reader) promise(n *yaml.Node) (Promise, bool) {
	p := Promise{Line: n.Line, Column: n.Column}
	if n.Kind != yaml.MappingNode {
		r.at(n, "promise", "want a mapping with org or server, item, due and note")
		return p, false
	}
	before := len(r.list)
	seen := map[string]bool{}
	var dueNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			r.at(k, k.Value, "given twice")
			continue
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			r.at(v, k.Value, "want a value")
			continue
		}
		switch k.Value {
		case "org":
			p.Org = strings.TrimSpace(v.Value)
		case "server":
			p.Server = strings.TrimSpace(v.Value)
		case "item":
			p.Item = strings.TrimSpace(v.Value)
			if _, ok := r.cat.Item(p.Item); !ok {
				r.at(v, "item", "unknown item %q (want one of %s)", v.Value, strings.Join(r.cat.Codes(), ", "))
			}
		case "due":
			dueNode = v
			t, err := time.Parse(time.DateOnly, strings.TrimSpace(v.Value))
			if err != nil {
				r.at(v, "due", "bad date %q: want YYYY-MM-DD", v.Value)
			}
			p.Due = t
		case "note":
			p.Note = v.Value
		default:
			r.at(k, k.Value, "unknown key (want org or server, item, due, note)")
		}
	}
	switch {
	case p.Org != "" && p.Server != "":
		r.at(n, "promise", "both org and server: a promise is an organisation's or one server's")
	case p.Org == "" && p.Server == "":
		r.at(n, "promise", "no org or server: say who promised")
	}
	if !seen["item"] {
		r.at(n, "item", "no item")
	}
	if dueNode == nil {
		r.at(n, "due", "no due date")
	}
	if len(r.list) > before {
		return p, false
	}
	key := p.Org + "\x00" + p.Server + "\x00" + p.Item
	if line, dup := r.first[key]; dup {
		r.at(n, "promise", "%s promised %s twice (first at line %d)", p.Who(), p.Item, line)
		return p, false
	}
	r.first[key] = p.Line
	return p, true
}

// CheckInventory returns a problem for every promise of an organisation
// or server the inventory does not hold, as an *Error; nil when there is
// none.
func (p *Plan) CheckInventory(inv *inventory.Inventory) error {
	orgs, ids := map[string]bool{}, map[string]bool{}
	for _, s := range inv.Servers {
		orgs[s.Org], ids[s.ID] = true, true
	}
	r := &reader{file: p.Path}
	for _, pr := range p.Promises {
		switch {
		case pr.Org != "" && !orgs[pr.Org]:
			r.add(pr.Line, pr.Column, "org", "organisation %q is not in %s", pr.Org, inv.Path)
		case pr.Server != "" && !ids[pr.Server]:
			r.add(pr.Line, pr.Column, "server", "server %q is not in %s", pr.Server, inv.Path)
		}
	}
	return r.err()
}
