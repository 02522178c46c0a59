package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

// TestProgressCountsProbes: with every server in progress at once no
// server finishes for most of a scan, yet the progress line moves: it
// counts finished probes against those expected (planned ones, and as
// many per server not started yet as the started ones have), and the
// ETA comes from the probes.
func TestProgressCountsProbes(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, false, 4, scoring.MailCatalog)
	p.every = 0
	p.start = time.Now().Add(-10 * time.Second)
	p.probed(10, 0) // two servers started, 10 probes each
	p.probed(10, 0)
	for i := 0; i < 5; i++ {
		p.probed(0, 1)
	}
	last := lastLine(out.String())
	// 20 planned + 2 servers not started × 10.
	if !strings.Contains(last, "0/4 servers, 5/40 probes") {
		t.Fatalf("line %q", last)
	}
	// 5 probes in 10 s: 35 left take 70 s.
	if !strings.Contains(last, "ETA 1m10s") {
		t.Errorf("line %q, want ETA 1m10s", last)
	}
	p.server(1, &results.Record{})
	if last := lastLine(out.String()); !strings.Contains(last, "1/4 servers, 5/40 probes") {
		t.Errorf("line %q", last)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
