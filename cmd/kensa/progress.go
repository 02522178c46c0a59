package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

// progress reports a scan on stderr: a live bar on a terminal, a plain
// line every few seconds otherwise, nothing with --quiet.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	start time.Time
	last  time.Time
	every time.Duration
	cat   *scoring.Catalog

	done, pass, fail, unknown int
}

func newProgress(w io.Writer, tty, quiet bool, total int, cat *scoring.Catalog) *progress {
	p := &progress{total: total, start: time.Now(), every: 5 * time.Second, cat: cat}
	if quiet {
		return p
	}
	p.w = w
	if tty && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("servers"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	}
	return p
}

// server records one finished server.
func (p *progress) server(done int, rec *results.Record) {
	pa, fa, un := scan.Outcomes(rec, p.cat)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	p.pass += pa
	p.fail += fa
	p.unknown += un
	switch {
	case p.w == nil:
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("items pass %d fail %d unknown %d", p.pass, p.fail, p.unknown))
		p.bar.Set(done)
	case time.Since(p.last) >= p.every || done == p.total:
		p.last = time.Now()
		p.line()
	}
}

func (p *progress) line() {
	el := time.Since(p.start)
	rate := float64(p.done) / el.Seconds()
	eta := "-"
	// An ETA needs a few finished servers to mean anything.
	if rate > 0 && p.total > p.done && p.done*50 >= p.total {
		eta = time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "scan: %d/%d servers, items pass %d fail %d unknown %d, %.1f servers/s, elapsed %s, ETA %s\n",
		p.done, p.total, p.pass, p.fail, p.unknown, rate, el.Round(time.Second), eta)
}

// finish ends the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
