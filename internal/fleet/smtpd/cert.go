package smtpd

import (
	"crypto/tls"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
)

// fleetCert makes the fleet's certificate once.
var fleetCert = sync.OnceValues(func() (tls.Certificate, error) {
	now := time.Now()
	cert, err := tlscert.New(tlscert.Spec{
		CommonName:   "fleet.example",
		Organization: []string{"kensa simulated fleet"},
		DNSNames:     []string{"*.fleet.example", "fleet.example", "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    tlscert.Epoch,
		NotAfter:     now.Add(tlscert.Year),
		CA:           true,
		Serial:       big.NewInt(now.UnixNano()),
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("smtpd: the fleet certificate: %w", err)
	}
	return cert, nil
})

// Certificate returns the fleet's self-signed certificate, generated
// once per process and shared by every server (an ECDSA P-256 key,
// names *.fleet.example, fleet.example and localhost, addresses
// 127.0.0.1 and ::1, valid from tlscert.Epoch to a year from now).
func Certificate() (tls.Certificate, error) { return fleetCert() }

// ServerTLSConfig returns a server TLS configuration with the fleet's
// certificate.
func ServerTLSConfig() (*tls.Config, error) {
	c, err := Certificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{c}}, nil
}
