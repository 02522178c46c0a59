// Package htmlcheck reads kensa's HTML reports the way the tests need:
// whether a page is inert (no script, nothing loaded, nothing linked, a
// Content-Security-Policy that forbids all of it), its text, and the
// elements that carry the report's data. It serves the tests of report
// and cmd/kensa, which check the same page as written and as a browser
// rendered it.
package htmlcheck

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

// CSP is the Content-Security-Policy every report carries.
const CSP = "default-src 'none'; style-src 'unsafe-inline'"

// Parse parses a page.
func Parse(page []byte) (*html.Node, error) { return html.Parse(bytes.NewReader(page)) }

// Walk calls f on every element under n, n included.
func Walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		Walk(c, f)
	}
}

// Text returns the text content of n.
func Text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// Attr returns the value of n's attribute key ("" when absent).
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// HasClass reports whether n has the class c.
func HasClass(n *html.Node, c string) bool {
	for _, f := range strings.Fields(Attr(n, "class")) {
		if f == c {
			return true
		}
	}
	return false
}

// Cells returns the text of each element child of n (the cells of a
// table row).
func Cells(n *html.Node) []string {
	var out []string
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			out = append(out, strings.TrimSpace(Text(c)))
		}
	}
	return out
}

// svgDrawing are the SVG elements that only draw.
var svgDrawing = map[string]bool{"svg": true, "g": true, "line": true, "polyline": true, "polygon": true, "circle": true,
	"rect": true, "path": true, "text": true, "tspan": true, "title": true, "desc": true}

// Inert lists what makes a page able to run code, load a resource or
// send the reader elsewhere: script and embedding elements, images,
// event-handler attributes, links out of the page, url() in styles, SVG
// other than drawing elements (no foreignObject, use, image, a, animation
// or script), and
// a missing or different Content-Security-Policy. An empty list means
// the page is inert.
func Inert(doc *html.Node) []string {
	var problems []string
	csp := ""
	Walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script", "img", "iframe", "object", "embed", "link", "base", "form", "audio", "video", "source", "frame", "frameset", "picture", "input", "button":
			problems = append(problems, fmt.Sprintf("element <%s>", n.Data))
		}
		// Inline SVG may draw (the report's trends), never embed, link,
		// animate or run anything.
		if n.Type == html.ElementNode && (n.Namespace == "svg" || n.Data == "svg") && !svgDrawing[n.Data] {
			problems = append(problems, fmt.Sprintf("SVG element <%s>", n.Data))
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(key, "on"):
				problems = append(problems, fmt.Sprintf("<%s %s=%q>: an event handler", n.Data, a.Key, a.Val))
			case key == "src" || key == "srcset" || key == "action" || key == "formaction" || key == "background" || key == "poster" || key == "data":
				problems = append(problems, fmt.Sprintf("<%s %s=%q>: loads a resource", n.Data, a.Key, a.Val))
			case key == "href" && !strings.HasPrefix(a.Val, "#"):
				problems = append(problems, fmt.Sprintf("<%s href=%q>: a link out of the page", n.Data, a.Val))
			case key == "style" && strings.Contains(strings.ToLower(a.Val), "url("):
				problems = append(problems, fmt.Sprintf("<%s style=%q>: loads a resource", n.Data, a.Val))
			}
		}
		if n.Data == "style" {
			css := strings.ToLower(Text(n))
			for _, s := range []string{"url(", "@import", "@font-face"} {
				if strings.Contains(css, s) {
					problems = append(problems, "the style sheet has "+s)
				}
			}
		}
		if n.Data == "meta" && strings.EqualFold(Attr(n, "http-equiv"), "Content-Security-Policy") {
			csp = Attr(n, "content")
		}
	})
	if csp != CSP {
		problems = append(problems, fmt.Sprintf("Content-Security-Policy %q, want %q", csp, CSP))
	}
	return problems
}

// GradeRows returns the grade table's rows by group key: the cells of
// each body row (group, grade, overall, categories…, servers, unknown).
func GradeRows(doc *html.Node) map[string][]string {
	rows := map[string][]string{}
	Walk(doc, func(n *html.Node) {
		if n.Data != "table" || Attr(n, "id") != "grade-table" {
			return
		}
		Walk(n, func(tr *html.Node) {
			if tr.Data == "tr" && Attr(tr, "data-key") != "" {
				rows[Attr(tr, "data-key")] = Cells(tr)
			}
		})
	})
	return rows
}

// ServersWith returns the ids of the servers listed with at least one
// item of the given outcome ("fail" or "unknown"), in page order, each
// once; shown reports whether each server's id is in its visible
// summary.
func ServersWith(doc *html.Node, outcome string) (ids []string, shown map[string]bool) {
	shown = map[string]bool{}
	Walk(doc, func(n *html.Node) {
		if n.Data != "details" || !HasClass(n, "server") {
			return
		}
		id := Attr(n, "data-server")
		has := false
		Walk(n, func(c *html.Node) {
			switch {
			case c.Data == "tr" && HasClass(c, "o-"+outcome):
				has = true
			case c.Data == "summary" && strings.Contains(Text(c), id):
				shown[id] = true
			}
		})
		if has {
			ids = append(ids, id)
		}
	})
	return ids, shown
}
