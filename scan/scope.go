package scan

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Scope is the set of addresses a scan may contact.
type Scope struct {
	prefixes []netip.Prefix
	// single holds the single addresses, looked up without a scan of the
	// prefixes (an inventory's own addresses are thousands of them).
	single map[netip.Addr]bool
}

// ParseScope reads a comma-separated list of CIDR prefixes or single
// addresses.
func ParseScope(s string) (*Scope, error) {
	sc := &Scope{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			sc.prefixes = append(sc.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("scope %q: neither a CIDR prefix nor an address", f)
		}
		sc.Add(a)
	}
	if len(sc.prefixes) == 0 && len(sc.single) == 0 {
		return nil, fmt.Errorf("scope %q: no prefix", s)
	}
	return sc, nil
}

// Add adds a single address.
func (s *Scope) Add(a netip.Addr) {
	if s.single == nil {
		s.single = map[netip.Addr]bool{}
	}
	s.single[a.Unmap()] = true
}

// Contains reports whether a is in scope.
func (s *Scope) Contains(a netip.Addr) bool {
	a = a.Unmap()
	if s.single[a] {
		return true
	}
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the prefixes and addresses (up to a few of them).
func (s *Scope) String() string {
	var out []string
	for _, p := range s.prefixes {
		out = append(out, p.String())
	}
	var singles []string
	for a := range s.single {
		singles = append(singles, a.String())
	}
	sort.Strings(singles)
	if len(singles) > 4 {
		singles = append(singles[:4], fmt.Sprintf("… (%d addresses in all)", len(s.single)))
	}
	return strings.Join(append(out, singles...), ",")
}
