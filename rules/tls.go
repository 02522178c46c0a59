package rules

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// TLSWeaknesses lists what is weak in a TLS session a probe recorded,
// judged at the evaluation date at (a day, UTC): an obsolete protocol
// (below TLS 1.2), an insecure cipher suite, no certificate, a
// certificate that has expired by the end of that day or only becomes
// valid after it, an RSA key under 2048 bits, a signature with MD2, MD5
// or SHA-1. A failed handshake (info.Error) has no weaknesses: it is
// judged as a failure by the items. A zero at leaves the certificate's
// dates unjudged (Evaluate always gives the Context's date).
//
// Records of kensa versions that judged TLS at scan time also carry the
// weaknesses found then (info.Weak); those that do not depend on the
// date are kept, and those about the certificate's dates (judged at the
// scan's clock) are replaced by the judgement at at.
func TLSWeaknesses(info *observe.TLS, at time.Time) []string {
	if info == nil || info.Error != "" {
		return nil
	}
	var out []string
	add := func(s string) {
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	if tlsObsolete(info.Version) {
		add("protocol " + info.Version + " is obsolete")
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == info.Cipher {
			add("cipher " + s.Name + " is insecure")
		}
	}
	if info.NoCertificate {
		add("no certificate")
	}
	if !at.IsZero() && !info.NotAfter.IsZero() {
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		end := day.AddDate(0, 0, 1)
		switch {
		case info.NotAfter.Before(day):
			add("certificate expired " + info.NotAfter.UTC().Format(time.DateOnly) + " (evaluation date " + day.Format(time.DateOnly) + ")")
		case info.NotAfter.Before(end):
			add("certificate expires " + info.NotAfter.UTC().Format(time.RFC3339) + ", on the evaluation date")
		case !info.NotBefore.IsZero() && !info.NotBefore.Before(end):
			add("certificate not valid before " + info.NotBefore.UTC().Format(time.DateOnly) + " (evaluation date " + day.Format(time.DateOnly) + ")")
		}
	}
	if info.KeyType == "RSA" && info.KeyBits > 0 && info.KeyBits < 2048 {
		add(fmt.Sprintf("RSA key of %d bits", info.KeyBits))
	}
	switch info.SigAlg {
	case "MD2-RSA", "MD5-RSA", "SHA1-RSA", "DSA-SHA1", "ECDSA-SHA1":
		add("certificate signed with " + info.SigAlg)
	}
	for _, w := range info.Weak {
		if strings.HasPrefix(w, "certificate expired ") || strings.HasPrefix(w, "certificate not valid before ") {
			continue // judged at the scan's clock: judged again above
		}
		add(w)
	}
	return out
}

// tlsObsolete reports whether a protocol version, as crypto/tls names it
// ("TLS 1.0", "SSLv3", "0x0300"), is below TLS 1.2.
func tlsObsolete(version string) bool {
	switch version {
	case "SSLv3", "SSL 3.0", "TLS 1.0", "TLS 1.1":
		return true
	case "", "TLS 1.2", "TLS 1.3":
		return false
	}
	if h, ok := strings.CutPrefix(version, "0x"); ok {
		if v, err := strconv.ParseUint(h, 16, 16); err == nil {
			return v < tls.VersionTLS12
		}
	}
	return false
}

// tlsEvidence is the evidence line of a TLS session's weaknesses: the
// protocol, the cipher suite and the certificate's validity, key and
// signature as recorded, after "*: TLS ".
func tlsEvidence(info *observe.TLS) string {
	s := "*: TLS " + info.Version + " " + info.Cipher
	if !info.NotAfter.IsZero() {
		s += ", certificate valid " + info.NotBefore.UTC().Format(time.RFC3339) + " to " + info.NotAfter.UTC().Format(time.RFC3339)
	}
	if info.KeyType != "" {
		s += fmt.Sprintf(", %s key %d bits", info.KeyType, info.KeyBits)
	}
	if info.SigAlg != "" {
		s += ", signed " + info.SigAlg
	}
	if info.NoCertificate {
		s += ", no certificate"
	}
	return s
}
