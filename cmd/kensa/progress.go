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
// line every few seconds otherwise, nothing with --quiet. It counts
// finished servers and finished probes (one per service of a server):
// with every server in progress at once, the servers finish together at
// the end, while the probes finish all along, so the bar and the ETA go
// by the probes.
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
	// planned and finished count probes; started counts the servers
	// whose probes were planned.
	planned, finished, started int
	barMax                     int
}

func newProgress(w io.Writer, tty, quiet bool, total int, cat *scoring.Catalog) *progress {
	p := &progress{total: total, start: time.Now(), every: 5 * time.Second, cat: cat}
	if quiet {
		return p
	}
	p.w = w
	if tty && total > 0 {
		p.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("probes"),
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
	p.show(done == p.total)
}

// probed records probes planned and finished (scan.Config.Probed).
func (p *progress) probed(planned, finished int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if planned > 0 {
		p.started++
	}
	p.planned += planned
	p.finished += finished
	p.show(false)
}

// show updates the bar, or prints a line when it is time (or last).
func (p *progress) show(last bool) {
	switch {
	case p.w == nil:
	case p.bar != nil:
		if exp := p.expected(); exp > 0 && exp != p.barMax {
			p.barMax = exp
			p.bar.ChangeMax(exp)
		}
		p.bar.Describe(fmt.Sprintf("servers %d/%d, items pass %d fail %d unknown %d", p.done, p.total, p.pass, p.fail, p.unknown))
		p.bar.Set(p.finished)
	case time.Since(p.last) >= p.every || last:
		p.last = time.Now()
		p.line()
	}
}

// expected estimates the probes of the whole scan: those planned, and
// for the servers not started yet as many as the started ones have on
// average (0 before any server started).
func (p *progress) expected() int {
	if p.started == 0 {
		return 0
	}
	left := p.total - p.started
	if left < 0 {
		left = 0
	}
	return p.planned + left*p.planned/p.started
}

// eta estimates the time left from the probes finished so far: "-"
// until a twentieth of the expected probes have finished.
func (p *progress) eta(el time.Duration) string {
	exp := p.expected()
	rate := float64(p.finished) / el.Seconds()
	if rate <= 0 || exp <= p.finished || p.finished*20 < exp || p.done >= p.total {
		return "-"
	}
	return time.Duration(float64(exp-p.finished) / rate * float64(time.Second)).Round(time.Second).String()
}

func (p *progress) line() {
	el := time.Since(p.start)
	fmt.Fprintf(p.w, "scan: %d/%d servers, %d/%d probes, items pass %d fail %d unknown %d, %.1f probes/s, elapsed %s, ETA %s\n",
		p.done, p.total, p.finished, p.expected(), p.pass, p.fail, p.unknown, float64(p.finished)/el.Seconds(), el.Round(time.Second), p.eta(el))
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
