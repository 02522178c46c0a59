// Package mailbox is the simulated fleet's test mailbox: the mailbox an
// office names for kensa's content test, served over IMAP with implicit
// TLS (go-imap v2's in-memory server, the fleet's certificate) with the
// folders INBOX and Junk. The simulated SMTP servers deliver
// into it what their content filter lets through (smtpd.Config.Deliver).
// Its certificate is the caller's: every process of a fleet must show
// the same one, which the scan is told to trust.
package mailbox

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Folders of the mailbox.
const (
	Inbox = "INBOX"
	Junk  = "Junk"
)

// Server is one running test mailbox.
type Server struct {
	ln   net.Listener
	srv  *imapserver.Server
	user *imapmemserver.User

	mu        sync.Mutex
	delivered int
}

// Start serves a mailbox of user with password on addr (an IP literal
// and port, never a wildcard), over implicit TLS with cert.
func Start(addr, user, password string, cert tls.Certificate) (*Server, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().IsUnspecified() {
		return nil, fmt.Errorf("mailbox: listen address %q: want IP:port, not a wildcard", addr)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	for _, f := range []string{Inbox, Junk} {
		if err := u.Create(f, nil); err != nil {
			ln.Close()
			return nil, fmt.Errorf("mailbox: folder %s: %w", f, err)
		}
	}
	mem.AddUser(u)
	s := &Server{ln: ln, user: u}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true, // the listener is TLS already
		Logger:       log.New(io.Discard, "", 0),
	})
	go s.srv.Serve(ln)
	return s, nil
}

// literal is a message handed to Append.
type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// Deliver files a message into INBOX, or into Junk when junk is set.
func (s *Server) Deliver(msg []byte, junk bool) error {
	folder := Inbox
	if junk {
		folder = Junk
	}
	if _, err := s.user.Append(folder, literal{bytes.NewReader(msg), int64(len(msg))}, &imap.AppendOptions{}); err != nil {
		return fmt.Errorf("mailbox: deliver to %s: %w", folder, err)
	}
	s.mu.Lock()
	s.delivered++
	s.mu.Unlock()
	return nil
}

// Delivered returns how many messages were delivered.
func (s *Server) Delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered
}

// AddrPort returns the listening address.
func (s *Server) AddrPort() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.srv.Close() }
