package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kensa-inspect/kensa/internal/itest"
)

// xcell is one cell as a reader gives it back: its kind ("s" text, "n"
// number, "b" boolean, "" empty) and its value. Numbers are compared as
// the float64 of their stored decimal.
type xcell struct {
	Kind, Value string
	// Format is a number's format code; Shown is the value as Excel
	// shows it (excelize only).
	Format, Shown string
}

func (c xcell) String() string { return c.Kind + ":" + c.Value }

// xsheet is one sheet as read back.
type xsheet struct {
	Name   string
	Rows   [][]xcell
	Freeze string             // top-left cell of the unfrozen pane
	Filter string             // autofilter range
	Widths map[string]float64 // column widths by letter
}

// readExcelize reads every sheet back with excelize.
func readExcelize(t *testing.T, path string) (sheets []xsheet, active string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.GetSheetList() {
		s := xsheet{Name: name, Widths: map[string]float64{}}
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			var out []xcell
			for c, raw := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				typ, _ := f.GetCellType(name, ref)
				if fm, _ := f.GetCellFormula(name, ref); fm != "" {
					t.Errorf("%s!%s holds the formula %q", name, ref, fm)
				}
				shown, _ := f.GetCellValue(name, ref)
				x := xcell{Value: raw, Shown: shown}
				switch typ {
				case excelize.CellTypeSharedString, excelize.CellTypeInlineString:
					x.Kind = "s"
				case excelize.CellTypeBool:
					x.Kind = "b"
					x.Value = map[string]string{"1": "TRUE", "0": "FALSE"}[raw]
				case excelize.CellTypeNumber, excelize.CellTypeUnset:
					if raw != "" {
						x.Kind = "n"
					}
				default:
					t.Errorf("%s!%s: cell type %v", name, ref, typ)
				}
				if x.Kind == "n" {
					if st, err := f.GetCellStyle(name, ref); err == nil {
						if style, err := f.GetStyle(st); err == nil && style.CustomNumFmt != nil {
							x.Format = *style.CustomNumFmt
						}
					}
				}
				out = append(out, x)
			}
			s.Rows = append(s.Rows, out)
		}
		// excelize leaves out a row's empty cells at its end; openpyxl
		// gives every cell up to the last column.
		for r := range s.Rows {
			for len(s.Rows[r]) < len(rows[0]) {
				s.Rows[r] = append(s.Rows[r], xcell{})
			}
		}
		if p, err := f.GetPanes(name); err == nil && p.Freeze {
			s.Freeze = p.TopLeftCell
		}
		if len(rows) > 0 {
			for c := 1; c <= len(rows[0]); c++ {
				col, _ := excelize.ColumnNumberToName(c)
				s.Widths[col], _ = f.GetColWidth(name, col)
			}
		}
		sheets = append(sheets, s)
	}
	return sheets, f.GetSheetName(f.GetActiveSheetIndex())
}

// openpyxlReader dumps a workbook as JSON with openpyxl.
const openpyxlReader = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"Active": wb.active.title, "Sheets": []}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        r = []
        for c in row:
            v = c.value
            if v is None:
                r.append({"Kind": "", "Value": ""})
            elif isinstance(v, bool):
                r.append({"Kind": "b", "Value": "TRUE" if v else "FALSE"})
            elif isinstance(v, (int, float)):
                r.append({"Kind": "n", "Value": repr(v), "Format": c.number_format})
            elif c.data_type == "s":
                r.append({"Kind": "s", "Value": v})
            else:
                r.append({"Kind": "?" + c.data_type, "Value": str(v)})
        rows.append(r)
    widths = {}
    for d in ws.column_dimensions.values():
        for i in range(d.min, d.max + 1):
            widths[openpyxl.utils.get_column_letter(i)] = d.width
    out["Sheets"].append({"Name": ws.title, "Rows": rows, "Freeze": ws.freeze_panes or "",
        "Filter": (ws.auto_filter.ref or "").replace("$", ""), "Widths": widths})
json.dump(out, sys.stdout, ensure_ascii=False)
`

// readOpenpyxl reads every sheet back with Debian's python3-openpyxl, a
// reader independent of the writer.
func readOpenpyxl(t *testing.T, path string) (sheets []xsheet, active string) {
	t.Helper()
	py := "/usr/bin/python3"
	err := exec.Command(py, "-c", "import openpyxl").Run()
	if err != nil {
		err = fmt.Errorf("%s cannot import openpyxl: %v (Debian: apt-get install python3-openpyxl)", py, err)
	}
	itest.Need(t, err)
	itest.Ran(t, "openpyxl")
	out, err := exec.Command(py, "-c", openpyxlReader, path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("openpyxl: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var book struct {
		Active string
		Sheets []xsheet
	}
	if err := json.Unmarshal(out, &book); err != nil {
		t.Fatalf("openpyxl output: %v", err)
	}
	return book.Sheets, book.Active
}

// workbookStrings returns every cell of a workbook as excelize shows it.
func workbookStrings(t *testing.T, path string) []string {
	t.Helper()
	sheets, _ := readExcelize(t, path)
	var out []string
	for _, s := range sheets {
		for _, row := range s.Rows {
			for _, c := range row {
				out = append(out, c.Value)
			}
		}
	}
	return out
}

// sameCell compares a cell read back with the one expected: same kind
// and text, or the same number.
func sameCell(got, want xcell) bool {
	if got.Kind != want.Kind {
		return false
	}
	if got.Kind == "n" {
		a, err1 := strconv.ParseFloat(got.Value, 64)
		b, err2 := strconv.ParseFloat(want.Value, 64)
		return err1 == nil && err2 == nil && a == b
	}
	return got.Value == want.Value
}

// strCell is a text cell; empty text is an empty cell.
func strCell(v string) xcell {
	if v == "" {
		return xcell{}
	}
	return xcell{Kind: "s", Value: v}
}
func numCell(v int) xcell   { return xcell{Kind: "n", Value: strconv.Itoa(v)} }
func boolCell(v bool) xcell { return xcell{Kind: "b", Value: strings.ToUpper(strconv.FormatBool(v))} }

// rateCell is a rate as JSON shows it ("99.9"; "" or nil: nothing
// applied, written "-"): a number with one decimal shown as JSON shows
// it.
func rateCell(v *string) xcell {
	if v == nil || *v == "" {
		return strCell("-")
	}
	return xcell{Kind: "n", Value: *v, Format: "0.0", Shown: *v}
}

func strCells(vs ...string) []xcell {
	var out []xcell
	for _, v := range vs {
		out = append(out, strCell(v))
	}
	return out
}
