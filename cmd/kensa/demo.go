package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/internal/fleet"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/scoring"
)

func cmdDemo(e *env, args []string) error {
	fs := newFlags("demo", "kensa demo [--servers 1900] [--dir kensa-demo] [--format text|json] [--by org|unit|all]",
		"The embedded default: play a simulated fleet of mail servers for the 19 organisations of the source document\n(each on its own 127.x.y.z address, in child processes), scan it with the normal engine and default bounds,\nand print the grade table. The fleet is composed so that the grades reproduce the source's September 2007\nmail-server column from genuine probe verdicts. The results, the inventory, the fleet's plan and truth, the\ndemo's advisory data, the HTML report (report.html) and the Excel workbook (report.xlsx) are left in --dir.")
	n := fs.Int("servers", 1900, "number of simulated servers")
	dir := fs.String("dir", "kensa-demo", "directory for the results, inventory, truth and advisory data")
	format := fs.String("format", "text", "grade table format: text, json, csv or md")
	by := fs.String("by", "org", "grade table grouping: org, unit or all")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	net := fs.Int("net", 1, "the fleet's addresses are 127.NET.x.y")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	if *net < 1 || *net > 254 {
		return badInput("--net %d: want 1 to 254", *net)
	}
	if err := oneOf("format", *format, "text", "json", "csv", "md"); err != nil {
		return err
	}
	groupBy, err := scoring.ParseGroupBy(*by)
	if err != nil {
		return wrapBadInput(fmt.Errorf("--by: %w", err))
	}
	if *n < len(fleet.DemoOrgs()) {
		return badInput("--servers must be at least %d (one per organisation)", len(fleet.DemoOrgs()))
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	invPath := filepath.Join(*dir, "inventory.csv")
	truthPath := filepath.Join(*dir, "truth.csv")
	advPath := filepath.Join(*dir, "advisories.json")
	resPath := filepath.Join(*dir, "results.jsonl")

	// The demo's advisory data: the shipped selection, with the demo's
	// mail products vouched complete on it — no feed is imported. An
	// office vouches only for data it imported from a full feed
	// ('kensa advisories import --complete'); this vouch is the demo's.
	db := advisory.Default().Clone()
	if err := db.MarkComplete(fleet.DemoCompleteProducts...); err != nil {
		return err
	}
	if err := db.WriteFile(advPath); err != nil {
		return err
	}

	p := fleet.DemoIn(byte(*net), *n, fleet.LowPorts())
	start := time.Now()
	if !*quiet {
		fmt.Fprintf(e.stderr, "kensa demo: starting %d simulated mail servers on 127.%d.x.y …\n", len(p.Hosts), *net)
	}
	fl, err := startFleet(e, p, *dir, invPath, truthPath)
	if err != nil {
		return err
	}
	defer fl.Stop()
	if !*quiet {
		fmt.Fprintf(e.stderr, "kensa demo: fleet ready in %s (%d processes)\n", time.Since(start).Round(time.Millisecond), len(fl.PIDs()))
	}

	ef := engineFlags{}
	fs2 := newFlags("demo", "", "")
	ef.register(fs2) // documented defaults
	ef.asOf = fleet.DemoAsOf
	ef.advisories = advPath
	if p.OptedIn() {
		// The offices that opted in to the content test name their
		// test recipients and mailboxes in a file, as an office would.
		if ef.content.file, err = writeContentTests(p, *dir); err != nil {
			return err
		}
		// The simulated servers deliver before they answer the end of
		// DATA: a message not in the mailbox by the time the control
		// is there never comes.
		ef.content.settle = 4 * time.Second
	}
	inv, err := loadInventory(invPath)
	if err != nil {
		return err
	}
	en, err := ef.build(e, inv, nil)
	if err != nil {
		return err
	}
	defer en.close()
	res, err := runScan(e, en, resPath, nil, true, *quiet, 0)
	if err != nil {
		return err
	}
	fl.Stop()
	rf := reportFlags{unknown: "count", lang: "ja", inventory: invPath}
	in, err := rf.load(e, resPath)
	if err != nil {
		return err
	}
	g := report.NewGrade(in, groupBy)
	if err := writeGrade(e, g, *format); err != nil {
		return err
	}
	// The reports people read: the HTML page and the Excel workbook.
	htmlPath := filepath.Join(*dir, "report.html")
	xlsxPath := filepath.Join(*dir, "report.xlsx")
	if err := withObservations(in.Results, resPath); err != nil {
		return err
	}
	opts := report.Options{By: groupBy}
	var page bytes.Buffer
	if err := report.WriteHTML(&page, in, opts, kensaVersion()); err != nil {
		return err
	}
	if err := writeFileAtomic(htmlPath, page.Bytes()); err != nil {
		return err
	}
	if err := writeWorkbook(e, xlsxPath, in, opts, report.SheetGrades); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(e.stderr, "\nkensa demo: %d servers scanned and graded in %s in all.\n", res.Done, time.Since(start).Round(time.Millisecond))
		fmt.Fprintf(e.stderr, "  results     %s\n  inventory   %s\n  truth       %s\n  advisories  %s (the shipped selection, no feed imported, with Postfix and Cyrus vouched complete by the demo; evaluated as of %s)\n",
			resPath, invPath, truthPath, advPath, fleet.DemoAsOf)
		fmt.Fprintf(e.stderr, "  report      %s (open it in a browser; prints on A4)\n  workbook    %s\n", htmlPath, xlsxPath)
		fmt.Fprintf(e.stderr, "Regrade:  kensa grade %s --by unit\nRescan:   kensa fleet --profile %s --inventory %s --truth %s   (leave it running), then\n          kensa scan -i %s -o rescan.jsonl --advisories %s --as-of %s\n",
			resPath, filepath.Join(*dir, "fleet-plan.json"), invPath, truthPath, invPath, advPath, fleet.DemoAsOf)
	}
	if res.Interrupted {
		return &exitError{exitIncomplete, fmt.Errorf("demo interrupted: the table above is PARTIAL")}
	}
	return nil
}
