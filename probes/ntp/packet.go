package ntp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// PacketSize is the size of an NTP header without extensions (RFC 5905).
const PacketSize = 48

// Mode numbers (RFC 5905 figure 10).
const (
	ModeClient = 3
	ModeServer = 4
)

// Packet is the header of an NTP packet, as sent.
type Packet struct {
	Leap, Version, Mode uint8
	Stratum             uint8
	Poll, Precision     int8
	// RootDelay and RootDispersion are NTP short-format values (16.16
	// seconds).
	RootDelay, RootDispersion uint32
	RefID                     [4]byte
	// The four timestamps in NTP format (32.32 seconds since 1900).
	RefTime, Origin, Receive, Transmit uint64
}

// ParsePacket reads the header of an NTP packet. It fails on fewer than
// 48 bytes; it checks nothing else (the caller judges mode and origin).
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < PacketSize {
		return Packet{}, fmt.Errorf("packet of %d bytes, shorter than an NTP header (%d)", len(b), PacketSize)
	}
	p := Packet{
		Leap:           b[0] >> 6,
		Version:        (b[0] >> 3) & 7,
		Mode:           b[0] & 7,
		Stratum:        b[1],
		Poll:           int8(b[2]),
		Precision:      int8(b[3]),
		RootDelay:      binary.BigEndian.Uint32(b[4:]),
		RootDispersion: binary.BigEndian.Uint32(b[8:]),
		RefTime:        binary.BigEndian.Uint64(b[16:]),
		Origin:         binary.BigEndian.Uint64(b[24:]),
		Receive:        binary.BigEndian.Uint64(b[32:]),
		Transmit:       binary.BigEndian.Uint64(b[40:]),
	}
	copy(p.RefID[:], b[12:16])
	return p, nil
}

// Short converts an NTP short-format value (16.16 seconds) to a
// duration.
func Short(v uint32) time.Duration {
	return time.Duration(v>>16)*time.Second + time.Duration(uint64(v&0xffff)*uint64(time.Second)>>16)
}

// Time converts an NTP timestamp to a time, taking timestamps whose
// seconds lack the top bit to be in era 1 (from 2036); zero stays the
// zero time.
func Time(ts uint64) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	sec := int64(ts >> 32)
	if ts>>63 == 0 {
		sec += 1 << 32
	}
	nsec := int64((ts & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(sec-2208988800, nsec).UTC()
}

// KissCode returns the four ASCII characters of the reference ID, as a
// kiss code (stratum 0) or a reference clock name (stratum 1) is sent;
// "" when they are not printable ASCII.
func (p Packet) KissCode() string {
	s := strings.TrimRight(string(p.RefID[:]), "\x00")
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}

// RefIDText formats the reference ID: the ASCII code for stratum 0, 1
// and 16 (kiss code, clock name, ntpd's "INIT" while unsynchronised),
// dotted quad for the others (an IPv4 address, or a hash of an IPv6
// one).
func (p Packet) RefIDText() string {
	if p.Stratum <= 1 || p.Stratum >= 16 {
		if s := p.KissCode(); s != "" {
			return s
		}
		return fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(p.RefID[:]))
	}
	return netip.AddrFrom4(p.RefID).String()
}
