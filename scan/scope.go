package scan

import (
	"fmt"
	"net/netip"
	"strings"
)

// Scope is the set of addresses a scan may contact.
type Scope struct {
	prefixes []netip.Prefix
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
	if len(sc.prefixes) == 0 {
		return nil, fmt.Errorf("scope %q: no prefix", s)
	}
	return sc, nil
}

// Add adds a single address.
func (s *Scope) Add(a netip.Addr) {
	a = a.Unmap()
	s.prefixes = append(s.prefixes, netip.PrefixFrom(a, a.BitLen()))
}

// Contains reports whether a is in scope.
func (s *Scope) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the prefixes.
func (s *Scope) String() string {
	var out []string
	for _, p := range s.prefixes {
		out = append(out, p.String())
	}
	return strings.Join(out, ",")
}
