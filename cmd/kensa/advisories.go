package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

func cmdAdvisories(e *env, args []string) error {
	const want = "advisories: want a subcommand: kensa advisories import --nvd FILE|DIR --osv FILE|DIR|ZIP -o FILE, or kensa advisories show [FILE]"
	if len(args) == 0 {
		return badInput(want)
	}
	switch args[0] {
	case "import":
		return cmdAdvisoriesImport(e, args[1:])
	case "show":
		return cmdAdvisoriesShow(e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage: kensa advisories import|show [flags]\n\n"+
			"  import  build an advisory data file from NVD CVE API 2.0 JSON and OSV records\n"+
			"  show    describe advisory data: products, records, completeness, as-of date, dropped records, sources\n\n"+
			"Run 'kensa advisories import --help' or 'kensa advisories show --help' for their flags.\n")
		return nil
	}
	return badInput("%s (not %q)", want, args[0])
}

func cmdAdvisoriesImport(e *env, args []string) error {
	fs := newFlags("advisories import", "kensa advisories import [--nvd FILE|DIR]... [--osv FILE|DIR|ZIP]... -o FILE [--complete PRODUCT]... [--as-of YYYY-MM-DD]",
		"Build kensa's advisory data file from the NVD CVE API 2.0 JSON and OSV records (Debian and Ubuntu ecosystems).\nUse the file with 'kensa scan --advisories FILE'. --complete vouches that the imported data holds every\nremotely exploitable advisory of a product up to the as-of date: only then can M2 pass for that product.\nAn input without any record of a --complete product is refused (exit 2). CVEs NVD has not analysed yet (no\nconfigurations, so no product or version range) cannot be imported: those whose description names a product\nkensa knows are listed and kept in the file as dropped records ('kensa advisories show' lists them).")
	var nvd, osv, complete listFlag
	fs.Var(&nvd, "nvd", "NVD CVE API 2.0 JSON file (.json, .json.gz) or directory; repeatable")
	fs.Var(&osv, "osv", "OSV record file, directory or .zip; repeatable")
	fs.Var(&complete, "complete", "product whose data is complete (e.g. Postfix); repeatable")
	out := fs.String("o", "", "output data file (JSON, or YAML by extension)")
	asOf := fs.String("as-of", "", "as-of date of the data (default: from the records)")
	remote := fs.Bool("remote-only", false, "keep only NVD advisories with a network attack vector")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	if len(nvd)+len(osv) == 0 {
		return badInput("advisories import: give at least one --nvd or --osv source")
	}
	if *out == "" {
		return badInput("advisories import: -o FILE is required")
	}
	opt := advisory.ImportOptions{Complete: complete, RemoteOnly: *remote}
	if *asOf != "" {
		t, err := time.Parse(time.DateOnly, *asOf)
		if err != nil {
			return badInput("--as-of %q: want YYYY-MM-DD", *asOf)
		}
		opt.AsOf = t
	}
	db, err := advisory.Import(nvd, osv, opt)
	if err != nil {
		return wrapBadInput(err)
	}
	if err := db.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d advisories, %d products, as of %s\n", *out, len(db.Advisories), len(db.Products), db.AsOf)
	if n := len(db.Dropped) + db.DroppedOther; n > 0 {
		fmt.Fprintf(e.stdout, "dropped %d CVEs NVD has not analysed (no configurations, so no product or version range)", n)
		if db.DroppedOther > 0 {
			fmt.Fprintf(e.stdout, "; %d of them name no product kensa knows", db.DroppedOther)
		}
		fmt.Fprintln(e.stdout, ":")
		for _, d := range db.Dropped {
			fmt.Fprintf(e.stdout, "  %s  %s  %s  %s\n", d.ID, strings.Join(d.Products, ","), d.Status, d.Source)
		}
	}
	for _, p := range db.CompleteProducts() {
		if d := db.DroppedFor(p); len(d) > 0 {
			fmt.Fprintf(e.stderr, "kensa: warning: %s is vouched complete, but %d CVEs that name it were dropped unanalysed (listed above): check them before relying on M2 passes for %s\n", p, len(d), p)
		}
	}
	return nil
}

func cmdAdvisoriesShow(e *env, args []string) error {
	fs := newFlags("advisories show", "kensa advisories show [FILE] [--format text|json]",
		"Describe advisory data — the file given, or the data embedded in kensa: products, records per product,\ncompleteness, as-of date, digest (as scan metadata records it), dropped records and sources.")
	format := fs.String("format", "text", "output format: text or json")
	pos, err := fs.parse(e, args, 0, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	db, name := advisory.Default(), "embedded in kensa "+kensaVersion()
	if len(pos) == 1 {
		if db, err = advisory.Load(pos[0]); err != nil {
			return wrapBadInput(err)
		}
		name = pos[0]
	}
	sum := advisory.Summarize(db, name)
	if *format == "json" {
		return sum.WriteJSON(e.stdout)
	}
	return sum.WriteText(e.stdout)
}
