package ntpd_test

import (
	"io"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/footprint"
	"github.com/kensa-inspect/kensa/internal/fleet/ntpd"
)

// BenchmarkServers measures what idle servers cost: file descriptors,
// heap and goroutines per server, for 1,000 of them in one process.
func BenchmarkServers(b *testing.B) {
	footprint.Idle(b, 1000, func(j int) (io.Closer, error) {
		return ntpd.Start("127.0.0.1:0", ntpd.Config{Profile: ntpd.Profiles()[j%len(ntpd.Profiles())]})
	})
}
