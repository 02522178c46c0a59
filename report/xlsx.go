package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/kensa-inspect/kensa/internal/textable"
	"github.com/kensa-inspect/kensa/scoring"
)

// Sheet names one sheet of the workbook, to choose the one it opens on.
type Sheet int

// The sheets of the workbook, in their order.
const (
	SheetGrades Sheet = iota
	SheetItemRates
	SheetQuestionnaire
	SheetFindings
	SheetScan
)

// cellKind is how a cell is written: text, whole number, rate (a shown
// value of the display rule, one decimal) or boolean.
type cellKind int

const (
	cellText cellKind = iota
	cellInt
	cellRate
	cellBool
)

// cell is one value of a sheet.
type cell struct {
	kind cellKind
	text string // cellText; cellRate holds the shown rate ("99.9") or "-"
	n    int
	b    bool
}

func textCell(s string) cell { return cell{kind: cellText, text: s} }
func intCell(n int) cell     { return cell{kind: cellInt, n: n} }
func rateCell(s string) cell { return cell{kind: cellRate, text: s} }
func boolCell(b bool) cell   { return cell{kind: cellBool, b: b} }

// sheet is a table: a header row and data rows.
type sheet struct {
	name       string
	head       []string
	rows       [][]cell
	autofilter bool
}

// WriteXLSX writes an Excel workbook: grades, item rates, the
// questionnaire, the findings per server and the scan's metadata, with
// headings in the input's language. Counts are numbers; rates are the
// values the display rule shows (an exact 99.96 % is 99.9 beside a B,
// never 100.0), written as numbers with one decimal; text that servers
// wrote is always a string, never a formula. Header rows are frozen,
// columns as wide as their East Asian text, and the findings sheet has
// an autofilter. The workbook opens on the sheet first.
func WriteXLSX(w io.Writer, in Input, opts Options, first Sheet) error {
	v, err := newView(in, opts)
	if err != nil {
		return err
	}
	sheets := v.sheets()
	f := excelize.NewFile()
	defer f.Close()
	head, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEF1F5"}},
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
		Border:    []excelize.Border{{Type: "bottom", Color: "888888", Style: 1}},
	})
	if err != nil {
		return err
	}
	rateFmt := "0.0"
	rate, err := f.NewStyle(&excelize.Style{CustomNumFmt: &rateFmt})
	if err != nil {
		return err
	}
	for i, s := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", s.name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.name); err != nil {
			return err
		}
		if err := writeSheet(f, s, head, rate); err != nil {
			return fmt.Errorf("xlsx sheet %s: %w", s.name, err)
		}
	}
	if int(first) >= 0 && int(first) < len(sheets) {
		f.SetActiveSheet(int(first))
	}
	return f.Write(w)
}

// writeSheet writes one table with its header style, frozen header row,
// column widths and autofilter.
func writeSheet(f *excelize.File, s sheet, headStyle, rateStyle int) error {
	widths := make([]int, len(s.head))
	for c, h := range s.head {
		name, _ := excelize.CoordinatesToCellName(c+1, 1)
		if err := f.SetCellStr(s.name, name, h); err != nil {
			return err
		}
		// Headings wrap: a long one widens its column only so far.
		widths[c] = min(textable.Width(h), maxHeadingWidth)
	}
	last, _ := excelize.CoordinatesToCellName(len(s.head), 1)
	if err := f.SetCellStyle(s.name, "A1", last, headStyle); err != nil {
		return err
	}
	for r, row := range s.rows {
		for c, v := range row {
			name, _ := excelize.CoordinatesToCellName(c+1, r+2)
			var err error
			shown := v.text
			switch v.kind {
			case cellInt:
				err = f.SetCellInt(s.name, name, int64(v.n))
				shown = strconv.Itoa(v.n)
			case cellBool:
				err = f.SetCellBool(s.name, name, v.b)
				shown = strings.ToUpper(strconv.FormatBool(v.b))
			case cellRate:
				if x, perr := strconv.ParseFloat(v.text, 64); perr == nil {
					if err = f.SetCellFloat(s.name, name, x, 1, 64); err == nil {
						err = f.SetCellStyle(s.name, name, name, rateStyle)
					}
				} else {
					err = f.SetCellStr(s.name, name, v.text)
				}
			default:
				// Empty text is an empty cell.
				if shown = xmlSafe(v.text); shown != "" {
					err = f.SetCellStr(s.name, name, shown)
				}
			}
			if err != nil {
				return err
			}
			if c < len(widths) {
				widths[c] = max(widths[c], textable.Width(shown))
			}
		}
	}
	for c, wd := range widths {
		col, _ := excelize.ColumnNumberToName(c + 1)
		if err := f.SetColWidth(s.name, col, col, columnWidth(wd)); err != nil {
			return err
		}
	}
	if err := f.SetPanes(s.name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	if s.autofilter {
		end, _ := excelize.CoordinatesToCellName(len(s.head), max(len(s.rows)+1, 2))
		if err := f.AutoFilter(s.name, "A1:"+end, nil); err != nil {
			return err
		}
	}
	return nil
}

// maxHeadingWidth is the display width a heading may give its column;
// longer headings wrap.
const maxHeadingWidth = 24

// columnWidth turns a display width in terminal columns (a Japanese
// character counts two, as in Excel's character units) into an Excel
// column width: a margin for the autofilter button, and a cap so that a
// long reason wraps the sheet less than it stretches it.
func columnWidth(display int) float64 {
	return float64(min(max(display+3, 6), 90))
}

// xmlSafe replaces the characters XML 1.0 cannot hold (control
// characters other than tab, newline and carriage return, invalid
// UTF-8) with a visible \xNN, as the probes write them in evidence.
func xmlSafe(s string) string {
	if !strings.ContainsFunc(s, xmlUnsafe) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case xmlUnsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// xmlUnsafe reports whether XML 1.0 cannot hold r.
func xmlUnsafe(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF
}

// sheets lays out the workbook's tables.
func (v *view) sheets() []sheet {
	l, cat, lang := v.l, v.in.Catalog, v.in.Lang
	// Grades.
	grades := sheet{name: l.GradesSheet, head: []string{l.group(v.table.By), l.Grade, l.Overall}}
	for _, c := range cat.Categories {
		grades.head = append(grades.head, c.Code+" "+c.Name(lang))
	}
	grades.head = append(grades.head, l.Servers, l.Missing, l.Unknown, l.QExceptions)
	for _, gr := range v.table.Groups {
		row := []cell{textCell(l.groupLabel(gr)), textCell(gradeCell(gr)), rateCell(scoring.FormatRate(gr.Overall))}
		for _, c := range cat.Categories {
			row = append(row, rateCell(categoryRate(gr, c.Code)))
		}
		row = append(row, intCell(gr.Servers), intCell(gr.Missing), intCell(gr.Unknowns), intCell(gr.Exceptions))
		grades.rows = append(grades.rows, row)
	}
	// Item rates, graded items first.
	g := &GradeReport{In: v.in, Table: v.table}
	items := append(g.graded(), g.supplementary()...)
	rates := sheet{name: l.ItemRatesSheet, head: []string{l.group(v.table.By)}}
	for _, it := range items {
		rates.head = append(rates.head, it.Code+" "+it.Name(lang))
	}
	for _, gr := range v.table.Groups {
		row := []cell{textCell(l.groupLabel(gr))}
		for _, it := range items {
			row = append(row, rateCell(itemRate(gr, it.Code)))
		}
		rates.rows = append(rates.rows, row)
	}
	// The questionnaire, per organisation and item.
	q := sheet{name: l.QuestionnaireSheet, head: questionnaireColumns(l)}
	for _, r := range Questionnaire(v.in) {
		rate := "-"
		if r.Rate != nil {
			rate = *r.Rate
		}
		q.rows = append(q.rows, []cell{textCell(r.Org), textCell(r.Category), textCell(r.Item), textCell(r.ItemName), boolCell(r.Graded),
			intCell(r.Applicable), intCell(r.Implemented), rateCell(rate), intCell(r.Verified), intCell(r.Declared),
			intCell(r.Fail), intCell(r.Unknown), intCell(r.NA), intCell(r.Discrepancies), intCell(r.Exceptions)})
	}
	// Findings: one row per server and item that failed or stayed
	// unknown.
	fs := sheet{name: l.FindingsSheet, autofilter: true,
		head: []string{l.Org, l.Unit, l.Server, l.Host, l.Item, l.ItemName, l.Outcome, l.Source, l.Reason, l.FirstEvidence}}
	for _, f := range v.findings() {
		fs.rows = append(fs.rows, []cell{textCell(f.Org), textCell(f.Unit), textCell(f.ID), textCell(f.Host), textCell(f.Item),
			textCell(f.ItemName), textCell(f.Outcome), textCell(f.Source), textCell(f.Reason), textCell(f.Evidence)})
	}
	// The scan.
	scan := sheet{name: l.ScanSheet, head: []string{l.Field, l.Value}}
	for _, m := range v.meta {
		if m.Label == l.Partial && v.partial != "" {
			m.Value = v.partial
		}
		scan.rows = append(scan.rows, []cell{textCell(m.Label), textCell(m.Value)})
	}
	return []sheet{grades, rates, q, fs, scan}
}
