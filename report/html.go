package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/kensa-inspect/kensa/scoring"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed with html/template, which escapes every value
// for its context: evidence lines are written by the servers under test
// and must come out as text, never as markup.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlGroup is one row of the grade table.
type htmlGroup struct {
	Key, Label, Grade, Letter, Overall string
	Categories                         []string
	Servers                            string
	Unknowns                           int
}

// htmlCell is one item rate with its bar.
type htmlCell struct {
	Rate  string
	Width template.CSS
	Title string
}

// htmlRateRow is one group's item rates.
type htmlRateRow struct {
	Key, Label string
	Cells      []htmlCell
}

// htmlCheck is one item of the checklist.
type htmlCheck struct {
	Code, Category, Name, Graded, AppliesTo, Method string
}

// htmlData is what the template shows.
type htmlData struct {
	Lang, Version, Title, Partial string
	L                             *labels
	Meta                          []metaRow
	GroupHead                     string
	Categories                    []htmlItem
	Groups                        []htmlGroup
	Notes, Legend                 []string
	Items                         []htmlItem
	RateRows                      []htmlRateRow
	Orgs                          []orgView
	Checklist                     []htmlCheck
	Footer                        string
	// Trends by organisation and the plan's promises (report/ops.go).
	Trends  map[string]*trendView
	Plan    []planRow
	HasPlan bool
	OW      opsWords
}

// Word translates an outcome for the template.
func (d htmlData) Word(o scoring.Outcome) string { return d.L.outcome(o) }

// htmlItem is an item or category column: its code and name.
type htmlItem struct{ Code, Name string }

// barWidth turns a shown rate ("66.7") into the width of its bar.
func barWidth(shown string) template.CSS {
	for _, r := range shown {
		if (r < '0' || r > '9') && r != '.' {
			return "0%"
		}
	}
	// shown is digits and a dot: safe as a CSS length.
	return template.CSS(shown + "%")
}

// WriteHTML writes the report as one self-contained HTML page: no
// script, no external resource (a Content-Security-Policy forbids both),
// inline CSS with an A4 print style. version names the kensa that wrote
// it.
func WriteHTML(w io.Writer, in Input, opts Options, version string) error {
	v, err := newView(in, opts)
	if err != nil {
		return err
	}
	l, cat, lang := v.l, v.in.Catalog, v.in.Lang
	d := htmlData{Lang: langTag(lang), Version: version, L: l, Meta: v.meta, Partial: v.partial,
		GroupHead: l.group(v.table.By), Notes: v.notes, Orgs: v.orgs}
	d.Title = l.ReportTitle
	if v.in.Org != "" {
		d.Title = fmt.Sprintf(l.ReportTitleOrg, v.in.Org)
	}
	for _, c := range cat.Categories {
		d.Categories = append(d.Categories, htmlItem{c.Code, c.Name(lang)})
	}
	for _, gr := range v.table.Groups {
		hg := htmlGroup{Key: gr.Key, Label: l.groupLabel(gr), Grade: gradeCell(gr), Letter: gr.Grade, Overall: scoring.FormatRate(gr.Overall), Unknowns: gr.Unknowns}
		for _, c := range cat.Categories {
			hg.Categories = append(hg.Categories, categoryRate(gr, c.Code))
		}
		hg.Servers = fmt.Sprint(gr.Servers)
		if gr.Missing > 0 {
			hg.Servers = fmt.Sprintf(l.ServersMissing, gr.Servers, gr.Missing)
		}
		d.Groups = append(d.Groups, hg)
	}
	g := &GradeReport{In: v.in, Table: v.table}
	d.Legend = g.legend()
	items := append(g.graded(), g.supplementary()...)
	for _, it := range items {
		d.Items = append(d.Items, htmlItem{it.Code, it.Name(lang)})
	}
	for _, gr := range v.table.Groups {
		row := htmlRateRow{Key: gr.Key, Label: l.groupLabel(gr)}
		for _, it := range items {
			ir, _ := gr.Item(it.Code)
			shown := scoring.FormatRate(ir.Rate)
			c := htmlCell{Title: fmt.Sprintf("%s %s: %d / %d", it.Code, it.Name(lang), ir.Tally.Pass, ir.Tally.Applicable())}
			if ir.Rate != nil {
				c.Rate, c.Width = shown, barWidth(shown)
			}
			row.Cells = append(row.Cells, c)
		}
		d.RateRows = append(d.RateRows, row)
	}
	for _, it := range cat.Items {
		catName := l.SupplementaryCategory
		if c, ok := cat.Category(it.Category); ok && it.Graded {
			catName = c.Code + " " + c.Name(lang)
		}
		graded := l.Yes
		if !it.Graded {
			graded = l.No
		}
		d.Checklist = append(d.Checklist, htmlCheck{Code: it.Code, Category: catName, Name: it.Name(lang), Graded: graded,
			AppliesTo: v.appliesTo(it), Method: it.Describe(lang)})
	}
	d.Footer = fmt.Sprintf(l.Generated, version, v.in.Results.Name)
	d.OW, d.HasPlan, d.Plan = opsWordsFor(lang), opts.Promises != nil, v.planRows(opts.Promises)
	if opts.Trends != nil {
		d.Trends = map[string]*trendView{}
		for _, o := range v.orgs {
			d.Trends[o.Name] = trendOf(o.Name, opts.Trends[o.Name], lang)
		}
	}
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, d); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// langTag is the HTML lang attribute of a report language.
func langTag(lang string) string {
	if lang == "en" {
		return "en"
	}
	return "ja"
}
