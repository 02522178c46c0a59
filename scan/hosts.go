package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// Resolver looks up the addresses of a DNS name; *net.Resolver is one,
// and so is Hosts.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Hosts is a static table of names and their addresses, read from a
// hosts(5) file ("192.0.2.10 mx1.example.go.jp mx1"): kensa scan --hosts
// uses it so that an office can scan by name where its DNS differs from
// what the scanner sees, and tests and simulated fleets give names to
// hosts with several addresses without asking a name server. A name the
// table holds resolves to every address listed for it, in file order;
// other names go to Next.
type Hosts struct {
	names map[string][]netip.Addr
	// Next resolves the names the table does not hold; nil means
	// net.DefaultResolver.
	Next Resolver
}

// NewHosts returns an empty table.
func NewHosts() *Hosts { return &Hosts{names: map[string][]netip.Addr{}} }

// Add lists addr for every name.
func (h *Hosts) Add(addr netip.Addr, names ...string) {
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		for _, a := range h.names[n] {
			if a == addr {
				return
			}
		}
		h.names[n] = append(h.names[n], addr.Unmap())
	}
}

// Len returns how many names the table holds.
func (h *Hosts) Len() int { return len(h.names) }

// LookupNetIP returns the table's addresses for host, or asks Next.
// network "ip4" or "ip6" keeps only that family.
func (h *Hosts) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if addrs, ok := h.names[strings.ToLower(strings.TrimSuffix(host, "."))]; ok {
		var out []netip.Addr
		for _, a := range addrs {
			if network == "ip4" && !a.Is4() || network == "ip6" && !a.Is6() {
				continue
			}
			out = append(out, a)
		}
		if len(out) == 0 {
			return nil, &net.DNSError{Err: "no " + network + " address in the hosts table", Name: host, IsNotFound: true}
		}
		return out, nil
	}
	next := h.Next
	if next == nil {
		next = net.DefaultResolver
	}
	return next.LookupNetIP(ctx, network, host)
}

// LoadHosts reads a hosts(5) file. Every problem is reported as
// file:line:column.
func LoadHosts(path string) (*Hosts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHosts(path, b)
}

// ParseHosts reads hosts(5) text: per line an address and one or more
// names, "#" starting a comment. name is the file's name in errors.
func ParseHosts(name string, b []byte) (*Hosts, error) {
	h := NewHosts()
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		col := strings.Index(line, fields[0]) + 1
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d:%d: bad address %q", name, n, col, fields[0]))
			continue
		}
		if len(fields) == 1 {
			problems = append(problems, fmt.Sprintf("%s:%d:%d: address %s without a name", name, n, col, a))
			continue
		}
		for _, f := range fields[1:] {
			if _, err := netip.ParseAddr(f); err == nil || strings.ContainsAny(f, "/:@") {
				problems = append(problems, fmt.Sprintf("%s:%d:%d: %q is not a host name", name, n, strings.Index(line, f)+1, f))
			}
		}
		h.Add(a, fields[1:]...)
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", name, err))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: hosts file refused:\n%s", name, strings.Join(problems, "\n"))
	}
	return h, nil
}
