package imap

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/internal/probetest"
	"github.com/kensa-inspect/kensa/probes/wire"
)

func TestCapGuard(t *testing.T) {
	in := "* OK [CAPABILITY (MAP4rev1 (X] text (kept)\r\n" +
		"* capability IMAP4rev1 (AUTH=PLAIN\r\n" +
		"* LIST () \"/\" {20}\r\n" +
		"* CAPABILITY (ab)\r\n.." + // a literal: untouched
		"\r\n* ENABLED (X\r\n" +
		"T1 NO (x) [y]\r\n"
	want := "* OK [CAPABILITY _MAP4rev1 _X] text (kept)\r\n" +
		"* capability IMAP4rev1 _AUTH=PLAIN\r\n" +
		"* LIST () \"/\" {20}\r\n" +
		"* CAPABILITY (ab)\r\n.." +
		"\r\n* ENABLED _X\r\n" +
		"T1 NO (x) [y]\r\n"
	for _, chunk := range []int{1, 3, 1000} {
		g := &capGuard{r: &chunked{s: in, n: chunk}}
		got, _ := io.ReadAll(g)
		if string(got) != want {
			t.Errorf("chunk %d:\n%q\nwant\n%q", chunk, got, want)
		}
	}
}

type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

var _ = strings.NewReader

// TestCapabilityParenthesis is the regression test for the imapclient
// loop capGuard prevents: the probe must return.
func TestCapabilityParenthesis(t *testing.T) {
	for _, data := range []string{
		"* OK [CAPABILITY (MAP4rev1 STARTTLS LOGINDISABLED] hi\r\nT1 NO x\r\n",
		"* OK hi\r\n* CAPABILITY (IMAP4rev1\r\nT1 OK\r\n",
		"* OK [CAPABILITY IMAP4rev1] hi\r\n* ENABLED (X\r\nT1 NO [AUTHENTICATIONFAILED] x\r\n",
	} {
		env := wire.Env{Dialer: probetest.PipeDialer{Data: []byte(data)}, Limits: wire.Limits{ReadTimeout: 100 * time.Millisecond}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done := make(chan *observe.IMAP, 1)
		go func() {
			done <- Probe(ctx, env, observe.Target{Service: "imap", Addr: netip.MustParseAddrPort("127.0.0.1:143")}, Options{})
		}()
		select {
		case obs := <-done:
			t.Logf("%q: error %q", data, obs.Error)
		case <-time.After(20 * time.Second):
			t.Fatalf("%q: the probe did not return", data)
		}
		cancel()
	}
}

// TestWatchdog checks that a client call that never returns is
// abandoned.
func TestWatchdog(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	env := wire.Env{Limits: wire.Limits{ReadTimeout: 50 * time.Millisecond}}
	p := &prober{ctx: context.Background(), env: env}
	s := &session{p: p, raw: wire.NewConn(context.Background(), a, env.Lim(), nil)}
	begin := time.Now()
	if err := s.call(func() error { select {} }); !errors.Is(err, errStuck) || !s.stuck {
		t.Errorf("error %v, stuck %v", err, s.stuck)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if err := s.call(func() error { return nil }); !errors.Is(err, errStuck) {
		t.Errorf("after stuck: %v", err)
	}
}
