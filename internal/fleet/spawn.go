package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Serve starts hosts [from, to) of the plan in this process. On error the
// hosts already started are stopped.
func Serve(p *Plan, from, to int) ([]*Running, error) {
	if from < 0 || to > len(p.Hosts) || from > to {
		return nil, fmt.Errorf("fleet: hosts %d..%d of a plan of %d", from, to, len(p.Hosts))
	}
	var rs []*Running
	for i := from; i < to; i++ {
		r, err := Start(&p.Hosts[i])
		if err != nil {
			for _, x := range rs {
				x.Close()
			}
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// FileLimit returns this process's limit of open files.
func FileLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	return int(rl.Cur)
}

// Budget of open files per child process: the listeners, plus room for
// the connections a scan opens to them and the runtime's own.
const (
	reservedFiles = 4096
	maxChildren   = 64
)

// Shards splits the plan's hosts between child processes so that none
// needs more open files than the limit allows; it says so clearly when
// the machine cannot hold the plan at all.
func (p *Plan) Shards(fileLimit int) ([][2]int, error) {
	budget := fileLimit - reservedFiles
	if budget < 64 {
		return nil, fmt.Errorf("fleet: the open-file limit of %d leaves no room for listeners", fileLimit)
	}
	var shards [][2]int
	start, used := 0, 0
	for i := range p.Hosts {
		n := p.Hosts[i].Sockets()
		if used+n > budget && i > start {
			shards = append(shards, [2]int{start, i})
			start, used = i, 0
		}
		used += n
	}
	if start < len(p.Hosts) {
		shards = append(shards, [2]int{start, len(p.Hosts)})
	}
	// At least two processes, so that two cores serve the fleet.
	if len(shards) == 1 && len(p.Hosts) >= 2 {
		mid := len(p.Hosts) / 2
		shards = [][2]int{{0, mid}, {mid, len(p.Hosts)}}
	}
	if len(shards) > maxChildren {
		return nil, fmt.Errorf("fleet: %d hosts need %d processes of %d open files each; this machine allows at most %d hosts (%d processes)",
			len(p.Hosts), len(shards), fileLimit, len(p.Hosts)*maxChildren/len(shards), maxChildren)
	}
	return shards, nil
}

// Fleet is a running fleet of child processes.
type Fleet struct {
	cmds []*exec.Cmd
	ins  []io.WriteCloser
}

// Spawn starts one child process per shard, each running
// "self fleet-worker --plan planPath --from A --to B", and waits until
// every child has said "ready". Children die with the parent.
func Spawn(ctx context.Context, self, planPath string, shards [][2]int, stderr io.Writer) (*Fleet, error) {
	f := &Fleet{}
	ready := make(chan error, len(shards))
	for _, sh := range shards {
		cmd := exec.Command(self, "fleet-worker", "--plan", planPath, "--from", strconv.Itoa(sh[0]), "--to", strconv.Itoa(sh[1]))
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		out, err := cmd.StdoutPipe()
		if err != nil {
			f.Stop()
			return nil, err
		}
		in, err := cmd.StdinPipe()
		if err != nil {
			f.Stop()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			f.Stop()
			return nil, fmt.Errorf("fleet: starting a worker: %w", err)
		}
		f.cmds = append(f.cmds, cmd)
		f.ins = append(f.ins, in)
		go func(sh [2]int) {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if line == "ready" {
					ready <- nil
					io.Copy(io.Discard, out)
					return
				}
				if strings.HasPrefix(line, "error: ") {
					ready <- fmt.Errorf("fleet worker for hosts %d..%d: %s", sh[0], sh[1], strings.TrimPrefix(line, "error: "))
					return
				}
			}
			ready <- fmt.Errorf("fleet worker for hosts %d..%d exited before it was ready", sh[0], sh[1])
		}(sh)
	}
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for range shards {
		select {
		case err := <-ready:
			if err != nil {
				f.Stop()
				return nil, err
			}
		case <-timeout.C:
			f.Stop()
			return nil, errors.New("fleet: workers not ready after 2 minutes")
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		}
	}
	return f, nil
}

// PIDs returns the process ids of the children.
func (f *Fleet) PIDs() []int {
	var out []int
	for _, c := range f.cmds {
		if c.Process != nil {
			out = append(out, c.Process.Pid)
		}
	}
	return out
}

// Stop ends every child (closing its stdin, then SIGTERM to its PID) and
// waits for them.
func (f *Fleet) Stop() {
	for _, in := range f.ins {
		in.Close()
	}
	for _, c := range f.cmds {
		if c.Process != nil {
			c.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, c := range f.cmds {
		if c.Process != nil {
			c.Wait()
		}
	}
}

// Worker is the body of a child process: it serves hosts [from, to) of
// the plan, prints "ready" on out once every listener is up, and runs
// until ctx ends or stdin is closed.
func Worker(ctx context.Context, planPath string, from, to int, stdin io.Reader, out io.Writer) error {
	p, err := Load(planPath)
	if err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		return err
	}
	rs, err := Serve(p, from, to)
	if err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		return err
	}
	defer func() {
		for _, r := range rs {
			r.Close()
		}
	}()
	fmt.Fprintln(out, "ready")
	if f, ok := out.(*os.File); ok {
		f.Sync()
	}
	eof := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}
