// Package metrics writes what a scan concluded in the Prometheus text
// exposition format, for node_exporter's textfile collector: each
// organisation's grade and category rates, outcome counts per item,
// servers scanned and missing, unknown outcomes, services the budget
// left not probed, the scan's duration and the age of its advisory data.
//
// Samples carry no timestamps (the textfile collector refuses them); the
// times the file describes are gauges of their own
// (kensa_scan_start_timestamp_seconds). Rates are ratios from 0 to 1 of
// the values the reports show, so that a dashboard never shows 100 %
// beside a B. It shows what the records concluded and never judges.
package metrics

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/scoring"
)

// gradeValues are the values of kensa_org_grade.
var gradeValues = map[string]int{"A": 4, "B": 3, "C": 2, "D": 1}

// family is one metric: its help, type and samples.
type family struct {
	name, help, typ string
	samples         []sample
}

type sample struct {
	labels [][2]string
	value  string
}

func (f *family) add(value string, labels ...string) {
	s := sample{value: value}
	for i := 0; i+1 < len(labels); i += 2 {
		s.labels = append(s.labels, [2]string{labels[i], labels[i+1]})
	}
	f.samples = append(f.samples, s)
}

// escape escapes a label value: backslash, double quote and line feed.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func (f *family) write(w *bufio.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
	for _, s := range f.samples {
		w.WriteString(f.name)
		if len(s.labels) > 0 {
			w.WriteString("{")
			for i, l := range s.labels {
				if i > 0 {
					w.WriteString(",")
				}
				fmt.Fprintf(w, `%s="%s"`, l[0], escape(l[1]))
			}
			w.WriteString("}")
		}
		w.WriteString(" " + s.value + "\n")
	}
}

func gauge(name, help string) *family { return &family{name: name, help: help, typ: "gauge"} }

func itoa(n int) string { return strconv.Itoa(n) }

// ratio turns a rate shown by the display rule ("99.9", "-") into a
// ratio ("0.999"); "" when there is none.
func ratio(r *big.Rat) string {
	shown := scoring.FormatRate(r)
	if r == nil || shown == "-" {
		return ""
	}
	v, ok := new(big.Rat).SetString(shown)
	if !ok {
		return ""
	}
	return strings.TrimRight(strings.TrimRight(v.Quo(v, big.NewRat(100, 1)).FloatString(4), "0"), ".")
}

// seconds shows a duration or a Unix time in seconds.
func seconds(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Write writes the metrics of a graded results set: in is the report
// input (records with their observations, for the services not
// probed), duration the scan's wall time (0: from the records, the
// first start to the last end).
func Write(w io.Writer, in report.Input, duration time.Duration) error {
	set := in.Results
	m := set.Meta
	g := report.NewGrade(in, scoring.ByOrg)
	var fams []*family

	info := gauge("kensa_scan_info", "The scan these metrics describe; the value is always 1.")
	info.add("1", "scan_id", m.ScanID, "kensa_version", m.KensaVersion, "inventory_digest", m.InventoryDigest,
		"as_of", m.AsOf, "advisories_as_of", m.AdvisoriesAsOf, "catalog", in.Catalog.Name)
	fams = append(fams, info)

	var first, last time.Time
	for _, r := range set.Records {
		end := r.Started.Add(time.Duration(r.DurationMS) * time.Millisecond)
		if first.IsZero() || r.Started.Before(first) {
			first = r.Started
		}
		if end.After(last) {
			last = end
		}
	}
	if duration <= 0 && !first.IsZero() {
		duration = last.Sub(first)
	}
	start := gauge("kensa_scan_start_timestamp_seconds", "When the scan's first server was started, in seconds since the Unix epoch.")
	if !first.IsZero() {
		start.add(seconds(float64(first.UnixMilli()) / 1000))
	}
	dur := gauge("kensa_scan_duration_seconds", "How long the scan took.")
	dur.add(seconds(duration.Seconds()))
	fams = append(fams, start, dur)

	inv := gauge("kensa_servers_inventory", "Servers the inventory lists.")
	inv.add(itoa(max(m.InventoryServers, len(set.Records))))
	scanned := gauge("kensa_servers_scanned", "Servers with a record in the results.")
	scanned.add(itoa(len(set.Records)))
	missing := gauge("kensa_servers_missing", "Servers of the inventory without a record: the grade tables are PARTIAL while this is above 0.")
	missing.add(itoa(g.Table.Missing + g.Table.Unattributed))
	fams = append(fams, inv, scanned, missing)

	grade := gauge("kensa_org_grade", "Grade of each organisation: 4 for A, 3 B, 2 C, 1 D, 0 none; the label grade is the letter as shown (B* for a withheld A).")
	overall := gauge("kensa_org_overall_ratio", "Overall rate of each organisation as the reports show it, from 0 to 1.")
	category := gauge("kensa_org_category_ratio", "Category rate of each organisation as the reports show it, from 0 to 1.")
	orgServers := gauge("kensa_org_servers", "Servers of each organisation, missing ones included.")
	unknowns := gauge("kensa_org_unknown_outcomes", "Unknown outcomes of graded items in each organisation (a group with any is never graded A).")
	outcomes := gauge("kensa_item_outcomes", "Servers of each organisation by item and outcome.")
	for _, gr := range g.Table.Groups {
		shown := gr.Grade
		if gr.AWithheld {
			shown += "*"
		}
		grade.add(itoa(gradeValues[gr.Grade]), "org", gr.Key, "grade", shown)
		if v := ratio(gr.Overall); v != "" {
			overall.add(v, "org", gr.Key)
		}
		for _, c := range gr.Categories {
			if v := ratio(c.Rate); v != "" {
				category.add(v, "org", gr.Key, "category", c.Category.Code)
			}
		}
		orgServers.add(itoa(gr.Servers), "org", gr.Key)
		unknowns.add(itoa(gr.Unknowns), "org", gr.Key)
		for _, ir := range gr.Items {
			for _, o := range []struct {
				name string
				n    int
			}{{"pass", ir.Tally.Pass}, {"fail", ir.Tally.Fail}, {"unknown", ir.Tally.Unknown}, {"na", ir.Tally.NA}} {
				outcomes.add(itoa(o.n), "org", gr.Key, "item", ir.Item.Code, "outcome", o.name)
			}
		}
	}
	fams = append(fams, grade, overall, category, orgServers, unknowns, outcomes)

	notProbed := gauge("kensa_services_not_probed", "Planned services of each organisation's servers that the budget never let a connection go to: nothing is known of them.")
	counts := map[string]int{}
	for _, r := range set.Records {
		var obs struct {
			Services []observe.Service `json:"services"`
		}
		if len(r.Observations) > 0 {
			if err := json.Unmarshal(r.Observations, &obs); err != nil {
				return fmt.Errorf("metrics: observations of %s: %w", r.Server.ID, err)
			}
		}
		counts[r.Server.Org] += 0 // every organisation gets a sample, 0 included
		for _, s := range obs.Services {
			if s.State == observe.StateNotProbed {
				counts[r.Server.Org]++
			}
		}
	}
	orgs := make([]string, 0, len(counts))
	for o := range counts {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	for _, o := range orgs {
		notProbed.add(itoa(counts[o]), "org", o)
	}
	fams = append(fams, notProbed)

	advAsOf := gauge("kensa_advisories_as_of_timestamp_seconds", "As-of date of the advisory data the scan was judged with, in seconds since the Unix epoch.")
	advAge := gauge("kensa_advisories_age_seconds", "Age of the advisory data at the scan's evaluation date.")
	if a, err := time.Parse(time.DateOnly, m.AdvisoriesAsOf); err == nil {
		advAsOf.add(seconds(float64(a.Unix())))
		if e, err := time.Parse(time.DateOnly, m.AsOf); err == nil {
			advAge.add(seconds(e.Sub(a).Seconds()))
		}
	}
	fams = append(fams, advAsOf, advAge)

	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if len(f.samples) > 0 {
			f.write(bw)
		}
	}
	return bw.Flush()
}
