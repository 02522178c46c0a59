package scan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// bounds are the scan-wide limits every connection passes through.
type bounds struct {
	slots  *slots        // one per open connection
	global *rate.Limiter // new connections per second, all hosts
	base   wire.Dialer
	scope  *Scope
	// dialTimeout bounds establishing one connection.
	dialTimeout time.Duration
	// workers holds one token per worker of a server beyond its first
	// (crew).
	workers *workforce
	// pacer spaces the servers' pairs of first logins.
	pacer *wire.LoginPacer
}

// hostDialer is the wire.Dialer one server's probes use. It refuses any
// address outside the scope, waits for the server's and the scan's rate
// of new connections, for one of the server's hostConns connection slots
// and for a free slot of the scan, and remembers which addresses
// accepted a connection (discovery). A probe that already holds a
// connection asks for more with DialSpare, which never waits for a slot.
type hostDialer struct {
	b    *bounds
	rate *rate.Limiter
	// host holds one token per open connection to the server, at most
	// hostConns.
	host chan struct{}

	mu        sync.Mutex
	connected map[string]bool
	attempted map[string]bool
	dials     int
	// hostConns is the per-host bound: a server's first hostConns
	// connections have the start priority. slow is set once one of its
	// probes waited for a timeout or one of its connections stayed quiet
	// for quietAfter.
	hostConns int
	slow      bool
	// onSlow, if not nil, is called once when the server turns slow.
	onSlow func()
	// queued holds the server's dials waiting for a slot of the scan:
	// when the server turns slow they move ahead with it.
	queued queuedSet
	// slowed is closed when the server turns slow.
	slowed chan struct{}
}

// quietAfter is how long a new connection may stay without a byte from
// the server before the server counts as slow. The services kensa
// probes over TCP answer a new connection at once (a greeting, an
// identification or a TLS handshake) when they are well; one that stays
// quiet this long is silent, or delays its greeting on purpose, and
// makes its probes wait for their timeouts. rsh is the exception (its
// server waits for the client): a server with an rsh listener may be
// served as slow, which changes the order of the scan's work, never a
// verdict.
const quietAfter = 2 * time.Second

func newHostDialer(b *bounds, perSecond float64, burst int) *hostDialer {
	return &hostDialer{b: b, rate: rate.NewLimiter(rate.Limit(perSecond), burst), hostConns: burst,
		host: make(chan struct{}, burst), slowed: make(chan struct{}),
		connected: map[string]bool{}, attempted: map[string]bool{}}
}

// DialSpare implements wire.SpareDialer: another connection to the
// server, beside one the probe holds, only if one of the server's slots
// and one of the scan's are free now (it waits for the rates only);
// wire.ErrNoSpare otherwise.
func (d *hostDialer) DialSpare(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error) {
	return d.dial(ctx, network, address, timeout, true)
}

// DialContext implements wire.Dialer, with the scan's dial timeout.
func (d *hostDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return d.DialAfterQueue(ctx, network, address, d.b.dialTimeout)
}

// DialAfterQueue implements wire.QueueingDialer: it waits for the bounds,
// then dials within timeout.
func (d *hostDialer) DialAfterQueue(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error) {
	return d.dial(ctx, network, address, timeout, false)
}

func (d *hostDialer) dial(ctx context.Context, network, address string, timeout time.Duration, spare bool) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("scan: dial %s: not an address literal", address)
	}
	if !d.b.scope.Contains(ap.Addr()) {
		return nil, fmt.Errorf("scan: %s is outside the scan's scope; not contacted", ap.Addr())
	}
	// Datagrams (NTP) set up no connection: only TCP connections count
	// against the rates of new connections and the open connections.
	if !strings.HasPrefix(network, "udp") {
		if err := wait(ctx, d.rate); err != nil {
			return nil, err
		}
		if err := wait(ctx, d.b.global); err != nil {
			return nil, err
		}
	}
	// Datagram sockets are no connections either: they take no slot.
	datagram := strings.HasPrefix(network, "udp")
	release := func() {}
	if !datagram {
		if spare {
			select {
			case d.host <- struct{}{}:
			default:
				return nil, wire.ErrNoSpare
			}
			if !d.b.slots.tryAcquire() && !d.spareSlot(ctx) {
				<-d.host
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, wire.ErrNoSpare
			}
		} else {
			select {
			case d.host <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if err := d.b.slots.acquireAs(ctx, d.priority(), &d.queued); err != nil {
				<-d.host
				return nil, err
			}
		}
		var once sync.Once
		release = func() {
			once.Do(func() {
				d.b.slots.release()
				<-d.host
			})
		}
	}
	// The server's other open connections of the scan, this one left out.
	siblings := len(d.host) - 1
	d.mu.Lock()
	d.dials++
	d.attempted[network+" "+address] = true
	d.mu.Unlock()
	// The dial timeout starts now, after the waits for the bounds.
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := d.b.base.DialContext(dctx, network, address)
	if err != nil {
		release()
		if errors.Is(err, syscall.ECONNRESET) {
			// A reset can only end a connection the server had
			// accepted (a refused one is ECONNREFUSED): a server that
			// accepts and resets at once answered, even when the reset
			// reached the socket before the dial returned.
			d.mu.Lock()
			d.connected[network+" "+address] = true
			d.mu.Unlock()
		}
		return nil, err
	}
	d.mu.Lock()
	d.connected[network+" "+address] = true
	d.mu.Unlock()
	if datagram {
		return c, nil
	}
	sc := &slotConn{Conn: c, release: release, siblings: siblings}
	sc.quiet = time.AfterFunc(quietAfter, d.markSlow)
	return sc, nil
}

// priority says how urgently this server needs a connection slot.
func (d *hostDialer) priority() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.slow:
		return prioSlow
	case d.dials < d.hostConns:
		return prioStart + d.dials
	}
	return prioRest
}

// spareWait bounds how long a slow server's spare connection waits for
// a slot of the scan. A slow server is on the scan's critical path, and
// its probes' sessions side by side are what keeps it short (a relay
// test against a server that delays its greeting takes that delay once
// per session); the bound keeps probes that each hold a slot and wait
// for another from waiting on each other. Spares of other servers never
// wait: measured on the bench fleet, probes holding slots while they
// wait for more made the scan half as fast again.
const spareWait = 2 * time.Second

// spareSlot waits up to spareWait for a slot of the scan, ahead of the
// servers that are not slow, when the server is slow; it reports whether
// it got one.
func (d *hostDialer) spareSlot(ctx context.Context) bool {
	d.mu.Lock()
	slow := d.slow
	d.mu.Unlock()
	if !slow {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, spareWait)
	defer cancel()
	return d.b.slots.acquire(wctx, prioSlow) == nil
}

// markSlow records that one of the server's probes waited for a timeout,
// or that one of its connections stayed quiet.
func (d *hostDialer) markSlow() {
	d.mu.Lock()
	first := !d.slow
	d.slow = true
	hook := d.onSlow
	d.mu.Unlock()
	if !first {
		return
	}
	close(d.slowed)
	// Dials that queued before the server turned slow go ahead too: a
	// silent server's SMTP connection, asked for beside its logins, would
	// otherwise wait behind every other server's first connections.
	d.b.slots.raise(&d.queued, prioSlow)
	if hook != nil {
		hook()
	}
}

// wait waits for a token of lim until ctx ends. Unlike rate.Limiter.Wait
// it does not give up early when the wait would outlast ctx's deadline:
// an engine wait must never look like a failure of the server.
func wait(ctx context.Context, lim *rate.Limiter) error {
	r := lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// tried reports whether a connection to address was actually attempted
// (the bounds let it go), whatever became of it.
func (d *hostDialer) tried(network, address string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attempted[network+" "+address]
}

// accepted reports whether a TCP connection to address was established.
func (d *hostDialer) accepted(address string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.connected["tcp "+address]
}

// slotConn gives its connection slots back when closed, and marks its
// server slow when no byte came from it within quietAfter.
type slotConn struct {
	net.Conn
	once     sync.Once
	release  func()
	siblings int
	quiet    *time.Timer
	heard    atomic.Bool
}

func (c *slotConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.heard.Swap(true) {
		c.quiet.Stop()
	}
	return n, err
}

// Siblings returns how many other connections of the scan to the same
// server were open when this one was made (wire.Conn.Siblings).
func (c *slotConn) Siblings() int { return c.siblings }

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.quiet.Stop()
	c.once.Do(c.release)
	return err
}
