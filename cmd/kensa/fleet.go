package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet"
)

// planFor builds the plan a --profile names: "mix" (every behaviour,
// hostile ones with --hostile), "bench" (realistic conditions), "demo"
// (the 19 ministries), or a plan JSON file.
func planFor(profile string, n int, hostile, second bool, latency time.Duration, net int) (*fleet.Plan, error) {
	low := fleet.LowPorts()
	if net < 1 || net > 254 {
		return nil, badInput("--net %d: want 1 to 254", net)
	}
	switch profile {
	case "mix":
		return fleet.Mix(n, fleet.MixOptions{Hostile: hostile, Latency: latency, LowPorts: low, Net: byte(net), SecondAddresses: second}), nil
	case "bench":
		return fleet.Bench(n, fleet.BenchOptions{Tarpits: true, Latency: latency, LowPorts: low, Net: byte(net)}), nil
	case "bench-no-tarpits":
		return fleet.Bench(n, fleet.BenchOptions{Tarpits: false, Latency: latency, LowPorts: low, Net: byte(net)}), nil
	case "demo":
		return fleet.DemoIn(byte(net), n, low), nil
	}
	p, err := fleet.Load(profile)
	if err != nil {
		return nil, wrapBadInput(err)
	}
	return p, nil
}

// writeFleetFiles writes the plan, its inventory and its truth.
func writeFleetFiles(p *fleet.Plan, planPath, invPath, truthPath string) error {
	if err := p.Save(planPath); err != nil {
		return err
	}
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{invPath, p.WriteInventory},
		{truthPath, p.WriteTruth},
	} {
		if f.path == "" {
			continue
		}
		if err := writeFile(f.path, f.write); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startFleet saves the plan next to the inventory and starts its workers.
func startFleet(e *env, p *fleet.Plan, dir, invPath, truthPath string) (*fleet.Fleet, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	planPath := filepath.Join(dir, "fleet-plan.json")
	if err := writeFleetFiles(p, planPath, invPath, truthPath); err != nil {
		return nil, err
	}
	shards, err := p.Shards(fleet.FileLimit())
	if err != nil {
		return nil, &exitError{exitBadInput, err}
	}
	return fleet.Spawn(e.ctx, e.self, planPath, shards, e.stderr)
}

func cmdFleet(e *env, args []string) error {
	fs := newFlags("fleet", "kensa fleet --servers N [--profile mix|bench|demo|PLAN.json] --inventory OUT.csv --truth OUT.csv",
		"Play N simulated mail servers, each on its own 127.x.y.z address (never a wildcard listener), spread over\nchild processes; write the matching inventory and the ground truth (expected outcome per server and item,\nfrom the behaviours' own semantics); print \"ready\" when every listener is up; run until stopped (Ctrl-C).")
	n := fs.Int("servers", 100, "number of servers")
	profile := fs.String("profile", "mix", "fleet composition: mix, bench, bench-no-tarpits, demo, or a plan JSON file")
	invPath := fs.String("inventory", "fleet-inventory.csv", "inventory to write")
	truthPath := fs.String("truth", "fleet-truth.csv", "ground truth to write")
	hostile := fs.Bool("hostile", false, "mix: include hostile behaviours (silent, garbage, endless lines, resets)")
	latency := fs.Duration("latency", 0, "delay of every reply")
	second := fs.Bool("second-addresses", false, "mix: give every tenth server a second address (the inventory then names it; see --hosts)")
	hostsPath := fs.String("hosts", "fleet-hosts", "hosts(5) file to write for servers with two addresses (pass it to kensa scan --hosts)")
	net := fs.Int("net", 1, "the fleet's addresses are 127.NET.x.y")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	if *n < 1 {
		return badInput("--servers must be at least 1")
	}
	p, err := planFor(*profile, *n, *hostile, *second, *latency, *net)
	if err != nil {
		return err
	}
	dir := filepath.Dir(*invPath)
	f, err := startFleet(e, p, dir, *invPath, *truthPath)
	if err != nil {
		return err
	}
	defer f.Stop()
	if len(p.Names()) > 0 {
		if err := writeFile(*hostsPath, p.WriteHosts); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "kensa fleet: %d servers have two addresses: scan with --hosts %s\n", len(p.Names()), *hostsPath)
	}
	fmt.Fprintf(e.stderr, "kensa fleet: %d servers (%s) in %d processes %v; inventory %s, truth %s\n", len(p.Hosts), p.Name, len(f.PIDs()), f.PIDs(), *invPath, *truthPath)
	fmt.Fprintln(e.stdout, "ready")
	<-e.ctx.Done()
	return nil
}

// cmdFleetWorker is the hidden body of a fleet child process.
func cmdFleetWorker(e *env, args []string) error {
	fs := newFlags("fleet-worker", "kensa fleet-worker --plan FILE --from A --to B", "Internal: serve a slice of a fleet plan.")
	plan := fs.String("plan", "", "plan file")
	from := fs.String("from", "0", "first host")
	to := fs.String("to", "0", "end host (exclusive)")
	if _, err := fs.parse(e, args, 0, 0); err != nil {
		return err
	}
	a, err1 := strconv.Atoi(*from)
	b, err2 := strconv.Atoi(*to)
	if err1 != nil || err2 != nil {
		return badInput("fleet-worker: bad --from/--to")
	}
	return fleet.Worker(e.ctx, *plan, a, b, e.stdin, e.stdout)
}
