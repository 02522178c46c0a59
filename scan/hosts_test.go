package scan

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

type failResolver struct{ asked []string }

func (f *failResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.asked = append(f.asked, host)
	return nil, errors.New("not asked for " + host)
}

func TestHostsTable(t *testing.T) {
	h, err := ParseHosts("hosts", []byte(`# the office's view
127.0.0.10 mx1.example.go.jp mx1
127.0.0.11 MX1.example.go.jp.   # a second address
::1 v6.example.go.jp
`))
	if err != nil {
		t.Fatal(err)
	}
	next := &failResolver{}
	h.Next = next
	got, err := h.LookupNetIP(context.Background(), "ip", "mx1.example.go.jp")
	if err != nil || len(got) != 2 || got[0] != netip.MustParseAddr("127.0.0.10") || got[1] != netip.MustParseAddr("127.0.0.11") {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := h.LookupNetIP(context.Background(), "ip4", "v6.example.go.jp"); err == nil {
		t.Fatalf("ip4 of an IPv6-only name: %v", got)
	}
	if _, err := h.LookupNetIP(context.Background(), "ip", "other.example"); err == nil || len(next.asked) != 1 || next.asked[0] != "other.example" {
		t.Fatalf("a name not in the table goes to Next: %v %q", err, next.asked)
	}
}

func TestHostsErrors(t *testing.T) {
	_, err := ParseHosts("office.hosts", []byte("127.0.0.1 ok\n127.0.0.300 bad\n  127.0.0.2\n127.0.0.3 name 10.0.0.1\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`office.hosts:2:1: bad address "127.0.0.300"`,
		"office.hosts:3:3: address 127.0.0.2 without a name",
		`office.hosts:4:16: "10.0.0.1" is not a host name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}
