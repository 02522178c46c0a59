package main

import (
	"github.com/kensa-inspect/kensa/inventory"
)

func cmdInventory(e *env, args []string) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "-h" && args[0] != "--help") {
		return badInput("inventory: want a subcommand: kensa inventory check FILE [--format text|json]")
	}
	if args[0] != "check" {
		args = []string{"--help"}
	} else {
		args = args[1:]
	}
	fs := newFlags("inventory check", "kensa inventory check FILE [--format text|json]",
		"Validate an inventory (CSV in UTF-8, UTF-8 with BOM or Shift_JIS, or YAML) and count its servers per\norganisation, unit and service. A bad file is refused whole, with file, line and column of every problem.")
	format := fs.String("format", "text", "output format: text or json")
	pos, err := fs.parse(e, args, 1, 1)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	inv, err := inventory.Load(pos[0])
	if err != nil {
		return wrapBadInput(err)
	}
	sum := inventory.Summarize(inv)
	if *format == "json" {
		return sum.WriteJSON(e.stdout)
	}
	return sum.WriteText(e.stdout)
}
