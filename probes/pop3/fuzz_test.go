package pop3

import (
	"context"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/internal/probetest"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// FuzzProbe runs the whole probe against a server sending arbitrary
// bytes: it must return an observation, never panic or hang, and never
// show the password.
func FuzzProbe(f *testing.F) {
	f.Add([]byte("+OK hi <1.2@x>\r\n+OK\r\nSTLS\r\nSASL PLAIN LOGIN ANONYMOUS\r\n.\r\n-ERR [AUTH] Plaintext authentication disallowed\r\n+ \r\n-ERR [AUTH] Authentication failed.\r\n"))
	f.Add([]byte("+OK\r\n-ERR no capa\r\n+OK\r\n+OK logged in\r\n"))
	f.Add([]byte("+OK\r\n+OK\r\n" + strings.Repeat("X\r\n", 300)))
	f.Add([]byte("-ERR [SYS/TEMP] busy\r\n"))
	probetest.FuzzProbe(f, "pop3", 110, func(ctx context.Context, env wire.Env, tg observe.Target, password string) *observe.Endpoint {
		if obs := Probe(ctx, env, tg, Options{Password: password}); obs != nil {
			return &obs.Endpoint
		}
		return nil
	})
}
