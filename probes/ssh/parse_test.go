package ssh_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/internal/fleet/sshd"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/ssh"
)

func TestParseIdent(t *testing.T) {
	for _, tc := range []struct {
		line           string
		proto, sw, com string
		ssh1, ssh2     bool
		bad            bool
	}{
		{line: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", proto: "2.0", sw: "OpenSSH_9.2p1", com: "Debian-2+deb12u3", ssh2: true},
		{line: "SSH-1.99-OpenSSH_3.9p1", proto: "1.99", sw: "OpenSSH_3.9p1", ssh1: true, ssh2: true},
		{line: "SSH-1.5-1.2.27", proto: "1.5", sw: "1.2.27", ssh1: true},
		{line: "SSH-2.0-Cisco-1.25", proto: "2.0", sw: "Cisco-1.25", ssh2: true},
		{line: "SSH-2.0-", proto: "2.0", sw: "", ssh2: true},
		{line: "SSH-2.0", bad: true},
		{line: "SSH-x.y-foo", bad: true},
		{line: "HTTP/1.1 400 Bad Request", bad: true},
		{line: "SSH-2.0-foo\x00bar", bad: true},
	} {
		id, err := ssh.ParseIdent(tc.line)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.line)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if id.Proto != tc.proto || id.Software != tc.sw || id.Comments != tc.com || id.SSH1() != tc.ssh1 || id.SSH2() != tc.ssh2 {
			t.Errorf("%q: got %+v ssh1=%v ssh2=%v", tc.line, id, id.SSH1(), id.SSH2())
		}
	}
}

func TestKexInitRoundTrip(t *testing.T) {
	lists := [][]string{{"curve25519-sha256", observe.StrictKexServer}, {"ssh-ed25519"}, {"aes128-ctr"}, {"aes256-ctr", "3des-cbc"},
		{"hmac-sha2-256"}, {"hmac-md5"}, {"none"}, {"none", "zlib"}, {}, {}}
	pkt := sshd.KexInitPacket(lists)
	payload, rest, err := ssh.ParsePacket(append(pkt, 'x'))
	if err != nil || string(rest) != "x" {
		t.Fatalf("ParsePacket: %v rest %q", err, rest)
	}
	k, err := ssh.ParseKexInit(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(k.Kex, lists[0]) || !slices.Equal(k.CiphersServerClient, lists[3]) || !k.StrictKex() {
		t.Fatalf("%+v", k)
	}
	if !slices.Equal(k.Ciphers(), []string{"aes256-ctr", "3des-cbc", "aes128-ctr"}) {
		t.Fatalf("ciphers %v", k.Ciphers())
	}
	raw, p2, err := ssh.ReadPacket(bytes.NewReader(pkt))
	if err != nil || !bytes.Equal(raw, pkt) || !bytes.Equal(p2, payload) {
		t.Fatalf("ReadPacket: %v", err)
	}
	// Incomplete packets.
	for i := 0; i < len(pkt); i++ {
		if _, _, err := ssh.ParsePacket(pkt[:i]); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
}

func TestParseOpenSSHKexInit(t *testing.T) {
	raw, err := os.ReadFile("testdata/openssh-9.2-kexinit.bin")
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
	if !k.StrictKex() || !slices.Contains(k.MACs(), "hmac-sha1") || k.HostKey[0] != "ssh-ed25519" {
		t.Fatalf("%+v", k)
	}
}

func TestPacketBounds(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, 1<<30)
	huge = append(huge, 4)
	if _, _, err := ssh.ReadPacket(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("huge length: %v", err)
	}
	if _, _, err := ssh.ParsePacket([]byte{0, 0, 0, 8, 9, 1, 2, 3, 4, 5, 6, 7}); err == nil {
		t.Fatal("padding longer than packet accepted")
	}
	if _, err := ssh.ParseKexInit([]byte{21}); err == nil {
		t.Fatal("non-KEXINIT accepted")
	}
	bad := []byte{20}
	bad = append(bad, make([]byte, 16)...)
	bad = binary.BigEndian.AppendUint32(bad, 1000)
	if _, err := ssh.ParseKexInit(bad); err == nil {
		t.Fatal("overlong name-list accepted")
	}
}

func FuzzParseIdent(f *testing.F) {
	for _, s := range []string{"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n", "SSH-1.99-x", "SSH-1.5-", "SSH-", "SSH-2.0", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		id, err := ssh.ParseIdent(line)
		if err != nil {
			return
		}
		if !strings.HasPrefix(id.Line, "SSH-"+id.Proto+"-"+id.Software) {
			t.Fatalf("%q parsed as %+v", line, id)
		}
		if id.SSH2() && id.Proto != "2.0" && !id.SSH1() {
			t.Fatalf("%q: ssh2 without 2.0 or 1.99", line)
		}
	})
}

func FuzzKexInit(f *testing.F) {
	if raw, err := os.ReadFile("testdata/openssh-9.2-kexinit.bin"); err == nil {
		f.Add(raw)
	}
	f.Add(sshd.KexInitPacket([][]string{{"diffie-hellman-group1-sha1"}, {"ssh-dss"}, {"3des-cbc"}, {"3des-cbc"}, {"hmac-md5"}, {"hmac-md5"}, {"none"}, {"none"}}))
	f.Add([]byte{0, 0, 0, 12, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, rest, err := ssh.ParsePacket(data)
		raw, p2, rerr := ssh.ReadPacket(bytes.NewReader(data))
		if (err == nil) != (rerr == nil) {
			t.Fatalf("ParsePacket %v, ReadPacket %v", err, rerr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(payload, p2) || len(raw)+len(rest) != len(data) {
			t.Fatal("ParsePacket and ReadPacket disagree")
		}
		k, err := ssh.ParseKexInit(payload)
		if err != nil {
			return
		}
		_ = k.StrictKex()
	})
}
