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
	if len(args) == 0 || (args[0] != "import" && args[0] != "-h" && args[0] != "--help") {
		return badInput("advisories: want a subcommand: kensa advisories import --nvd FILE|DIR --osv FILE|DIR|ZIP -o FILE")
	}
	if args[0] != "import" {
		args = []string{"--help"}
	} else {
		args = args[1:]
	}
	fs := newFlags("advisories import", "kensa advisories import [--nvd FILE|DIR]... [--osv FILE|DIR|ZIP]... -o FILE [--complete PRODUCT]... [--as-of YYYY-MM-DD]",
		"Build kensa's advisory data file from the NVD CVE API 2.0 JSON and OSV records (Debian and Ubuntu ecosystems).\nUse the file with 'kensa scan --advisories FILE'. --complete vouches that the imported data holds every\nremotely exploitable advisory of a product up to the as-of date: only then can M2 pass for that product.")
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
	return nil
}
