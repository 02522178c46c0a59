package wire

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/kensa-inspect/kensa/observe"
	"golang.org/x/sys/unix"
)

// Dialer opens connections; tests pass NetDialer.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// QueueingDialer is a Dialer that may make a connection wait for bounds
// before dialing: the scan engine's dialer waits for its global and
// per-host connection slots and rates, and releases the slot when the
// connection is closed. The wait is not part of the dial timeout, which
// it applies itself once the connection may go.
type QueueingDialer interface {
	Dialer
	DialAfterQueue(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error)
}

// SpareDialer is a QueueingDialer that can also open a connection at
// once or not at all: a probe that already holds a connection to a
// server asks for another one to work side by side (more SMTP sessions,
// a second login), and must never wait for it, since the connection it
// would wait for may be its own. DialSpare returns ErrNoSpare when the
// bounds have no room now.
type SpareDialer interface {
	QueueingDialer
	DialSpare(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error)
}

// ErrNoSpare is returned by DialSpare when the bounds leave no room for
// another connection to the server now.
var ErrNoSpare = errors.New("no spare connection to this server now")

// Limits bound what a probe spends on one connection.
type Limits struct {
	// DialTimeout bounds establishing one connection.
	DialTimeout time.Duration
	// ReadTimeout bounds each read (and each write): a server that says
	// nothing for this long is silent.
	ReadTimeout time.Duration
	// MaxLine bounds one protocol line, in bytes.
	MaxLine int
	// MaxBytes bounds everything read from one connection.
	MaxBytes int64
}

// Default limits, documented in the README.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultReadTimeout = 10 * time.Second
	DefaultMaxLine     = 4096
	DefaultMaxBytes    = 256 << 10
)

// DefaultLimits returns the documented default limits.
func DefaultLimits() Limits {
	return Limits{
		DialTimeout: DefaultDialTimeout,
		ReadTimeout: DefaultReadTimeout,
		MaxLine:     DefaultMaxLine,
		MaxBytes:    DefaultMaxBytes,
	}
}

// withDefaults fills zero fields with the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.DialTimeout <= 0 {
		l.DialTimeout = d.DialTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// Env is what a probe receives from its caller.
type Env struct {
	// Dialer opens connections; nil means a NetDialer without source
	// address.
	Dialer Dialer
	// Limits bound each connection; zero fields take the defaults.
	Limits Limits
	// Tracer, if not nil, receives every protocol line (redacted).
	Tracer *Tracer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives diagnostics; nil means slog.Default().
	Log *slog.Logger
	// Logins lines up the first fake logins of the server's probes
	// (LoginGate); nil lines up nothing.
	Logins *LoginGate
}

// Clock returns the current time of the env's clock.
func (e Env) Clock() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Logger returns the env's logger.
func (e Env) Logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// Lim returns the env's limits with defaults filled in.
func (e Env) Lim() Limits { return e.Limits.withDefaults() }

// Dial opens a bounded connection to t using env's dialer, within the
// dial timeout (for a QueueingDialer, the timeout starts once its queue
// lets the connection go). The connection's deadlines never extend past
// ctx's deadline.
func (e Env) Dial(ctx context.Context, network string, t observe.Target, tr *Transcript) (*Conn, error) {
	lim := e.Lim()
	var c net.Conn
	var err error
	switch d := e.Dialer.(type) {
	case nil:
		c, err = (&NetDialer{Timeout: lim.DialTimeout}).DialContext(ctx, network, t.Addr.String())
	case QueueingDialer:
		c, err = d.DialAfterQueue(ctx, network, t.Addr.String(), lim.DialTimeout)
	default:
		dctx, cancel := context.WithTimeout(ctx, lim.DialTimeout)
		c, err = d.DialContext(dctx, network, t.Addr.String())
		cancel()
	}
	if err != nil {
		return nil, err
	}
	return NewConn(ctx, c, lim, tr), nil
}

// DialSpare opens another connection to t beside those the probe holds:
// with a SpareDialer (the scan engine) only if the bounds have room now,
// ErrNoSpare otherwise; with any other dialer at once, as Dial does.
func (e Env) DialSpare(ctx context.Context, network string, t observe.Target, tr *Transcript) (*Conn, error) {
	sd, ok := e.Dialer.(SpareDialer)
	if !ok {
		return e.Dial(ctx, network, t, tr)
	}
	lim := e.Lim()
	c, err := sd.DialSpare(ctx, network, t.Addr.String(), lim.DialTimeout)
	if err != nil {
		return nil, err
	}
	return NewConn(ctx, c, lim, tr), nil
}

// NetDialer dials with the operating system, optionally from a fixed
// source address. With a source address it sets IP_BIND_ADDRESS_NO_PORT
// so that thousands of bound connections share the ephemeral port range
// per destination instead of exhausting it.
type NetDialer struct {
	// Source is the local address to bind; the zero value lets the
	// system choose.
	Source netip.Addr
	// Timeout bounds establishing a connection; zero means
	// DefaultDialTimeout.
	Timeout time.Duration
}

// DialContext implements Dialer.
func (d *NetDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.Timeout}
	if nd.Timeout <= 0 {
		nd.Timeout = DefaultDialTimeout
	}
	if d.Source.IsValid() {
		switch network {
		case "udp", "udp4", "udp6":
			nd.LocalAddr = &net.UDPAddr{IP: d.Source.AsSlice()}
		default:
			nd.LocalAddr = &net.TCPAddr{IP: d.Source.AsSlice()}
			nd.Control = bindNoPort
		}
	}
	return nd.DialContext(ctx, network, address)
}

func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// HostPort formats an address and port for dialing.
func HostPort(a netip.Addr, port int) string {
	return net.JoinHostPort(a.String(), strconv.Itoa(port))
}
