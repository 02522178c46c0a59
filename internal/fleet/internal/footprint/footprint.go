// Package footprint measures what idle simulated servers cost in one
// process (file descriptors, heap, goroutines), for the benchmarks of the
// fleet's server packages: the demo runs thousands of servers in a few
// processes, each allowed at most 20,000 open files.
package footprint

import (
	"io"
	"os"
	"runtime"
	"testing"
)

// Usage returns the process's open file descriptors, its live heap in
// bytes (after a garbage collection) and its goroutines.
func Usage() (fds int, heap uint64, goroutines int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents), m.HeapAlloc, runtime.NumGoroutine()
}

// Idle starts n servers in each iteration of b, the j-th with start(j),
// reports what one costs while idle (metrics fds/server, heap-B/server
// and goroutines/server), and closes them.
func Idle(b *testing.B, n int, start func(j int) (io.Closer, error)) {
	for i := 0; i < b.N; i++ {
		fds0, heap0, g0 := Usage()
		var servers []io.Closer
		for j := 0; j < n; j++ {
			s, err := start(j)
			if err != nil {
				b.Fatal(err)
			}
			servers = append(servers, s)
		}
		fds1, heap1, g1 := Usage()
		b.ReportMetric(float64(fds1-fds0)/float64(n), "fds/server")
		b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/server")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/server")
		for _, s := range servers {
			s.Close()
		}
	}
}
