package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/admin"
	"github.com/kensa-inspect/kensa/probes/wire"
)

func testEnv() wire.Env {
	// Generous enough for a loaded machine; a silent listener costs one
	// read timeout.
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, MaxBytes: 64 << 10}}
}

func tgt(t *testing.T, service string, a net.Addr) observe.Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return observe.Target{Service: service, Addr: ap}
}

func run(t *testing.T, env wire.Env, tg observe.Target, opts admin.Options) *observe.Admin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := admin.Probe(ctx, env, tg, opts)
	if obs == nil {
		t.Fatal("nil observation")
	}
	if _, err := json.Marshal(obs); err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestProfiles(t *testing.T) {
	for _, p := range telnetd.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			s, err := telnetd.Start("127.0.0.1:0", telnetd.Config{Profile: p, Latency: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			obs := run(t, testEnv(), tgt(t, telnetd.Service(p), s.Addr()), admin.Options{Listed: true, Quiet: time.Second})
			if obs.State != observe.AdminStateAnswered || !obs.Reachable || !obs.Listed {
				t.Fatalf("state %q reachable %v", obs.State, obs.Reachable)
			}
			if obs.Error != "" {
				t.Fatalf("error %q", obs.Error)
			}
			switch p {
			case telnetd.Telnet:
				if !slices.Contains(obs.Negotiation, "DO TERMINAL-TYPE") || !slices.Contains(obs.Negotiation, "WILL ECHO") {
					t.Fatalf("negotiation %v", obs.Negotiation)
				}
				if obs.Prompt != "mail login:" || !strings.Contains(obs.Text, "Debian GNU/Linux 12") {
					t.Fatalf("text %q prompt %q", obs.Text, obs.Prompt)
				}
				bs := obs.Banners()
				if len(bs) != 2 || bs[0].Text != "Debian GNU/Linux 12" || bs[1].Kind != "prompt" {
					t.Fatalf("banners %+v", bs)
				}
				if !slices.Contains(obs.Transcript, "C: IAC WONT TERMINAL-TYPE") {
					t.Fatalf("transcript %v", obs.Transcript)
				}
			case telnetd.Rlogin:
				if obs.Prompt != "Password:" {
					t.Fatalf("text %q prompt %q", obs.Text, obs.Prompt)
				}
			case telnetd.TelnetHangup:
				if !obs.ClosedByServer {
					t.Fatal("hangup not recorded")
				}
			case telnetd.TelnetSilent, telnetd.Rsh:
				if obs.BytesRead != 0 || obs.Text != "" {
					t.Fatalf("silent listener said %q", obs.Text)
				}
			}
		})
	}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr()
	ln.Close()
	obs := run(t, testEnv(), tgt(t, "telnet", a), admin.Options{})
	if obs.State != observe.AdminStateRefused || obs.Reachable {
		t.Fatalf("state %q", obs.State)
	}
}

// blackhole never completes a connection, as a filtering firewall.
type blackhole struct{}

func (blackhole) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestFiltered(t *testing.T) {
	env := testEnv()
	env.Limits.DialTimeout = 200 * time.Millisecond
	env.Dialer = blackhole{}
	tg := observe.Target{Service: "telnet", Addr: netip.MustParseAddrPort("127.0.0.1:23")}
	obs := run(t, env, tg, admin.Options{Listed: true})
	if obs.State != observe.AdminStateTimeout || obs.Reachable {
		t.Fatalf("state %q error %q", obs.State, obs.Error)
	}
}

// hostile serves fn on a loopback listener.
func hostile(t *testing.T, fn func(net.Conn)) net.Addr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return ln.Addr()
}

func TestEndlessStream(t *testing.T) {
	a := hostile(t, func(c net.Conn) {
		chunk := bytes.Repeat([]byte("login: \xff\xfd\x18"), 100)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	start := time.Now()
	obs := run(t, testEnv(), tgt(t, "telnet", a), admin.Options{})
	if obs.State != observe.AdminStateAnswered || !strings.Contains(obs.Error, "too much data") {
		t.Fatalf("state %q error %q", obs.State, obs.Error)
	}
	if len(obs.Text) > 4096 || len(obs.Negotiation) > 64 || len(obs.Transcript) > wire.MaxTranscriptLines+1 {
		t.Fatalf("unbounded: text %d negotiation %d", len(obs.Text), len(obs.Negotiation))
	}
	if time.Since(start) > 8*time.Second {
		t.Fatal("not bounded in time")
	}
}

func TestTrickle(t *testing.T) {
	// One byte every 100ms forever: the connection's own deadline ends it.
	a := hostile(t, func(c net.Conn) {
		for {
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	env := testEnv()
	env.Limits.ReadTimeout = 300 * time.Millisecond
	obs := admin.Probe(ctx, env, tgt(t, "telnet", a), admin.Options{Quiet: 250 * time.Millisecond})
	if obs.State != observe.AdminStateAnswered || obs.BytesRead == 0 {
		t.Fatalf("%+v", obs)
	}
}

func TestDecoder(t *testing.T) {
	var d admin.Decoder
	in := []byte("a\xff\xfd\x18b\xff\xff\xff\xfa\x18\x01\xff\xf0c\xff\xfb")
	text, cmds := d.Feed(in)
	text2, cmds2 := d.Feed([]byte{1, 'd'})
	if string(text) != "ab\xffc" || string(text2) != "d" {
		t.Fatalf("text %q %q", text, text2)
	}
	all := append(cmds, cmds2...)
	if len(all) != 2 || all[0].String() != "DO TERMINAL-TYPE" || all[1].String() != "WILL ECHO" {
		t.Fatalf("cmds %v", all)
	}
	r, ok := all[1].Refusal()
	if !ok || r.String() != "DONT ECHO" {
		t.Fatalf("refusal %v", r)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("\xff\xfd\x18\xff\xfb\x01\xff\xfb\x03\r\nDebian GNU/Linux 12\r\n\r\nmail login: "))
	f.Add([]byte("\xff\xfa\x18\x01\xff\xff\xf0\xff\xf0x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var whole admin.Decoder
		wt, wc := whole.Feed(data)
		// Split feeding gives the same result.
		var split admin.Decoder
		var st []byte
		var sc []admin.Command
		for i := 0; i < len(data); i += 3 {
			e := min(i+3, len(data))
			a, b := split.Feed(data[i:e])
			st = append(st, a...)
			sc = append(sc, b...)
		}
		if !bytes.Equal(wt, st) || !slices.Equal(wc, sc) {
			t.Fatal("split feeding differs")
		}
		if len(wt) > len(data) || 3*len(wc) > len(data) {
			t.Fatal("output larger than input")
		}
	})
}
