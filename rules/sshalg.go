package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// SSHFindings returns the weak algorithms and keys of an SSH service,
// graded from what the probe recorded: its KEXINIT and the host keys
// obtained. A record written before kensa graded at judging time may
// lack both and carry the findings the probe graded then; those are
// returned as recorded.
func SSHFindings(o *observe.SSH) []observe.SSHFinding {
	if o == nil {
		return nil
	}
	if o.KexInit == nil && len(o.HostKeys) == 0 {
		return o.Findings
	}
	return GradeSSH(o.KexInit, o.HostKeys)
}

// sshGrade is the severity and reason of one algorithm.
type sshGrade struct{ sev, reason string }

const (
	sshSHA1    = "SHA-1 hash, broken for collisions"
	sshNIST    = "NIST P-curve of unexplained origin"
	sshCBC     = "CBC mode, open to plaintext-recovery attacks"
	sshBlock64 = "64-bit block cipher (Sweet32)"
)

var kexGrades = map[string]sshGrade{
	"diffie-hellman-group1-sha1":           {observe.SeverityFail, "1024-bit modulus (Logjam) and " + sshSHA1},
	"diffie-hellman-group14-sha1":          {observe.SeverityFail, sshSHA1},
	"diffie-hellman-group-exchange-sha1":   {observe.SeverityFail, sshSHA1},
	"rsa1024-sha1":                         {observe.SeverityFail, "1024-bit RSA key exchange and " + sshSHA1},
	"rsa2048-sha256":                       {observe.SeverityNote, "2048-bit modulus, 112-bit strength"},
	"diffie-hellman-group14-sha256":        {observe.SeverityNote, "2048-bit modulus, 112-bit strength"},
	"ecdh-sha2-nistp256":                   {observe.SeverityNote, sshNIST},
	"ecdh-sha2-nistp384":                   {observe.SeverityNote, sshNIST},
	"ecdh-sha2-nistp521":                   {observe.SeverityNote, sshNIST},
	"diffie-hellman-group15-sha256":        {observe.SeverityNote, "non-standard name"},
	"diffie-hellman-group-exchange-sha224": {observe.SeverityNote, "non-standard name"},
}

var hostKeyGrades = map[string]sshGrade{
	"ssh-dss":                                  {observe.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"ssh-dss-cert-v01@openssh.com":             {observe.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"x509v3-sign-dss":                          {observe.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures"},
	"ssh-rsa":                                  {observe.SeverityFail, "RSA signatures with " + sshSHA1},
	"ssh-rsa-cert-v01@openssh.com":             {observe.SeverityFail, "RSA signatures with " + sshSHA1},
	"x509v3-sign-rsa":                          {observe.SeverityFail, "RSA signatures with " + sshSHA1},
	"ecdsa-sha2-nistp256":                      {observe.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp384":                      {observe.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp521":                      {observe.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp256-cert-v01@openssh.com": {observe.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp384-cert-v01@openssh.com": {observe.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp521-cert-v01@openssh.com": {observe.SeverityNote, sshNIST},
}

var cipherGrades = map[string]sshGrade{
	"none":                        {observe.SeverityFail, "no encryption"},
	"des":                         {observe.SeverityFail, "single DES, 56-bit key"},
	"des-cbc":                     {observe.SeverityFail, "single DES, 56-bit key"},
	"des-cbc@ssh.com":             {observe.SeverityFail, "single DES, 56-bit key"},
	"3des-cbc":                    {observe.SeverityFail, "3DES, " + sshBlock64 + ", " + sshCBC},
	"3des-ctr":                    {observe.SeverityFail, "3DES, " + sshBlock64},
	"arcfour":                     {observe.SeverityFail, "RC4, broken stream cipher"},
	"arcfour128":                  {observe.SeverityFail, "RC4, broken stream cipher"},
	"arcfour256":                  {observe.SeverityFail, "RC4, broken stream cipher"},
	"blowfish-cbc":                {observe.SeverityFail, sshBlock64 + ", " + sshCBC},
	"cast128-cbc":                 {observe.SeverityFail, sshBlock64 + ", " + sshCBC},
	"idea-cbc":                    {observe.SeverityFail, sshBlock64 + ", " + sshCBC},
	"rijndael-cbc@lysator.liu.se": {observe.SeverityFail, "obsolete alias of aes256-cbc, " + sshCBC},
	"aes128-cbc":                  {observe.SeverityWarn, sshCBC},
	"aes192-cbc":                  {observe.SeverityWarn, sshCBC},
	"aes256-cbc":                  {observe.SeverityWarn, sshCBC},
	"twofish-cbc":                 {observe.SeverityWarn, sshCBC},
	"twofish128-cbc":              {observe.SeverityWarn, sshCBC},
	"twofish256-cbc":              {observe.SeverityWarn, sshCBC},
	"serpent128-cbc":              {observe.SeverityWarn, sshCBC},
	"serpent256-cbc":              {observe.SeverityWarn, sshCBC},
}

var macGrades = map[string]sshGrade{
	"none":                           {observe.SeverityFail, "no integrity protection"},
	"hmac-md5":                       {observe.SeverityFail, "MD5, broken hash"},
	"hmac-md5-96":                    {observe.SeverityFail, "MD5, broken hash"},
	"hmac-md5-etm@openssh.com":       {observe.SeverityFail, "MD5, broken hash"},
	"hmac-md5-96-etm@openssh.com":    {observe.SeverityFail, "MD5, broken hash"},
	"umac-32@openssh.com":            {observe.SeverityFail, "32-bit tag"},
	"hmac-sha1-96":                   {observe.SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-sha1-96-etm@openssh.com":   {observe.SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-ripemd160":                 {observe.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160@openssh.com":     {observe.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160-etm@openssh.com": {observe.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-sha1":                      {observe.SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"hmac-sha1-etm@openssh.com":      {observe.SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"umac-64@openssh.com":            {observe.SeverityNote, "64-bit tag"},
	"umac-64-etm@openssh.com":        {observe.SeverityNote, "64-bit tag"},
}

// GradeSSH lists the weaknesses of what an SSH server offered (its
// KEXINIT, may be nil) and of the host keys the probe obtained, with
// ssh-audit's severities and reasons. Stock OpenSSH gets notes only.
func GradeSSH(k *observe.KexInit, keys []observe.SSHHostKey) []observe.SSHFinding {
	var out []observe.SSHFinding
	add := func(kind, alg string, g sshGrade) {
		out = append(out, observe.SSHFinding{Severity: g.sev, Kind: kind, Algorithm: alg, Reason: g.reason})
	}
	if k != nil {
		for _, a := range k.Kex {
			if g, ok := kexGrades[a]; ok {
				add("kex", a, g)
			} else if strings.HasPrefix(a, "gss-") && (strings.Contains(a, "sha1-") || strings.Contains(a, "group1-")) {
				add("kex", a, sshGrade{observe.SeverityFail, "GSS key exchange with " + sshSHA1})
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
				add("cipher", a, sshGrade{observe.SeverityWarn, sshCBC})
			}
		}
		for _, a := range k.MACs() {
			if g, ok := macGrades[a]; ok {
				add("mac", a, g)
			}
		}
		if slices.Contains(k.Compression(), "zlib") {
			add("compression", "zlib", sshGrade{observe.SeverityNote, "compression before authentication"})
		}
		if !k.StrictKex() {
			if why := terrapin(k); why != "" {
				add("strict_kex", observe.StrictKexServer, sshGrade{observe.SeverityFail, "no strict key exchange while offering " + why + ": open to Terrapin (CVE-2023-48795)"})
			} else {
				add("strict_kex", observe.StrictKexServer, sshGrade{observe.SeverityNote, "no strict key exchange (Terrapin countermeasure)"})
			}
		}
	}
	for _, hk := range keys {
		switch {
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 2048:
			add("key", hk.Type, sshGrade{observe.SeverityFail, fmt.Sprintf("RSA host key of %d bits, under 2048", hk.Bits)})
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 3072:
			add("key", hk.Type, sshGrade{observe.SeverityNote, fmt.Sprintf("RSA host key of %d bits, 112-bit strength", hk.Bits)})
		case hk.Type == "ssh-dss":
			add("key", hk.Type, sshGrade{observe.SeverityFail, "DSA host key"})
		}
	}
	return out
}

// terrapin names an offered algorithm the Terrapin attack exploits
// without strict key exchange: ChaCha20-Poly1305, or a CBC cipher with
// an encrypt-then-MAC MAC. It returns "" when there is none.
func terrapin(k *observe.KexInit) string {
	if slices.Contains(k.Ciphers(), "chacha20-poly1305@openssh.com") {
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
