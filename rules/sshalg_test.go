package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
	"github.com/kensa-inspect/kensa/rules"
)

// TestSSHFindingsWeakServer grades what the probe recorded of a real
// x/crypto/ssh server offering legacy algorithms with a 1024-bit RSA
// host key: the findings come from the stored KEXINIT and host keys.
func TestSSHFindingsWeakServer(t *testing.T) {
	obs := sshScan(t, sshd.Weak)
	got := map[string]string{}
	small := false
	for _, f := range rules.SSHFindings(obs) {
		got[f.Algorithm] = f.Severity
		small = small || (f.Kind == "key" && strings.Contains(f.Reason, "1024"))
	}
	want := map[string]string{
		"diffie-hellman-group1-sha1":         "fail",
		"diffie-hellman-group-exchange-sha1": "fail",
		"3des-cbc":                           "fail",
		"aes128-cbc":                         "warn",
		"arcfour256":                         "fail",
		"hmac-sha1":                          "note",
		"hmac-sha1-96":                       "warn",
		"ssh-rsa":                            "fail",
	}
	for a, sev := range want {
		if got[a] != sev {
			t.Errorf("finding for %s = %q, want %q (all: %v)", a, got[a], sev, got)
		}
	}
	if !small {
		t.Errorf("no finding for the 1024-bit RSA key: %v", got)
	}
}

// TestSSHFindingsProfiles: the sound profiles get no weakness; the
// legacy KEXINIT (DSA host key, MD5), whose handshake no modern client
// completes, is still graded from the KEXINIT alone.
func TestSSHFindingsProfiles(t *testing.T) {
	for _, p := range []sshd.Profile{sshd.PublicKey, sshd.Password, sshd.KeyboardInteractive, sshd.None, sshd.SSH199} {
		for _, f := range rules.SSHFindings(sshScan(t, p)) {
			if f.Weak() {
				t.Errorf("%s: unexpected weak finding %s", p, f)
			}
		}
	}
	var dss, md5 bool
	for _, f := range rules.SSHFindings(sshScan(t, sshd.LegacyKexInit)) {
		dss = dss || (f.Algorithm == "ssh-dss" && f.Severity == observe.SeverityFail)
		md5 = md5 || (f.Algorithm == "hmac-md5" && f.Severity == observe.SeverityFail)
	}
	if !dss || !md5 {
		t.Fatal("legacy KEXINIT: no fail finding for ssh-dss and hmac-md5")
	}
}

// TestSSHFindingsStockOpenSSH: Debian 12's OpenSSH KEXINIT (a capture)
// gets notes only.
func TestSSHFindingsStockOpenSSH(t *testing.T) {
	raw, err := os.ReadFile("../probes/ssh/testdata/openssh-9.2-kexinit.bin")
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err := ssh.ParsePacket(raw)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.ParseKexInit(payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rules.GradeSSH(k, nil) {
		if f.Weak() {
			t.Errorf("stock OpenSSH graded weak: %s", f)
		}
	}
}

func TestSSHTerrapin(t *testing.T) {
	k := &observe.KexInit{Kex: []string{"curve25519-sha256"}, CiphersServerClient: []string{"chacha20-poly1305@openssh.com"}}
	var got observe.SSHFinding
	for _, f := range rules.GradeSSH(k, nil) {
		if f.Kind == "strict_kex" {
			got = f
		}
	}
	if got.Severity != observe.SeverityFail {
		t.Fatalf("no strict kex with chacha20: %+v", got)
	}
	k.Kex = append(k.Kex, observe.StrictKexServer)
	for _, f := range rules.GradeSSH(k, nil) {
		if f.Kind == "strict_kex" {
			t.Fatalf("strict kex offered, still %s", f)
		}
	}
}

// TestSSHFindingsLegacyRecords: a record of a kensa that graded at scan
// time is graded again from its KEXINIT (what it stored as findings then
// does not count); one without KEXINIT or host keys keeps its findings.
func TestSSHFindingsLegacyRecords(t *testing.T) {
	stale := []observe.SSHFinding{{Severity: observe.SeverityNote, Kind: "cipher", Algorithm: "3des-cbc", Reason: "graded long ago"}}
	o := &observe.SSH{KexInit: &observe.KexInit{Kex: []string{"curve25519-sha256", observe.StrictKexServer}, CiphersServerClient: []string{"3des-cbc"}}, Findings: stale}
	fs := rules.SSHFindings(o)
	if len(fs) != 1 || fs[0].Algorithm != "3des-cbc" || fs[0].Severity != observe.SeverityFail {
		t.Fatalf("graded again: %v", fs)
	}
	o = &observe.SSH{Findings: stale}
	if fs := rules.SSHFindings(o); len(fs) != 1 || fs[0].Reason != "graded long ago" {
		t.Fatalf("kept as recorded: %v", fs)
	}
}
