package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scoring"
)

func cmdReport(e *env, args []string) error {
	fs := newFlags("report", "kensa report RESULTS [--html FILE] [--xlsx FILE] [--org ORG] [--by org|unit|all] [--lang ja|en]",
		"Write the results for people: --html a self-contained HTML page (grades, item rates, the servers whose\n"+
			"items failed or stayed unknown with their evidence, discrepancies, undeclared services, exceptions, the\n"+
			"checklist; no script, no external resource; prints on A4), --xlsx an Excel workbook (grades, item rates,\n"+
			"questionnaire, findings per server). --org writes one organisation's report, without any other's servers.\n"+
			"The report shows the verdicts of the records; it never judges. '--html -' writes the page to stdout.")
	var rf reportFlags
	rf.register(fs)
	htmlPath := fs.String("html", "", "write the HTML report to this file ('-' for stdout)")
	xlsxPath := fs.String("xlsx", "", "write the Excel workbook to this file")
	org := fs.String("org", "", "the report of this organisation only (what the office sends to it)")
	by := fs.String("by", "org", "group the grade table by org, unit (organisation and unit together) or all")
	var ro reportOps
	ro.register(fs)
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if *htmlPath == "" && *xlsxPath == "" {
		return badInput("report: nothing to write: give --html FILE, --xlsx FILE or both (see 'kensa report --help')")
	}
	if *htmlPath != "" && *htmlPath == *xlsxPath {
		return badInput("report: --html and --xlsx name the same file %s", *htmlPath)
	}
	groupBy, err := scoring.ParseGroupBy(*by)
	if err != nil {
		return wrapBadInput(fmt.Errorf("--by: %w", err))
	}
	in, err := rf.load(e, pos[0])
	if err != nil {
		return err
	}
	if err := withObservations(in.Results, pos[0]); err != nil {
		return err
	}
	opts := report.Options{By: groupBy, Org: *org}
	if err := ro.apply(&opts, in); err != nil {
		return err
	}
	if *org != "" {
		// Refuse an unknown organisation before writing anything.
		if _, err := report.ForOrg(in, *org); err != nil {
			return wrapBadInput(fmt.Errorf("--org: %w", err))
		}
	}
	if *htmlPath != "" {
		var b bytes.Buffer
		if err := report.WriteHTML(&b, in, opts, kensaVersion()); err != nil {
			return err
		}
		if *htmlPath == "-" {
			if _, err := e.stdout.Write(b.Bytes()); err != nil {
				return err
			}
		} else if err := writeFileAtomic(*htmlPath, b.Bytes()); err != nil {
			return err
		}
	}
	if *xlsxPath != "" {
		return writeWorkbook(e, *xlsxPath, in, opts, report.SheetGrades)
	}
	return nil
}

// withObservations gives the records read for grading (without their
// observations) the observations of the file, from which the report shows
// the software banners of the servers it lists.
func withObservations(set *results.Set, path string) error {
	full, err := results.ReadFile(path)
	if err != nil {
		return wrapBadInput(err)
	}
	obs := make(map[string]json.RawMessage, len(full.Records))
	for _, r := range full.Records {
		obs[r.Server.ID] = r.Observations
	}
	for _, r := range set.Records {
		r.Observations = obs[r.Server.ID]
	}
	return nil
}

// writeWorkbook writes the Excel workbook to path, opened on the sheet
// first.
func writeWorkbook(e *env, path string, in report.Input, opts report.Options, first report.Sheet) error {
	if path == "-" {
		return badInput("--xlsx -: a workbook is binary; give a file name")
	}
	var b bytes.Buffer
	if err := report.WriteXLSX(&b, in, opts, first); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// writeFileAtomic writes data to path through a temporary file in the
// same directory, so that a reader never sees half a report. A path that
// cannot be written is bad input.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return badInput("cannot write %s: %v", path, err)
	}
	_, werr := io.Copy(tmp, bytes.NewReader(data))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}
