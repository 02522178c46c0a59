package inventory

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A YAML inventory is a list of servers, at the top level or under the
// key servers:
//
//	servers:
//	  - id: mx-soumu-01
//	    org: 総務省
//	    unit: 本省
//	    host: 192.0.2.10
//	    services: smtp:25 imap:143      # or [smtp:25, imap:143]
//	    declared: S2=pass M3=fail       # or {S2: pass, M3: fail}
//	    notes: 本館
//
// A services list may also hold mappings {name: smtp, port: 25} or
// {smtp: 25}. Aliases (*name) are refused.

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads a YAML inventory and validates every server.
func parseYAML(v *validator, text string) {
	var doc yaml.Node
	if err := yamlDecode(text, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		v.ps.add(line, 0, "yaml", "%s", msg)
		return
	}
	y := &yamlReader{v: v, lines: strings.Split(text, "\n")}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		v.ps.add(1, 1, "yaml", "no servers: want a list of servers, or a mapping with the key servers")
		return
	}
	root := doc.Content[0]
	list := root
	if root.Kind == yaml.MappingNode {
		list = nil
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, val := root.Content[i], root.Content[i+1]
			if k.Kind == yaml.ScalarNode && strings.ToLower(k.Value) == "servers" && list == nil {
				list = val
			} else {
				y.add(k, "yaml", "unknown top-level key %q (want servers)", k.Value)
			}
		}
		if list == nil {
			y.add(root, "yaml", "no key servers")
			return
		}
	}
	if y.alias(list) {
		return
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return // no servers; reported by the caller
	}
	if list.Kind != yaml.SequenceNode {
		y.add(list, "yaml", "want a list of servers")
		return
	}
	for _, n := range list.Content {
		y.server(n)
	}
}

// yamlDecode decodes the one document of text into doc, refusing a second
// document and turning a panic of the YAML parser into an error.
func yamlDecode(text string, doc *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return fmt.Errorf("yaml: line %d: a second YAML document; an inventory is one document", more.Line)
	} else if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// yamlReader turns YAML nodes into raw servers.
type yamlReader struct {
	v     *validator
	lines []string
}

func (y *yamlReader) add(n *yaml.Node, field, format string, args ...any) {
	y.v.add(pos{n.Line, n.Column}, field, format, args...)
}

// alias reports (and refuses) an alias node.
func (y *yamlReader) alias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		y.add(n, "yaml", "aliases (*%s) are not supported in an inventory", n.Value)
		return true
	}
	return false
}

// server reads one server mapping.
func (y *yamlReader) server(n *yaml.Node) {
	if y.alias(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		y.add(n, "yaml", "want a mapping with the keys %s", strings.Join(Columns, ", "))
		return
	}
	r := rawServer{at: pos{n.Line, n.Column}}
	seen := map[string]*yaml.Node{}
	bad := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			y.add(k, "yaml", "want a key such as id or host")
			bad = true
			continue
		}
		key := strings.ToLower(k.Value)
		if first, dup := seen[key]; dup {
			y.add(k, key, "key %s twice (first at line %d, column %d)", key, first.Line, first.Column)
			bad = true
			continue
		}
		seen[key] = k
		if y.alias(val) {
			bad = true
			continue
		}
		switch key {
		case "id":
			bad = !y.scalar(val, key, &r.id) || bad
		case "org":
			bad = !y.scalar(val, key, &r.org) || bad
		case "unit":
			bad = !y.scalar(val, key, &r.unit) || bad
		case "host":
			bad = !y.scalar(val, key, &r.host) || bad
		case "notes":
			bad = !y.scalar(val, key, &r.notes) || bad
		case "services":
			bad = !y.services(val, &r) || bad
		case "declared":
			bad = !y.declared(val, &r) || bad
		default:
			y.add(k, "yaml", "unknown key %q (want %s)", k.Value, strings.Join(Columns, ", "))
			bad = true
		}
	}
	// A missing key is an empty field, reported where the mapping starts.
	for _, f := range []*value{&r.id, &r.org, &r.unit, &r.host, &r.notes} {
		if f.start == (pos{}) {
			f.start, f.missing = r.at, true
		}
	}
	r.refused = bad
	y.v.check(r)
}

// scalar reads a scalar node into a value; null is the empty string.
func (y *yamlReader) scalar(n *yaml.Node, field string, out *value) bool {
	*out = value{start: pos{n.Line, n.Column}}
	if n.Kind != yaml.ScalarNode {
		y.add(n, field, "want a string")
		out.invalid = true
		return false
	}
	if n.Tag == "!!null" {
		return true
	}
	*out = y.value(n)
	return true
}

// value returns the scalar's text with a map from its runes to the file
// when the scalar is written on one line as it reads (plain, or quoted
// without escapes); otherwise every rune maps to the scalar's start.
func (y *yamlReader) value(n *yaml.Node) value {
	v := value{text: n.Value, start: pos{n.Line, n.Column}}
	if n.Line < 1 || n.Line > len(y.lines) || n.Column < 1 {
		return v
	}
	src := []rune(strings.TrimSuffix(y.lines[n.Line-1], "\r"))
	col := n.Column
	switch n.Style &^ yaml.TaggedStyle {
	case 0:
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		col++
	default:
		return v
	}
	want := []rune(n.Value)
	if col-1+len(want) > len(src) || string(src[col-1:col-1+len(want)]) != n.Value {
		return v
	}
	line := n.Line
	v.at = func(i int) pos { return pos{line, col + i} }
	return v
}

// services reads services: a string of name:port tokens or a list of
// "name:port", {name: N, port: P} or {N: P} items.
func (y *yamlReader) services(n *yaml.Node, r *rawServer) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			r.services = append(r.services, splitServices(y.value(n))...)
		}
		return true
	case yaml.SequenceNode:
	default:
		y.add(n, "services", "want a string such as \"smtp:25 imap:143\" or a list of name:port")
		return false
	}
	good := true
	for _, item := range n.Content {
		if y.alias(item) {
			good = false
			continue
		}
		switch item.Kind {
		case yaml.ScalarNode:
			es := splitServices(y.value(item))
			if len(es) != 1 {
				y.add(item, "services", "want one name:port per list item, got %q", item.Value)
				good = false
				continue
			}
			r.services = append(r.services, es[0])
		case yaml.MappingNode:
			e, ok := y.serviceMapping(item)
			if !ok {
				good = false
				continue
			}
			r.services = append(r.services, e)
		default:
			y.add(item, "services", "want name:port")
			good = false
		}
	}
	return good
}

// serviceMapping reads {name: smtp, port: 25} or {smtp: 25}.
func (y *yamlReader) serviceMapping(n *yaml.Node) (svcEntry, bool) {
	e := svcEntry{at: pos{n.Line, n.Column}, hasPort: true}
	c := n.Content
	for _, x := range c {
		if x.Kind != yaml.ScalarNode {
			y.add(x, "services", "want name:port")
			return e, false
		}
	}
	switch {
	case len(c) == 2 && strings.ToLower(c[0].Value) != "name" && strings.ToLower(c[0].Value) != "port":
		e.name, e.port = c[0].Value, c[1].Value
	case len(c) == 4:
		for i := 0; i < 4; i += 2 {
			switch strings.ToLower(c[i].Value) {
			case "name":
				e.name = c[i+1].Value
			case "port":
				e.port = c[i+1].Value
			}
		}
		if e.name == "" || e.port == "" {
			y.add(n, "services", "want {name: NAME, port: PORT}")
			return e, false
		}
	default:
		y.add(n, "services", "want {name: NAME, port: PORT} or name:port")
		return e, false
	}
	e.text = e.name + ":" + e.port
	return e, true
}

// declared reads declared: a string of ITEM=outcome tokens or a mapping
// ITEM: outcome.
func (y *yamlReader) declared(n *yaml.Node, r *rawServer) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			r.declared = append(r.declared, splitDeclared(y.value(n))...)
		}
		return true
	case yaml.MappingNode:
	default:
		y.add(n, "declared", "want a string such as \"S2=pass M3=fail\" or a mapping such as {S2: pass}")
		return false
	}
	good := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
			y.add(k, "declared", "want ITEM: pass or ITEM: fail")
			good = false
			continue
		}
		r.declared = append(r.declared, declEntry{
			code: k.Value, outcome: val.Value, hasOutcome: true,
			at: pos{k.Line, k.Column}, text: k.Value + ": " + val.Value,
		})
	}
	return good
}
