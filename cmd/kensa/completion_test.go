package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionFlag: kensa --version prints what kensa version prints.
func TestVersionFlag(t *testing.T) {
	code, a, _ := runKensa(t, "--version")
	_, b, _ := runKensa(t, "version")
	if code != 0 || a != b || !strings.HasPrefix(a, "kensa ") {
		t.Fatalf("exit %d: %q vs %q", code, a, b)
	}
}

// TestCompletionBash: the bash script completes commands, every
// command's flags as its --help lists them, and listed flag values.
func TestCompletionBash(t *testing.T) {
	code, script, errs := runKensa(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	path := filepath.Join(t.TempDir(), "kensa.bash")
	os.WriteFile(path, []byte(script), 0o644)
	complete := func(words ...string) []string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "source " + path + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			itoa(len(words)-1) + "; _kensa; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	cases := []struct {
		words []string
		want  string
	}{
		{[]string{"kensa", "rep"}, "report"},
		{[]string{"kensa", "comp"}, "completion"},
		{[]string{"kensa", "report", "r.jsonl", "--ht"}, "--html"},
		{[]string{"kensa", "report", "r.jsonl", "--lang", ""}, "ja en"},
		{[]string{"kensa", "grade", "r.jsonl", "--format", ""}, "text json csv md"},
		{[]string{"kensa", "questionnaire", "--xl"}, "--xlsx"},
		{[]string{"kensa", "inventory", ""}, "check"},
	}
	for _, c := range cases {
		if got := strings.Join(complete(c.words...), " "); got != c.want {
			t.Errorf("%q: completed %q, want %q", c.words, got, c.want)
		}
	}
	// Every flag of every command, as its --help lists it.
	for _, ci := range completionInfo() {
		if len(ci.flags) == 0 && ci.name != "version" && ci.name != "completion" {
			t.Errorf("%s: no flags read from its --help", ci.name)
		}
		for _, f := range ci.flags {
			words := []string{"kensa", ci.name}
			words = append(words, ci.subcommands...)
			got := complete(append(words, "--"+f.name)...)
			found := false
			for _, g := range got {
				found = found || g == "--"+f.name
			}
			if !found {
				t.Errorf("kensa %s --%s: not completed (%q)", ci.name, f.name, got)
			}
		}
	}
}

// TestCompletionZshFish: the zsh and fish scripts parse, where those
// shells are installed.
func TestCompletionZshFish(t *testing.T) {
	for _, sh := range []struct{ shell, check string }{{"zsh", "-n"}, {"fish", "--no-execute"}} {
		code, script, errs := runKensa(t, "completion", sh.shell)
		if code != 0 || !strings.Contains(script, "report") {
			t.Fatalf("%s: exit %d: %s", sh.shell, code, errs)
		}
		bin, err := exec.LookPath(sh.shell)
		if err != nil {
			t.Logf("%s not installed: its script was generated but not parsed", sh.shell)
			continue
		}
		path := filepath.Join(t.TempDir(), "kensa."+sh.shell)
		os.WriteFile(path, []byte(script), 0o644)
		if out, err := exec.Command(bin, sh.check, path).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", sh.shell, sh.check, err, out)
		}
	}
}
