package sshd_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/kensa-inspect/kensa/fleet/sshd"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// BenchmarkServers measures what idle servers cost: file descriptors,
// heap and goroutines per server, for 1,000 of them in one process.
func BenchmarkServers(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		fds0, heap0, g0 := usage()
		var servers []*sshd.Server
		for j := 0; j < n; j++ {
			s, err := sshd.Start("127.0.0.1:0", sshd.Config{Profile: sshd.Profiles()[j%len(sshd.Profiles())]})
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

// BenchmarkProbe measures one full probe (identification, KEXINIT, host
// keys of three types, authentication methods) of a stock-like server.
func BenchmarkProbe(b *testing.B) {
	s, err := sshd.Start("127.0.0.1:0", sshd.Config{Profile: sshd.Password})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tg := wire.Target{Service: "ssh", Addr: netip.MustParseAddrPort(s.Addr().String())}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		obs := ssh.Probe(context.Background(), wire.Env{}, tg, ssh.Options{})
		if !obs.AuthExamined {
			b.Fatal(obs.Error)
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
