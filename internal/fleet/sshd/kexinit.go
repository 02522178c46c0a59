package sshd

import (
	"encoding/binary"
	"strings"
)

// legacyKexInitPacket is the first binary packet of an old server: a
// KEXINIT offering only diffie-hellman-group1-sha1, an ssh-dss host key,
// 3des-cbc, arcfour and aes128-cbc, hmac-md5 and hmac-sha1, and no
// strict key exchange.
func legacyKexInitPacket() []byte {
	return KexInitPacket([][]string{
		{"diffie-hellman-group1-sha1", "diffie-hellman-group-exchange-sha1"},
		{"ssh-dss"},
		{"3des-cbc", "arcfour", "aes128-cbc"},
		{"3des-cbc", "arcfour", "aes128-cbc"},
		{"hmac-md5", "hmac-sha1"},
		{"hmac-md5", "hmac-sha1"},
		{"none", "zlib"},
		{"none", "zlib"},
		{},
		{},
	})
}

// KexInitPacket encodes a cleartext SSH binary packet holding a KEXINIT
// with the ten name-lists given (kex, host key, ciphers c2s and s2c,
// MACs c2s and s2c, compression c2s and s2c, languages c2s and s2c).
func KexInitPacket(lists [][]string) []byte {
	payload := []byte{20}
	payload = append(payload, make([]byte, 16)...) // cookie
	for i := 0; i < 10; i++ {
		var s string
		if i < len(lists) {
			s = strings.Join(lists[i], ",")
		}
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(s)))
		payload = append(payload, s...)
	}
	payload = append(payload, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, payload...)
	return append(pkt, make([]byte, pad)...)
}
