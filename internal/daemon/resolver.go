package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
)

// NXDomain is a DNS responder on a loopback address that answers every
// query with NXDOMAIN (no such domain), so that a daemon whose resolver
// points at it (PostfixConfig.Resolver) looks names up without any
// query leaving the machine, and finds none.
type NXDomain struct {
	// Addr is the address it answers on, port 53.
	Addr string
	pc   net.PacketConn
	mu   sync.Mutex
	// Queries are the names asked, in order.
	queries []string
	done    chan struct{}
}

// StartNXDomain starts a responder on addr (a loopback address), port 53.
func StartNXDomain(addr string) (*NXDomain, error) {
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("resolver address %q is not a loopback address", addr)
	}
	if err := needRoot("a DNS responder on port 53"); err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(addr, "53"))
	if err != nil {
		return nil, err
	}
	r := &NXDomain{Addr: addr, pc: pc, done: make(chan struct{})}
	go r.serve()
	return r, nil
}

func (r *NXDomain) serve() {
	defer close(r.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, name, ok := nxReply(buf[:n]); ok {
			r.mu.Lock()
			r.queries = append(r.queries, name)
			r.mu.Unlock()
			_, _ = r.pc.WriteTo(out, from)
		}
	}
}

// Queries returns the names asked so far.
func (r *NXDomain) Queries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.queries...)
}

// Stop stops the responder.
func (r *NXDomain) Stop() {
	r.pc.Close()
	<-r.done
}

// nxReply builds the NXDOMAIN answer to a query: its header with QR, AA
// and RA set and RCODE 3, and its question, nothing else. It also
// returns the name asked.
func nxReply(q []byte) ([]byte, string, bool) {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, "", false
	}
	name, end, err := qname(q, 12)
	if err != nil || end+4 > len(q) {
		return nil, "", false
	}
	out := make([]byte, end+4)
	copy(out, q[:end+4])
	out[2] = 0x80 | q[2]&0x79 | 0x04 // QR, opcode and RD kept, AA
	out[3] = 0x80 | 3                // RA, NXDOMAIN
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	return out, name, true
}

// qname reads the uncompressed name at off; it returns the name and the
// offset after it.
func qname(b []byte, off int) (string, int, error) {
	name := ""
	for {
		if off >= len(b) {
			return "", 0, errors.New("name runs past the packet")
		}
		l := int(b[off])
		off++
		if l == 0 {
			return name, off, nil
		}
		if l > 63 || off+l > len(b) {
			return "", 0, errors.New("bad label")
		}
		name += string(b[off:off+l]) + "."
		off += l
	}
}
