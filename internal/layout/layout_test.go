// Package layout holds one test: every import of every kensa package,
// test files included, follows the directions docs/ARCHITECTURE.md
// gives. Probes observe, rules judge, scoring grades, report shows; the
// observation types sit apart from the transport; the simulated fleet is
// a test peer, not an API.
package layout

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/kensa-inspect/kensa/"

// rule says what the packages matching Pkg may import of kensa's own
// packages: Allow for their own code, Tests for their tests on top.
// Patterns end in "/..." for a package and everything below it.
type rule struct {
	Pkg          string
	Allow, Tests []string
}

var (
	testPeers = []string{"internal/fleet/...", "internal/daemon", "internal/itest"}
	rules     = []rule{
		{Pkg: "observe"},
		{Pkg: "scoring"},
		{Pkg: "advisory/version"},
		{Pkg: "advisory", Allow: []string{"advisory/version"}},
		{Pkg: "internal/itest"}, {Pkg: "internal/daemon"}, {Pkg: "internal/textable"}, {Pkg: "internal/htmlcheck"},
		{Pkg: "internal/pop3client", Tests: []string{"internal/fleet/pop3d"}},
		{Pkg: "probes/wire", Allow: []string{"observe"}},
		{Pkg: "probes/internal/...", Allow: []string{"observe", "probes/wire"}},
		// Each protocol's probe: observations, the transport, its helpers.
		{Pkg: "probes/*", Allow: []string{"observe", "probes/wire", "probes/internal/...", "internal/pop3client", "probes/*"},
			Tests: append([]string{"probes/internal/probetest"}, testPeers...)},
		{Pkg: "probes", Allow: []string{"observe", "probes/..."}, Tests: []string{"scoring"}},
		{Pkg: "fingerprint", Allow: []string{"observe"}},
		// The rules judge observations; their tests may make them with
		// real probes against real peers.
		{Pkg: "rules", Allow: []string{"observe", "scoring", "advisory/...", "fingerprint"},
			Tests: append([]string{"probes/...", "rules"}, testPeers...)},
		{Pkg: "results", Allow: []string{"scoring"}},
		{Pkg: "inventory", Allow: []string{"scoring", "probes"}},
		{Pkg: "report", Allow: []string{"results", "scoring", "inventory", "observe", "remediation", "internal/textable"},
			Tests: []string{"internal/htmlcheck"}},
		// The simulated fleet plays servers: it knows observations only
		// for banners and the registry for ports, never the probes'
		// transport or the rules. Its tests may hold it to the real
		// daemons it stands for.
		{Pkg: "internal/fleet/...", Allow: []string{"observe", "scoring", "probes", "internal/fleet/...", "inventory"},
			Tests: []string{"probes/ssh", "probes/wire", "inventory", "internal/daemon", "internal/itest"}},
		{Pkg: "scan", Allow: []string{"observe", "scoring", "advisory/...", "fingerprint", "inventory", "probes/...", "results", "rules"},
			Tests: append([]string{"scan"}, testPeers...)},
		// Operations: the history database stores records; the plan and
		// the diff read verdicts; metrics show the graded table. None
		// judges: a diff's re-grade is the scan package's, in cmd/kensa.
		{Pkg: "history", Allow: []string{"results", "scoring"}},
		{Pkg: "remediation", Allow: []string{"scoring", "inventory"}},
		{Pkg: "diff", Allow: []string{"results", "scoring", "remediation", "internal/textable"}, Tests: []string{"internal/htmlcheck"}},
		{Pkg: "metrics", Allow: []string{"results", "scoring", "report", "observe"}, Tests: []string{"inventory", "internal/itest"}},
		{Pkg: "deploy", Tests: []string{"internal/itest"}},
		{Pkg: "cmd/kensa", Allow: []string{"..."}, Tests: []string{"internal/htmlcheck"}},
		// The benchmark against real daemons plays them with the
		// integration tests' harness.
		{Pkg: "bench/...", Allow: []string{"internal/daemon"}},
	}
)

type listed struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

// matches reports whether the kensa package p matches pattern.
func matches(pattern, p string) bool {
	switch {
	case pattern == "...":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return p == base || strings.HasPrefix(p, base+"/")
	case strings.Contains(pattern, "*"):
		ok, _ := path.Match(pattern, p)
		return ok
	}
	return p == pattern
}

func TestImportDirections(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	dec := json.NewDecoder(&out)
	seen := 0
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, module)
		if name == "internal/layout" {
			continue
		}
		seen++
		var r *rule
		for i := range rules {
			if matches(rules[i].Pkg, name) {
				r = &rules[i]
				break
			}
		}
		if r == nil {
			t.Errorf("%s: no import rule (add one to this test and to docs/ARCHITECTURE.md)", name)
			continue
		}
		check := func(imports []string, allowed []string, what string) {
			for _, imp := range imports {
				dep, ok := strings.CutPrefix(imp, module)
				if !ok || dep == name {
					continue
				}
				if dep == "cmd/kensa" {
					t.Errorf("%s %s imports cmd/kensa: nothing may", name, what)
				}
				good := false
				for _, a := range allowed {
					good = good || matches(a, dep)
				}
				if !good {
					t.Errorf("%s %s imports %s, against the directions", name, what, dep)
				}
			}
		}
		check(p.Imports, r.Allow, "")
		tests := append(append([]string(nil), r.Allow...), r.Tests...)
		check(append(append([]string(nil), p.TestImports...), p.XTestImports...), tests, "(tests)")
	}
	if seen < 30 {
		t.Fatalf("go list found only %d packages", seen)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, pkg string
		want         bool
	}{
		{"probes/*", "probes/smtp", true},
		{"probes/*", "probes/internal/login", false},
		{"probes/...", "probes", true},
		{"probes/...", "probes/internal/login", true},
		{"probes", "probes/smtp", false},
		{"internal/fleet/...", "internal/fleet/smtpd", true},
		{"internal/fleet/...", "internal/fleetx", false},
	} {
		if got := matches(c.pattern, c.pkg); got != c.want {
			t.Errorf("matches(%q, %q) = %v", c.pattern, c.pkg, got)
		}
	}
}
