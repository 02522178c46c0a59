// Package ntpd plays NTP servers for tests and the simulated fleet: a
// small responder on UDP whose clock may be offset, that may claim any
// stratum, leap indicator and reference ID, send kiss codes (INIT as
// NTPsec without sources, RATE and DENY as ntpd), or answer with
// garbage, short packets, replies to some other query, or nothing.
package ntpd

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a responder behaviour.
type Profile string

// The profiles; Truth gives each one's S3 outcome.
const (
	// Synced is a stratum-2 server with leap 0 (add Config.Offset to
	// make its clock wrong while it claims to be synchronised).
	Synced Profile = "synced"
	// Stratum1 is a stratum-1 server with reference clock "GPS".
	Stratum1 Profile = "stratum-1"
	// Offset is Synced with its clock 5 s ahead unless Config.Offset
	// says otherwise.
	Offset Profile = "offset"
	// Stratum16 is ntpd without a source: stratum 16, leap 3, refid
	// INIT.
	Stratum16 Profile = "stratum-16"
	// Leap3 claims stratum 3 but leap 3 (alarm: not synchronised).
	Leap3 Profile = "leap-3"
	// Init is NTPsec without a source: leap 3, stratum 0, kiss code
	// INIT.
	Init Profile = "init"
	// Rate answers every query with ntpd's kiss-of-death RATE (leap 3,
	// stratum 0).
	Rate Profile = "rate"
	// Deny answers every query with the kiss-of-death DENY.
	Deny Profile = "deny"
	// RateLimited answers as Synced, except that a query coming less
	// than RateInterval after the same client's previous one gets RATE,
	// as ntpd's "limited" restriction does.
	RateLimited Profile = "rate-limited"
	// Garbage answers with 48 random bytes.
	Garbage Profile = "garbage"
	// Short answers with a 20-byte packet.
	Short Profile = "short"
	// WrongOrigin answers with a well-formed reply whose origin
	// timestamp is not the query's (as a spoofed or stale reply).
	WrongOrigin Profile = "wrong-origin"
	// Silent never answers.
	Silent Profile = "silent"
)

// Profiles lists every profile.
func Profiles() []Profile {
	return []Profile{Synced, Stratum1, Offset, Stratum16, Leap3, Init, Rate, Deny, RateLimited,
		Garbage, Short, WrongOrigin, Silent}
}

// RateInterval is the RateLimited profile's minimum time between two
// queries of one client (ntpd's "discard minimum 1": 2 s).
const RateInterval = 2 * time.Second

// DefaultOffset is the Offset profile's clock error when Config.Offset
// is zero.
const DefaultOffset = 5 * time.Second

// Config configures one responder.
type Config struct {
	Profile Profile
	// Offset is added to the responder's clock (any profile); the Offset
	// profile uses DefaultOffset when it is zero.
	Offset time.Duration
	// Latency delays every reply by this much (the receive timestamp is
	// taken on arrival, the transmit timestamp on sending, as a server
	// does).
	Latency time.Duration
}

func (cfg Config) offset() time.Duration {
	if cfg.Profile == Offset && cfg.Offset == 0 {
		return DefaultOffset
	}
	return cfg.Offset
}

// Truth is the S3 outcome of a server whose only time source is this
// responder, with maxOffset the policy's limit (choose offsets away
// from the limit by more than a round trip).
func Truth(cfg Config, maxOffset time.Duration) scoring.Outcome {
	switch cfg.Profile {
	case Synced, Stratum1, Offset, RateLimited:
		off := cfg.offset()
		if off < 0 {
			off = -off
		}
		if off > maxOffset {
			return scoring.Fail
		}
		return scoring.Pass
	case Stratum16, Leap3, Init:
		return scoring.Fail
	}
	return scoring.Unknown
}

// Server is a running responder.
type Server struct {
	pc      net.PacketConn
	done    chan struct{}
	queries atomic.Int64
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.pc.LocalAddr() }

// Queries returns how many queries arrived.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Close stops the responder.
func (s *Server) Close() error {
	err := s.pc.Close()
	<-s.done
	return err
}

// Start listens on UDP addr ("127.0.0.1:0") and serves cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.serve(context.Background(), cfg)
	}()
	return s, nil
}

// Serve answers queries on pc until ctx ends or pc is closed.
func Serve(ctx context.Context, pc net.PacketConn, cfg Config) error {
	s := &Server{pc: pc}
	return s.serve(ctx, cfg)
}

func (s *Server) serve(ctx context.Context, cfg Config) error {
	stop := context.AfterFunc(ctx, func() { s.pc.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	last := map[string]time.Time{} // RateLimited: each client's last query
	buf := make([]byte, 512)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		arrived := time.Now().Add(cfg.offset())
		s.queries.Add(1)
		if n < 48 || buf[0]&7 != 3 {
			continue // not a client query
		}
		var q [48]byte
		copy(q[:], buf[:48])
		profile := cfg.Profile
		if profile == RateLimited {
			host, _, _ := net.SplitHostPort(from.String())
			now := time.Now()
			if t, ok := last[host]; ok && now.Sub(t) < RateInterval {
				profile = Rate
			}
			if len(last) >= 4096 {
				clear(last)
			}
			last[host] = now
		}
		send := func() {
			if reply := answer(profile, q, arrived, cfg); reply != nil {
				s.pc.WriteTo(reply, from)
			}
		}
		if cfg.Latency > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(cfg.Latency)
				send()
			}()
		} else {
			send()
		}
	}
}

// answer builds the reply of profile p to query q.
func answer(p Profile, q [48]byte, arrived time.Time, cfg Config) []byte {
	version := (q[0] >> 3) & 7
	leap, stratum, refid := byte(0), byte(2), []byte{192, 0, 2, 1}
	kiss := false
	switch p {
	case Silent:
		return nil
	case Garbage:
		b := make([]byte, 48)
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		b[0] = b[0]&^7 | 5 // never a valid server mode
		return b
	case Short:
		return []byte{0x24, 2, 6, 0xec, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0}
	case Stratum1:
		stratum, refid = 1, []byte("GPS\x00")
	case Stratum16:
		leap, stratum, refid = 3, 16, []byte("INIT")
	case Leap3:
		leap, stratum = 3, 3
	case Init:
		leap, stratum, refid = 3, 0, []byte("INIT")
	case Rate:
		leap, stratum, refid, kiss = 3, 0, []byte("RATE"), true
	case Deny:
		leap, stratum, refid, kiss = 3, 0, []byte("DENY"), true
	}
	r := make([]byte, 48)
	r[0] = leap<<6 | version<<3 | 4
	r[1] = stratum
	r[2] = 6                                      // poll 64 s
	r[3] = byte(256 - 20)                         // precision 2^-20 s
	binary.BigEndian.PutUint32(r[4:], 0x00000400) // root delay ~15 ms
	binary.BigEndian.PutUint32(r[8:], 0x00000800) // root dispersion ~30 ms
	copy(r[12:16], refid)
	clientXmt := binary.BigEndian.Uint64(q[40:48])
	if kiss {
		// ntpd's kiss-of-death reveals no time: every timestamp is the
		// client's transmit timestamp.
		for _, off := range []int{16, 24, 32, 40} {
			binary.BigEndian.PutUint64(r[off:], clientXmt)
		}
		return r
	}
	if stratum != 0 && stratum < 16 {
		binary.BigEndian.PutUint64(r[16:], ntpTime(arrived.Add(-30*time.Second)))
	}
	origin := clientXmt
	if p == WrongOrigin {
		origin ^= 0x5a5a5a5a
	}
	binary.BigEndian.PutUint64(r[24:], origin)
	binary.BigEndian.PutUint64(r[32:], ntpTime(arrived))
	binary.BigEndian.PutUint64(r[40:], ntpTime(time.Now().Add(cfg.offset())))
	return r
}

// ntpTime converts t to an NTP timestamp (era 0, or era 1 wrapped).
func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix() + 2208988800)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac&0xffffffff
}
