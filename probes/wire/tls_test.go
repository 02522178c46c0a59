package wire

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// certificate makes a self-signed certificate for name with key, valid
// from notBefore to notAfter; ca marks it a CA (basic constraints
// CA:TRUE, allowed to sign certificates).
func certificate(t *testing.T, key crypto.Signer, name string, notBefore, notAfter time.Time, ca bool) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4711),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"kensa test"}},
		DNSNames:     []string{name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ca {
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// serveTLS serves TLS with cfg on loopback: each connection's handshake,
// then it waits for the client to hang up. It returns the address.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				if tc.Handshake() == nil {
					io.Copy(io.Discard, tc)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestInspectTLS records a real TLS 1.3 handshake with a self-signed
// ECDSA P-256 certificate (made as a CA, see
// TestInspectTLSSelfSignedLeaf): every fact as the certificate states
// it, the name checked, and nothing judged (the certificate expired long
// before "now", and the record says only its dates).
func TestInspectTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	cert, leaf := certificate(t, key, "mx.example.test", nb, na, true)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sum := sha256.Sum256(leaf.Raw)

	tc, info, err := HandshakeTLS(context.Background(), dial(t, addr), "mx.example.test", "mx.example.test", now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if info.Version != "TLS 1.3" || !slices.Contains([]string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}, info.Cipher) {
		t.Errorf("version %q cipher %q", info.Version, info.Cipher)
	}
	if info.Subject != "CN=mx.example.test,O=kensa test" || info.Issuer != info.Subject || !slices.Equal(info.DNSNames, []string{"mx.example.test"}) {
		t.Errorf("subject %q issuer %q names %q", info.Subject, info.Issuer, info.DNSNames)
	}
	if !info.NotBefore.Equal(nb) || !info.NotAfter.Equal(na) || info.NotAfter.Location() != time.UTC {
		t.Errorf("validity %v to %v, want %v to %v in UTC", info.NotBefore, info.NotAfter, nb, na)
	}
	if info.KeyType != "ECDSA" || info.KeyBits != 256 || info.SigAlg != "ECDSA-SHA256" {
		t.Errorf("key %s %d, signature %s", info.KeyType, info.KeyBits, info.SigAlg)
	}
	if info.Fingerprint != hex.EncodeToString(sum[:]) {
		t.Errorf("fingerprint %s", info.Fingerprint)
	}
	if !info.SelfSigned || info.Trusted || info.NoCertificate || info.Error != "" {
		t.Errorf("self-signed %v trusted %v no certificate %v error %q", info.SelfSigned, info.Trusted, info.NoCertificate, info.Error)
	}
	if !info.NameChecked || !info.NameMatch || info.CheckedName != "mx.example.test" {
		t.Errorf("name checked %v match %v (%q)", info.NameChecked, info.NameMatch, info.CheckedName)
	}
	if info.Expired || info.Weak != nil {
		t.Errorf("the inspection judged the session: expired %v, weak %q", info.Expired, info.Weak)
	}
	// The TLS connection works for what follows.
	if _, err := tc.Write([]byte("a001 CAPABILITY\r\n")); err != nil {
		t.Error(err)
	}

	// Another name does not match; no name is not checked.
	_, info, err = HandshakeTLS(context.Background(), dial(t, addr), "", "mail.example.test", now, nil)
	if err != nil || !info.NameChecked || info.NameMatch || info.CheckedName != "mail.example.test" {
		t.Errorf("other name: %v %+v", err, info)
	}
	_, info, err = HandshakeTLS(context.Background(), dial(t, addr), "", "", now, nil)
	if err != nil || info.NameChecked || info.NameMatch || info.CheckedName != "" {
		t.Errorf("no name: %v %+v", err, info)
	}
}

// TestInspectTLSOldServer: a server that speaks only TLS 1.0 with a CBC
// suite and a 1024-bit RSA key completes its handshake with the probes'
// configuration, and the record says what it offered (so that the rules
// can call it weak, instead of the probe seeing nothing).
func TestInspectTLSOldServer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := certificate(t, key, "old.example.test", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC), false)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}})
	_, info, err := HandshakeTLS(context.Background(), dial(t, addr), "old.example.test", "", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "TLS 1.0" || info.Cipher != "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" || info.KeyType != "RSA" || info.KeyBits != 1024 ||
		info.SigAlg != "SHA256-RSA" {
		t.Errorf("old server: %s %s %s %d %s", info.Version, info.Cipher, info.KeyType, info.KeyBits, info.SigAlg)
	}
}

// TestInspectTLSSelfSignedLeaf: most servers' own certificates are
// self-signed leaves, without CA basic constraints (as the fleet's and
// the integration tests' certificates are). InspectTLS asks
// the signature against the certificate's own key (CheckSignatureFrom
// would refuse a parent that is not a CA).
func TestInspectTLSSelfSignedLeaf(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := certificate(t, key, "leaf.example.test", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC), false)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	_, info, err := HandshakeTLS(context.Background(), dial(t, addr), "", "", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !info.SelfSigned {
		t.Errorf("a self-signed leaf recorded as not self-signed: %+v", info)
	}
}

// TestHandshakeFailures: a server that answers in plaintext, and one
// that says nothing until the probe's deadline, end the handshake with
// an error, which the returned facts carry.
func TestHandshakeFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if i == 0 {
				c.Write([]byte("220 mx ESMTP not TLS at all\r\n"))
				c.Close()
				continue
			}
			defer c.Close() // silent until the listener closes
		}
	}()

	tc, info, err := HandshakeTLS(context.Background(), dial(t, ln.Addr().String()), "mx", "mx", time.Now(), nil)
	if err == nil || tc != nil {
		t.Fatal("a plaintext answer completed a handshake")
	}
	if !strings.HasPrefix(info.Error, "TLS handshake failed: ") || info.Version != "" || info.Cipher != "" || info.Subject != "" {
		t.Errorf("plaintext: %+v", info)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, info, err = HandshakeTLS(ctx, dial(t, ln.Addr().String()), "mx", "mx", time.Now(), nil)
	if err == nil || Classify(err) != "timeout" || !strings.HasPrefix(info.Error, "TLS handshake failed: ") {
		t.Errorf("silent server: %v (%s), %+v", err, Classify(err), info)
	}
}

// TestTLSConfig: the probes offer TLS 1.0 and up with the legacy suites,
// and accept any certificate, which InspectTLS records instead.
func TestTLSConfig(t *testing.T) {
	cfg := TLSConfig("mx.example.test")
	if cfg.ServerName != "mx.example.test" || cfg.MinVersion != tls.VersionTLS10 || !cfg.InsecureSkipVerify {
		t.Errorf("config %+v", cfg)
	}
	for _, s := range []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA} {
		if !slices.Contains(cfg.CipherSuites, s) {
			t.Errorf("suite %s not offered", tls.CipherSuiteName(s))
		}
	}
}

// TestTLSFailureText: the failure text is one bounded, printable line.
func TestTLSFailureText(t *testing.T) {
	info := TLSFailure(errorString("remote error: \x1b[31m" + strings.Repeat("z", 300)))
	if !strings.HasPrefix(info.Error, `TLS handshake failed: remote error: \x1b[31m`) || !strings.HasSuffix(info.Error, "…") ||
		len(info.Error) > len("TLS handshake failed: ")+200+len("…") {
		t.Errorf("%q", info.Error)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
