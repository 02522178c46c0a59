package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/scoring"
)

// Summary counts what an inventory holds, for `kensa inventory check`.
// Organisations and units keep the order in which the file first names
// them; services follow the registry order; declared items the code
// order.
type Summary struct {
	Path     string `json:"path"`
	Format   string `json:"format"`
	Encoding string `json:"encoding"`
	Digest   string `json:"digest"`
	// Servers is the number of servers.
	Servers int `json:"servers"`
	// Orgs holds the count per organisation and per unit.
	Orgs []OrgCount `json:"orgs"`
	// Services holds, per service, the number of servers listing it.
	Services []ServiceCount `json:"services"`
	// Declared holds, per item code, the number of servers declaring it.
	Declared []DeclaredCount `json:"declared"`
}

// OrgCount counts the servers of one organisation.
type OrgCount struct {
	Org     string      `json:"org"`
	Servers int         `json:"servers"`
	Units   []UnitCount `json:"units"`
	// Services maps a service name to the number of the organisation's
	// servers listing it.
	Services map[string]int `json:"services"`
}

// UnitCount counts the servers of one unit of an organisation.
type UnitCount struct {
	Unit     string         `json:"unit"`
	Servers  int            `json:"servers"`
	Services map[string]int `json:"services"`
}

// ServiceCount counts the servers listing a service.
type ServiceCount struct {
	Service string `json:"service"`
	Servers int    `json:"servers"`
}

// DeclaredCount counts the servers declaring an item, and how.
type DeclaredCount struct {
	Item    string `json:"item"`
	Servers int    `json:"servers"`
	Pass    int    `json:"pass"`
	Fail    int    `json:"fail"`
}

// Summarize counts the servers of inv per organisation, unit, service and
// declared item.
func Summarize(inv *Inventory) Summary {
	s := Summary{
		Path: inv.Path, Format: inv.Format, Encoding: inv.Encoding, Digest: inv.Digest,
		Servers:  len(inv.Servers),
		Orgs:     []OrgCount{},
		Services: []ServiceCount{},
		Declared: []DeclaredCount{},
	}
	orgIdx := map[string]int{}
	unitIdx := map[[2]string]int{}
	svc := map[string]int{}
	decl := map[string]*DeclaredCount{}
	for _, srv := range inv.Servers {
		oi, ok := orgIdx[srv.Org]
		if !ok {
			oi = len(s.Orgs)
			orgIdx[srv.Org] = oi
			s.Orgs = append(s.Orgs, OrgCount{Org: srv.Org, Services: map[string]int{}})
		}
		o := &s.Orgs[oi]
		ui, ok := unitIdx[[2]string{srv.Org, srv.Unit}]
		if !ok {
			ui = len(o.Units)
			unitIdx[[2]string{srv.Org, srv.Unit}] = ui
			o.Units = append(o.Units, UnitCount{Unit: srv.Unit, Services: map[string]int{}})
		}
		u := &o.Units[ui]
		o.Servers++
		u.Servers++
		for name := range srv.ServiceSet() {
			svc[name]++
			o.Services[name]++
			u.Services[name]++
		}
		for code, out := range srv.Declared {
			d := decl[code]
			if d == nil {
				d = &DeclaredCount{Item: code}
				decl[code] = d
			}
			d.Servers++
			switch out {
			case scoring.Pass:
				d.Pass++
			case scoring.Fail:
				d.Fail++
			}
		}
	}
	for _, def := range probes.Registry {
		if n := svc[def.Name]; n > 0 {
			s.Services = append(s.Services, ServiceCount{Service: def.Name, Servers: n})
		}
	}
	for _, d := range decl {
		s.Declared = append(s.Declared, *d)
	}
	sort.Slice(s.Declared, func(i, j int) bool { return codeLess(s.Declared[i].Item, s.Declared[j].Item) })
	return s
}

// codeLess orders item codes as the mail catalog lists its categories
// (M, S, A, P, then others alphabetically), then by number.
func codeLess(a, b string) bool {
	rank := func(c string) int {
		if c == "" {
			return 99
		}
		if i := strings.IndexByte("MSAP", c[0]); i >= 0 {
			return i
		}
		return 4 + int(c[0])
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// WriteJSON writes the summary as one indented JSON object.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes the summary as aligned tables: servers per
// organisation and unit with the services they list, then the declared
// items. Widths are measured in terminal cells, so Japanese names align.
func (s Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "inventory  %s\n", s.Path)
	fmt.Fprintf(&b, "format     %s, %s\n", s.Format, s.Encoding)
	fmt.Fprintf(&b, "digest     %s\n", s.Digest)
	fmt.Fprintf(&b, "servers    %d in %d organisations\n\n", s.Servers, len(s.Orgs))

	head := []string{"org", "unit", "servers"}
	for _, sc := range s.Services {
		head = append(head, sc.Service)
	}
	t := table{head: head, right: map[int]bool{}}
	for i := 2; i < len(head); i++ {
		t.right[i] = true
	}
	counts := func(servers int, m map[string]int) []string {
		row := []string{strconv.Itoa(servers)}
		for _, sc := range s.Services {
			row = append(row, count(m[sc.Service]))
		}
		return row
	}
	for _, o := range s.Orgs {
		t.rows = append(t.rows, append([]string{o.Org, "(all)"}, counts(o.Servers, o.Services)...))
		for _, u := range o.Units {
			t.rows = append(t.rows, append([]string{"", u.Unit}, counts(u.Servers, u.Services)...))
		}
	}
	all := map[string]int{}
	for _, sc := range s.Services {
		all[sc.Service] = sc.Servers
	}
	t.rows = append(t.rows, append([]string{"total", ""}, counts(s.Servers, all)...))
	t.write(&b)

	if len(s.Declared) > 0 {
		b.WriteString("\n")
		d := table{head: []string{"declared", "servers", "pass", "fail"}, right: map[int]bool{1: true, 2: true, 3: true}}
		for _, dc := range s.Declared {
			d.rows = append(d.rows, []string{dc.Item, strconv.Itoa(dc.Servers), strconv.Itoa(dc.Pass), strconv.Itoa(dc.Fail)})
		}
		d.write(&b)
	} else {
		b.WriteString("\nno declared items\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// count shows zero as "-" so that the table reads at a glance.
func count(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// table is a text table aligned in terminal cells.
type table struct {
	head  []string
	rows  [][]string
	right map[int]bool // columns aligned right
}

func (t table) write(b *strings.Builder) {
	widths := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, c := range row {
			if w := runewidth.StringWidth(c); w > widths[i] {
				widths[i] = w
			}
		}
	}
	line := func(row []string) {
		var l strings.Builder
		for i, c := range row {
			if i > 0 {
				l.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-runewidth.StringWidth(c))
			if t.right[i] {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	line(t.head)
	for _, row := range t.rows {
		line(row)
	}
}
