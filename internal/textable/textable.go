// Package textable lays out tables of text for terminals, counting the
// display width of East Asian wide characters (Japanese organisation and
// item names) so that columns line up.
package textable

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Table is a grid of cells. Columns are left-aligned unless marked right.
type Table struct {
	rows  [][]string
	right map[int]bool
}

// New returns a table whose columns listed in right are right-aligned.
func New(right ...int) *Table {
	t := &Table{right: map[int]bool{}}
	for _, c := range right {
		t.right[c] = true
	}
	return t
}

// Row appends a row.
func (t *Table) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Width returns the display width of s.
func Width(s string) int { return runewidth.StringWidth(s) }

// Write writes the table, columns separated by two spaces, trailing
// spaces trimmed.
func (t *Table) Write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := Width(c); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-Width(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
