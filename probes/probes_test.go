package probes

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ntp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/scoring"
)

func TestRegistry(t *testing.T) {
	want := "smtp submission smtps pop3 pop3s imap imaps ssh ntp telnet rlogin rsh"
	if got := strings.Join(Names(), " "); got != want {
		t.Errorf("Names() = %s", got)
	}
	for name, port := range map[string]int{"smtp": 25, "submission": 587, "smtps": 465, "pop3": 110, "pop3s": 995,
		"imap": 143, "imaps": 993, "ssh": 22, "ntp": 123, "telnet": 23, "rlogin": 513, "rsh": 514, "http": 0} {
		if got := StandardPort(name); got != port {
			t.Errorf("StandardPort(%s) = %d, want %d", name, got, port)
		}
	}
	for _, e := range Registry {
		wantTLS := e.Name == "smtps" || e.Name == "imaps" || e.Name == "pop3s"
		if e.ImplicitTLS != wantTLS {
			t.Errorf("%s: implicit TLS %v", e.Name, e.ImplicitTLS)
		}
		wantUDP := e.Name == "ntp"
		if (e.Transport == UDP) != wantUDP || e.Transport != UDP && e.Transport != TCP {
			t.Errorf("%s: transport %q", e.Name, e.Transport)
		}
		if (e.Answered != nil) != (e.Transport == UDP) {
			t.Errorf("%s: a datagram service needs Answered, and only one", e.Name)
		}
	}
	// SMTP, the long relay tests, comes after every short clear-text
	// conversation.
	if smtp, imap := mustLookup(t, "smtp"), mustLookup(t, "imap"); smtp.Order <= imap.Order {
		t.Errorf("smtp order %d before imap %d", smtp.Order, imap.Order)
	}
	// Every service a catalog item applies to, or is decided by, is
	// registered.
	for _, it := range scoring.MailCatalog.Items {
		for _, s := range append(append([]string(nil), it.AppliesTo...), it.DecidedBy...) {
			if _, ok := Lookup(s); !ok {
				t.Errorf("item %s names unregistered service %s", it.Code, s)
			}
		}
	}
}

func mustLookup(t *testing.T, name string) Entry {
	t.Helper()
	e, ok := Lookup(name)
	if !ok {
		t.Fatalf("%s not registered", name)
	}
	return e
}

// TestEveryObservationHasAProbe: every protocol field of
// observe.Observations has a registry entry whose probe returns that
// observation type, and every entry has a probe. Each probe runs against
// a loopback port where nothing listens, and must still return its
// observation (what it saw: nothing).
func TestEveryObservationHasAProbe(t *testing.T) {
	obsType := reflect.TypeOf((*observe.Observation)(nil)).Elem()
	registered := map[reflect.Type]bool{}
	for _, e := range Registry {
		if e.Probe == nil || e.Observation == nil {
			t.Errorf("%s: no probe or no observation type", e.Name)
			continue
		}
		registered[reflect.TypeOf(e.Observation)] = true
	}
	for _, st := range Steps {
		if _, ok := Lookup(st.Through); !ok || st.Observation == nil {
			t.Errorf("step %s: no service %q or no observation type", st.Name, st.Through)
		}
		registered[reflect.TypeOf(st.Observation)] = true
	}
	ot := reflect.TypeOf(observe.Observations{})
	fields := 0
	for i := 0; i < ot.NumField(); i++ {
		f := ot.Field(i)
		if f.Type.Kind() != reflect.Slice || !f.Type.Elem().Implements(obsType) {
			continue
		}
		fields++
		if !registered[f.Type.Elem()] {
			t.Errorf("observation %s (field %s) has no registry entry", f.Type.Elem(), f.Name)
		}
	}
	if fields < 6 {
		t.Fatalf("found %d observation fields", fields)
	}

	port := closedPort(t)
	env := wire.Env{Limits: wire.Limits{DialTimeout: time.Second, ReadTimeout: 200 * time.Millisecond}}
	for _, e := range Registry {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		target := observe.Target{Service: e.Name, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
		obs, answered, err := Probe(ctx, env, target, true, Options{NTP: ntpQuick()})
		cancel()
		if err != nil || obs == nil || answered {
			t.Errorf("%s: %v %v answered %v", e.Name, obs, err, answered)
			continue
		}
		if reflect.TypeOf(obs) != reflect.TypeOf(e.Observation) {
			t.Errorf("%s: probe returned %T, registered %T", e.Name, obs, e.Observation)
		}
		var all observe.Observations
		all.Add(obs)
		if got := all.All(); len(got) != 1 || got[0] != obs {
			t.Errorf("%s: Add did not file the observation: %v", e.Name, got)
		}
	}
	if _, _, err := Probe(context.Background(), env, observe.Target{Service: "gopher"}, true, Options{}); err == nil {
		t.Error("a service without an entry is an error")
	}
}

// closedPort returns a TCP port on 127.0.0.1 where nothing listens (and
// no UDP socket either, as far as this process knows).
func closedPort(t *testing.T) uint16 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	ln.Close()
	return port
}

// ntpQuick sends one NTP query: a closed port answers none.
func ntpQuick() ntp.Options { return ntp.Options{Samples: 1} }
