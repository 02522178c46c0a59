package pop3

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// pipeDialer connects every dial to a server that sends data, discards
// what it reads and hangs up after a while.
type pipeDialer struct{ data []byte }

func (d pipeDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		go io.Copy(io.Discard, server)
		server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		server.Write(d.data)
		time.Sleep(20 * time.Millisecond)
	}()
	return client, nil
}

// FuzzProbe runs the whole probe against a server sending arbitrary
// bytes: it must return an observation, never panic or hang, and never
// show the password.
func FuzzProbe(f *testing.F) {
	f.Add([]byte("+OK hi <1.2@x>\r\n+OK\r\nSTLS\r\nSASL PLAIN LOGIN ANONYMOUS\r\n.\r\n-ERR [AUTH] Plaintext authentication disallowed\r\n+ \r\n-ERR [AUTH] Authentication failed.\r\n"))
	f.Add([]byte("+OK\r\n-ERR no capa\r\n+OK\r\n+OK logged in\r\n"))
	f.Add([]byte("+OK\r\n+OK\r\n" + strings.Repeat("X\r\n", 300)))
	f.Add([]byte("-ERR [SYS/TEMP] busy\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		env := wire.Env{Dialer: pipeDialer{data}, Limits: wire.Limits{ReadTimeout: 30 * time.Millisecond, MaxLine: 256, MaxBytes: 4096}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tg := wire.Target{Service: "pop3", Addr: netip.MustParseAddrPort("127.0.0.1:110")}
		obs := Probe(ctx, env, tg, Options{Password: "kp-fuzz"})
		if obs == nil {
			t.Fatal("nil observation")
		}
		for _, l := range obs.Transcript {
			if strings.Contains(l, "kp-fuzz") {
				t.Fatalf("password in transcript: %q", l)
			}
		}
	})
}
