// Package listener holds the connection handling that the simulated
// fleet's IMAP and POP3 servers (packages imapd and pop3d) share: a
// server's lifetime (Start, Addr, Close), a listener that tracks the
// connections it accepted so that stopping a server ends them all, an
// accept loop with one goroutine per connection, per-write latency,
// implicit TLS, and the hostile behaviours (reset, silence, garbage, an
// endless line) that prove probes end in time and in bounded memory.
//
// It knows no protocol: the protocol packages say what to run on each
// connection.
package listener

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Server is a server running in its own goroutine until Close.
type Server struct {
	ln     net.Listener
	cancel context.CancelFunc
	done   chan error
}

// Start listens on addr (an IP literal and port, "127.0.0.5:0") and runs
// serve with the listener in a new goroutine until Close. serve must
// return once ctx ends.
func Start(addr string, serve func(ctx context.Context, ln net.Listener) error) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- serve(ctx, ln) }()
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server and returns what serve returned.
func (s *Server) Close() error {
	s.cancel()
	return <-s.done
}

// Listener is a net.Listener that keeps track of the connections it has
// accepted and not yet closed: Close closes the listener and all of them,
// and a connection accepted after Close is closed at once.
type Listener struct {
	net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Track returns a Listener accepting from ln.
func Track(ln net.Listener) *Listener {
	return &Listener{Listener: ln, conns: map[net.Conn]struct{}{}}
}

// Accept returns the next connection; closing it forgets it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.track(raw) {
			raw.Close()
			continue
		}
		return &trackedConn{Conn: raw, l: l}, nil
	}
}

// Close closes the listener and every connection still open.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	return err
}

func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// trackedConn forgets itself in the listener when closed.
type trackedConn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.untrack(c.Conn) })
	return c.Conn.Close()
}

// Raw returns the connection as the listener accepted it, below any
// tracking.
func Raw(c net.Conn) net.Conn {
	if t, ok := c.(*trackedConn); ok {
		return t.Conn
	}
	return c
}

// Serve accepts connections on ln until ctx ends or accepting fails, and
// runs handle on each in a goroutine of its own, closing the connection
// when handle returns. Then it closes ln and every connection, waits for
// the handlers and returns nil if ctx ended or ln was closed, and the
// accept error otherwise. An accept timeout is not a failure.
func Serve(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	l := Track(ln)
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var (
		wg        sync.WaitGroup
		acceptErr error
	)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				acceptErr = err
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			handle(c)
		}()
	}
	l.Close()
	wg.Wait()
	return acceptErr
}
