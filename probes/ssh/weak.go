package ssh

import (
	"fmt"
	"strings"
)

// Severities of a Finding, after ssh-audit's grading.
const (
	// SeverityFail: broken or obsolete (ssh-audit "fail").
	SeverityFail = "fail"
	// SeverityWarn: weak and best removed (ssh-audit "warn").
	SeverityWarn = "warn"
	// SeverityNote: worth knowing, not a weakness on its own (stock
	// OpenSSH offers these: hmac-sha1, umac-64, NIST curves).
	SeverityNote = "note"
)

// Finding is one weak algorithm or key a server offers.
type Finding struct {
	// Severity is SeverityFail, SeverityWarn or SeverityNote.
	Severity string `json:"severity"`
	// Kind is what the algorithm does: "kex", "host_key", "cipher",
	// "mac", "compression", "key" (a host key's size) or "strict_kex".
	Kind string `json:"kind"`
	// Algorithm is the algorithm's name (or the key's type).
	Algorithm string `json:"algorithm"`
	// Reason says why, in a few words.
	Reason string `json:"reason"`
}

// Weak reports whether the finding is a weakness (fail or warn), the
// findings a policy may count against the server; notes are not.
func (f Finding) Weak() bool { return f.Severity == SeverityFail || f.Severity == SeverityWarn }

// String formats the finding as "fail: cipher 3des-cbc (reason)".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s %s (%s)", f.Severity, f.Kind, f.Algorithm, f.Reason)
}

type grade struct{ sev, reason string }

const (
	rSHA1    = "SHA-1 hash, broken for collisions"
	rNIST    = "NIST P-curve of unexplained origin"
	rCBC     = "CBC mode, open to plaintext-recovery attacks"
	rBlock64 = "64-bit block cipher (Sweet32)"
)

var kexGrades = map[string]grade{
	"diffie-hellman-group1-sha1":           {SeverityFail, "1024-bit modulus (Logjam) and " + rSHA1},
	"diffie-hellman-group14-sha1":          {SeverityFail, rSHA1},
	"diffie-hellman-group-exchange-sha1":   {SeverityFail, rSHA1},
	"rsa1024-sha1":                         {SeverityFail, "1024-bit RSA key exchange and " + rSHA1},
	"rsa2048-sha256":                       {SeverityNote, "2048-bit modulus, 112-bit strength"},
	"diffie-hellman-group14-sha256":        {SeverityNote, "2048-bit modulus, 112-bit strength"},
	"ecdh-sha2-nistp256":                   {SeverityNote, rNIST},
	"ecdh-sha2-nistp384":                   {SeverityNote, rNIST},
	"ecdh-sha2-nistp521":                   {SeverityNote, rNIST},
	"diffie-hellman-group15-sha256":        {SeverityNote, "non-standard name"},
	"diffie-hellman-group-exchange-sha224": {SeverityNote, "non-standard name"},
}

var hostKeyGrades = map[string]grade{
	"ssh-dss":                                  {SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"ssh-dss-cert-v01@openssh.com":             {SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"x509v3-sign-dss":                          {SeverityFail, "DSA: 1024-bit key and SHA-1 signatures"},
	"ssh-rsa":                                  {SeverityFail, "RSA signatures with " + rSHA1},
	"ssh-rsa-cert-v01@openssh.com":             {SeverityFail, "RSA signatures with " + rSHA1},
	"x509v3-sign-rsa":                          {SeverityFail, "RSA signatures with " + rSHA1},
	"ecdsa-sha2-nistp256":                      {SeverityNote, rNIST},
	"ecdsa-sha2-nistp384":                      {SeverityNote, rNIST},
	"ecdsa-sha2-nistp521":                      {SeverityNote, rNIST},
	"ecdsa-sha2-nistp256-cert-v01@openssh.com": {SeverityNote, rNIST},
	"ecdsa-sha2-nistp384-cert-v01@openssh.com": {SeverityNote, rNIST},
	"ecdsa-sha2-nistp521-cert-v01@openssh.com": {SeverityNote, rNIST},
}

var cipherGrades = map[string]grade{
	"none":                        {SeverityFail, "no encryption"},
	"des":                         {SeverityFail, "single DES, 56-bit key"},
	"des-cbc":                     {SeverityFail, "single DES, 56-bit key"},
	"des-cbc@ssh.com":             {SeverityFail, "single DES, 56-bit key"},
	"3des-cbc":                    {SeverityFail, "3DES, " + rBlock64 + ", " + rCBC},
	"3des-ctr":                    {SeverityFail, "3DES, " + rBlock64},
	"arcfour":                     {SeverityFail, "RC4, broken stream cipher"},
	"arcfour128":                  {SeverityFail, "RC4, broken stream cipher"},
	"arcfour256":                  {SeverityFail, "RC4, broken stream cipher"},
	"blowfish-cbc":                {SeverityFail, rBlock64 + ", " + rCBC},
	"cast128-cbc":                 {SeverityFail, rBlock64 + ", " + rCBC},
	"idea-cbc":                    {SeverityFail, rBlock64 + ", " + rCBC},
	"rijndael-cbc@lysator.liu.se": {SeverityFail, "obsolete alias of aes256-cbc, " + rCBC},
	"aes128-cbc":                  {SeverityWarn, rCBC},
	"aes192-cbc":                  {SeverityWarn, rCBC},
	"aes256-cbc":                  {SeverityWarn, rCBC},
	"twofish-cbc":                 {SeverityWarn, rCBC},
	"twofish128-cbc":              {SeverityWarn, rCBC},
	"twofish256-cbc":              {SeverityWarn, rCBC},
	"serpent128-cbc":              {SeverityWarn, rCBC},
	"serpent256-cbc":              {SeverityWarn, rCBC},
}

var macGrades = map[string]grade{
	"none":                           {SeverityFail, "no integrity protection"},
	"hmac-md5":                       {SeverityFail, "MD5, broken hash"},
	"hmac-md5-96":                    {SeverityFail, "MD5, broken hash"},
	"hmac-md5-etm@openssh.com":       {SeverityFail, "MD5, broken hash"},
	"hmac-md5-96-etm@openssh.com":    {SeverityFail, "MD5, broken hash"},
	"umac-32@openssh.com":            {SeverityFail, "32-bit tag"},
	"hmac-sha1-96":                   {SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-sha1-96-etm@openssh.com":   {SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-ripemd160":                 {SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160@openssh.com":     {SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160-etm@openssh.com": {SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-sha1":                      {SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"hmac-sha1-etm@openssh.com":      {SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"umac-64@openssh.com":            {SeverityNote, "64-bit tag"},
	"umac-64-etm@openssh.com":        {SeverityNote, "64-bit tag"},
}

// Grade lists the weaknesses of what a server offered (its KEXINIT, may
// be nil) and of the host keys the probe obtained, with ssh-audit's
// reasons. Stock OpenSSH gets notes only.
func Grade(k *KexInit, keys []HostKey) []Finding {
	var out []Finding
	add := func(kind, alg string, g grade) {
		out = append(out, Finding{Severity: g.sev, Kind: kind, Algorithm: alg, Reason: g.reason})
	}
	if k != nil {
		for _, a := range k.Kex {
			if g, ok := kexGrades[a]; ok {
				add("kex", a, g)
			} else if strings.HasPrefix(a, "gss-") && (strings.Contains(a, "sha1-") || strings.Contains(a, "group1-")) {
				add("kex", a, grade{SeverityFail, "GSS key exchange with " + rSHA1})
			}
		}
		for _, a := range k.HostKey {
			if g, ok := hostKeyGrades[a]; ok {
				add("host_key", a, g)
			}
		}
		for _, a := range k.Ciphers() {
			if g, ok := cipherGrades[a]; ok {
				add("cipher", a, g)
			} else if strings.HasSuffix(a, "-cbc") {
				add("cipher", a, grade{SeverityWarn, rCBC})
			}
		}
		for _, a := range k.MACs() {
			if g, ok := macGrades[a]; ok {
				add("mac", a, g)
			}
		}
		if contains(k.Compression(), "zlib") {
			add("compression", "zlib", grade{SeverityNote, "compression before authentication"})
		}
		if !k.StrictKex() {
			if why := terrapin(k); why != "" {
				add("strict_kex", StrictKexServer, grade{SeverityFail, "no strict key exchange while offering " + why + ": open to Terrapin (CVE-2023-48795)"})
			} else {
				add("strict_kex", StrictKexServer, grade{SeverityNote, "no strict key exchange (Terrapin countermeasure)"})
			}
		}
	}
	for _, hk := range keys {
		switch {
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 2048:
			add("key", hk.Type, grade{SeverityFail, fmt.Sprintf("RSA host key of %d bits, under 2048", hk.Bits)})
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 3072:
			add("key", hk.Type, grade{SeverityNote, fmt.Sprintf("RSA host key of %d bits, 112-bit strength", hk.Bits)})
		case hk.Type == "ssh-dss":
			add("key", hk.Type, grade{SeverityFail, "DSA host key"})
		}
	}
	return out
}

// terrapin names an offered algorithm the Terrapin attack exploits
// without strict key exchange: ChaCha20-Poly1305, or a CBC cipher with
// an encrypt-then-MAC MAC. It returns "" when there is none.
func terrapin(k *KexInit) string {
	if contains(k.Ciphers(), "chacha20-poly1305@openssh.com") {
		return "chacha20-poly1305@openssh.com"
	}
	var cbc, etm string
	for _, c := range k.Ciphers() {
		if strings.HasSuffix(c, "-cbc") || strings.HasSuffix(c, "-cbc@lysator.liu.se") {
			cbc = c
			break
		}
	}
	for _, m := range k.MACs() {
		if strings.HasSuffix(m, "-etm@openssh.com") {
			etm = m
			break
		}
	}
	if cbc != "" && etm != "" {
		return cbc + " with " + etm
	}
	return ""
}
