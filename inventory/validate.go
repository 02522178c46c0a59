package inventory

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kensa-inspect/kensa/probes"
	"github.com/kensa-inspect/kensa/scoring"
)

// Columns are the column names of an inventory in CSV, in the order of
// the README ("Inventory"); YAML uses the same keys.
var Columns = []string{"id", "org", "unit", "host", "services", "declared", "notes"}

// pos is a place in the decoded file.
type pos struct{ line, col int }

// value is the text of one field with a way to find where each of its
// characters stands in the file.
type value struct {
	text    string
	start   pos             // where the field starts (its opening quote, if quoted)
	at      func(i int) pos // where the i-th rune of text stands
	missing bool            // the key is absent (YAML)
	invalid bool            // already reported as not a string (YAML)
}

// runeAt returns the position of the i-th rune of the value, or the start
// of the field when the value cannot be mapped back to the file.
func (v value) runeAt(i int) pos {
	if v.at == nil {
		return v.start
	}
	return v.at(i)
}

// svcEntry is one service entry before validation: from a "name:port"
// token, or from a YAML mapping.
type svcEntry struct {
	name, port string
	hasPort    bool
	at         pos
	text       string // the token as written, for messages
}

// declEntry is one declared answer before validation.
type declEntry struct {
	code, outcome string
	hasOutcome    bool
	at            pos
	text          string
}

// rawServer is one row or mapping, its fields as written.
type rawServer struct {
	at                         pos
	id, org, unit, host, notes value
	services                   []svcEntry
	declared                   []declEntry
	// refused is set when the reader already found a problem in the
	// server; its fields are still checked so that every problem is
	// reported.
	refused bool
}

// validator checks rows one by one and remembers ids across rows.
type validator struct {
	ps      *problems
	cat     *scoring.Catalog
	ids     map[string]pos
	servers []Server
}

func newValidator(ps *problems, cat *scoring.Catalog) *validator {
	return &validator{ps: ps, cat: cat, ids: map[string]pos{}}
}

func (v *validator) add(at pos, field, format string, args ...any) {
	v.ps.add(at.line, at.col, field, format, args...)
}

// tokens splits the value of a field on white space (including the
// ideographic space) and returns each token with its position.
func tokens(val value) (toks []string, at []pos) {
	startRune, startByte := -1, 0
	ri := 0
	for bi, r := range val.text {
		if unicode.IsSpace(r) {
			if startRune >= 0 {
				toks = append(toks, val.text[startByte:bi])
				at = append(at, val.runeAt(startRune))
				startRune = -1
			}
		} else if startRune < 0 {
			startRune, startByte = ri, bi
		}
		ri++
	}
	if startRune >= 0 {
		toks = append(toks, val.text[startByte:])
		at = append(at, val.runeAt(startRune))
	}
	return toks, at
}

// splitServices turns a services field written as one string into
// entries.
func splitServices(val value) []svcEntry {
	toks, at := tokens(val)
	out := make([]svcEntry, len(toks))
	for i, t := range toks {
		e := svcEntry{at: at[i], text: t, name: t}
		if j := strings.LastIndexByte(t, ':'); j >= 0 {
			e.name, e.port, e.hasPort = t[:j], t[j+1:], true
		}
		out[i] = e
	}
	return out
}

// splitDeclared turns a declared field written as one string into
// entries.
func splitDeclared(val value) []declEntry {
	toks, at := tokens(val)
	out := make([]declEntry, len(toks))
	for i, t := range toks {
		e := declEntry{at: at[i], text: t, code: t}
		if j := strings.IndexByte(t, '='); j >= 0 {
			e.code, e.outcome, e.hasOutcome = t[:j], t[j+1:], true
		}
		out[i] = e
	}
	return out
}

// hasControl reports whether s holds a control character other than the
// ones allowed (allowNL allows newline and tab, as in notes).
func hasControl(s string, allowNL bool) bool {
	for _, r := range s {
		if allowNL && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// text checks a field that must not be empty and returns it trimmed.
func (v *validator) text(val value, field string, required bool) (string, bool) {
	s := strings.TrimSpace(val.text)
	switch {
	case val.invalid:
		return "", false
	case s == "" && required && val.missing:
		v.add(val.start, field, "missing %s", field)
		return "", false
	case s == "" && required:
		v.add(val.start, field, "empty %s", field)
		return "", false
	case hasControl(s, false):
		v.add(val.start, field, "control character in %s", field)
		return "", false
	}
	return s, true
}

// check validates one server and, when it is good, keeps it. Every
// problem is recorded; a server with any problem is not kept.
func (v *validator) check(r rawServer) {
	before := len(v.ps.list)
	s := Server{Line: r.at.line}

	if id, ok := v.text(r.id, "id", true); ok {
		if strings.IndexFunc(id, unicode.IsSpace) >= 0 {
			v.add(r.id.start, "id", "id %q holds white space", id)
		} else if first, dup := v.ids[id]; dup {
			v.add(r.id.start, "id", "duplicate id %q (first at line %d, column %d)", id, first.line, first.col)
		} else {
			v.ids[id] = r.id.start
		}
		s.ID = id
	}
	s.Org, _ = v.text(r.org, "org", true)
	s.Unit, _ = v.text(r.unit, "unit", true)
	if h, ok := v.text(r.host, "host", true); ok {
		norm, err := normalizeHost(h)
		if err != nil {
			v.add(r.host.start, "host", "%v", err)
		}
		s.Host = norm
	}
	s.Services = v.services(r.services)
	s.Declared = v.declared(r.declared)
	s.Notes = strings.TrimSpace(r.notes.text)
	if hasControl(s.Notes, true) {
		v.add(r.notes.start, "notes", "control character in notes")
	}
	if len(v.ps.list) == before && !r.refused {
		v.servers = append(v.servers, s)
	}
}

// services validates service entries: known name, port 1–65535, no entry
// twice, no port given to two services.
func (v *validator) services(entries []svcEntry) []Service {
	var out []Service
	type seen struct {
		name string
		at   pos
	}
	byPort := map[string]seen{} // transport/port -> first service
	for _, e := range entries {
		name := strings.ToLower(strings.TrimSpace(e.name))
		if !e.hasPort {
			v.add(e.at, "services", "%q: want name:port, such as smtp:25", e.text)
			continue
		}
		def, known := probes.Lookup(name)
		if !known {
			v.add(e.at, "services", "%q: unknown service %q (known: %s)", e.text, e.name, strings.Join(probes.Names(), ", "))
			continue
		}
		port, err := parsePort(strings.TrimSpace(e.port))
		if err != nil {
			v.add(e.at, "services", "%q: %v", e.text, err)
			continue
		}
		key := def.Transport + "/" + strconv.Itoa(port)
		if first, dup := byPort[key]; dup {
			if first.name == name {
				v.add(e.at, "services", "%q: duplicate service entry (first at line %d, column %d)", e.text, first.at.line, first.at.col)
			} else {
				v.add(e.at, "services", "%q: port %d already listed for %s (line %d, column %d)", e.text, port, first.name, first.at.line, first.at.col)
			}
			continue
		}
		byPort[key] = seen{name, e.at}
		out = append(out, Service{Name: name, Port: port})
	}
	return out
}

// parsePort reads a port number: decimal digits, 1 to 65535.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("port missing after ':'")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("bad port %q: want a number from 1 to 65535", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s outside 1–65535", s)
	}
	return n, nil
}

// declared validates declared answers: a code of the catalog, outcome
// pass or fail, each code once.
func (v *validator) declared(entries []declEntry) map[string]scoring.Outcome {
	if len(entries) == 0 {
		return nil
	}
	out := map[string]scoring.Outcome{}
	first := map[string]pos{}
	for _, e := range entries {
		code := strings.ToUpper(strings.TrimSpace(e.code))
		if !e.hasOutcome {
			v.add(e.at, "declared", "%q: want ITEM=pass or ITEM=fail, such as S2=pass", e.text)
			continue
		}
		bad := false
		if _, ok := v.cat.Item(code); !ok {
			v.add(e.at, "declared", "%q: unknown item code %q (known: %s)", e.text, e.code, strings.Join(v.cat.Codes(), " "))
			bad = true
		}
		o := scoring.Outcome(strings.ToLower(strings.TrimSpace(e.outcome)))
		if o != scoring.Pass && o != scoring.Fail {
			v.add(e.at, "declared", "%q: unknown outcome %q (want pass or fail)", e.text, e.outcome)
			bad = true
		}
		if bad {
			continue
		}
		if p, dup := first[code]; dup {
			v.add(e.at, "declared", "%q: item %s declared twice (first at line %d, column %d)", e.text, code, p.line, p.col)
			continue
		}
		first[code] = e.at
		out[code] = o
	}
	return out
}

// normalizeHost checks that h is an IP literal or a DNS host name and
// returns its canonical form: the IP address as netip prints it (an
// IPv4-mapped IPv6 address becomes IPv4), or the name in lower case
// without a trailing dot.
func normalizeHost(h string) (string, error) {
	lit := h
	if strings.HasPrefix(lit, "[") && strings.HasSuffix(lit, "]") {
		lit = lit[1 : len(lit)-1]
	}
	if a, err := netip.ParseAddr(lit); err == nil {
		switch {
		case a.Zone() != "":
			return "", fmt.Errorf("bad host %q: an IPv6 zone (%%%s) does not name a server", h, a.Zone())
		case a.IsUnspecified():
			return "", fmt.Errorf("bad host %q: the unspecified address names no server", h)
		case a.IsMulticast():
			return "", fmt.Errorf("bad host %q: a multicast address names no server", h)
		case a.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return "", fmt.Errorf("bad host %q: the broadcast address names no server", h)
		}
		return a.Unmap().String(), nil
	}
	if lit != h || strings.Contains(h, ":") {
		if _, err := netip.ParseAddrPort(h); err == nil {
			return "", fmt.Errorf("bad host %q: write the address alone; ports belong in services", h)
		}
		return "", fmt.Errorf("bad host %q: not a valid IPv6 address", h)
	}
	name := strings.TrimSuffix(h, ".")
	if err := checkDNSName(name); err != nil {
		return "", fmt.Errorf("bad host %q: neither an IP address nor a DNS name: %v", h, err)
	}
	return strings.ToLower(name), nil
}

// checkDNSName checks a host name against RFC 1123: labels of 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen, at
// most 253 characters in all, and a last label that is not all digits (so
// that 192.0.2.300 is not taken for a name).
func checkDNSName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case c == '-':
				if i == 0 || i == len(l)-1 {
					return fmt.Errorf("label %q starts or ends with a hyphen", l)
				}
			case c >= utf8.RuneSelf:
				return fmt.Errorf("non-ASCII character; write internationalised names in punycode (xn--…)")
			default:
				return fmt.Errorf("character %q not allowed", c)
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("all-numeric top-level label (a mistyped IPv4 address?)")
	}
	return nil
}
