package itest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how the test would have ended.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = f }
func (r *recorder) Skipf(f string, args ...any)  { r.skip = f }
func (r *recorder) Logf(string, ...any)          {}
func (r *recorder) Name() string                 { return "TestSomething" }
func (r *recorder) Errorf(f string, args ...any) { r.fatal = f }

func TestNeedFailsUnderCI(t *testing.T) {
	missing := errors.New("Postfix not installed")
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	Need(r, missing)
	if r.fatal == "" || r.skip != "" {
		t.Fatalf("under CI a missing daemon must fail the test: fatal %q skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &recorder{TB: t}
	Need(r, missing)
	if r.skip == "" || r.fatal != "" {
		t.Fatalf("outside CI a missing daemon skips: fatal %q skip %q", r.fatal, r.skip)
	}
	r = &recorder{TB: t}
	Need(r, nil)
	if r.skip != "" || r.fatal != "" {
		t.Fatal("nothing missing must neither skip nor fail")
	}
}

func TestRanAppendsToLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ran")
	t.Setenv("KENSA_INTEGRATION_LOG", path)
	Ran(&recorder{TB: t}, "Postfix")
	Ran(&recorder{TB: t}, "Dovecot")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "TestSomething\tPostfix\nTestSomething\tDovecot\n" {
		t.Fatalf("log %q", got)
	}
	if strings.Count(string(b), "\n") != 2 {
		t.Fatal("one line per test")
	}
}
