package inventory

import (
	"strings"
	"unicode/utf8"
)

// The CSV dialect is the one spreadsheets write (RFC 4180): fields
// separated by commas, records by CRLF, LF or CR; a field in double quotes
// may hold commas, line breaks and doubled quotes (""). A quote inside an
// unquoted field is taken literally. Blank lines, lines starting with '#'
// and rows whose fields are all empty (a spreadsheet's formatted but empty
// row) are skipped. The first remaining line is the header; empty column
// names at its end (cells a spreadsheet once touched) are ignored with
// their columns.

// csvField is one field of a record, with where each character stands.
type csvField struct {
	text   string
	start  pos
	quoted bool
	runes  []pos // position of each rune of text, for quoted fields
}

func (f csvField) value() value {
	v := value{text: f.text, start: f.start}
	if f.quoted {
		runes, start := f.runes, f.start
		v.at = func(i int) pos {
			if i >= 0 && i < len(runes) {
				return runes[i]
			}
			return start
		}
	} else {
		start := f.start
		v.at = func(i int) pos { return pos{start.line, start.col + i} }
	}
	return v
}

// csvRecord is one record: its fields, where it starts and where its last
// field ends.
type csvRecord struct {
	fields     []csvField
	start, end pos
}

// csvScanner reads records from decoded text, counting lines and columns
// in runes.
type csvScanner struct {
	s         string
	i         int
	line, col int
}

func (sc *csvScanner) pos() pos  { return pos{sc.line, sc.col} }
func (sc *csvScanner) eof() bool { return sc.i >= len(sc.s) }

// eol reports whether the scanner stands at a line break or at the end.
func (sc *csvScanner) eol() bool {
	return sc.eof() || sc.s[sc.i] == '\n' || sc.s[sc.i] == '\r'
}

// next consumes one rune and returns it; CRLF and a lone CR are returned
// as a single '\n'.
func (sc *csvScanner) next() rune {
	r, size := utf8.DecodeRuneInString(sc.s[sc.i:])
	sc.i += size
	switch r {
	case '\r':
		if sc.i < len(sc.s) && sc.s[sc.i] == '\n' {
			sc.i++
		}
		r = '\n'
		fallthrough
	case '\n':
		sc.line, sc.col = sc.line+1, 1
	default:
		sc.col++
	}
	return r
}

// skipIgnored skips blank lines and comment lines.
func (sc *csvScanner) skipIgnored() {
	for !sc.eof() {
		j := sc.i
		for j < len(sc.s) && (sc.s[j] == ' ' || sc.s[j] == '\t') {
			j++
		}
		if j < len(sc.s) && sc.s[j] != '\n' && sc.s[j] != '\r' && sc.s[sc.i] != '#' {
			return
		}
		for !sc.eol() {
			sc.next()
		}
		if !sc.eof() {
			sc.next()
		}
	}
}

// record reads the next record. ok is false at the end of the text;
// fatal is true after a problem that stops the reading (an unclosed
// quote).
func (sc *csvScanner) record(ps *problems) (rec csvRecord, ok, fatal bool) {
	for {
		sc.skipIgnored()
		if sc.eof() {
			return rec, false, false
		}
		rec = csvRecord{start: sc.pos(), fields: make([]csvField, 0, len(Columns))}
		for {
			f, fatal := sc.field(ps)
			if fatal {
				return rec, false, true
			}
			rec.fields = append(rec.fields, f)
			if !sc.eof() && sc.s[sc.i] == ',' {
				sc.next()
				continue
			}
			break
		}
		rec.end = sc.pos()
		if !sc.eof() {
			sc.next() // the line break
		}
		if !allEmpty(rec.fields) {
			return rec, true, false
		}
	}
}

// allEmpty reports whether every field is unquoted and blank.
func allEmpty(fields []csvField) bool {
	for _, f := range fields {
		if f.quoted || strings.TrimSpace(f.text) != "" {
			return false
		}
	}
	return true
}

// field reads one field, stopping before the comma or line break that
// ends it.
func (sc *csvScanner) field(ps *problems) (f csvField, fatal bool) {
	f.start = sc.pos()
	if sc.eof() || sc.s[sc.i] != '"' {
		from := sc.i
		for !sc.eol() && sc.s[sc.i] != ',' {
			sc.next()
		}
		f.text = sc.s[from:sc.i]
		return f, false
	}
	f.quoted = true
	sc.next()
	var b strings.Builder
	for {
		if sc.eof() {
			ps.add(f.start.line, f.start.col, "csv", "quoted field never closed: the closing \" is missing")
			return f, true
		}
		p := sc.pos()
		r := sc.next()
		if r == '"' {
			if !sc.eof() && sc.s[sc.i] == '"' {
				sc.next()
			} else {
				break
			}
		}
		b.WriteRune(r)
		f.runes = append(f.runes, p)
	}
	if !sc.eol() && sc.s[sc.i] != ',' {
		p := sc.pos()
		ps.add(p.line, p.col, "csv", "text after the closing quote of a quoted field (write a quote inside a quoted field as \"\")")
		for !sc.eol() && sc.s[sc.i] != ',' {
			p := sc.pos()
			b.WriteRune(sc.next())
			f.runes = append(f.runes, p)
		}
	}
	f.text = b.String()
	return f, false
}

// parseCSV reads a CSV inventory and validates every row.
func parseCSV(v *validator, text string) {
	sc := &csvScanner{s: text, line: 1, col: 1}
	hdr, ok, fatal := sc.record(v.ps)
	if fatal {
		return
	}
	want := strings.Join(Columns, ",")
	if !ok {
		v.ps.add(1, 1, "header", "no header line: want %s", want)
		return
	}
	idx, ok := csvHeader(v, hdr)
	if !ok {
		return
	}
	width := len(hdr.fields)
	for {
		rec, ok, fatal := sc.record(v.ps)
		if !ok || fatal {
			return
		}
		if n := len(rec.fields); n != width {
			at := rec.end
			if n > width {
				at = rec.fields[width].start
			}
			v.add(at, "row", "%d columns, but the header has %d", n, width)
			continue
		}
		get := func(col string) value { return rec.fields[idx[col]].value() }
		v.check(rawServer{
			at:       rec.start,
			id:       get("id"),
			org:      get("org"),
			unit:     get("unit"),
			host:     get("host"),
			notes:    get("notes"),
			services: splitServices(get("services")),
			declared: splitDeclared(get("declared")),
		})
	}
}

// csvHeader checks the header and maps each column name to its index.
func csvHeader(v *validator, hdr csvRecord) (map[string]int, bool) {
	known := map[string]bool{}
	for _, c := range Columns {
		known[c] = true
	}
	n := len(hdr.fields)
	for n > 0 && !hdr.fields[n-1].quoted && strings.TrimSpace(hdr.fields[n-1].text) == "" {
		n--
	}
	names := make([]string, n)
	recognised := 0
	for i := range names {
		names[i] = strings.ToLower(strings.TrimSpace(hdr.fields[i].text))
		if known[names[i]] {
			recognised++
		}
	}
	want := strings.Join(Columns, ",")
	if recognised == 0 && len(hdr.fields) == 1 && strings.Contains(hdr.fields[0].text, "\t") {
		v.add(hdr.start, "header", "the header is separated by tabs: save the sheet as CSV (commas), with the header %s", want)
		return nil, false
	}
	if recognised == 0 {
		v.add(hdr.start, "header", "the first line is not the header: want %s", want)
		return nil, false
	}
	idx := map[string]int{}
	good := true
	for i, name := range names {
		f := hdr.fields[i]
		switch {
		case name == "":
			v.add(f.start, "header", "empty column name")
			good = false
		case !known[name]:
			v.add(f.start, "header", "unknown column %q (want %s)", strings.TrimSpace(f.text), want)
			good = false
		default:
			if first, dup := idx[name]; dup {
				v.add(f.start, "header", "column %q twice (first at column %d)", name, hdr.fields[first].start.col)
				good = false
				continue
			}
			idx[name] = i
		}
	}
	for _, c := range Columns {
		if _, ok := idx[c]; !ok {
			v.add(pos{hdr.start.line, 1}, "header", "missing column %q (want %s)", c, want)
			good = false
		}
	}
	return idx, good
}
