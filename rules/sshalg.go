package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kensa-inspect/kensa/probes/ssh"
)

// SSHFindings returns the weak algorithms and keys of an SSH service,
// graded from what the probe recorded: its KEXINIT and the host keys
// obtained. A record written before kensa graded at judging time may
// lack both and carry the findings the probe graded then; those are
// returned as recorded.
func SSHFindings(o *ssh.Observation) []ssh.Finding {
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
	"diffie-hellman-group1-sha1":           {ssh.SeverityFail, "1024-bit modulus (Logjam) and " + sshSHA1},
	"diffie-hellman-group14-sha1":          {ssh.SeverityFail, sshSHA1},
	"diffie-hellman-group-exchange-sha1":   {ssh.SeverityFail, sshSHA1},
	"rsa1024-sha1":                         {ssh.SeverityFail, "1024-bit RSA key exchange and " + sshSHA1},
	"rsa2048-sha256":                       {ssh.SeverityNote, "2048-bit modulus, 112-bit strength"},
	"diffie-hellman-group14-sha256":        {ssh.SeverityNote, "2048-bit modulus, 112-bit strength"},
	"ecdh-sha2-nistp256":                   {ssh.SeverityNote, sshNIST},
	"ecdh-sha2-nistp384":                   {ssh.SeverityNote, sshNIST},
	"ecdh-sha2-nistp521":                   {ssh.SeverityNote, sshNIST},
	"diffie-hellman-group15-sha256":        {ssh.SeverityNote, "non-standard name"},
	"diffie-hellman-group-exchange-sha224": {ssh.SeverityNote, "non-standard name"},
}

var hostKeyGrades = map[string]sshGrade{
	"ssh-dss":                                  {ssh.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"ssh-dss-cert-v01@openssh.com":             {ssh.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures, removed from OpenSSH"},
	"x509v3-sign-dss":                          {ssh.SeverityFail, "DSA: 1024-bit key and SHA-1 signatures"},
	"ssh-rsa":                                  {ssh.SeverityFail, "RSA signatures with " + sshSHA1},
	"ssh-rsa-cert-v01@openssh.com":             {ssh.SeverityFail, "RSA signatures with " + sshSHA1},
	"x509v3-sign-rsa":                          {ssh.SeverityFail, "RSA signatures with " + sshSHA1},
	"ecdsa-sha2-nistp256":                      {ssh.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp384":                      {ssh.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp521":                      {ssh.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp256-cert-v01@openssh.com": {ssh.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp384-cert-v01@openssh.com": {ssh.SeverityNote, sshNIST},
	"ecdsa-sha2-nistp521-cert-v01@openssh.com": {ssh.SeverityNote, sshNIST},
}

var cipherGrades = map[string]sshGrade{
	"none":                        {ssh.SeverityFail, "no encryption"},
	"des":                         {ssh.SeverityFail, "single DES, 56-bit key"},
	"des-cbc":                     {ssh.SeverityFail, "single DES, 56-bit key"},
	"des-cbc@ssh.com":             {ssh.SeverityFail, "single DES, 56-bit key"},
	"3des-cbc":                    {ssh.SeverityFail, "3DES, " + sshBlock64 + ", " + sshCBC},
	"3des-ctr":                    {ssh.SeverityFail, "3DES, " + sshBlock64},
	"arcfour":                     {ssh.SeverityFail, "RC4, broken stream cipher"},
	"arcfour128":                  {ssh.SeverityFail, "RC4, broken stream cipher"},
	"arcfour256":                  {ssh.SeverityFail, "RC4, broken stream cipher"},
	"blowfish-cbc":                {ssh.SeverityFail, sshBlock64 + ", " + sshCBC},
	"cast128-cbc":                 {ssh.SeverityFail, sshBlock64 + ", " + sshCBC},
	"idea-cbc":                    {ssh.SeverityFail, sshBlock64 + ", " + sshCBC},
	"rijndael-cbc@lysator.liu.se": {ssh.SeverityFail, "obsolete alias of aes256-cbc, " + sshCBC},
	"aes128-cbc":                  {ssh.SeverityWarn, sshCBC},
	"aes192-cbc":                  {ssh.SeverityWarn, sshCBC},
	"aes256-cbc":                  {ssh.SeverityWarn, sshCBC},
	"twofish-cbc":                 {ssh.SeverityWarn, sshCBC},
	"twofish128-cbc":              {ssh.SeverityWarn, sshCBC},
	"twofish256-cbc":              {ssh.SeverityWarn, sshCBC},
	"serpent128-cbc":              {ssh.SeverityWarn, sshCBC},
	"serpent256-cbc":              {ssh.SeverityWarn, sshCBC},
}

var macGrades = map[string]sshGrade{
	"none":                           {ssh.SeverityFail, "no integrity protection"},
	"hmac-md5":                       {ssh.SeverityFail, "MD5, broken hash"},
	"hmac-md5-96":                    {ssh.SeverityFail, "MD5, broken hash"},
	"hmac-md5-etm@openssh.com":       {ssh.SeverityFail, "MD5, broken hash"},
	"hmac-md5-96-etm@openssh.com":    {ssh.SeverityFail, "MD5, broken hash"},
	"umac-32@openssh.com":            {ssh.SeverityFail, "32-bit tag"},
	"hmac-sha1-96":                   {ssh.SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-sha1-96-etm@openssh.com":   {ssh.SeverityWarn, "SHA-1 cut to a 96-bit tag"},
	"hmac-ripemd160":                 {ssh.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160@openssh.com":     {ssh.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-ripemd160-etm@openssh.com": {ssh.SeverityWarn, "RIPEMD-160, removed from OpenSSH"},
	"hmac-sha1":                      {ssh.SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"hmac-sha1-etm@openssh.com":      {ssh.SeverityNote, "SHA-1 based (HMAC-SHA1 is not broken, but SHA-1 is deprecated)"},
	"umac-64@openssh.com":            {ssh.SeverityNote, "64-bit tag"},
	"umac-64-etm@openssh.com":        {ssh.SeverityNote, "64-bit tag"},
}

// GradeSSH lists the weaknesses of what an SSH server offered (its
// KEXINIT, may be nil) and of the host keys the probe obtained, with
// ssh-audit's severities and reasons. Stock OpenSSH gets notes only.
func GradeSSH(k *ssh.KexInit, keys []ssh.HostKey) []ssh.Finding {
	var out []ssh.Finding
	add := func(kind, alg string, g sshGrade) {
		out = append(out, ssh.Finding{Severity: g.sev, Kind: kind, Algorithm: alg, Reason: g.reason})
	}
	if k != nil {
		for _, a := range k.Kex {
			if g, ok := kexGrades[a]; ok {
				add("kex", a, g)
			} else if strings.HasPrefix(a, "gss-") && (strings.Contains(a, "sha1-") || strings.Contains(a, "group1-")) {
				add("kex", a, sshGrade{ssh.SeverityFail, "GSS key exchange with " + sshSHA1})
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
				add("cipher", a, sshGrade{ssh.SeverityWarn, sshCBC})
			}
		}
		for _, a := range k.MACs() {
			if g, ok := macGrades[a]; ok {
				add("mac", a, g)
			}
		}
		if slices.Contains(k.Compression(), "zlib") {
			add("compression", "zlib", sshGrade{ssh.SeverityNote, "compression before authentication"})
		}
		if !k.StrictKex() {
			if why := terrapin(k); why != "" {
				add("strict_kex", ssh.StrictKexServer, sshGrade{ssh.SeverityFail, "no strict key exchange while offering " + why + ": open to Terrapin (CVE-2023-48795)"})
			} else {
				add("strict_kex", ssh.StrictKexServer, sshGrade{ssh.SeverityNote, "no strict key exchange (Terrapin countermeasure)"})
			}
		}
	}
	for _, hk := range keys {
		switch {
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 2048:
			add("key", hk.Type, sshGrade{ssh.SeverityFail, fmt.Sprintf("RSA host key of %d bits, under 2048", hk.Bits)})
		case hk.Type == "ssh-rsa" && hk.Bits > 0 && hk.Bits < 3072:
			add("key", hk.Type, sshGrade{ssh.SeverityNote, fmt.Sprintf("RSA host key of %d bits, 112-bit strength", hk.Bits)})
		case hk.Type == "ssh-dss":
			add("key", hk.Type, sshGrade{ssh.SeverityFail, "DSA host key"})
		}
	}
	return out
}

// terrapin names an offered algorithm the Terrapin attack exploits
// without strict key exchange: ChaCha20-Poly1305, or a CBC cipher with
// an encrypt-then-MAC MAC. It returns "" when there is none.
func terrapin(k *ssh.KexInit) string {
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
