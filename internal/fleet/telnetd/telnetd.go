// Package telnetd plays cleartext administration services for tests and
// the simulated fleet: a telnet server that negotiates options and shows
// a banner and a login prompt, a silent telnet listener, one that hangs
// up at once (as a TCP wrapper denying the client does), and rlogin and
// rsh listeners. None ever logs anyone in.
package telnetd

import (
	"bufio"
	"context"
	"io"
	"net"
	"time"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/listener"
	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a listener behaviour.
type Profile string

// The profiles. Every one is a reachable cleartext administration
// channel, so Truth is fail for each.
const (
	// Telnet negotiates options (DO TERMINAL-TYPE, WILL ECHO, WILL
	// SUPPRESS-GO-AHEAD), then sends its banner and a login prompt.
	Telnet Profile = "telnet"
	// TelnetSilent accepts connections and says nothing.
	TelnetSilent Profile = "telnet-silent"
	// TelnetHangup accepts connections and closes them at once.
	TelnetHangup Profile = "telnet-hangup"
	// Rlogin answers the rlogin handshake with a password prompt.
	Rlogin Profile = "rlogin"
	// Rsh answers an rsh request with "Permission denied." and says
	// nothing before one.
	Rsh Profile = "rsh"
)

// Profiles lists every profile.
func Profiles() []Profile { return []Profile{Telnet, TelnetSilent, TelnetHangup, Rlogin, Rsh} }

// Service returns the inventory service name of a profile: telnet,
// rlogin or rsh.
func Service(p Profile) string {
	switch p {
	case Rlogin:
		return "rlogin"
	case Rsh:
		return "rsh"
	}
	return "telnet"
}

// StandardPort returns the service's standard port (23, 513, 514).
func StandardPort(p Profile) int {
	switch p {
	case Rlogin:
		return 513
	case Rsh:
		return 514
	}
	return 23
}

// Truth is the S1 outcome of a server running a listener of profile p:
// any answering cleartext administration service fails S1, whatever
// else the server runs.
func Truth(p Profile) scoring.Outcome { return scoring.Fail }

// Config configures one listener.
type Config struct {
	Profile Profile
	// Banner is the text shown before the prompt; default
	// "Debian GNU/Linux 12".
	Banner string
	// Prompt is the login prompt; default "mail login: " (telnet) or
	// "Password: " (rlogin).
	Prompt string
	// Latency delays every write (each reply) by this much.
	Latency time.Duration
	// ConnTimeout bounds one connection's life; default 30s.
	ConnTimeout time.Duration
}

// Server is a running listener.
type Server struct {
	ln     net.Listener
	cancel context.CancelFunc
	done   chan struct{}
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener and its connections.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	<-s.done
	return err
}

// Start listens on addr and serves cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		Serve(ctx, ln, cfg)
	}()
	return s, nil
}

// Serve serves cfg on ln until ctx ends or ln is closed.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	return listener.Serve(ctx, ln, func(c net.Conn) { handle(ctx, c, cfg) })
}

func handle(ctx context.Context, c net.Conn, cfg Config) {
	life := cfg.ConnTimeout
	if life <= 0 {
		life = 30 * time.Second
	}
	c.SetDeadline(time.Now().Add(life))
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	banner := cfg.Banner
	if banner == "" {
		banner = "Debian GNU/Linux 12"
	}
	w := func(s string) bool {
		if cfg.Latency > 0 {
			time.Sleep(cfg.Latency)
		}
		_, err := io.WriteString(c, s)
		return err == nil
	}
	br := bufio.NewReaderSize(io.LimitReader(c, 64<<10), 512)
	switch cfg.Profile {
	case TelnetSilent:
		io.Copy(io.Discard, br)
	case TelnetHangup:
		return
	case Rlogin:
		// NUL, then three NUL-terminated strings.
		for i := 0; i < 4; i++ {
			if _, err := br.ReadString(0); err != nil {
				return
			}
		}
		prompt := cfg.Prompt
		if prompt == "" {
			prompt = "Password: "
		}
		if !w("\x00" + prompt) {
			return
		}
		io.Copy(io.Discard, br)
	case Rsh:
		// stderr port, client user, server user, command.
		for i := 0; i < 4; i++ {
			if _, err := br.ReadString(0); err != nil {
				return
			}
		}
		w("\x01Permission denied.\n")
	default: // Telnet
		const iac, do, will = "\xff", "\xfd", "\xfb"
		if !w(iac + do + "\x18" + iac + will + "\x01" + iac + will + "\x03") {
			return
		}
		// Read the client's answers (three commands) or go on after a
		// moment, as telnetd does.
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		got := 0
		for got < 9 {
			if _, err := br.ReadByte(); err != nil {
				break
			}
			got++
		}
		c.SetDeadline(time.Now().Add(life))
		prompt := cfg.Prompt
		if prompt == "" {
			prompt = "mail login: "
		}
		if !w("\r\n" + banner + "\r\n\r\n" + prompt) {
			return
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "" {
				return
			}
			if !w("Password: ") {
				return
			}
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			if !w("\r\nLogin incorrect\r\n" + prompt) {
				return
			}
		}
	}
}
