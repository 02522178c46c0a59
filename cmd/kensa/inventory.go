package main

import (
	"github.com/kensa-inspect/kensa/inventory"
)

func cmdInventory(e *env, args []string) error {
	args, err := subcommand(args, "inventory", "check", "kensa inventory check FILE [--format text|json]")
	if err != nil {
		return err
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

// subcommand checks that args start with the one subcommand sub of the
// command name (or asks for help) and returns the arguments after it:
// ["--help"] for help.
func subcommand(args []string, name, sub, usage string) ([]string, error) {
	switch {
	case len(args) > 0 && args[0] == sub:
		return args[1:], nil
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help"):
		return []string{"--help"}, nil
	}
	return nil, badInput("%s: want a subcommand: %s", name, usage)
}
