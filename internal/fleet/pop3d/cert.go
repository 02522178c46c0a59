package pop3d

import (
	"crypto/tls"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/tlscert"
)

// defaultTLS returns a TLS configuration with a self-signed ECDSA
// certificate for "pop3d.kensa.test", made once per process.
var defaultTLS = tlscert.Shared("pop3d.kensa.test")

// SelfSigned makes a self-signed ECDSA P-256 certificate for name, valid
// between notBefore and notAfter (an expired one is useful for tests).
func SelfSigned(name string, notBefore, notAfter time.Time) (tls.Certificate, error) {
	return tlscert.SelfSigned(name, notBefore, notAfter)
}
