package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errHelp ends a command after --help printed its usage.
var errHelp = errors.New("help shown")

// flagSet is a flag.FlagSet that accepts flags before and after the
// positional arguments, as people type them.
type flagSet struct {
	*flag.FlagSet
	usageLine string
	about     string
}

func newFlags(name, usageLine, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, usageLine: usageLine, about: about}
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", fs.usageLine, fs.about)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args, flags anywhere, and checks the number of positional
// arguments (max < 0: no limit).
func (fs *flagSet) parse(e *env, args []string, min, max int) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printUsage(e.stdout)
				return nil, errHelp
			}
			return nil, badInput("%s: %v (see 'kensa %s --help')", fs.Name(), err, fs.Name())
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		want := fmt.Sprintf("%d", min)
		switch {
		case max < 0:
			want = fmt.Sprintf("at least %d", min)
		case max != min:
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return nil, badInput("%s: want %s arguments, got %d: %s (see 'kensa %s --help')", fs.Name(), want, len(pos), strings.Join(pos, " "), fs.Name())
	}
	return pos, nil
}

// oneOf checks a flag's value against the allowed ones.
func oneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return badInput("--%s %q: want one of %s", flagName, value, strings.Join(allowed, ", "))
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
