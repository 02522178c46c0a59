// Package ssh examines an SSH server without credentials: its
// identification line (SSH-1 support), the algorithm lists of its
// KEXINIT, read from the cleartext first packet, whether it offers strict
// key exchange, its host keys, and which authentication methods it allows
// for a fake user. It never sends a password or a key: after the "none"
// method fails it records the methods the server lists and stops.
//
// The probe observes; the rules (package rules, item S1) decide.
package ssh

import (
	"bufio"
	"bytes"
	"context"
	"crypto/dsa" //nolint:staticcheck // only to measure a server's DSA host key
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Defaults of Options.
const (
	DefaultClientVersion = "SSH-2.0-kensa"
	DefaultMaxPreLines   = 32
	maxExtraKeys         = 4
	maxAuthBanner        = 2048
	maxKept              = 8 // pre-identification lines kept
)

// Options tune the probe; the zero value is the documented default.
type Options struct {
	// User is the user name for the "none" request; default FakeUser.
	User string
	// ClientVersion is the probe's own identification line; default
	// DefaultClientVersion.
	ClientVersion string
	// MaxPreLines bounds the lines a server may send before its
	// identification line (RFC 4253 section 4.2 allows some); default
	// DefaultMaxPreLines.
	MaxPreLines int
	// OneHostKey stops the probe from opening one more connection per
	// other host key type the server offers (to measure each key); the
	// probe then records only the key of its main connection.
	OneHostKey bool
}

func (o Options) withDefaults() Options {
	if o.User == "" {
		o.User = observe.FakeUser
	}
	if o.ClientVersion == "" {
		o.ClientVersion = DefaultClientVersion
	}
	if o.MaxPreLines <= 0 {
		o.MaxPreLines = DefaultMaxPreLines
	}
	return o
}

// errStop aborts the client handshake once the probe has what it wants.
var errStop = errors.New("kensa: stop before sending any credential")

// Probe examines the SSH service t. It never returns nil.
func Probe(ctx context.Context, env wire.Env, t observe.Target, opts Options) *observe.SSH {
	opts = opts.withDefaults()
	obs := &observe.SSH{Endpoint: observe.NewEndpoint(t, env.Clock())}
	tr := wire.NewTranscript(env.Tracer, t.Addr.String()+" "+t.Service)
	defer func() { obs.Finish(env.Clock(), tr.Take()) }()

	conn, err := env.Dial(ctx, "tcp", t, nil)
	if err != nil {
		obs.Error = wire.Describe("connect", err)
		return obs
	}
	tr.Connected()
	defer conn.Close()
	lim := env.Lim()

	// Send our identification first: RFC 4253 lets either side start, and
	// some servers wait for the client.
	if _, err := conn.Write([]byte(opts.ClientVersion + "\r\n")); err != nil {
		obs.Error = wire.Describe("identification", err)
		return obs
	}
	tr.Add("C", opts.ClientVersion)

	br := bufio.NewReaderSize(conn, lim.MaxLine)
	id, err := readIdent(br, opts.MaxPreLines, obs, tr)
	if err != nil {
		obs.Error = err.Error()
		return obs
	}
	obs.Ident = &id
	obs.Reachable = true
	obs.SSH1, obs.SSH2 = id.SSH1(), id.SSH2()
	if !obs.SSH2 {
		if obs.SSH1 {
			tr.Note("protocol %s: SSH-1 only, not examined further", id.Proto)
		} else {
			obs.Error = fmt.Sprintf("identification: unknown protocol version %q", id.Proto)
		}
		return obs
	}

	raw, payload, err := ReadPacket(br)
	if err != nil {
		obs.Error = wire.Describe("kexinit", err)
		return obs
	}
	if len(payload) > 0 && payload[0] == msgDisconnect {
		obs.Error = "kexinit: server disconnected: " + disconnectText(payload)
		tr.Add("S", "DISCONNECT "+disconnectText(payload))
		return obs
	}
	k, err := ParseKexInit(payload)
	if err != nil {
		obs.Error = "kexinit: " + err.Error()
		return obs
	}
	obs.KexInit = k
	obs.StrictKex = k.StrictKex()
	noteKexInit(tr, k)

	// Hand the connection to x/crypto/ssh, replaying what was read.
	prefix := make([]byte, 0, len(id.Line)+2+len(raw))
	prefix = append(append(append(prefix, id.Line...), '\r', '\n'), raw...)
	rc := &replayConn{Conn: conn, r: io.MultiReader(bytes.NewReader(prefix), br), skip: []byte(opts.ClientVersion + "\r\n")}

	var mu sync.Mutex
	cfg := clientConfig(opts, hostKeyOrder(k.HostKey, nil))
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
		mu.Lock()
		defer mu.Unlock()
		hk := describeKey(key)
		obs.HostKeys = append(obs.HostKeys, hk)
		tr.Note("host key %s %d bits %s", hk.Type, hk.Bits, hk.Fingerprint)
		return nil
	}
	cfg.BannerCallback = func(msg string) error {
		mu.Lock()
		defer mu.Unlock()
		obs.AuthBanner = wire.Sanitize(strings.TrimSpace(msg), maxAuthBanner)
		tr.Add("S", "USERAUTH_BANNER "+obs.AuthBanner)
		return nil
	}
	cfg.AuthCallback = func(ac *gossh.ClientAuthContext) (gossh.AuthMethod, error) {
		mu.Lock()
		defer mu.Unlock()
		obs.AuthExamined = true
		obs.AuthMethods = []string{}
		for _, m := range ac.AllowedMethods {
			obs.AuthMethods = append(obs.AuthMethods, wire.Sanitize(m, 64))
		}
		a := ac.Algorithms
		obs.Negotiated = &observe.SSHNegotiated{Kex: a.KeyExchange, HostKey: a.HostKey, Cipher: a.Read.Cipher, MAC: a.Read.MAC}
		tr.Add("C", "USERAUTH_REQUEST none user "+opts.User)
		tr.Add("S", "USERAUTH_FAILURE methods: "+strings.Join(obs.AuthMethods, ","))
		tr.Note("stopped before sending any credential")
		return nil, errStop
	}
	var sc gossh.Conn
	err = wire.Heavy(ctx, func() error {
		var err error
		sc, _, _, err = gossh.NewClientConn(rc, t.Addr.String(), cfg)
		return err
	})
	if err == nil {
		obs.AuthExamined = true
		obs.NoneAccepted = true
		tr.Add("C", "USERAUTH_REQUEST none user "+opts.User)
		tr.Add("S", "USERAUTH_SUCCESS for method none")
		sc.Close()
	} else if !errors.Is(err, errStop) {
		mu.Lock()
		if !obs.AuthExamined {
			obs.Error = describeSSHError("handshake", err)
		}
		mu.Unlock()
	}
	conn.Close()

	if !opts.OneHostKey {
		extraHostKeys(ctx, env, t, opts, obs, tr)
	}
	return obs
}

// readIdent reads lines until the identification line, bounded in count
// and length.
func readIdent(br *bufio.Reader, maxPre int, obs *observe.SSH, tr *wire.Transcript) (observe.SSHIdent, error) {
	for i := 0; ; i++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			tr.Add("S", string(line))
			return observe.SSHIdent{}, fmt.Errorf("identification: line longer than %d bytes", br.Size())
		}
		if err != nil {
			if len(line) > 0 {
				tr.Add("S", string(line))
			}
			if i == 0 && len(line) == 0 {
				return observe.SSHIdent{}, errors.New(wire.Describe("identification", err))
			}
			return observe.SSHIdent{}, fmt.Errorf("identification: no SSH identification line (%s)", wire.Classify(err))
		}
		text := strings.TrimRight(string(line), "\r\n")
		tr.Add("S", text)
		if strings.HasPrefix(text, "SSH-") {
			if len(line) > MaxIdentLen {
				// RFC 4253 caps it at 255 bytes; accept, as OpenSSH does
				// within its own buffer, but say so.
				tr.Note("identification line of %d bytes exceeds RFC 4253's 255", len(line))
			}
			id, err := ParseIdent(text)
			if err != nil {
				return observe.SSHIdent{}, fmt.Errorf("identification: %v", err)
			}
			return id, nil
		}
		if len(obs.PreIdent) < maxKept {
			obs.PreIdent = append(obs.PreIdent, wire.Sanitize(text, wire.MaxShownLine))
		}
		if i+1 >= maxPre {
			return observe.SSHIdent{}, fmt.Errorf("identification: no SSH identification line in the first %d lines", maxPre)
		}
	}
}

func noteKexInit(tr *wire.Transcript, k *observe.KexInit) {
	tr.Add("S", "KEXINIT kex: "+strings.Join(k.Kex, ","))
	tr.Add("S", "KEXINIT host_key: "+strings.Join(k.HostKey, ","))
	tr.Add("S", "KEXINIT ciphers: "+strings.Join(k.Ciphers(), ","))
	tr.Add("S", "KEXINIT macs: "+strings.Join(k.MACs(), ","))
	tr.Add("S", "KEXINIT compression: "+strings.Join(k.Compression(), ","))
}

// disconnectText reads an SSH_MSG_DISCONNECT's reason code and text.
func disconnectText(p []byte) string {
	if len(p) < 9 {
		return "(no reason given)"
	}
	code := binary.BigEndian.Uint32(p[1:])
	n := binary.BigEndian.Uint32(p[5:])
	desc := p[9:]
	if uint64(n) < uint64(len(desc)) {
		desc = desc[:n]
	}
	return fmt.Sprintf("code %d: %s", code, wire.Sanitize(string(desc), 200))
}

func describeSSHError(step string, err error) string {
	if k := wire.Classify(err); k != "error" {
		return step + ": " + k
	}
	msg := strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
	// "no common algorithm for host key; we offered: […], peer offered:
	// […]": the lists are in the observation's KEXINIT already.
	if i := strings.Index(msg, "; we offered"); i >= 0 {
		msg = msg[:i]
	}
	return step + ": " + wire.Sanitize(msg, 300)
}

// replayConn gives x/crypto/ssh the bytes the probe already read and
// swallows the identification line the probe already sent.
type replayConn struct {
	net.Conn
	r    io.Reader
	skip []byte
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *replayConn) Write(p []byte) (int, error) {
	if c.skip != nil {
		skip := c.skip
		c.skip = nil
		if bytes.Equal(p, skip) {
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// clientConfig offers every algorithm x/crypto/ssh implements, insecure
// ones included, so that an old server's handshake succeeds and its
// authentication methods can still be read.
func clientConfig(opts Options, hostKeyAlgs []string) *gossh.ClientConfig {
	sup, ins := gossh.SupportedAlgorithms(), gossh.InsecureAlgorithms()
	return &gossh.ClientConfig{
		Config: gossh.Config{
			KeyExchanges: kexPreference(append(sup.KeyExchanges, ins.KeyExchanges...)),
			Ciphers:      append(sup.Ciphers, ins.Ciphers...),
			MACs:         append(sup.MACs, ins.MACs...),
		},
		User:              opts.User,
		ClientVersion:     opts.ClientVersion,
		HostKeyAlgorithms: hostKeyAlgs,
	}
}

// cheapKex are the key exchanges the probe prefers: the server's own list
// is read from its KEXINIT whatever is negotiated, so the probe asks for
// the cheapest sound exchange rather than a post-quantum hybrid that costs
// both sides more than the rest of the handshake.
var cheapKex = []string{"curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256"}

// kexPreference puts cheapKex first in all, keeping the others after them.
func kexPreference(all []string) []string {
	var out []string
	for _, k := range cheapKex {
		if contains(all, k) {
			out = append(out, k)
		}
	}
	for _, k := range all {
		if !contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// clientHostKeyAlgs are the host key algorithms x/crypto/ssh can verify.
func clientHostKeyAlgs() []string {
	return append(gossh.SupportedAlgorithms().HostKeys, gossh.InsecureAlgorithms().HostKeys...)
}

// keyFamily groups host key algorithms by the key they use: the RSA
// signature algorithms share one key.
func keyFamily(alg string) string {
	switch alg {
	case gossh.KeyAlgoRSA, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSASHA512:
		return "rsa"
	}
	return alg
}

func isCert(alg string) bool { return strings.Contains(alg, "-cert-") }

// hostKeyOrder returns the algorithms x/crypto/ssh can verify among
// offered: RSA first (its size is the one that matters), then the
// others in the server's order, certificates last. Families in skip are
// left out.
func hostKeyOrder(offered []string, skip map[string]bool) []string {
	can := clientHostKeyAlgs()
	var rsaAlgs, plain, certs []string
	for _, a := range []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA} {
		if contains(offered, a) && !skip["rsa"] {
			rsaAlgs = append(rsaAlgs, a)
		}
	}
	for _, a := range offered {
		if !contains(can, a) || keyFamily(a) == "rsa" || skip[keyFamily(a)] {
			continue
		}
		if isCert(a) {
			certs = append(certs, a)
		} else {
			plain = append(plain, a)
		}
	}
	out := append(append(rsaAlgs, plain...), certs...)
	if len(out) == 0 {
		// Nothing we can verify was offered: offer everything anyway so
		// that the handshake fails with the library's own message.
		return can
	}
	return out
}

// extraHostKeys opens one more connection for each RSA or DSA key the
// server offers besides the one negotiated, to measure it; the handshake
// is abandoned as soon as the key is seen.
func extraHostKeys(ctx context.Context, env wire.Env, t observe.Target, opts Options, obs *observe.SSH, tr *wire.Transcript) {
	if obs.KexInit == nil || len(obs.HostKeys) == 0 {
		return
	}
	have := map[string]bool{}
	for _, hk := range obs.HostKeys {
		have[keyFamily(hk.Algorithm)] = true
	}
	can := clientHostKeyAlgs()
	var todo []string
	for _, a := range obs.KexInit.HostKey {
		f := keyFamily(a)
		if isCert(a) || have[f] || !contains(can, a) || contains(todo, f) {
			continue
		}
		// The size of ECDSA and Ed25519 keys is in their algorithm's
		// name; only RSA and DSA keys need a connection of their own to
		// be measured (weak-key findings).
		if f != "rsa" && f != gossh.KeyAlgoDSA {
			continue
		}
		todo = append(todo, f)
	}
	errGot := errors.New("kensa: host key recorded")
	for i, f := range todo {
		if i >= maxExtraKeys || ctx.Err() != nil {
			return
		}
		var algs []string
		if f == "rsa" {
			for _, a := range []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA} {
				if contains(obs.KexInit.HostKey, a) {
					algs = append(algs, a)
				}
			}
		} else {
			algs = []string{f}
		}
		conn, err := env.Dial(ctx, "tcp", t, nil)
		if err != nil {
			tr.Note("extra connection for host key %s: %s", f, wire.Describe("connect", err))
			return
		}
		tr.Connected()
		cfg := clientConfig(opts, algs)
		var got *observe.SSHHostKey
		cfg.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
			hk := describeKey(key)
			got = &hk
			return errGot
		}
		cfg.AuthCallback = func(*gossh.ClientAuthContext) (gossh.AuthMethod, error) { return nil, errStop }
		err = wire.Heavy(ctx, func() error {
			_, _, _, err := gossh.NewClientConn(conn, t.Addr.String(), cfg)
			return err
		})
		conn.Close()
		if got != nil {
			obs.HostKeys = append(obs.HostKeys, *got)
			tr.Note("host key %s %d bits %s", got.Type, got.Bits, got.Fingerprint)
		} else if err != nil {
			tr.Note("extra connection for host key %s: %s", f, describeSSHError("handshake", err))
		}
	}
}

// describeKey records a host key's type, size and fingerprint.
func describeKey(key gossh.PublicKey) observe.SSHHostKey {
	hk := observe.SSHHostKey{Algorithm: key.Type()}
	if cert, ok := key.(*gossh.Certificate); ok {
		hk.Certificate = true
		key = cert.Key
	}
	hk.Type = key.Type()
	hk.Fingerprint = gossh.FingerprintSHA256(key)
	if ck, ok := key.(gossh.CryptoPublicKey); ok {
		switch k := ck.CryptoPublicKey().(type) {
		case *rsa.PublicKey:
			hk.Bits = k.N.BitLen()
		case *ecdsa.PublicKey:
			hk.Bits = k.Curve.Params().BitSize
		case ed25519.PublicKey:
			hk.Bits = 256
		case *dsa.PublicKey:
			hk.Bits = k.P.BitLen()
		}
	}
	return hk
}
