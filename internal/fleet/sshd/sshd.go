// Package sshd plays SSH servers for tests and the simulated fleet:
// x/crypto/ssh servers that allow public keys only, passwords,
// keyboard-interactive or the "none" method, one with legacy algorithms
// and a 1024-bit RSA key, one announcing SSH-1.99, and raw servers that
// speak SSH-1 only, offer only legacy algorithms, stay silent, send
// garbage or send identification-preface lines without end.
//
// No server ever accepts a password or a key: the password and
// keyboard-interactive callbacks refuse everything and count the
// attempts, so a test can prove the probe never sent one.
package sshd

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/kensa-inspect/kensa/internal/fleet/internal/listener"
	"github.com/kensa-inspect/kensa/scoring"
)

// Profile names a server behaviour.
type Profile string

// The profiles. Truth gives the S1 outcome each one deserves.
const (
	// PublicKey allows only public keys.
	PublicKey Profile = "publickey"
	// Password allows public keys and passwords (stock OpenSSH).
	Password Profile = "password"
	// KeyboardInteractive allows public keys and keyboard-interactive.
	KeyboardInteractive Profile = "keyboard-interactive"
	// None lets anyone in with the "none" method.
	None Profile = "none"
	// Weak allows only public keys but offers legacy algorithms
	// (diffie-hellman-group1-sha1, group-exchange-sha1, 3des-cbc,
	// aes128-cbc, arcfour256, hmac-sha1-96, ssh-rsa) with a 1024-bit RSA
	// host key.
	Weak Profile = "weak"
	// SSH199 allows only public keys but announces protocol 1.99, that
	// is SSH-1 besides SSH-2.
	SSH199 Profile = "ssh-1.99"
	// SSH1 speaks SSH-1 only (identification "SSH-1.5-…").
	SSH1 Profile = "ssh-1"
	// LegacyKexInit sends a KEXINIT with only legacy algorithms (ssh-dss
	// host key, hmac-md5, arcfour, no strict key exchange), which no
	// modern client completes: its authentication cannot be examined.
	LegacyKexInit Profile = "legacy-kexinit"
	// Silent accepts connections and says nothing.
	Silent Profile = "silent"
	// Garbage sends random bytes instead of an identification line.
	Garbage Profile = "garbage"
	// EndlessLines sends lines before its identification line, forever.
	EndlessLines Profile = "endless-lines"
)

// Profiles lists every profile.
func Profiles() []Profile {
	return []Profile{PublicKey, Password, KeyboardInteractive, None, Weak, SSH199, SSH1,
		LegacyKexInit, Silent, Garbage, EndlessLines}
}

// Truth is the S1 outcome under the default policy for a server whose
// only administration channel is an SSH server of profile p.
func Truth(p Profile) scoring.Outcome { return TruthPolicy(p, false, false) }

// TruthPolicy is the S1 outcome of profile p when passwords are
// tolerated (toleratePasswords) or weak algorithms fail (weakFail), for a
// server whose only administration channel is this SSH server.
func TruthPolicy(p Profile, toleratePasswords, weakFail bool) scoring.Outcome {
	switch p {
	case PublicKey:
		return scoring.Pass
	case Password, KeyboardInteractive:
		if toleratePasswords {
			return scoring.Pass
		}
		return scoring.Fail
	case None, SSH199, SSH1:
		return scoring.Fail
	case Weak:
		if weakFail {
			return scoring.Fail
		}
		return scoring.Pass
	case LegacyKexInit:
		if weakFail {
			return scoring.Fail
		}
		return scoring.Unknown
	}
	return scoring.Unknown
}

// Config configures one server.
type Config struct {
	Profile Profile
	// Banner is the software part of the identification line, after
	// "SSH-2.0-" (or "SSH-1.99-", "SSH-1.5-" as the profile says), for
	// example "OpenSSH_9.2p1 Debian-2+deb12u3". Empty: a default per
	// profile.
	Banner string
	// Latency delays every write (each reply) by this much.
	Latency time.Duration
	// ConnTimeout bounds one connection's life; default 30s.
	ConnTimeout time.Duration
}

// DefaultBanner returns the software part of the identification line a
// profile uses when Config.Banner is empty.
func DefaultBanner(p Profile) string {
	switch p {
	case Weak:
		return "OpenSSH_5.3"
	case SSH199:
		return "OpenSSH_3.9p1"
	case SSH1:
		return "OpenSSH_2.9p2"
	case LegacyKexInit:
		return "OpenSSH_4.3"
	}
	return "OpenSSH_9.2p1 Debian-2+deb12u3"
}

// Ident returns the identification line a server of cfg sends.
func (cfg Config) Ident() string {
	b := cfg.Banner
	if b == "" {
		b = DefaultBanner(cfg.Profile)
	}
	switch cfg.Profile {
	case SSH199:
		return "SSH-1.99-" + b
	case SSH1:
		return "SSH-1.5-" + b
	}
	return "SSH-2.0-" + b
}

// Server is a running server.
type Server struct {
	ln     net.Listener
	cancel context.CancelFunc
	done   chan struct{}
	// secretAttempts counts password and keyboard-interactive attempts.
	secretAttempts atomic.Int64
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// SecretAttempts returns how many password or keyboard-interactive
// attempts clients made (the probe must make none).
func (s *Server) SecretAttempts() int64 { return s.secretAttempts.Load() }

// Close stops the server and its connections.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	<-s.done
	return err
}

// Start listens on addr ("127.0.0.1:0") and serves cfg until Close.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return StartListener(ln, cfg)
}

// StartListener serves cfg on ln until Close.
func StartListener(ln net.Listener, cfg Config) (*Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, done: make(chan struct{})}
	sc, err := s.serverConfig(cfg)
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	go func() {
		defer close(s.done)
		s.serve(ctx, ln, cfg, sc)
	}()
	return s, nil
}

// Serve serves cfg on ln until ctx ends or ln is closed.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	s := &Server{ln: ln}
	sc, err := s.serverConfig(cfg)
	if err != nil {
		return err
	}
	return s.serve(ctx, ln, cfg, sc)
}

func (s *Server) serve(ctx context.Context, ln net.Listener, cfg Config, sc *gossh.ServerConfig) error {
	return listener.Serve(ctx, ln, func(c net.Conn) { s.handle(ctx, c, cfg, sc) })
}

func (s *Server) handle(ctx context.Context, c net.Conn, cfg Config, sc *gossh.ServerConfig) {
	life := cfg.ConnTimeout
	if life <= 0 {
		life = 30 * time.Second
	}
	c.SetDeadline(time.Now().Add(life))
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	var conn net.Conn = c
	if cfg.Latency > 0 {
		conn = &slowConn{Conn: c, d: cfg.Latency}
	}
	switch cfg.Profile {
	case Silent:
		io.Copy(io.Discard, conn)
	case Garbage:
		r := mrand.New(mrand.NewPCG(1, 2))
		buf := make([]byte, 16<<10)
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		conn.Write(buf)
		io.Copy(io.Discard, conn)
	case EndlessLines:
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(conn, "preface line %d: this server never identifies itself\r\n", i); err != nil {
				return
			}
		}
	case SSH1:
		fmt.Fprintf(conn, "%s\n", cfg.Ident())
		buf := make([]byte, 256)
		conn.Read(buf) // the client's identification, then hang up
	case LegacyKexInit:
		fmt.Fprintf(conn, "%s\r\n", cfg.Ident())
		conn.Write(legacyKexInitPacket())
		io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
	default:
		sconn, chans, reqs, err := gossh.NewServerConn(conn, sc)
		if err != nil {
			return
		}
		defer sconn.Close()
		go gossh.DiscardRequests(reqs)
		for ch := range chans {
			ch.Reject(gossh.Prohibited, "no channels here")
		}
	}
}

// slowConn delays every write.
type slowConn struct {
	net.Conn
	d time.Duration
}

func (c *slowConn) Write(p []byte) (int, error) {
	time.Sleep(c.d)
	return c.Conn.Write(p)
}

var errRefused = errors.New("access denied")

func (s *Server) serverConfig(cfg Config) (*gossh.ServerConfig, error) {
	keys, err := sharedKeys()
	if err != nil {
		return nil, err
	}
	sc := &gossh.ServerConfig{ServerVersion: cfg.Ident(), MaxAuthTries: 6}
	sc.PublicKeyCallback = func(gossh.ConnMetadata, gossh.PublicKey) (*gossh.Permissions, error) {
		return nil, errRefused
	}
	switch cfg.Profile {
	case Password:
		sc.PasswordCallback = func(gossh.ConnMetadata, []byte) (*gossh.Permissions, error) {
			s.secretAttempts.Add(1)
			return nil, errRefused
		}
	case KeyboardInteractive:
		sc.KeyboardInteractiveCallback = func(gossh.ConnMetadata, gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
			s.secretAttempts.Add(1)
			return nil, errRefused
		}
	case None:
		sc.NoClientAuth = true
	}
	if cfg.Profile == Weak {
		sc.Config = gossh.Config{
			KeyExchanges: []string{gossh.InsecureKeyExchangeDH1SHA1, gossh.InsecureKeyExchangeDHGEXSHA1, gossh.InsecureKeyExchangeDH14SHA1},
			Ciphers:      []string{gossh.InsecureCipherTripleDESCBC, gossh.InsecureCipherAES128CBC, gossh.InsecureCipherRC4256},
			MACs:         []string{gossh.HMACSHA1, gossh.InsecureHMACSHA196},
		}
		sc.AddHostKey(keys.weakRSA)
		return sc, nil
	}
	// Stock OpenSSH 9's server defaults, as far as x/crypto/ssh has them.
	sc.Config = gossh.Config{
		KeyExchanges: []string{gossh.KeyExchangeMLKEM768X25519, gossh.KeyExchangeCurve25519,
			gossh.KeyExchangeECDHP256, gossh.KeyExchangeECDHP384, gossh.KeyExchangeECDHP521,
			gossh.KeyExchangeDHGEXSHA256, gossh.KeyExchangeDH16SHA512, gossh.KeyExchangeDH14SHA256},
		Ciphers: []string{gossh.CipherChaCha20Poly1305, gossh.CipherAES128CTR, gossh.CipherAES192CTR,
			gossh.CipherAES256CTR, gossh.CipherAES128GCM, gossh.CipherAES256GCM},
		MACs: []string{gossh.HMACSHA256ETM, gossh.HMACSHA512ETM, gossh.HMACSHA256, gossh.HMACSHA512, gossh.HMACSHA1},
	}
	sc.AddHostKey(keys.rsa)
	sc.AddHostKey(keys.ecdsa)
	sc.AddHostKey(keys.ed25519)
	return sc, nil
}

type hostKeys struct {
	rsa, ecdsa, ed25519, weakRSA gossh.Signer
}

var (
	keysOnce sync.Once
	keys     hostKeys
	keysErr  error
)

// sharedKeys generates the host keys once per process: RSA 2048 (cheap to
// sign with for thousands of handshakes), ECDSA
// P-256 and Ed25519 as stock OpenSSH has them, and the Weak profile's
// RSA 1024 limited to ssh-rsa signatures.
func sharedKeys() (hostKeys, error) {
	keysOnce.Do(func() {
		mk := func(k any) gossh.Signer {
			if keysErr != nil {
				return nil
			}
			s, err := gossh.NewSignerFromKey(k)
			if err != nil {
				keysErr = err
			}
			return s
		}
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			keysErr = err
			return
		}
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			keysErr = err
			return
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			keysErr = err
			return
		}
		w, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			keysErr = err
			return
		}
		rs, ws := mk(r), mk(w)
		keys.ecdsa, keys.ed25519 = mk(e), mk(ed)
		if keysErr != nil {
			return
		}
		keys.rsa, keysErr = gossh.NewSignerWithAlgorithms(rs.(gossh.AlgorithmSigner), []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256})
		if keysErr != nil {
			return
		}
		keys.weakRSA, keysErr = gossh.NewSignerWithAlgorithms(ws.(gossh.AlgorithmSigner), []string{gossh.KeyAlgoRSA})
	})
	return keys, keysErr
}
