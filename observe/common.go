// Package observe holds what kensa's probes saw of a server, and nothing
// about how they saw it: the target and the planned services with their
// states, each probe's observation (SMTP with its replies and relay
// tests, IMAP and POP3 with their login attempts, SSH with its
// identification, KEXINIT, host keys and methods, NTP samples, the
// cleartext administration services), banners, TLS facts and the
// clock readings servers volunteer. These values are stored under
// "observations" in every kensa/v1 record, so that the rules can judge
// them again later (kensa grade --regrade).
//
// The package also holds the protocol's own reading of what servers say
// where both the probe (to decide its next step) and the rules (to judge)
// need it — what an SMTP reply to MAIL or RCPT says, whether a login
// answer refuses or checks — so that the two never read a reply
// differently. It judges no checklist item: that is package rules.
//
// It is a package of its own so that the rules, fingerprints, reports
// and the simulated fleet can use observations without importing the
// transport (package wire) or any probe.
//
// See docs/ARCHITECTURE.md.
package observe

import (
	"net/netip"
	"time"
)

// Target is one service of one server to probe.
type Target struct {
	// Service is the inventory service name (smtp, submission, imaps, …).
	Service string `json:"service"`
	// Addr is the address and port to connect to.
	Addr netip.AddrPort `json:"-"`
	// Host is the server's name from the inventory when it is a DNS name
	// (for TLS SNI and certificate name checks); empty for IP literals.
	Host string `json:"-"`
}

// String returns "service address:port".
func (t Target) String() string { return t.Service + " " + t.Addr.String() }

// Endpoint is the part every probe's observation shares: which service at
// which address was examined, whether it answered, and the conversation.
// Probe observations embed it.
type Endpoint struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Reachable is set when the service answered in its own protocol
	// (a connection that only opened and then stayed silent is not).
	Reachable bool `json:"reachable"`
	// Error says why the probe could not finish, in one line; empty when
	// it did.
	Error string `json:"error,omitempty"`
	// Started is when the probe began; DurationMS how long it took.
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"duration_ms"`
	// Transcript holds the protocol lines exchanged, redacted.
	Transcript []string `json:"transcript,omitempty"`
}

// NewEndpoint starts the endpoint of an observation of t.
func NewEndpoint(t Target, now time.Time) Endpoint {
	return Endpoint{
		Service: t.Service,
		Address: t.Addr.Addr().String(),
		Port:    int(t.Addr.Port()),
		Started: now,
	}
}

// Finish records the duration and the transcript's lines.
func (e *Endpoint) Finish(now time.Time, transcript []string) {
	e.DurationMS = now.Sub(e.Started).Milliseconds()
	e.Transcript = transcript
}

// Banner is a piece of text a server volunteers about itself: an SMTP
// greeting or EHLO reply, an IMAP greeting or ID, a POP3 greeting, an SSH
// identification line, a telnet prompt. Every probe observation lists its
// banners (method Banners) so that software fingerprints can be read from
// all of them alike.
type Banner struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Kind says which banner: "greeting", "ehlo", "helo", "id",
	// "identification", "prompt".
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// TimeSample is a server's clock as read from something it said (an SMTP
// greeting's timestamp), for the time-synchronisation item when the server
// answers no NTP.
type TimeSample struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Text is the timestamp as the server wrote it.
	Text string `json:"text"`
	// Server is the time the server stated.
	Server time.Time `json:"server"`
	// Received is the scanner's clock when the line arrived; RTTMS the
	// round trip of the connection's establishment, in milliseconds.
	Received time.Time `json:"received"`
	RTTMS    int64     `json:"rtt_ms"`
	// ResolutionMS is the stated time's resolution (1000 for whole
	// seconds).
	ResolutionMS int64 `json:"resolution_ms"`
}

// TLS is what a probe observed of one TLS session: the facts, never a
// judgement (whether they are weak is decided by the rules, at the
// evaluation date).
type TLS struct {
	// Version is the negotiated protocol ("TLS 1.3").
	Version string `json:"version,omitempty"`
	// Cipher is the negotiated cipher suite's name.
	Cipher string `json:"cipher,omitempty"`
	// Error is set when the handshake failed; the other fields are then
	// empty.
	Error string `json:"error,omitempty"`

	Subject   string    `json:"subject,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	KeyType   string    `json:"key_type,omitempty"`
	KeyBits   int       `json:"key_bits,omitempty"`
	SigAlg    string    `json:"signature_algorithm,omitempty"`
	// SHA256 is the leaf certificate's fingerprint, hex.
	Fingerprint string `json:"fingerprint_sha256,omitempty"`

	// NoCertificate is set when the server presented no certificate.
	NoCertificate bool `json:"no_certificate,omitempty"`
	SelfSigned    bool `json:"self_signed"`
	// NameChecked is set when a name was available to check against
	// (the inventory's DNS name or the server's own name); NameMatch
	// tells the result.
	NameChecked bool   `json:"name_checked"`
	NameMatch   bool   `json:"name_match"`
	CheckedName string `json:"checked_name,omitempty"`
	// Trusted is set when the chain verified against the scanner's
	// system roots at the time of the probe.
	Trusted bool `json:"trusted"`

	// Expired and Weak are what kensa versions that judged TLS at scan
	// time recorded: whether the certificate had expired at the scan's
	// clock, and the weaknesses found. InspectTLS no longer sets them;
	// rules.TLSWeaknesses judges the recorded version, cipher and
	// certificate at the evaluation date, and reads Weak only from old
	// records.
	Expired bool     `json:"expired,omitempty"`
	Weak    []string `json:"weak,omitempty"`
}
