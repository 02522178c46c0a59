package inventory

import "strings"

// ServiceDef describes a service kensa knows: the name inventories use for
// it, its standard port and how it is reached.
type ServiceDef struct {
	// Name is the name used in inventories, flags and results, such as
	// "smtp" or "imaps".
	Name string `json:"name"`
	// Port is the standard port, checked by service discovery.
	Port int `json:"port"`
	// Transport is "tcp" or "udp" (ntp only).
	Transport string `json:"transport"`
	// ImplicitTLS is true for the services that speak TLS from the first
	// byte (smtps, pop3s, imaps).
	ImplicitTLS bool `json:"implicit_tls,omitempty"`
	// Cleartext is true for remote-administration services without
	// encryption (telnet, rlogin, rsh).
	Cleartext bool `json:"cleartext,omitempty"`
}

// registry lists the services of DESIGN.md in a stable order: mail
// transfer, mail access, administration, time.
var registry = []ServiceDef{
	{Name: "smtp", Port: 25, Transport: "tcp"},
	{Name: "submission", Port: 587, Transport: "tcp"},
	{Name: "smtps", Port: 465, Transport: "tcp", ImplicitTLS: true},
	{Name: "pop3", Port: 110, Transport: "tcp"},
	{Name: "pop3s", Port: 995, Transport: "tcp", ImplicitTLS: true},
	{Name: "imap", Port: 143, Transport: "tcp"},
	{Name: "imaps", Port: 993, Transport: "tcp", ImplicitTLS: true},
	{Name: "ssh", Port: 22, Transport: "tcp"},
	{Name: "ntp", Port: 123, Transport: "udp"},
	{Name: "telnet", Port: 23, Transport: "tcp", Cleartext: true},
	{Name: "rlogin", Port: 513, Transport: "tcp", Cleartext: true},
	{Name: "rsh", Port: 514, Transport: "tcp", Cleartext: true},
}

// KnownServices returns every service kensa knows, in registry order
// (smtp, submission, smtps, pop3, pop3s, imap, imaps, ssh, ntp, telnet,
// rlogin, rsh). The slice is a copy.
func KnownServices() []ServiceDef {
	return append([]ServiceDef(nil), registry...)
}

// ServiceNames returns the names of every known service in registry order.
func ServiceNames() []string {
	out := make([]string, len(registry))
	for i, d := range registry {
		out[i] = d.Name
	}
	return out
}

// LookupService returns the service called name (exact, lower case).
func LookupService(name string) (ServiceDef, bool) {
	for _, d := range registry {
		if d.Name == name {
			return d, true
		}
	}
	return ServiceDef{}, false
}

// StandardPort returns the standard port of the service called name, or 0
// when the name is unknown.
func StandardPort(name string) int {
	d, _ := LookupService(name)
	return d.Port
}

// serviceRank orders service names as the registry does; unknown names
// sort last.
func serviceRank(name string) int {
	for i, d := range registry {
		if d.Name == name {
			return i
		}
	}
	return len(registry)
}

var serviceList = strings.Join(ServiceNames(), ", ")
