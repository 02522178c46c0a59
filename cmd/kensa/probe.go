package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/report"
	"github.com/kensa-inspect/kensa/results"
	"github.com/kensa-inspect/kensa/scan"
	"github.com/kensa-inspect/kensa/scoring"
)

func cmdProbe(e *env, args []string) error {
	fs := newFlags("probe", "kensa probe HOST [--services smtp:25,submission:587,…] [--format text|json] [flags]",
		"Probe one host on demand and show every item's verdict with its evidence. Without --services the\nstandard ports of every service are discovered; with it only those services are probed.\n--format json prints exactly one kensa/v1 results line.")
	var ef engineFlags
	ef.register(fs)
	services := fs.String("services", "", "services to probe, name:port comma-separated (default: discover the standard ports)")
	format := fs.String("format", "text", "output format: text or json")
	lang := fs.String("lang", "ja", "language of item names: ja or en")
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	if err := oneOf("lang", *lang, "ja", "en"); err != nil {
		return err
	}
	var svcs []string
	if *services != "" {
		list, err := parseServices(*services)
		if err != nil {
			return badInput("--services: %v", err)
		}
		for _, s := range list {
			svcs = append(svcs, fmt.Sprintf("%s:%d", s.Name, s.Port))
		}
		ef.noDiscover = true
	}
	// A one-row inventory, validated like any other.
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "org", "unit", "host", "services", "declared", "notes"})
	w.Write([]string{pos[0], "-", "-", pos[0], strings.Join(svcs, " "), "", "kensa probe"})
	w.Flush()
	inv, err := inventory.Parse("HOST", buf.Bytes())
	if err != nil {
		return wrapBadInput(err)
	}
	en, err := ef.build(e, inv, nil)
	if err != nil {
		return err
	}
	defer en.close()
	var rec *results.Record
	en.cfg.Write = func(r *results.Record) error { rec = r; return nil }
	sum, err := scan.Run(e.ctx, en.cfg)
	if err != nil {
		return err
	}
	if rec == nil {
		if sum.Interrupted {
			return &exitError{exitIncomplete, errors.New("probe interrupted")}
		}
		return fmt.Errorf("probe of %s produced no record", pos[0])
	}
	if *format == "json" {
		line, err := results.Encode(rec)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(line)
		return err
	}
	return report.WriteRecordText(e.stdout, rec, scoring.MailCatalog, *lang)
}
