// Package ntp asks a server for the time over NTP (UDP), several times
// spaced apart, and records what it says of itself: its offset from the
// scanner's clock (median, corrected for the round trip), stratum, leap
// indicator, reference ID or kiss code, root delay and dispersion, with
// every sample's raw fields.
//
// It reads the raw header rather than trusting a library's validity
// check: github.com/beevik/ntp's Validate calls any stratum-0 answer a
// kiss-of-death before it looks at the leap indicator, but an
// unsynchronised daemon may answer leap 3, stratum 0 and the code INIT.
// The probe observes; the rules (package rules, item S3) decide.
package ntp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	bntp "github.com/beevik/ntp"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Options.
const (
	DefaultSamples = 4
	DefaultSpacing = 200 * time.Millisecond
	DefaultTimeout = 2 * time.Second
	maxReply       = 1024
)

// Options tune the probe; the zero value is the documented default.
type Options struct {
	// Samples is how many queries to send; default DefaultSamples.
	Samples int
	// Spacing is the pause between queries; default DefaultSpacing.
	Spacing time.Duration
	// Timeout bounds the wait for each reply; default DefaultTimeout,
	// at most the env's read timeout.
	Timeout time.Duration
}

func (o Options) withDefaults(lim wire.Limits) Options {
	if o.Samples <= 0 {
		o.Samples = DefaultSamples
	}
	if o.Spacing <= 0 {
		o.Spacing = DefaultSpacing
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout > lim.ReadTimeout {
		o.Timeout = lim.ReadTimeout
	}
	return o
}

// IsKissOfDeathCode reports whether a kiss code tells a client to stop
// or slow down (RFC 5905 section 7.4): RATE, DENY, RSTR.
func IsKissOfDeathCode(code string) bool {
	return code == "RATE" || code == "DENY" || code == "RSTR"
}

// Probe queries the NTP service t over UDP. It never returns nil.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.NTP {
	opts = opts.withDefaults(env.Lim())
	obs := &observe.NTP{Endpoint: observe.NewEndpoint(t, env.Clock()), Samples: []observe.NTPSample{}}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	defer func() { obs.Finish(env.Clock(), tr.Take()) }()

	timeouts := 0
	for i := 0; i < opts.Samples; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Spacing):
			}
		}
		if ctx.Err() != nil {
			if len(obs.Samples) == 0 {
				obs.Error = wire.Describe("query", ctx.Err())
			}
			break
		}
		s, kind := query(ctx, env, t, opts)
		obs.Samples = append(obs.Samples, s)
		tr.Add("C", fmt.Sprintf("NTPv4 client query %d", i+1))
		if s.Answered {
			tr.Add("S", describeSample(s))
			obs.Answered++
			timeouts = 0
			if IsKissOfDeathCode(s.KissCode) {
				tr.Note("kiss code %s: no more queries", s.KissCode)
				break
			}
			continue
		}
		tr.Note("%s", s.Error)
		if kind == "refused" || kind == "unreachable" {
			break
		}
		if kind == "timeout" {
			timeouts++
			if timeouts >= 2 && obs.Answered == 0 {
				break
			}
		}
	}
	summarise(obs)
	return obs
}

func describeSample(s observe.NTPSample) string {
	txt := fmt.Sprintf("leap %d version %d stratum %d refid %s root delay %.3fms dispersion %.3fms",
		s.Leap, s.Version, s.Stratum, s.RefID, s.RootDelayMS, s.RootDispersionMS)
	if s.Timing {
		txt += fmt.Sprintf(" offset %.3fms rtt %.3fms", s.OffsetMS, s.RTTMS)
	}
	if s.KissCode != "" {
		txt += " kiss " + s.KissCode
	}
	return txt
}

// summarise fills the observation's summary from its samples.
func summarise(obs *observe.NTP) {
	var offsets []float64
	var state *observe.NTPSample
	for i := range obs.Samples {
		s := &obs.Samples[i]
		if !s.Answered {
			continue
		}
		if s.Stratum == 0 {
			obs.KissCode = s.KissCode
			if state == nil || state.Stratum == 0 {
				state = s
			}
		} else {
			state = s
		}
		if s.Timing {
			offsets = append(offsets, s.OffsetMS)
			obs.UncertaintyMS = max(obs.UncertaintyMS, s.RTTMS/2)
		}
	}
	obs.Reachable = obs.Answered > 0
	if obs.Answered == 0 && obs.Error == "" && len(obs.Samples) > 0 {
		obs.Error = obs.Samples[0].Error
	}
	if state != nil {
		obs.Leap, obs.Version, obs.Stratum, obs.RefID = state.Leap, state.Version, state.Stratum, state.RefID
		obs.RootDelayMS, obs.RootDispersionMS = state.RootDelayMS, state.RootDispersionMS
		obs.RootDistanceMS = round(state.RootDelayMS/2 + state.RootDispersionMS + state.RTTMS/2)
	}
	if len(offsets) > 0 {
		slices.Sort(offsets)
		n := len(offsets)
		m := offsets[n/2]
		if n%2 == 0 {
			m = (offsets[n/2-1] + offsets[n/2]) / 2
		}
		obs.OffsetValid, obs.OffsetMS, obs.TimingSamples = true, round(m), n
		obs.UncertaintyMS = round(obs.UncertaintyMS)
	}
}

// capture is a beevik/ntp extension that keeps the query's transmit
// timestamp and the raw reply.
type capture struct {
	sent uint64
	raw  []byte
}

func (c *capture) ProcessQuery(buf *bytes.Buffer) error {
	if b := buf.Bytes(); len(b) >= PacketSize {
		c.sent = binary.BigEndian.Uint64(b[40:48])
	}
	return nil
}

func (c *capture) ProcessResponse(buf []byte) error {
	c.raw = append([]byte(nil), buf[:min(len(buf), maxReply)]...)
	return nil
}

// query sends one query on its own socket and reads one reply. The
// socket is opened first (a scan engine may make it wait for its
// bounds); the reply timeout starts once it is open.
func query(ctx context.Context, env wire.Env, t observe.Target, opts Options) (s observe.NTPSample, kind string) {
	conn, err := env.Dial(ctx, "udp", t, nil)
	if err != nil {
		s = observe.NTPSample{Sent: env.Clock()}
		s.Error, kind = wire.Describe("connect", err), wire.Classify(err)
		return s, kind
	}
	defer conn.Close()
	qctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(qctx, func() { conn.Close() })
	defer stop()
	s = observe.NTPSample{Sent: env.Clock()}
	c := &capture{}
	resp, err := bntp.QueryWithOptions(t.Addr.String(), bntp.QueryOptions{
		Version:       4,
		Timeout:       opts.Timeout,
		Dialer:        func(string, string) (net.Conn, error) { return conn, nil },
		Extensions:    []bntp.Extension{c},
		GetSystemTime: env.Clock,
	})
	if c.raw == nil {
		if err == nil {
			err = errors.New("no reply")
		}
		if qctx.Err() != nil && ctx.Err() == nil {
			// The query's own deadline closed the socket.
			err = context.DeadlineExceeded
		}
		s.Error, kind = wire.Describe("query", err), wire.Classify(err)
		return s, kind
	}
	s.Received = env.Clock()
	p, perr := ParsePacket(c.raw)
	switch {
	case perr != nil:
		s.Error, kind = "bad reply: "+perr.Error(), "error"
		return s, kind
	case p.Mode != ModeServer:
		s.Error, kind = fmt.Sprintf("bad reply: mode %d, not a server reply (4)", p.Mode), "error"
		return s, kind
	case p.Origin != c.sent:
		s.Error, kind = "bad reply: origin timestamp does not match the query", "error"
		return s, kind
	}
	s.Answered = true
	s.Leap, s.Version, s.Mode, s.Stratum = int(p.Leap), int(p.Version), int(p.Mode), int(p.Stratum)
	s.Poll, s.Precision = int(p.Poll), int(p.Precision)
	s.RootDelayMS, s.RootDispersionMS = ms(Short(p.RootDelay)), ms(Short(p.RootDispersion))
	s.RefID = p.RefIDText()
	s.RefIDHex = fmt.Sprintf("%08x", binary.BigEndian.Uint32(p.RefID[:]))
	s.ReferenceTime, s.ServerReceived, s.ServerSent = Time(p.RefTime), Time(p.Receive), Time(p.Transmit)
	if p.Stratum == 0 {
		s.KissCode = p.KissCode()
		return s, kind // a kiss-of-death's timestamps mean nothing
	}
	if resp == nil || err != nil {
		if err == nil {
			err = errors.New("no response")
		}
		s.Error = "reply unusable for timing: " + err.Error()
		return s, kind
	}
	s.Timing = true
	s.OffsetMS, s.RTTMS = ms(resp.ClockOffset), ms(resp.RTT)
	if !resp.Timestamps.ClientRecv.IsZero() {
		s.Received = resp.Timestamps.ClientRecv
	}
	s.Sent = resp.Timestamps.ClientXmit
	return s, kind
}

// ms converts a duration to milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d) / float64(time.Millisecond)) }

func round(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v*1000+0.5)) / 1000
	}
	return float64(int64(v*1000+0.5)) / 1000
}
