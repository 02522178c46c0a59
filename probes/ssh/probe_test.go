package ssh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// testEnv has generous limits for servers that behave, so that a loaded
// machine does not make the tests flaky; hostileEnv short ones, so that
// the hostile-server tests are quick.
func testEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}}
}

func hostileEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 300 * time.Millisecond}}
}

func target(t *testing.T, a net.Addr) observe.Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return observe.Target{Service: "ssh", Addr: ap}
}

func startProfile(t *testing.T, cfg sshd.Config) *sshd.Server {
	t.Helper()
	s, err := sshd.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func probe(t *testing.T, s *sshd.Server, opts ssh.Options) *observe.SSH {
	t.Helper()
	return probeEnv(t, testEnv(), s, opts)
}

func probeEnv(t *testing.T, env wire.Env, s *sshd.Server, opts ssh.Options) *observe.SSH {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obs := ssh.Probe(ctx, env, target(t, s.Addr()), opts)
	if obs == nil {
		t.Fatal("Probe returned nil")
	}
	if _, err := json.Marshal(obs); err != nil {
		t.Fatal(err)
	}
	if s.SecretAttempts() != 0 {
		t.Fatalf("the probe made %d password/keyboard-interactive attempts", s.SecretAttempts())
	}
	return obs
}

func TestProfiles(t *testing.T) {
	for _, p := range []sshd.Profile{sshd.PublicKey, sshd.Password, sshd.KeyboardInteractive, sshd.None, sshd.Weak, sshd.SSH199} {
		t.Run(string(p), func(t *testing.T) {
			cfg := sshd.Config{Profile: p}
			s := startProfile(t, cfg)
			obs := probe(t, s, ssh.Options{})
			if obs.Error != "" {
				t.Fatalf("error: %s\n%s", obs.Error, strings.Join(obs.Transcript, "\n"))
			}
			if !obs.Reachable || obs.Ident == nil || obs.Ident.Line != cfg.Ident() {
				t.Fatalf("ident = %+v, want %q", obs.Ident, cfg.Ident())
			}
			if !obs.AuthExamined {
				t.Fatalf("auth not examined:\n%s", strings.Join(obs.Transcript, "\n"))
			}
			if obs.KexInit == nil || len(obs.KexInit.Kex) == 0 {
				t.Fatal("no KEXINIT recorded")
			}
			if len(obs.HostKeys) == 0 {
				t.Fatal("no host key recorded")
			}
			switch p {
			case sshd.PublicKey, sshd.SSH199, sshd.Weak:
				if !slices.Equal(obs.AuthMethods, []string{"publickey"}) || obs.NoneAccepted {
					t.Fatalf("methods %v none %v", obs.AuthMethods, obs.NoneAccepted)
				}
			case sshd.Password:
				if !obs.AllowsMethod("password") {
					t.Fatalf("methods %v", obs.AuthMethods)
				}
			case sshd.KeyboardInteractive:
				if !obs.AllowsMethod("keyboard-interactive") {
					t.Fatalf("methods %v", obs.AuthMethods)
				}
			case sshd.None:
				if !obs.NoneAccepted {
					t.Fatal("none not recorded as accepted")
				}
			}
			if obs.SSH1 != (p == sshd.SSH199) || !obs.SSH2 {
				t.Fatalf("ssh1=%v ssh2=%v", obs.SSH1, obs.SSH2)
			}
			if !obs.StrictKex {
				t.Error("x/crypto servers offer strict kex")
			}
			if p != sshd.Weak {
				// The RSA key is always measured; ECDSA and Ed25519 sizes
				// are in their names and cost no extra connection.
				rsaBits := 0
				for _, hk := range obs.HostKeys {
					if hk.Type == "ssh-rsa" {
						rsaBits = hk.Bits
					}
				}
				if rsaBits != 2048 || len(obs.HostKeys) > 2 {
					t.Fatalf("host keys %+v, want the RSA key of 2048 bits and at most one other", obs.HostKeys)
				}
			}
			if obs.Findings != nil {
				t.Errorf("the probe graded what it saw (findings %v): grading belongs to rules", obs.Findings)
			}
			if len(obs.Banners()) == 0 || obs.Banners()[0].Kind != "identification" {
				t.Fatalf("banners %+v", obs.Banners())
			}
		})
	}
}

// TestWeakRecorded: of a server offering legacy algorithms with a
// 1024-bit RSA host key, the probe records the raw facts rules grades
// (KEXINIT lists, host key sizes) and grades nothing itself.
func TestWeakRecorded(t *testing.T) {
	s := startProfile(t, sshd.Config{Profile: sshd.Weak})
	obs := probe(t, s, ssh.Options{})
	k := obs.KexInit
	if k == nil {
		t.Fatal("no KEXINIT recorded")
	}
	for _, a := range []string{"diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1"} {
		if !slices.Contains(k.Kex, a) {
			t.Errorf("kex %s not recorded: %v", a, k.Kex)
		}
	}
	for _, a := range []string{"3des-cbc", "aes128-cbc", "arcfour256"} {
		if !slices.Contains(k.Ciphers(), a) {
			t.Errorf("cipher %s not recorded: %v", a, k.Ciphers())
		}
	}
	if !slices.Contains(k.MACs(), "hmac-sha1-96") || !slices.Contains(k.HostKey, "ssh-rsa") {
		t.Errorf("macs %v host keys %v", k.MACs(), k.HostKey)
	}
	if len(obs.HostKeys) != 1 || obs.HostKeys[0].Type != "ssh-rsa" || obs.HostKeys[0].Bits != 1024 {
		t.Fatalf("host keys %+v", obs.HostKeys)
	}
	if obs.Findings != nil {
		t.Errorf("the probe graded what it saw: %v", obs.Findings)
	}
}

func TestSSH1Only(t *testing.T) {
	s := startProfile(t, sshd.Config{Profile: sshd.SSH1})
	obs := probe(t, s, ssh.Options{})
	if !obs.Reachable || !obs.SSH1 || obs.SSH2 || obs.AuthExamined {
		t.Fatalf("obs %+v", obs)
	}
	if obs.Error != "" {
		t.Fatalf("SSH-1 server is an observation, not an error: %s", obs.Error)
	}
}

func TestLegacyKexInit(t *testing.T) {
	s := startProfile(t, sshd.Config{Profile: sshd.LegacyKexInit})
	obs := probe(t, s, ssh.Options{})
	if obs.KexInit == nil || !slices.Contains(obs.KexInit.HostKey, "ssh-dss") {
		t.Fatalf("kexinit %+v", obs.KexInit)
	}
	if obs.AuthExamined || obs.Error == "" || obs.StrictKex {
		t.Fatalf("auth examined %v error %q strict %v", obs.AuthExamined, obs.Error, obs.StrictKex)
	}
	if !slices.Contains(obs.KexInit.MACs(), "hmac-md5") || obs.Findings != nil {
		t.Fatalf("macs %v, findings %v", obs.KexInit.MACs(), obs.Findings)
	}
}

func TestHostile(t *testing.T) {
	for _, p := range []sshd.Profile{sshd.Silent, sshd.Garbage, sshd.EndlessLines} {
		t.Run(string(p), func(t *testing.T) {
			s := startProfile(t, sshd.Config{Profile: p})
			start := time.Now()
			obs := probeEnv(t, hostileEnv(), s, ssh.Options{})
			if obs.Error == "" || obs.Reachable || obs.AuthExamined {
				t.Fatalf("error %q reachable %v", obs.Error, obs.Reachable)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
			t.Logf("%s: %s", p, obs.Error)
		})
	}
}

func TestLatencyAndBanner(t *testing.T) {
	cfg := sshd.Config{Profile: sshd.PublicKey, Banner: "OpenSSH_8.0", Latency: 20 * time.Millisecond}
	s := startProfile(t, cfg)
	obs := probe(t, s, ssh.Options{OneHostKey: true})
	if obs.Error != "" || obs.Ident.Line != "SSH-2.0-OpenSSH_8.0" || obs.Ident.Software != "OpenSSH_8.0" {
		t.Fatalf("error %q ident %+v", obs.Error, obs.Ident)
	}
	if len(obs.HostKeys) != 1 {
		t.Fatalf("OneHostKey: %d keys", len(obs.HostKeys))
	}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr()
	ln.Close()
	obs := ssh.Probe(context.Background(), testEnv(), target(t, a), ssh.Options{})
	if obs.Error != "connect: refused" || obs.Reachable {
		t.Fatalf("error %q", obs.Error)
	}
}

// raw serves fn on a loopback listener.
func raw(t *testing.T, fn func(net.Conn)) net.Addr {
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
				io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			}()
		}
	}()
	return ln.Addr()
}

func TestHostileRaw(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		reachable  bool
		fn         func(net.Conn)
	}{
		{"endless line", "longer than", false, func(c net.Conn) {
			b := bytes.Repeat([]byte("A"), 4096)
			for {
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}},
		// The probe may have sent its own identification before the
		// server closed: the kernel then answers with a reset, which is
		// the same observation.
		{"closed at once", "identification: closed|identification: reset", false, func(c net.Conn) { c.Close() }},
		{"huge packet length", "exceeds the probe's limit", true, func(c net.Conn) {
			c.Write([]byte("SSH-2.0-x\r\n\x7f\xff\xff\xff\x04"))
		}},
		{"truncated packet", "kexinit: timeout", true, func(c net.Conn) {
			c.Write([]byte("SSH-2.0-x\r\n\x00\x00\x01\x00\x04abc"))
			time.Sleep(2 * time.Second)
		}},
		{"not a kexinit", "message 21", true, func(c net.Conn) {
			c.Write([]byte("SSH-2.0-x\r\n\x00\x00\x00\x0c\x0a\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
		}},
		{"disconnect", "too many connections", true, func(c net.Conn) {
			msg := "too many connections"
			p := append([]byte{1, 0, 0, 0, 2, 0, 0, 0, byte(len(msg))}, msg...)
			pad := 8 - (5+len(p))%8
			if pad < 4 {
				pad += 8
			}
			pkt := []byte{0, 0, 0, byte(1 + len(p) + pad), byte(pad)}
			pkt = append(append(pkt, p...), make([]byte, pad)...)
			c.Write(append([]byte("SSH-2.0-x\r\n"), pkt...))
		}},
		{"unknown version", "unknown protocol version", true, func(c net.Conn) {
			c.Write([]byte("SSH-3.0-future\r\n"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := raw(t, tc.fn)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			obs := ssh.Probe(ctx, hostileEnv(), target(t, a), ssh.Options{})
			matched := false
			for _, w := range strings.Split(tc.want, "|") {
				matched = matched || strings.Contains(obs.Error, w)
			}
			if !matched || obs.Reachable != tc.reachable || obs.AuthExamined {
				t.Fatalf("error %q reachable %v, want %q", obs.Error, obs.Reachable, tc.want)
			}
		})
	}
}
