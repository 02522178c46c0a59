package rules_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/internal/fleet/telnetd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/admin"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

// s1Env has generous limits for servers that behave; the hostile
// profiles get short ones so the tests stay quick.
func s1Env() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}}
}

func hostileEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: time.Second, ReadTimeout: 300 * time.Millisecond}}
}

func adminEnv() wire.Env {
	return wire.Env{Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second}}
}

func addrOf(t *testing.T, service string, a net.Addr) observe.Target {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return observe.Target{Service: service, Addr: ap}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T, service string) observe.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr()
	ln.Close()
	return addrOf(t, service, a)
}

func sshScan(t *testing.T, p sshd.Profile) *observe.SSH {
	t.Helper()
	s, err := sshd.Start("127.0.0.1:0", sshd.Config{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := s1Env()
	switch p {
	case sshd.Silent, sshd.Garbage, sshd.EndlessLines:
		env = hostileEnv()
	}
	obs := ssh.Probe(ctx, env, addrOf(t, "ssh", s.Addr()), ssh.Options{})
	// Observations are stored and re-graded: grade the stored form.
	b, err := json.Marshal(obs)
	if err != nil {
		t.Fatal(err)
	}
	var back observe.SSH
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func refusedTelnet(t *testing.T) *observe.Admin {
	return admin.Probe(context.Background(), adminEnv(), closedPort(t, "telnet"), admin.Options{})
}

// TestS1FleetTruth scans every SSH profile, with a closed telnet port
// beside it, under every policy, and compares with the profile's truth.
func TestS1FleetTruth(t *testing.T) {
	for _, p := range sshd.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			obs := sshScan(t, p)
			tel := refusedTelnet(t)
			for _, pol := range []struct{ tol, weak bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
				policy := rules.DefaultPolicy()
				policy.SSHToleratePasswords, policy.SSHWeakAlgorithmsFail = pol.tol, pol.weak
				v := rules.S1AdminAuth([]*observe.SSH{obs}, []*observe.Admin{tel}, nil, policy)
				want := sshd.TruthPolicy(p, pol.tol, pol.weak)
				t.Logf("policy %+v: %s: %s", pol, v.Outcome, v.Reason)
				if v.Outcome != want {
					t.Errorf("policy %+v: %s (%s), truth %s\n%s", pol, v.Outcome, v.Reason, want, strings.Join(v.Evidence, "\n"))
				}
				if v.Source != scoring.FromProbe || v.Reason == "" || (v.Outcome != scoring.Unknown && len(v.Evidence) == 0) {
					t.Errorf("verdict %+v", v)
				}
			}
		})
	}
}

// TestS1CleartextTruth runs each cleartext listener beside a
// public-key-only SSH server: the listener decides.
func TestS1CleartextTruth(t *testing.T) {
	good := sshScan(t, sshd.PublicKey)
	for _, p := range telnetd.Profiles() {
		t.Run(string(p), func(t *testing.T) {
			s, err := telnetd.Start("127.0.0.1:0", telnetd.Config{Profile: p})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			a := admin.Probe(context.Background(), adminEnv(), addrOf(t, telnetd.Service(p), s.Addr()), admin.Options{Quiet: time.Second})
			v := rules.S1AdminAuth([]*observe.SSH{good}, []*observe.Admin{a}, nil, rules.DefaultPolicy())
			if v.Outcome != telnetd.Truth(p) {
				t.Fatalf("%s (%s), truth %s", v.Outcome, v.Reason, telnetd.Truth(p))
			}
			if !strings.Contains(v.Reason, "cleartext administration channel") {
				t.Fatalf("reason %q", v.Reason)
			}
			// Without any SSH, an answering listener still fails.
			if v := rules.S1AdminAuth(nil, []*observe.Admin{a}, nil, rules.DefaultPolicy()); v.Outcome != scoring.Fail {
				t.Fatalf("without SSH: %s", v.Outcome)
			}
		})
	}
}

type blackhole struct{}

func (blackhole) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestS1AdminStates(t *testing.T) {
	good := sshScan(t, sshd.PublicKey)
	env := adminEnv()
	env.Limits.DialTimeout = 100 * time.Millisecond
	env.Dialer = blackhole{}
	tg := observe.Target{Service: "telnet", Addr: netip.MustParseAddrPort("127.0.0.1:23")}
	filteredListed := admin.Probe(context.Background(), env, tg, admin.Options{Listed: true})
	filteredStd := admin.Probe(context.Background(), env, tg, admin.Options{})
	if filteredListed.State != observe.AdminStateTimeout {
		t.Fatalf("state %q", filteredListed.State)
	}
	pol := rules.DefaultPolicy()
	for _, tc := range []struct {
		name  string
		ssh   []*observe.SSH
		adm   []*observe.Admin
		want  scoring.Outcome
		words string
	}{
		{"filtered listed telnet", []*observe.SSH{good}, []*observe.Admin{filteredListed}, scoring.Unknown, "listed"},
		{"filtered standard port", []*observe.SSH{good}, []*observe.Admin{filteredStd}, scoring.Pass, "public-key"},
		{"refused standard port", []*observe.SSH{good}, []*observe.Admin{refusedTelnet(t)}, scoring.Pass, "public-key"},
		{"nothing at all", nil, nil, scoring.Unknown, "no administration channel observable"},
		{"only closed cleartext ports", nil, []*observe.Admin{refusedTelnet(t)}, scoring.Unknown, "no administration channel observable"},
		{"ssh alone", []*observe.SSH{good}, nil, scoring.Pass, "public-key"},
	} {
		v := rules.S1AdminAuth(tc.ssh, tc.adm, nil, pol)
		if v.Outcome != tc.want || !strings.Contains(v.Reason, tc.words) {
			t.Errorf("%s: %s (%s), want %s", tc.name, v.Outcome, v.Reason, tc.want)
		}
	}
}

func TestS1Synthetic(t *testing.T) {
	mk := func(methods ...string) *observe.SSH {
		o := &observe.SSH{SSH2: true, AuthExamined: true, AuthMethods: methods}
		o.Service, o.Address, o.Port, o.Reachable = "ssh", "192.0.2.1", 22, true
		o.Ident = &observe.SSHIdent{Line: "SSH-2.0-OpenSSH_9.6", Proto: "2.0", Software: "OpenSSH_9.6"}
		return o
	}
	pol := rules.DefaultPolicy()
	for _, tc := range []struct {
		obs  *observe.SSH
		want scoring.Outcome
	}{
		{mk("publickey"), scoring.Pass},
		{mk("publickey", "gssapi-keyex", "gssapi-with-mic"), scoring.Pass},
		{mk("publickey", "hostbased"), scoring.Unknown},
		{mk("publickey", "password"), scoring.Fail},
		{mk("keyboard-interactive"), scoring.Fail},
		{func() *observe.SSH { o := mk(); o.AuthExamined = false; o.Error = "handshake: timeout"; return o }(), scoring.Unknown},
		{func() *observe.SSH {
			o := mk()
			o.Reachable = false
			o.Ident = nil
			o.Error = "connect: refused"
			return o
		}(), scoring.Unknown},
	} {
		v := rules.S1AdminAuth([]*observe.SSH{tc.obs}, nil, nil, pol)
		if v.Outcome != tc.want {
			t.Errorf("%v: %s (%s), want %s", tc.obs.AuthMethods, v.Outcome, v.Reason, tc.want)
		}
		for _, e := range v.Evidence {
			if !strings.HasPrefix(e, "192.0.2.1:22 ssh ") {
				t.Errorf("evidence %q without its service", e)
			}
		}
	}
	// A second SSH port that could not be examined keeps a pass away.
	bad := mk()
	bad.Port, bad.AuthExamined, bad.Error = 2222, false, "handshake: timeout"
	if v := rules.S1AdminAuth([]*observe.SSH{mk("publickey"), bad}, nil, nil, pol); v.Outcome != scoring.Unknown {
		t.Errorf("one unexamined port: %s", v.Outcome)
	}
	// A weak finding is only a note by default.
	weak := mk("publickey")
	weak.Findings = []observe.SSHFinding{{Severity: observe.SeverityFail, Kind: "cipher", Algorithm: "3des-cbc", Reason: "x"}}
	if v := rules.S1AdminAuth([]*observe.SSH{weak}, nil, nil, pol); v.Outcome != scoring.Pass || !strings.Contains(v.Reason, "3des-cbc") {
		t.Errorf("weak default: %s (%s)", v.Outcome, v.Reason)
	}
	pol.SSHWeakAlgorithmsFail = true
	if v := rules.S1AdminAuth([]*observe.SSH{weak}, nil, nil, pol); v.Outcome != scoring.Fail {
		t.Errorf("weak under policy: %s", v.Outcome)
	}
}
