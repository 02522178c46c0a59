package telnetd_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/kensa-inspect/kensa/fleet/telnetd"
)

// BenchmarkServers measures what idle servers cost: file descriptors,
// heap and goroutines per server, for 1,000 of them in one process.
func BenchmarkServers(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		fds0, heap0, g0 := usage()
		var servers []*telnetd.Server
		for j := 0; j < n; j++ {
			s, err := telnetd.Start("127.0.0.1:0", telnetd.Config{Profile: telnetd.Profiles()[j%len(telnetd.Profiles())]})
			if err != nil {
				b.Fatal(err)
			}
			servers = append(servers, s)
		}
		fds1, heap1, g1 := usage()
		b.ReportMetric(float64(fds1-fds0)/n, "fds/server")
		b.ReportMetric(float64(heap1-heap0)/n, "heap-B/server")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/server")
		for _, s := range servers {
			s.Close()
		}
	}
}

func usage() (fds int, heap uint64, goroutines int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents), m.HeapAlloc, runtime.NumGoroutine()
}
