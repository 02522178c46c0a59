// Package itest is what kensa's integration tests share: they run
// against the real Debian daemons (package daemon) and must never skip
// silently where they are expected to run.
//
// Outside CI a missing daemon or privilege skips the test with the
// reason. Under CI (the environment variable CI set to "true", as CI
// runners and .ci/run set it) it fails the test instead. Every
// integration test that got as far as its real peer says so with Ran,
// which appends a line to the file named by KENSA_INTEGRATION_LOG; `make
// test` prints that list after the tests, so the output names every
// integration test that ran.
package itest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI, where integration tests
// must not skip.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Need skips t when missing is not nil (the daemon or privilege the test
// needs is not there), or fails it under CI.
func Need(t testing.TB, missing error) {
	t.Helper()
	if missing == nil {
		return
	}
	if InCI() {
		t.Fatalf("integration test cannot run under CI: %v", missing)
		return
	}
	t.Skipf("integration test skipped: %v (CI installs it; under CI=true this fails)", missing)
}

var logMu sync.Mutex

// Ran records that t ran against peer ("Postfix", "Dovecot 2.3"): in the
// test's log and, when KENSA_INTEGRATION_LOG names a file, as one line
// there.
func Ran(t testing.TB, peer string) {
	t.Helper()
	t.Logf("integration: %s ran against %s", t.Name(), peer)
	path := os.Getenv("KENSA_INTEGRATION_LOG")
	if path == "" {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("integration log %s: %v", path, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\t%s\n", t.Name(), peer)
}
