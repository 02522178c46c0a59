package ssh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

// SSH message numbers the probe reads itself (RFC 4253).
const (
	msgDisconnect = 1
	msgKexInit    = 20
)

// MaxPacket bounds the first binary packet the probe accepts from a
// server. RFC 4253 section 6.1 requires support for 35,000 bytes; a
// KEXINIT is a few kilobytes.
const MaxPacket = 64 << 10

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParsePacket splits one cleartext SSH binary packet (RFC 4253 section
// 6: uint32 packet_length, byte padding_length, payload, padding; no MAC
// before the first key exchange) off the front of b. It returns the
// payload and what follows the packet. It fails with io.ErrUnexpectedEOF
// when b holds only part of a packet.
func ParsePacket(b []byte) (payload, rest []byte, err error) {
	if len(b) < 5 {
		return nil, b, io.ErrUnexpectedEOF
	}
	n := binary.BigEndian.Uint32(b)
	if err := checkPacketLen(n, b[4]); err != nil {
		return nil, b, err
	}
	if uint64(len(b)) < 4+uint64(n) {
		return nil, b, io.ErrUnexpectedEOF
	}
	pad := int(b[4])
	return b[5 : 4+int(n)-pad], b[4+int(n):], nil
}

func checkPacketLen(n uint32, pad byte) error {
	switch {
	case n > MaxPacket:
		return fmt.Errorf("packet length %d exceeds the probe's limit of %d bytes", n, MaxPacket)
	case n < 2:
		return fmt.Errorf("packet length %d is too small", n)
	case uint32(pad) >= n:
		return fmt.Errorf("padding length %d does not fit in packet length %d", pad, n)
	}
	return nil
}

// ReadPacket reads one cleartext SSH binary packet from r. raw is the
// packet as sent; payload its payload. The packet length is checked
// before anything more is read, so a hostile length costs nothing.
func ReadPacket(r io.Reader) (raw, payload []byte, err error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if err := checkPacketLen(n, head[4]); err != nil {
		return nil, nil, err
	}
	raw = make([]byte, 4+int(n))
	copy(raw, head[:])
	if _, err := io.ReadFull(r, raw[5:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	payload, _, err = ParsePacket(raw)
	return raw, payload, err
}

// ParseKexInit parses the payload of an SSH_MSG_KEXINIT: the message
// number 20, a 16-byte cookie, ten name-lists, a boolean and a reserved
// uint32. Names are kept as sent; callers sanitise them for display.
func ParseKexInit(payload []byte) (*observe.KexInit, error) {
	if len(payload) == 0 {
		return nil, errors.New("empty packet")
	}
	if payload[0] != msgKexInit {
		return nil, fmt.Errorf("message %d where KEXINIT (20) was expected", payload[0])
	}
	p := payload[1:]
	if len(p) < 16 {
		return nil, errors.New("KEXINIT too short for its cookie")
	}
	p = p[16:]
	k := &observe.KexInit{}
	lists := []*[]string{
		&k.Kex, &k.HostKey,
		&k.CiphersClientServer, &k.CiphersServerClient,
		&k.MACsClientServer, &k.MACsServerClient,
		&k.CompressionClientServer, &k.CompressionServerClient,
		&k.LanguagesClientServer, &k.LanguagesServerClient,
	}
	names := []string{"kex", "host key", "cipher c2s", "cipher s2c", "mac c2s", "mac s2c",
		"compression c2s", "compression s2c", "language c2s", "language s2c"}
	for i, dst := range lists {
		list, rest, err := nameList(p)
		if err != nil {
			return nil, fmt.Errorf("KEXINIT %s list: %w", names[i], err)
		}
		*dst = list
		p = rest
	}
	if len(p) < 5 {
		return nil, errors.New("KEXINIT truncated after its name-lists")
	}
	k.FirstKexFollows = p[0] != 0
	return k, nil
}

// nameList reads an RFC 4251 name-list: uint32 length, then names
// separated by commas.
func nameList(p []byte) ([]string, []byte, error) {
	if len(p) < 4 {
		return nil, p, errors.New("truncated length")
	}
	n := binary.BigEndian.Uint32(p)
	p = p[4:]
	if uint64(n) > uint64(len(p)) {
		return nil, p, fmt.Errorf("length %d exceeds the %d bytes left", n, len(p))
	}
	s := string(p[:n])
	p = p[n:]
	if s == "" {
		return []string{}, p, nil
	}
	return strings.Split(s, ","), p, nil
}
