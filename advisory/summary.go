package advisory

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Summary describes a data set for `kensa advisories show`: what it
// covers, how far it may be trusted (completeness, as-of date) and what
// an import left out.
type Summary struct {
	// Data names the data set: a file, or "embedded".
	Data   string `json:"data"`
	Schema string `json:"schema"`
	AsOf   string `json:"as_of"`
	// Digest is DB.Digest, as scan metadata records it
	// (advisories_digest).
	Digest      string `json:"digest"`
	Description string `json:"description,omitempty"`
	// Sources are the inputs an importer read (DB.Sources).
	Sources  []string         `json:"sources"`
	Products []ProductSummary `json:"products"`
	// Advisories counts every record; Complete names the products
	// marked complete.
	Advisories int      `json:"advisories"`
	Complete   []string `json:"complete"`
	// Dropped and DroppedOther are DB.Dropped and DB.DroppedOther.
	Dropped      []Dropped `json:"dropped"`
	DroppedOther int       `json:"dropped_other"`
	// EOL counts the end-of-life entries in force, EOLFromData those the
	// data set itself sets (the others are built in).
	EOL         int `json:"eol"`
	EOLFromData int `json:"eol_from_data"`
}

// ProductSummary is one product of a Summary.
type ProductSummary struct {
	Name     string `json:"name"`
	Complete bool   `json:"complete"`
	// Records counts its advisories, Remote those exploitable over the
	// network, DistroFixes the distribution entries among them.
	Records     int `json:"records"`
	Remote      int `json:"remote"`
	DistroFixes int `json:"distro_fixes"`
	// Dropped counts the dropped records that name the product.
	Dropped int `json:"dropped"`
	// Sources counts its records per host of their source URLs
	// ("nvd.nist.gov").
	Sources map[string]int `json:"sources"`
}

// Summarize describes db, read from data (a file name, or "embedded").
func Summarize(db *DB, data string) Summary {
	s := Summary{Data: data, Schema: db.Schema, AsOf: db.AsOf.String(), Digest: db.Digest(),
		Description: db.Description, Sources: append([]string{}, db.Sources...),
		Advisories: len(db.Advisories), Complete: append([]string{}, db.CompleteProducts()...),
		Dropped: append([]Dropped{}, db.Dropped...), DroppedOther: db.DroppedOther,
		EOL: len(db.EOL), EOLFromData: len(withoutBuiltin(db.EOL))}
	sort.Slice(s.Dropped, func(i, j int) bool { return s.Dropped[i].ID < s.Dropped[j].ID })
	for _, p := range db.Products {
		ps := ProductSummary{Name: p.Name, Complete: p.Complete, Sources: map[string]int{},
			Dropped: len(db.DroppedFor(p.Name))}
		for _, a := range db.For(p.Name) {
			ps.Records++
			if a.Remote {
				ps.Remote++
			}
			ps.DistroFixes += len(a.Distro)
			hosts := map[string]bool{}
			for _, f := range strings.Fields(a.Source) {
				if u, err := url.Parse(f); err == nil && u.Host != "" {
					hosts[u.Host] = true
				}
			}
			for h := range hosts {
				ps.Sources[h]++
			}
		}
		s.Products = append(s.Products, ps)
	}
	sort.Slice(s.Products, func(i, j int) bool { return s.Products[i].Name < s.Products[j].Name })
	return s
}

// WriteJSON writes the summary as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

// WriteText writes the summary for people.
func (s Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	field := func(k, v string) { fmt.Fprintf(&b, "%-14s %s\n", k, v) }
	field("advisory data", s.Data)
	field("schema", s.Schema)
	field("as of", s.AsOf)
	field("digest", s.Digest)
	if s.Description != "" {
		field("description", s.Description)
	}
	if len(s.Sources) == 0 {
		field("imported from", "not recorded (not written by kensa advisories import)")
	} else {
		field("imported from", strings.Join(s.Sources, "; "))
	}
	complete := "none"
	if len(s.Complete) > 0 {
		complete = strings.Join(s.Complete, ", ")
	}
	field("complete", complete)
	b.WriteString("\n")

	width := len("product")
	for _, p := range s.Products {
		width = max(width, len(p.Name))
	}
	row := func(name, complete string, records, remote, distro, dropped any) {
		fmt.Fprintf(&b, "%-*s  %-8s  %7v  %6v  %12v  %7v\n", width, name, complete, records, remote, distro, dropped)
	}
	row("product", "complete", "records", "remote", "distro fixes", "dropped")
	var total ProductSummary
	for _, p := range s.Products {
		c := "no"
		if p.Complete {
			c = "yes"
		}
		row(p.Name, c, p.Records, p.Remote, p.DistroFixes, p.Dropped)
		total.Records += p.Records
		total.Remote += p.Remote
		total.DistroFixes += p.DistroFixes
	}
	row("total", "", total.Records, total.Remote, total.DistroFixes, len(s.Dropped))

	b.WriteString("\nsources of the records (hosts of their source URLs)\n")
	for _, p := range s.Products {
		if len(p.Sources) == 0 {
			continue
		}
		hosts := make([]string, 0, len(p.Sources))
		for h := range p.Sources {
			hosts = append(hosts, h)
		}
		sort.Slice(hosts, func(i, j int) bool {
			if p.Sources[hosts[i]] != p.Sources[hosts[j]] {
				return p.Sources[hosts[i]] > p.Sources[hosts[j]]
			}
			return hosts[i] < hosts[j]
		})
		parts := make([]string, len(hosts))
		for i, h := range hosts {
			parts[i] = fmt.Sprintf("%s %d", h, p.Sources[h])
		}
		fmt.Fprintf(&b, "  %-14s %s\n", p.Name, strings.Join(parts, ", "))
	}

	b.WriteString("\n")
	switch {
	case len(s.Dropped) == 0 && s.DroppedOther == 0:
		b.WriteString("dropped records: none recorded\n")
	default:
		fmt.Fprintf(&b, "dropped records: %d CVEs NVD has not analysed (no configurations, so no product or version range) name a product kensa knows", len(s.Dropped))
		if s.DroppedOther > 0 {
			fmt.Fprintf(&b, "; %d more name none", s.DroppedOther)
		}
		b.WriteString("\n")
		for _, d := range s.Dropped {
			fmt.Fprintf(&b, "  %s  %s  %s, published %s  %s\n", d.ID, strings.Join(d.Products, ","), orNone(d.Status), orNone(d.Published.String()), d.Source)
		}
		for _, p := range s.Products {
			if p.Complete && p.Dropped > 0 {
				fmt.Fprintf(&b, "warning: %s is marked complete, but %d dropped records name it: its data may miss them\n", p.Name, p.Dropped)
			}
		}
	}
	fmt.Fprintf(&b, "end of life: %d entries in force, %d of them set by this data (the others built in)\n", s.EOL, s.EOLFromData)
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
