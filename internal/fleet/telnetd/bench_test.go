package telnetd_test

import (
	"io"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/footprint"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
)

// BenchmarkServers measures what idle servers cost: file descriptors,
// heap and goroutines per server, for 1,000 of them in one process.
func BenchmarkServers(b *testing.B) {
	footprint.Idle(b, 1000, func(j int) (io.Closer, error) {
		return telnetd.Start("127.0.0.1:0", telnetd.Config{Profile: telnetd.Profiles()[j%len(telnetd.Profiles())]})
	})
}
