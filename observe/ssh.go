package observe

import (
	"fmt"
	"strings"
)

// SSHHostKey is one host key the server proved it holds.
type SSHHostKey struct {
	// Algorithm is the format the server presented: the key's type, or
	// the certificate's ("ssh-ed25519-cert-v01@openssh.com").
	Algorithm string `json:"algorithm"`
	// Type is the key's format ("ssh-rsa", "ssh-ed25519"); for a
	// certificate, the certified key's format.
	Type string `json:"type"`
	// Bits is the key's size (RSA modulus, curve size); 0 if unknown.
	Bits int `json:"bits"`
	// Fingerprint is the key's SHA-256 fingerprint, "SHA256:…".
	Fingerprint string `json:"fingerprint"`
	// Certificate is set when the server presented an OpenSSH
	// certificate for the key.
	Certificate bool `json:"certificate,omitempty"`
}

// SSHNegotiated holds the algorithms the probe's main connection agreed on.
type SSHNegotiated struct {
	Kex     string `json:"kex"`
	HostKey string `json:"host_key"`
	Cipher  string `json:"cipher"`
	MAC     string `json:"mac,omitempty"`
}

// SSH is what the probe saw of one SSH service.
type SSH struct {
	Endpoint
	// Ident is the server's identification line, parsed; nil when none
	// arrived.
	Ident *SSHIdent `json:"ident,omitempty"`
	// PreIdent holds the first lines the server sent before its
	// identification line, if any.
	PreIdent []string `json:"pre_ident,omitempty"`
	// SSH1 is set when the identification announces protocol 1 (1.x,
	// including 1.99); SSH2 when it announces protocol 2 (2.0 or 1.99).
	SSH1 bool `json:"ssh1"`
	SSH2 bool `json:"ssh2"`
	// KexInit holds the server's algorithm lists; nil when its first
	// packet was not read.
	KexInit *KexInit `json:"kexinit,omitempty"`
	// StrictKex is set when the server offers strict key exchange.
	StrictKex bool `json:"strict_kex"`
	// Negotiated are the algorithms agreed on by the main connection.
	Negotiated *SSHNegotiated `json:"negotiated,omitempty"`
	// HostKeys are the host keys obtained, the main connection's first.
	HostKeys []SSHHostKey `json:"host_keys,omitempty"`
	// AuthExamined is set when the server answered the "none" request:
	// either it accepted it (NoneAccepted) or it listed the methods it
	// allows (AuthMethods).
	AuthExamined bool `json:"auth_examined"`
	// NoneAccepted is set when the server let the fake user in with the
	// "none" method, without any credential.
	NoneAccepted bool `json:"none_accepted"`
	// AuthMethods are the methods the server allows after "none"
	// failed ("publickey", "password", "keyboard-interactive", …).
	AuthMethods []string `json:"auth_methods,omitempty"`
	// AuthBanner is the SSH_MSG_USERAUTH_BANNER text, if any.
	AuthBanner string `json:"auth_banner,omitempty"`
	// Findings are the weak algorithms and keys as kensa versions that
	// graded at scan time recorded them. The probe no longer fills it:
	// rules.SSHFindings grades KexInit and HostKeys when the record is
	// judged, so that a re-grade sees today's grading.
	Findings []SSHFinding `json:"findings,omitempty"`
}

// Banners returns the identification line, any lines sent before it,
// and the authentication banner.
func (o *SSH) Banners() []Banner {
	var out []Banner
	b := func(kind, text string) {
		out = append(out, Banner{Service: o.Service, Address: o.Address, Port: o.Port, Kind: kind, Text: text})
	}
	for _, l := range o.PreIdent {
		b("greeting", l)
	}
	if o.Ident != nil {
		b("identification", o.Ident.Line)
	}
	if o.AuthBanner != "" {
		b("greeting", o.AuthBanner)
	}
	return out
}

// AllowsMethod reports whether the server listed method after "none".
func (o *SSH) AllowsMethod(method string) bool { return containsString(o.AuthMethods, method) }

// SSHIdent is a parsed SSH identification line,
// "SSH-protoversion-softwareversion SP comments".
type SSHIdent struct {
	// Line is the whole line without its line ending.
	Line string `json:"line"`
	// Proto is the protocol version: "2.0", "1.99" (both protocols),
	// "1.5" (SSH-1 only).
	Proto string `json:"proto"`
	// Software is the software version ("OpenSSH_9.2p1").
	Software string `json:"software"`
	// Comments is the text after the first space, if any
	// ("Debian-2+deb12u3").
	Comments string `json:"comments,omitempty"`
}

// SSH1 reports whether the line announces SSH protocol 1: a version
// 1.x, including 1.99 (a server speaking both 1 and 2).
func (id SSHIdent) SSH1() bool { return strings.HasPrefix(id.Proto, "1.") }

// SSH2 reports whether the line announces SSH protocol 2: version 2.0,
// or 1.99, which RFC 4253 section 5.1 defines as "2.0 and 1.x".
func (id SSHIdent) SSH2() bool { return id.Proto == "2.0" || id.Proto == "1.99" }

// StrictKexServer is the pseudo key-exchange algorithm by which a server
// offers strict key exchange, the countermeasure to the Terrapin attack
// (CVE-2023-48795).
const StrictKexServer = "kex-strict-s-v00@openssh.com"

// KexInit holds the algorithm lists of an SSH_MSG_KEXINIT (RFC 4253
// section 7.1), in the sender's order of preference.
type KexInit struct {
	Kex                     []string `json:"kex"`
	HostKey                 []string `json:"host_key"`
	CiphersClientServer     []string `json:"ciphers_client_server"`
	CiphersServerClient     []string `json:"ciphers_server_client"`
	MACsClientServer        []string `json:"macs_client_server"`
	MACsServerClient        []string `json:"macs_server_client"`
	CompressionClientServer []string `json:"compression_client_server"`
	CompressionServerClient []string `json:"compression_server_client"`
	LanguagesClientServer   []string `json:"languages_client_server,omitempty"`
	LanguagesServerClient   []string `json:"languages_server_client,omitempty"`
	FirstKexFollows         bool     `json:"first_kex_follows,omitempty"`
}

// StrictKex reports whether the server offers strict key exchange.
func (k *KexInit) StrictKex() bool {
	return k != nil && containsString(k.Kex, StrictKexServer)
}

// Ciphers returns the ciphers of both directions, each once, in order.
func (k *KexInit) Ciphers() []string {
	return unionStrings(k.CiphersServerClient, k.CiphersClientServer)
}

// MACs returns the MACs of both directions, each once, in order.
func (k *KexInit) MACs() []string { return unionStrings(k.MACsServerClient, k.MACsClientServer) }

// Compression returns the compression methods of both directions.
func (k *KexInit) Compression() []string {
	return unionStrings(k.CompressionServerClient, k.CompressionClientServer)
}

func unionStrings(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !containsString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Severities of a Finding, after ssh-audit's grading.
const (
	// SeverityFail: broken or obsolete (ssh-audit "fail").
	SeverityFail = "fail"
	// SeverityWarn: weak and best removed (ssh-audit "warn").
	SeverityWarn = "warn"
	// SeverityNote: worth knowing, not a weakness on its own (stock
	// OpenSSH offers these: hmac-sha1, umac-64, NIST curves).
	SeverityNote = "note"
)

// SSHFinding is one weak algorithm or key a server offers. The probe does
// not grade what it saw: rules.SSHFindings derives the findings from the
// recorded KEXINIT and host keys when a record is judged (or re-graded),
// and records written by older kensa versions carry them in
// Observation.Findings.
type SSHFinding struct {
	// Severity is SeverityFail, SeverityWarn or SeverityNote.
	Severity string `json:"severity"`
	// Kind is what the algorithm does: "kex", "host_key", "cipher",
	// "mac", "compression", "key" (a host key's size) or "strict_kex".
	Kind string `json:"kind"`
	// Algorithm is the algorithm's name (or the key's type).
	Algorithm string `json:"algorithm"`
	// Reason says why, in a few words.
	Reason string `json:"reason"`
}

// Weak reports whether the finding is a weakness (fail or warn), the
// findings a policy may count against the server; notes are not.
func (f SSHFinding) Weak() bool { return f.Severity == SeverityFail || f.Severity == SeverityWarn }

// String formats the finding as "fail: cipher 3des-cbc (reason)".
func (f SSHFinding) String() string {
	return fmt.Sprintf("%s: %s %s (%s)", f.Severity, f.Kind, f.Algorithm, f.Reason)
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
