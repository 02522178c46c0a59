package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// GradeReport is a graded table with what every report lists beside it.
type GradeReport struct {
	In            Input
	Table         *scoring.Table
	Discrepancies []Discrepancy
}

// NewGrade grades the input's servers grouped by by.
func NewGrade(in Input, by scoring.GroupBy) *GradeReport {
	return &GradeReport{
		In:            in,
		Table:         scoring.Grade(in.Catalog, in.Servers, by, in.Policy, in.Unattributed),
		Discrepancies: Discrepancies(in.Results, in.Catalog),
	}
}

// Lowest returns the worst grade of the table ("" when no group has one).
func (g *GradeReport) Lowest() string {
	worst := ""
	for _, gr := range g.Table.Groups {
		if gr.Grade != "-" && gr.Grade > worst {
			worst = gr.Grade
		}
	}
	return worst
}

func (g *GradeReport) header() []string {
	l := labelsFor(g.In.Lang)
	m := g.In.Results.Meta
	var out []string
	out = append(out, fmt.Sprintf(l.HeaderTitle, g.In.Catalog.Name, l.by(g.Table.By), l.policy(g.Table.Policy)))
	scan := fmt.Sprintf(l.HeaderResults, g.In.Results.Name, len(g.In.Results.Records))
	if m.InventoryServers > 0 {
		scan += fmt.Sprintf(l.HeaderOfInv, m.InventoryServers)
	}
	if m.ScanID != "" {
		scan += fmt.Sprintf(l.HeaderScan, m.ScanID)
	}
	if m.KensaVersion != "" {
		scan += fmt.Sprintf(l.HeaderKensa, m.KensaVersion)
	}
	out = append(out, scan)
	adv := fmt.Sprintf(l.HeaderAdvisories, orDash(m.AdvisoriesAsOf))
	if m.AsOf != "" {
		adv += fmt.Sprintf(l.HeaderAsOf, m.AsOf)
	}
	out = append(out, adv)
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (g *GradeReport) graded() []scoring.Item {
	var out []scoring.Item
	for _, it := range g.In.Catalog.Items {
		if it.Graded {
			out = append(out, it)
		}
	}
	return out
}

func (g *GradeReport) supplementary() []scoring.Item {
	var out []scoring.Item
	for _, it := range g.In.Catalog.Items {
		if !it.Graded {
			out = append(out, it)
		}
	}
	return out
}

// gradeCell marks a withheld A.
func gradeCell(gr *scoring.Group) string {
	if gr.AWithheld {
		return gr.Grade + "*"
	}
	return gr.Grade
}

func categoryRate(gr *scoring.Group, code string) string {
	for _, c := range gr.Categories {
		if c.Category.Code == code {
			return scoring.FormatRate(c.Rate)
		}
	}
	return "-"
}

func itemRate(gr *scoring.Group, code string) string {
	ir, _ := gr.Item(code)
	return scoring.FormatRate(ir.Rate)
}

// groupLabel names a group in the tables people read: the
// organisation, "organisation / unit", or the whole ("全体", "all").
func (l *labels) groupLabel(gr *scoring.Group) string {
	switch {
	case gr.Unit != "":
		return gr.Org + " / " + gr.Unit
	case gr.Org == "" && gr.Key == scoring.AllKey:
		return l.ByAll
	}
	return gr.Key
}

// summaryColumns returns the header and one row per group of the main
// table: grade, overall and category rates.
func (g *GradeReport) summaryColumns() ([]string, [][]string) {
	l := labelsFor(g.In.Lang)
	head := []string{l.group(g.Table.By), l.Grade, l.Overall}
	for _, c := range g.In.Catalog.Categories {
		head = append(head, c.Code)
	}
	head = append(head, l.Servers, l.Unknown)
	var rows [][]string
	for _, gr := range g.Table.Groups {
		row := []string{l.groupLabel(gr), gradeCell(gr), scoring.FormatRate(gr.Overall)}
		for _, c := range g.In.Catalog.Categories {
			row = append(row, categoryRate(gr, c.Code))
		}
		servers := strconv.Itoa(gr.Servers)
		if gr.Missing > 0 {
			servers = fmt.Sprintf(l.ServersMissing, gr.Servers, gr.Missing)
		}
		row = append(row, servers, strconv.Itoa(gr.Unknowns))
		rows = append(rows, row)
	}
	return head, rows
}

// itemColumns returns the header and one row per group of the item
// rates, graded items first, then supplementary ones.
func (g *GradeReport) itemColumns() ([]string, [][]string) {
	items := append(g.graded(), g.supplementary()...)
	l := labelsFor(g.In.Lang)
	head := []string{l.group(g.Table.By)}
	for _, it := range items {
		head = append(head, it.Code)
	}
	var rows [][]string
	for _, gr := range g.Table.Groups {
		row := []string{l.groupLabel(gr)}
		for _, it := range items {
			row = append(row, itemRate(gr, it.Code))
		}
		rows = append(rows, row)
	}
	return head, rows
}

// footer returns the notes under the table in the words of l.
func (g *GradeReport) footer(l *labels) []string {
	var out []string
	for _, gr := range g.Table.Groups {
		if gr.AWithheld {
			out = append(out, fmt.Sprintf(l.WithheldNote, l.groupLabel(gr), gr.Unknowns))
		}
		if gr.Exceptions > 0 {
			out = append(out, fmt.Sprintf(l.ExceptionsNote, l.groupLabel(gr), gr.Exceptions))
		}
	}
	out = append(out, g.In.Notes...)
	return out
}

func (g *GradeReport) legend() []string {
	lang := g.In.Lang
	var out []string
	for _, c := range g.In.Catalog.Categories {
		var codes []string
		for _, it := range g.In.Catalog.Items {
			if it.Graded && it.Category == c.Code {
				codes = append(codes, it.Code+" "+it.Name(lang))
			}
		}
		out = append(out, fmt.Sprintf("%s %s: %s", c.Code, c.Name(lang), strings.Join(codes, "; ")))
	}
	var sup []string
	for _, it := range g.supplementary() {
		sup = append(sup, it.Code+" "+it.Name(lang))
	}
	if len(sup) > 0 {
		out = append(out, labelsFor(lang).Supplementary+strings.Join(sup, "; "))
	}
	return out
}

// WriteText writes the table for a terminal.
func (g *GradeReport) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, l := range g.header() {
		b.WriteString(l + "\n")
	}
	l := labelsFor(g.In.Lang)
	if p := partialLine(l, g.Table); p != "" {
		b.WriteString("*** " + p + " ***\n")
	}
	b.WriteString("\n")
	writeText(&b, 2, g.summaryColumns)
	b.WriteString("\n" + l.ItemRates + "\n")
	writeText(&b, 1, g.itemColumns)
	b.WriteString("\n")
	for _, line := range g.legend() {
		b.WriteString(line + "\n")
	}
	for _, line := range g.footer(l) {
		b.WriteString(line + "\n")
	}
	writeDiscrepanciesText(&b, l, g.Discrepancies)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeText lays out a table whose columns from the first right-aligned
// one on hold numbers.
func writeText(b *strings.Builder, firstRight int, columns func() ([]string, [][]string)) {
	head, rows := columns()
	var right []int
	for i := firstRight; i < len(head); i++ {
		right = append(right, i)
	}
	t := textable.New(right...)
	t.Row(head...)
	for _, r := range rows {
		t.Row(r...)
	}
	t.Write(b)
}

// writeMarkdown writes a Markdown table whose columns from firstRight on
// are right-aligned.
func writeMarkdown(b *strings.Builder, firstRight int, columns func() ([]string, [][]string)) {
	head, rows := columns()
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for i := range head {
		if i >= firstRight {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(escapeMD(r), " | ") + " |\n")
	}
}

func writeDiscrepanciesText(b *strings.Builder, l *labels, ds []Discrepancy) {
	if len(ds) == 0 {
		b.WriteString(l.DiscrepanciesNone + "\n")
		return
	}
	fmt.Fprintf(b, l.DiscrepanciesN+"\n", len(ds))
	t := textable.New()
	t.Row("  "+l.Server, l.Org, l.Unit, l.Item, l.Probe, l.Declared, l.Counted)
	for _, d := range ds {
		t.Row("  "+d.ID, d.Org, d.Unit, d.Item, l.outcome(d.Probed), l.outcome(d.Declared), l.outcome(d.Counted))
	}
	t.Write(b)
}

// WriteMarkdown writes the table as GitHub-flavoured Markdown.
func (g *GradeReport) WriteMarkdown(w io.Writer) error {
	l := labelsFor(g.In.Lang)
	var b strings.Builder
	b.WriteString("# " + l.MarkdownTitle + "\n\n")
	for _, line := range g.header() {
		b.WriteString("- " + line + "\n")
	}
	if p := partialLine(l, g.Table); p != "" {
		b.WriteString("\n**" + p + "**\n")
	}
	b.WriteString("\n")
	writeMarkdown(&b, 2, g.summaryColumns)
	b.WriteString("\n### " + l.ItemRatesSection + "\n\n")
	writeMarkdown(&b, 1, g.itemColumns)
	b.WriteString("\n")
	for _, line := range g.legend() {
		b.WriteString("- " + line + "\n")
	}
	for _, line := range g.footer(l) {
		b.WriteString("- " + line + "\n")
	}
	b.WriteString("\n## " + l.DiscrepanciesTitle + "\n\n")
	if len(g.Discrepancies) == 0 {
		b.WriteString(l.None + "\n")
	} else {
		head := []string{l.Server, l.Org, l.Unit, l.Item, l.Probe, l.Declared, l.Counted}
		b.WriteString("| " + strings.Join(head, " | ") + " |\n|---|---|---|---|---|---|---|\n")
		for _, d := range g.Discrepancies {
			fmt.Fprintf(&b, "| %s |\n", strings.Join(escapeMD([]string{d.ID, d.Org, d.Unit, d.Item, l.outcome(d.Probed), l.outcome(d.Declared), l.outcome(d.Counted)}), " | "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeMD(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.NewReplacer("|", `\|`, "*", `\*`).Replace(c)
	}
	return out
}

// WriteCSV writes one row per group with every rate, for spreadsheets.
func (g *GradeReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"key", "org", "unit", "grade", "a_withheld", "overall"}
	for _, c := range g.In.Catalog.Categories {
		head = append(head, c.Code)
	}
	for _, it := range g.In.Catalog.Items {
		head = append(head, it.Code)
	}
	head = append(head, "servers", "missing", "unknown", "discrepancies", "partial", "unknown_policy")
	cw.Write(head)
	disc := map[string]int{}
	for _, d := range g.Discrepancies {
		disc[g.keyOf(d)]++
	}
	for _, gr := range g.Table.Groups {
		row := []string{gr.Key, gr.Org, gr.Unit, gr.Grade, strconv.FormatBool(gr.AWithheld), scoring.FormatRate(gr.Overall)}
		for _, c := range g.In.Catalog.Categories {
			row = append(row, categoryRate(gr, c.Code))
		}
		for _, it := range g.In.Catalog.Items {
			row = append(row, itemRate(gr, it.Code))
		}
		row = append(row, strconv.Itoa(gr.Servers), strconv.Itoa(gr.Missing), strconv.Itoa(gr.Unknowns),
			strconv.Itoa(disc[gr.Key]), strconv.FormatBool(g.Table.Partial()), string(g.Table.Policy))
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func (g *GradeReport) keyOf(d Discrepancy) string {
	switch g.Table.By {
	case scoring.ByUnit:
		return d.Org + "/" + d.Unit
	case scoring.ByAll:
		return scoring.AllKey
	}
	return d.Org
}

// JSON shapes of the grade report (README, "Commands").
type jsonItem struct {
	Applicable int     `json:"applicable"`
	Pass       int     `json:"pass"`
	Rate       *string `json:"rate"`
	scoring.Tally
}

type jsonGroup struct {
	Key        string              `json:"key"`
	Org        string              `json:"org,omitempty"`
	Unit       string              `json:"unit,omitempty"`
	Grade      string              `json:"grade"`
	Overall    *string             `json:"overall"`
	AWithheld  bool                `json:"a_withheld"`
	Categories map[string]string   `json:"categories"`
	Items      map[string]jsonItem `json:"items"`
	Servers    int                 `json:"servers"`
	Missing    int                 `json:"missing"`
	Unknowns   int                 `json:"unknowns"`
	Exceptions int                 `json:"exceptions"`
}

type jsonGrade struct {
	Catalog       string              `json:"catalog"`
	By            scoring.GroupBy     `json:"by"`
	UnknownPolicy string              `json:"unknown_policy"`
	Partial       bool                `json:"partial"`
	Missing       int                 `json:"missing"`
	Unattributed  int                 `json:"unattributed"`
	Results       string              `json:"results"`
	Scan          results.ScanMeta    `json:"scan"`
	Groups        []jsonGroup         `json:"groups"`
	Discrepancies []Discrepancy       `json:"discrepancies"`
	Undeclared    map[string][]string `json:"undeclared_services"`
	Notes         []string            `json:"notes"`
}

func fmtPtr(s string) *string {
	if s == "-" {
		return nil
	}
	return &s
}

// WriteJSON writes the grade table as JSON: the groups with their grade,
// rates per category and item (README, "Commands"), and more fields.
func (g *GradeReport) WriteJSON(w io.Writer) error {
	out := jsonGrade{
		Catalog: g.In.Catalog.Name, By: g.Table.By, UnknownPolicy: string(g.Table.Policy),
		Partial: g.Table.Partial(), Missing: g.Table.Missing, Unattributed: g.Table.Unattributed,
		Results: g.In.Results.Name, Scan: g.In.Results.Meta,
		Groups: []jsonGroup{}, Discrepancies: g.Discrepancies, Undeclared: Undeclared(g.In.Results),
		Notes: g.footer(&labelsEN),
	}
	if out.Discrepancies == nil {
		out.Discrepancies = []Discrepancy{}
	}
	for _, gr := range g.Table.Groups {
		jg := jsonGroup{Key: gr.Key, Org: gr.Org, Unit: gr.Unit, Grade: gr.Grade, Overall: fmtPtr(scoring.FormatRate(gr.Overall)),
			AWithheld: gr.AWithheld, Categories: map[string]string{}, Items: map[string]jsonItem{},
			Servers: gr.Servers, Missing: gr.Missing, Unknowns: gr.Unknowns, Exceptions: gr.Exceptions}
		for _, c := range gr.Categories {
			if c.Rate != nil {
				jg.Categories[c.Category.Code] = scoring.FormatRate(c.Rate)
			}
		}
		for _, ir := range gr.Items {
			jg.Items[ir.Item.Code] = jsonItem{Applicable: ir.Tally.Applicable(), Pass: ir.Tally.Pass,
				Rate: fmtPtr(scoring.FormatRate(ir.Rate)), Tally: ir.Tally}
		}
		out.Groups = append(out.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
