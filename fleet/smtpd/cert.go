package smtpd

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

var (
	certOnce sync.Once
	cert     tls.Certificate
	certErr  error
)

// Certificate returns the fleet's self-signed certificate, generated
// once per process and shared by every server (an ECDSA P-256 key,
// names *.fleet.example, fleet.example and localhost, addresses
// 127.0.0.1 and ::1, valid from an hour ago for a year).
func Certificate() (tls.Certificate, error) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = fmt.Errorf("smtpd: generating the fleet key: %w", err)
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(now.UnixNano()),
			Subject:               pkix.Name{CommonName: "fleet.example", Organization: []string{"kensa simulated fleet"}},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(365 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"*.fleet.example", "fleet.example", "localhost"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = fmt.Errorf("smtpd: creating the fleet certificate: %w", err)
			return
		}
		cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return cert, certErr
}

// ServerTLSConfig returns a server TLS configuration with the fleet's
// certificate.
func ServerTLSConfig() (*tls.Config, error) {
	c, err := Certificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{c}}, nil
}
