package observe

import "strings"

// AdminState is how the connection attempt to a telnet, rlogin or rsh
// port went.
type AdminState string

// States of a connection attempt.
const (
	// AdminStateAnswered: the listener accepted the connection.
	AdminStateAnswered AdminState = "answered"
	// AdminStateRefused: the port is closed (TCP reset).
	AdminStateRefused AdminState = "refused"
	// AdminStateTimeout: no answer at all (a filtering firewall, or a host
	// down).
	AdminStateTimeout AdminState = "timeout"
	// AdminStateUnreachable: the network says the host cannot be reached.
	AdminStateUnreachable AdminState = "unreachable"
	// AdminStateError: any other failure to connect.
	AdminStateError AdminState = "error"
)

// Admin is what the probe saw of one telnet, rlogin or rsh port.
// Reachable (of the embedded Endpoint) is set when the listener accepted
// the connection: for these protocols that alone is the finding, and
// rlogin and rsh servers say nothing until the client speaks.
type Admin struct {
	Endpoint
	// Listed is set when the inventory lists the service on this port.
	Listed bool `json:"listed"`
	// State is how the connection attempt went: answered, refused,
	// timeout, unreachable or error.
	State AdminState `json:"state"`
	// Negotiation lists the telnet options the server asked for or
	// offered ("DO TERMINAL-TYPE", "WILL ECHO"); the probe declined all.
	Negotiation []string `json:"negotiation,omitempty"`
	// Text is what the server wrote, option negotiation removed,
	// sanitised and cut at 2 KiB.
	Text string `json:"text,omitempty"`
	// Prompt is the last line of Text when it awaits input ("login: ").
	Prompt string `json:"prompt,omitempty"`
	// BytesRead is how many bytes the server sent.
	BytesRead int64 `json:"bytes_read"`
	// ClosedByServer is set when the server closed the connection.
	ClosedByServer bool `json:"closed_by_server,omitempty"`
}

// Banners returns the text before the prompt (kind "greeting") and the
// prompt (kind "prompt").
func (o *Admin) Banners() []Banner {
	var out []Banner
	b := func(kind, text string) {
		out = append(out, Banner{Service: o.Service, Address: o.Address, Port: o.Port, Kind: kind, Text: text})
	}
	greeting := o.Text
	if o.Prompt != "" {
		if i := strings.LastIndexByte(greeting, '\n'); i >= 0 {
			greeting = greeting[:i]
		} else {
			greeting = ""
		}
	}
	greeting = strings.TrimSpace(greeting)
	if greeting != "" {
		b("greeting", greeting)
	}
	if o.Prompt != "" {
		b("prompt", o.Prompt)
	}
	return out
}
