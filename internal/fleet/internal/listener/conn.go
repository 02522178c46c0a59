package listener

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// Slow returns c with every write delayed by latency (c itself when
// latency is not positive).
func Slow(c net.Conn, latency time.Duration) net.Conn {
	if latency <= 0 {
		return c
	}
	return &slowConn{Conn: c, delay: latency}
}

// slowConn delays every write.
type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c *slowConn) Write(p []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(p)
}

// Open prepares an accepted connection: every write delayed by latency
// and, with implicitTLS, the server side of a TLS handshake with tc
// within timeout (the deadline stays set). It returns nil when the
// handshake fails.
func Open(c net.Conn, latency time.Duration, implicitTLS bool, tc *tls.Config, timeout time.Duration) net.Conn {
	c = Slow(c, latency)
	if !implicitTLS {
		return c
	}
	tlsConn := tls.Server(c, tc)
	tlsConn.SetDeadline(time.Now().Add(timeout))
	if tlsConn.Handshake() != nil {
		return nil
	}
	return tlsConn
}

// Reset makes closing c (as accepted, see Raw) send a TCP reset instead
// of an orderly close.
func Reset(c net.Conn) {
	if tcp, ok := Raw(c).(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
}

// The hostile behaviours below hold a connection at most for their
// timeout (or until their deadline): they set c's deadline.

// Silent reads and discards what the peer sends, answering nothing.
func Silent(c net.Conn, timeout time.Duration) {
	c.SetDeadline(time.Now().Add(timeout))
	io.Copy(io.Discard, c)
}

// Garbage sends 300 random bytes, then again after each line the peer
// sends, 50 times at most.
func Garbage(c net.Conn, timeout time.Duration) {
	c.SetDeadline(time.Now().Add(timeout))
	junk := make([]byte, 300)
	br := bufio.NewReader(c)
	for i := 0; i < 50; i++ {
		rand.Read(junk)
		if _, err := c.Write(junk); err != nil {
			return
		}
		if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// Endless writes start, then the byte b over and over (a line, or a
// literal, that never ends) until the peer goes away or deadline passes.
func Endless(c net.Conn, start string, b byte, deadline time.Time) {
	c.SetDeadline(deadline)
	if _, err := io.WriteString(c, start); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{b}, 4096)
	for time.Now().Before(deadline) {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}
