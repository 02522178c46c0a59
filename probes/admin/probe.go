// Package admin looks for cleartext administration channels: telnet,
// rlogin and rsh listeners. A listener that accepts a connection is such
// a channel, whatever it says next; the probe records how the connection
// went (answered, refused, timed out), the telnet option negotiation,
// and the text the server sends (banner and login prompt). For rlogin it
// sends the protocol's handshake with a fake user name, never a
// password; for rsh it sends nothing.
//
// The probe observes; the rules (package rules, item S1) decide.
package admin

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Options.
const (
	DefaultQuiet = time.Second
	maxText      = 2048
	maxCommands  = 64
)

// Options tune the probe.
type Options struct {
	// Listed says the inventory lists this service on this port (as
	// opposed to a standard port checked for discovery); it is recorded
	// in the observation for the rules.
	Listed bool
	// Quiet is how long to wait for more once the server has sent
	// something; default DefaultQuiet, at most the read timeout.
	Quiet time.Duration
	// User is the user name of the rlogin handshake; default FakeUser.
	User string
}

// Probe connects to the telnet, rlogin or rsh service t (by t.Service)
// and records what happens. It never returns nil.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.Admin {
	if opts.User == "" {
		opts.User = observe.FakeUser
	}
	lim := env.Lim()
	if opts.Quiet <= 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.Quiet > lim.ReadTimeout {
		opts.Quiet = lim.ReadTimeout
	}
	obs := &observe.Admin{Endpoint: observe.NewEndpoint(t, env.Clock()), Listed: opts.Listed}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	defer func() { obs.Finish(env.Clock(), tr.Take()) }()

	conn, err := env.Dial(ctx, "tcp", t, nil)
	if err != nil {
		obs.Error = wire.Describe("connect", err)
		obs.State = connectState(err)
		return obs
	}
	tr.Connected()
	defer conn.Close()
	obs.State = observe.AdminStateAnswered
	obs.Reachable = true
	tr.Note("connection accepted")

	if t.Service == "rlogin" {
		// RFC 1282: NUL, client user, NUL, server user, NUL, terminal/speed, NUL.
		hs := "\x00" + opts.User + "\x00" + opts.User + "\x00" + "vt100/9600\x00"
		if _, err := conn.Write([]byte(hs)); err != nil {
			obs.Error = wire.Describe("rlogin handshake", err)
			return obs
		}
		tr.Add("C", "rlogin handshake for user "+opts.User)
	}

	chunks := make(chan []byte)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				select {
				case chunks <- append([]byte(nil), buf[:n]...):
				case <-stop:
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()

	var dec Decoder
	var text []byte
	answered := map[Command]bool{}
	var logged int
	wait := lim.ReadTimeout // for the first bytes
	timer := time.NewTimer(wait)
	defer timer.Stop()
loop:
	for {
		select {
		case p := <-chunks:
			txt, cmds := dec.Feed(p)
			if t.Service != "telnet" {
				txt, cmds = p, nil
			}
			if len(text) < maxText {
				text = append(text, txt...)
			}
			var reply []byte
			for _, c := range cmds {
				if logged < maxCommands {
					obs.Negotiation = append(obs.Negotiation, c.String())
					tr.Add("S", "IAC "+c.String())
					logged++
				}
				if r, ok := c.Refusal(); ok && !answered[c] && len(answered) < 2*256 {
					answered[c] = true
					reply = append(reply, r.Bytes()...)
					tr.Add("C", "IAC "+r.String())
				}
			}
			if len(reply) > 0 {
				if _, err := conn.Write(reply); err != nil {
					obs.Error = wire.Describe("telnet negotiation", err)
					break loop
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(opts.Quiet)
		case err := <-readErr:
			switch wire.Classify(err) {
			case "closed", "reset":
				obs.ClosedByServer = true
				tr.Note("connection closed by the server")
			case "timeout":
				tr.Note("server quiet")
			default:
				obs.Error = wire.Describe("read", err)
			}
			break loop
		case <-timer.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	conn.Close()
	obs.BytesRead = conn.BytesRead()
	obs.Text, obs.Prompt = shape(text, t.Service)
	for _, l := range strings.Split(obs.Text, "\n") {
		if l != "" {
			tr.Add("S", l)
		}
	}
	if obs.BytesRead == 0 {
		tr.Note("the server said nothing")
	}
	return obs
}

// shape turns the server's bytes into display text (lines joined by
// "\n", control characters escaped) and picks the prompt: the last line
// when the text does not end with a line break.
func shape(b []byte, service string) (text, prompt string) {
	if service == "rlogin" && len(b) > 0 && b[0] == 0 {
		b = b[1:] // the server's acknowledgement
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r\x00"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\x00"), nil)
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = wire.Sanitize(l, wire.MaxShownLine)
	}
	text = strings.Join(lines, "\n")
	if len(text) > maxText {
		text = wire.Sanitize(text[:maxText], maxText)
	}
	if n := len(lines); n > 0 && strings.TrimSpace(lines[n-1]) != "" {
		prompt = strings.TrimSpace(lines[n-1])
	}
	return text, prompt
}

// connectState names how a failed connection attempt went.
func connectState(err error) observe.AdminState {
	switch wire.Classify(err) {
	case "refused", "reset":
		return observe.AdminStateRefused
	case "timeout":
		return observe.AdminStateTimeout
	case "unreachable":
		return observe.AdminStateUnreachable
	}
	return observe.AdminStateError
}
