// Package tlscert makes the self-signed certificates of the simulated
// fleet's TLS servers (smtpd, imapd, pop3d): ECDSA P-256 keys, server
// authentication, names and validity as the caller says.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// Spec describes a self-signed certificate.
type Spec struct {
	// CommonName and Organization make the subject (and the issuer).
	CommonName   string
	Organization []string
	// DNSNames and IPAddresses are the subject alternative names.
	DNSNames    []string
	IPAddresses []net.IP
	// NotBefore and NotAfter bound the validity; an expired certificate
	// is useful for tests.
	NotBefore, NotAfter time.Time
	// CA also makes the certificate a CA that may sign certificates.
	CA bool
	// Serial is the serial number; nil means a random 62-bit one.
	Serial *big.Int
}

// New makes a self-signed certificate with a new ECDSA P-256 key for
// server authentication, as s describes.
func New(s Spec) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating the key: %w", err)
	}
	serial := s.Serial
	if serial == nil {
		if serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)); err != nil {
			return tls.Certificate{}, fmt.Errorf("choosing a serial number: %w", err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.CommonName, Organization: s.Organization},
		DNSNames:              s.DNSNames,
		IPAddresses:           s.IPAddresses,
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if s.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.IsCA = true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating the certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// SelfSigned makes a self-signed certificate for the one name, valid
// between notBefore and notAfter.
func SelfSigned(name string, notBefore, notAfter time.Time) (tls.Certificate, error) {
	return New(Spec{CommonName: name, DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter})
}

// Year is how long after it is made a certificate made by Shared stays
// valid.
const Year = 365 * 24 * time.Hour

// Epoch is when the fleet's shared certificates become valid: before
// any evaluation date a scan of the fleet pins (the demo's is
// 2026-11-01), since kensa judges a certificate's dates at the scan's
// evaluation date, not at its clock.
var Epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Shared returns a function that gives a server configuration with a
// self-signed certificate for name, valid from Epoch to a Year after the
// first call. The certificate is made on the first call; every call
// returns the same configuration (or the same error).
func Shared(name string) func() (*tls.Config, error) {
	return sync.OnceValues(func() (*tls.Config, error) {
		now := time.Now()
		cert, err := SelfSigned(name, Epoch, now.Add(Year))
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	})
}

// Choose returns the server configuration to use: given, or when it is
// nil the one fallback returns. With tls10Only it returns a copy that
// speaks TLS 1.0 and nothing else (a server with weak TLS).
func Choose(given *tls.Config, fallback func() (*tls.Config, error), tls10Only bool) (*tls.Config, error) {
	tc := given
	if tc == nil {
		var err error
		if tc, err = fallback(); err != nil {
			return nil, err
		}
	}
	if tls10Only {
		tc = tc.Clone()
		tc.MinVersion = tls.VersionTLS10
		tc.MaxVersion = tls.VersionTLS10
	}
	return tc, nil
}
