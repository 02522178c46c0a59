package rules

import (
	"net/netip"
	"strconv"
)

// where names a service of a server the way every reason and evidence
// line does: "192.0.2.1:25 smtp", "[2001:db8::1]:143 imap".
func where(service, address string, port int) string {
	if a, err := netip.ParseAddr(address); err == nil {
		return netip.AddrPortFrom(a, uint16(port)).String() + " " + service
	}
	return address + ":" + strconv.Itoa(port) + " " + service
}
