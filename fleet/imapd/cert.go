package imapd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"time"
)

var (
	certOnce sync.Once
	certConf *tls.Config
	certErr  error
)

// defaultTLS returns a TLS configuration with a self-signed ECDSA
// certificate for "imapd.kensa.test", made once per process.
func defaultTLS() (*tls.Config, error) {
	certOnce.Do(func() {
		var cert tls.Certificate
		cert, certErr = SelfSigned("imapd.kensa.test", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
		if certErr == nil {
			certConf = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
	})
	return certConf, certErr
}

// SelfSigned makes a self-signed ECDSA P-256 certificate for name, valid
// between notBefore and notAfter (an expired one is useful for tests).
func SelfSigned(name string, notBefore, notAfter time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
