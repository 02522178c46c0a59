package inventory

import (
	"fmt"
	"sort"
	"strings"
)

// MaxProblems is the number of problems an Error lists; the others are
// only counted (Error.More).
const MaxProblems = 50

// Problem is one thing wrong with an inventory, at a place in the file.
type Problem struct {
	File string `json:"file"`
	// Line and Column are 1-based. Column counts characters (runes) of
	// the decoded line, so a Japanese character counts one. It points at
	// the start of the offending field, or of the offending token inside
	// services or declared. Column is 0 when only the line is known
	// (YAML syntax errors).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Field names the column or key at fault (id, org, unit, host,
	// services, declared, notes), or the kind of problem: header, row,
	// csv, yaml, encoding, file.
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

// Error returns "file:line:col: field: msg".
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is the error Load and Parse return when an inventory is refused.
// A refused inventory is refused whole: no server of it is returned.
type Error struct {
	File string `json:"file"`
	// Problems holds up to MaxProblems problems in file order.
	Problems []Problem `json:"problems"`
	// More counts the problems found beyond MaxProblems.
	More int `json:"more,omitempty"`
}

// Error lists every problem, one a line, after a line saying how many
// there are.
func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Problems) + e.More
	if n == 1 {
		fmt.Fprintf(&b, "%s: inventory refused: 1 problem", e.File)
	} else {
		fmt.Fprintf(&b, "%s: inventory refused: %d problems", e.File, n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n")
		b.WriteString(p.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n… and %d more", e.More)
	}
	return b.String()
}

// problems collects the problems of one file.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) add(line, col int, field, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as an *Error, or nil when there are
// none.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := append([]Problem(nil), ps.list...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Line != list[j].Line {
			return list[i].Line < list[j].Line
		}
		return list[i].Column < list[j].Column
	})
	e := &Error{File: ps.file, Problems: list}
	if len(list) > MaxProblems {
		e.Problems = list[:MaxProblems:MaxProblems]
		e.More = len(list) - MaxProblems
	}
	return e
}
