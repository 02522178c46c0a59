// Command kensa is an active compliance scanner for mail servers: it
// reads an inventory, probes every server, turns observations into
// verdicts per checklist item, and grades each organisation with the
// category-average method. See README.md and docs/ARCHITECTURE.md.
//
// This package holds the command line only: flags, wiring and output.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit codes of every command (README, "Commands").
const (
	exitOK         = 0
	exitBelowGrade = 1
	exitBadInput   = 2
	exitIncomplete = 3
	exitInternal   = 4
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func kensaVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{exitBadInput, fmt.Errorf(format, args...)}
}

func wrapBadInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{exitBadInput, err}
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stderrTTY is set when stderr is a terminal (progress bar).
	stderrTTY bool
	// self is the path of the kensa binary, for child processes.
	self string
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"scan", "scan every server of an inventory, stream results, print the grade table", cmdScan},
		{"probe", "probe one host on demand and show every verdict with its evidence", cmdProbe},
		{"grade", "grade results by organisation, unit or all", cmdGrade},
		{"questionnaire", "per organisation and item: applicable, implemented, rate, verified vs declared", cmdQuestionnaire},
		{"report", "write the results for people: an HTML report and an Excel workbook", cmdReport},
		{"merge", "put the results of the shards of one scan together: kensa merge SHARD… -o RESULTS", cmdMerge},
		{"diff", "what changed between two scans: grades, items per server, servers, services, discrepancies, promises", cmdDiff},
		{"history", "the history database: kensa history import RESULTS… --db DB, kensa history list --db DB", cmdHistory},
		{"plan", "remediation plan tools: kensa plan check FILE", cmdPlan},
		{"inventory", "inventory tools: kensa inventory check FILE", cmdInventory},
		{"advisories", "advisory data tools: kensa advisories import --nvd … --osv …, kensa advisories show [FILE]", cmdAdvisories},
		{"fleet", "play a simulated fleet of mail servers on loopback", cmdFleet},
		{"demo", "the embedded default: a simulated fleet on loopback, scanned and graded", cmdDemo},
		{"version", "print kensa's version (also: kensa --version)", cmdVersion},
		{"completion", "print a shell completion script: kensa completion bash|zsh|fish", cmdCompletion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kensa %s — active compliance scanner for mail servers\n\nUsage: kensa COMMAND [flags] [args]\n\nCommands:\n", kensaVersion())
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'kensa COMMAND --help' for a command's flags.\nExit codes: 0 ok, 1 grade below --fail-under, 2 bad input, 3 scan incomplete, 4 internal error.\n")
}

// run is main without os.Exit, for tests.
func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitBadInput
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(e.stdout)
		return exitOK
	}
	if name == "--version" || name == "-version" {
		return exitCode(e, cmdVersion(e, args[1:]))
	}
	for _, c := range commands() {
		if c.name == name {
			return exitCode(e, c.run(e, args[1:]))
		}
	}
	if name == "fleet-worker" {
		return exitCode(e, cmdFleetWorker(e, args[1:]))
	}
	fmt.Fprintf(e.stderr, "kensa: unknown command %q\n\n", name)
	usage(e.stderr)
	return exitBadInput
}

func exitCode(e *env, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(e.stderr, "kensa: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(e.stderr, "kensa: internal error: %v\n", err)
	return exitInternal
}

// defaultGCPercent is kensa's garbage-collection target (GOGC overrides
// it): a scan keeps thousands of servers in progress, and collecting at
// 50 % growth instead of Go's 100 % keeps the resident size near the live
// heap for about a second of CPU per 1,900 servers.
const defaultGCPercent = 50

// Soft memory limit of a scan (GOMEMLIMIT overrides it): a base for
// the process and its records in progress, and a share per connection
// the scan may open (--max-conns), for the connection, its probe's
// buffers and transcript, and the goroutines waiting their turn. Below
// it the collector runs at defaultGCPercent; near it, more often. At the
// default 1,024 connections that is 224 MiB: measured on the bench fleet
// of 1,900 servers, peak RSS went from 242–267 MB to 231–237 MB with no
// change in the scan's wall time.
const (
	memoryBase    = 96 << 20
	memoryPerConn = 128 << 10
)

// limitMemory sets the scan's soft memory limit for maxConns
// connections, unless GOMEMLIMIT is set.
func limitMemory(maxConns int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(memoryBase) + int64(maxConns)*memoryPerConn)
}

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	self, _ := os.Executable()
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrTTY: isTerminal(os.Stderr), self: self}
	os.Exit(run(e, os.Args[1:]))
}

func cmdVersion(e *env, args []string) error {
	fs := newFlags("version", "kensa version", "Print kensa's version.")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "kensa %s\n", kensaVersion())
	return nil
}

// joinLines joins non-empty lines.
func joinLines(lines []string) string { return strings.Join(lines, "\n") }
