package wire

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// TLSConfig returns the client configuration every probe uses: it offers
// TLS 1.0 and up and the legacy cipher suites explicitly, so that an old
// server's handshake succeeds and its weakness is recorded rather than
// hidden, and it accepts any certificate, because the probe inspects the
// certificate itself (InspectTLS) instead of refusing to look.
func TLSConfig(serverName string) *tls.Config {
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		suites = append(suites, s.ID)
	}
	return &tls.Config{
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS10,
		CipherSuites: suites,
		// The classical groups only: the key exchange is not observed,
		// and a post-quantum key share costs each handshake more than
		// the rest of it.
		CurvePreferences:   []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521},
		InsecureSkipVerify: true, // verified by InspectTLS, as an observation
	}
}

// TLSInfo is what a probe observed of one TLS session.
type TLSInfo struct {
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

// InspectTLS records what an established TLS session shows: protocol
// version, cipher suite, and the leaf certificate's names, validity
// dates, key and signature algorithm. It judges nothing that depends on
// the date or the policy (rules does, at the evaluation date). name, if
// not empty, is checked against the certificate; now is the time the
// chain is verified at (Trusted).
func InspectTLS(cs tls.ConnectionState, name string, now time.Time) *TLSInfo {
	info := &TLSInfo{
		Version: tls.VersionName(cs.Version),
		Cipher:  tls.CipherSuiteName(cs.CipherSuite),
	}
	if len(cs.PeerCertificates) == 0 {
		info.NoCertificate = true
		return info
	}
	leaf := cs.PeerCertificates[0]
	info.Subject = leaf.Subject.String()
	info.Issuer = leaf.Issuer.String()
	info.DNSNames = leaf.DNSNames
	info.NotBefore = leaf.NotBefore.UTC()
	info.NotAfter = leaf.NotAfter.UTC()
	info.SigAlg = leaf.SignatureAlgorithm.String()
	info.Fingerprint = fingerprint(leaf.Raw)
	info.KeyType, info.KeyBits = keyInfo(leaf)
	info.SelfSigned = leaf.CheckSignatureFrom(leaf) == nil && leaf.Subject.String() == leaf.Issuer.String()
	if name != "" {
		info.NameChecked = true
		info.CheckedName = name
		info.NameMatch = leaf.VerifyHostname(name) == nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Intermediates: inter, CurrentTime: now})
	info.Trusted = err == nil
	return info
}

// TLSFailure describes a failed handshake.
func TLSFailure(err error) *TLSInfo {
	return &TLSInfo{Error: "TLS handshake failed: " + Sanitize(err.Error(), 200)}
}

func keyInfo(c *x509.Certificate) (string, int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", c.PublicKey), "*"), 0
}

func fingerprint(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
