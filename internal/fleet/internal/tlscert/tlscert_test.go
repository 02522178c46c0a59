package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

func parse(t *testing.T, s Spec) *x509.Certificate {
	t.Helper()
	cert, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.CheckSignatureFrom(leaf); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	return leaf
}

func TestSelfSigned(t *testing.T) {
	nb, na := time.Now().Add(-2*time.Hour).Truncate(time.Second), time.Now().Add(-time.Hour).Truncate(time.Second)
	cert, err := SelfSigned("imapd.kensa.test", nb, na)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "imapd.kensa.test" || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "imapd.kensa.test" {
		t.Errorf("names %v %v", leaf.Subject, leaf.DNSNames)
	}
	if !leaf.NotBefore.Equal(nb) || !leaf.NotAfter.Equal(na) {
		t.Errorf("validity %v %v", leaf.NotBefore, leaf.NotAfter)
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("CA %v usage %v serial %v", leaf.IsCA, leaf.KeyUsage, leaf.SerialNumber)
	}
}

func TestCA(t *testing.T) {
	leaf := parse(t, Spec{
		CommonName: "fleet.example", Organization: []string{"org"}, DNSNames: []string{"*.fleet.example"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now(), NotAfter: time.Now().Add(Year),
		CA: true, Serial: big.NewInt(42),
	})
	if !leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign == 0 || leaf.SerialNumber.Int64() != 42 {
		t.Errorf("CA %v usage %v serial %v", leaf.IsCA, leaf.KeyUsage, leaf.SerialNumber)
	}
	if len(leaf.IPAddresses) != 1 || leaf.Subject.Organization[0] != "org" {
		t.Errorf("addresses %v subject %v", leaf.IPAddresses, leaf.Subject)
	}
}

func TestShared(t *testing.T) {
	get := Shared("pop3d.kensa.test")
	a, err := get()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := get()
	if a != b || len(a.Certificates) != 1 {
		t.Fatalf("not one shared configuration: %p %p", a, b)
	}
	leaf, err := x509.ParseCertificate(a.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if now := time.Now(); !leaf.NotBefore.Before(now) || !leaf.NotAfter.After(now.Add(Year-time.Hour)) {
		t.Errorf("validity %v %v", leaf.NotBefore, leaf.NotAfter)
	}
}

func TestChoose(t *testing.T) {
	fallback := Shared("fallback.kensa.test")
	def, _ := fallback()
	given := &tls.Config{ServerName: "given"}
	if tc, err := Choose(given, fallback, false); err != nil || tc != given {
		t.Errorf("given: %p %v", tc, err)
	}
	if tc, err := Choose(nil, fallback, false); err != nil || tc != def {
		t.Errorf("fallback: %p %v", tc, err)
	}
	tc, err := Choose(nil, fallback, true)
	if err != nil || tc == def || tc.MinVersion != tls.VersionTLS10 || tc.MaxVersion != tls.VersionTLS10 || len(tc.Certificates) != 1 {
		t.Errorf("TLS 1.0 only: %+v %v", tc, err)
	}
	if def.MaxVersion != 0 {
		t.Error("the shared configuration was changed")
	}
	boom := errors.New("boom")
	if _, err := Choose(nil, func() (*tls.Config, error) { return nil, boom }, true); !errors.Is(err, boom) {
		t.Errorf("fallback error: %v", err)
	}
}
