package sshd_test

import (
	"context"
	"io"
	"net/netip"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/footprint"
	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// BenchmarkServers measures what idle servers cost: file descriptors,
// heap and goroutines per server, for 1,000 of them in one process.
func BenchmarkServers(b *testing.B) {
	footprint.Idle(b, 1000, func(j int) (io.Closer, error) {
		return sshd.Start("127.0.0.1:0", sshd.Config{Profile: sshd.Profiles()[j%len(sshd.Profiles())]})
	})
}

// BenchmarkProbe measures one full probe (identification, KEXINIT, host
// keys of three types, authentication methods) of a stock-like server.
func BenchmarkProbe(b *testing.B) {
	s, err := sshd.Start("127.0.0.1:0", sshd.Config{Profile: sshd.Password})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tg := observe.Target{Service: "ssh", Addr: netip.MustParseAddrPort(s.Addr().String())}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		obs := ssh.Probe(context.Background(), wire.Env{}, tg, ssh.Options{})
		if !obs.AuthExamined {
			b.Fatal(obs.Error)
		}
	}
}
