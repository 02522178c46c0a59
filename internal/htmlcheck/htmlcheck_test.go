package htmlcheck

import (
	"strings"
	"testing"
)

// TestInertCatchesMarkup: the checker itself finds a script, an image
// with an event handler, a link out and a missing policy.
func TestInertCatchesMarkup(t *testing.T) {
	page := `<html><head></head><body><p>220 <script>alert(1)</script>"><img src=x onerror=alert(1)><a href="http://x.example/">x</a></body></html>`
	doc, err := Parse([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Inert(doc), "\n")
	for _, want := range []string{"element <script>", "element <img>", "onerror", "loads a resource", "a link out of the page", "Content-Security-Policy"} {
		if !strings.Contains(got, want) {
			t.Errorf("not found: %s\n%s", want, got)
		}
	}
	svg := `<html><body><svg><foreignObject><p>x</p></foreignObject><use href="#a"/><animate attributeName="x"/></svg></body></html>`
	doc, _ = Parse([]byte(svg))
	got = strings.Join(Inert(doc), "\n")
	for _, want := range []string{"SVG element <foreignobject>", "SVG element <use>", "SVG element <animate>"} {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
			t.Errorf("not found: %s\n%s", want, got)
		}
	}
	safe := `<html><head><meta http-equiv="Content-Security-Policy" content="` + CSP + `"><style>p{color:red}</style></head><body><p>220 &lt;script&gt;alert(1)&lt;/script&gt;<a href="#org-1">x</a></p>` +
		`<svg viewBox="0 0 10 10"><title>t</title><line x1="0" x2="1" y1="0" y2="1"/><polyline points="1,1 2,2"/><circle cx="1" cy="1" r="1"><title>d</title></circle><text x="1" y="1">A</text></svg></body></html>`
	if doc, _ = Parse([]byte(safe)); len(Inert(doc)) != 0 {
		t.Errorf("an inert page: %q", Inert(doc))
	}
}
