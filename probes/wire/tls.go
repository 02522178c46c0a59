package wire

import (
	"bytes"
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

	"github.com/kensa-inspect/kensa/observe"
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

// InspectTLS records what an established TLS session shows: protocol
// version, cipher suite, and the leaf certificate's names, validity
// dates, key and signature algorithm. It judges nothing that depends on
// the date or the policy (rules does, at the evaluation date). name, if
// not empty, is checked against the certificate; now is the time the
// chain is verified at (Trusted).
func InspectTLS(cs tls.ConnectionState, name string, now time.Time) *observe.TLS {
	info := &observe.TLS{
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
	// Self-signed: issued by its own subject and signed by its own key.
	// (CheckSignatureFrom would refuse a leaf without CA constraints as
	// its own parent, which most servers' own certificates are.)
	info.SelfSigned = bytes.Equal(leaf.RawSubject, leaf.RawIssuer) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
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
func TLSFailure(err error) *observe.TLS {
	return &observe.TLS{Error: "TLS handshake failed: " + Sanitize(err.Error(), 200)}
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
