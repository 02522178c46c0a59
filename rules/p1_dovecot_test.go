package rules

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/probes/imap"
	"github.com/kensa-inspect/kensa/probes/pop3"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/scoring"
)

const dovecotBin = "/usr/sbin/dovecot"

// dovecot is a Dovecot instance of a test.
type dovecot struct {
	addr                     netip.Addr
	imap, imaps, pop3, pop3s uint16
	log                      string
}

// startDovecot runs Dovecot in the foreground with its configuration in
// a temporary directory, listening on addr (never the probe's own source
// address: Dovecot treats a connection from its own address as secure
// and allows plaintext there) for imap, imaps, pop3 and pop3s on free
// ports. plaintext sets disable_plaintext_auth = no.
func startDovecot(t *testing.T, addr string, plaintext bool) *dovecot {
	t.Helper()
	if _, err := os.Stat(dovecotBin); err != nil {
		t.Skipf("Dovecot not installed (%s absent): apt-get install dovecot-imapd dovecot-pop3d", dovecotBin)
	}
	if os.Geteuid() != 0 {
		t.Skip("Dovecot test needs root (its login processes switch users)")
	}
	dir := t.TempDir()
	// Dovecot's unprivileged login processes must reach base_dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d := &dovecot{addr: netip.MustParseAddr(addr), log: filepath.Join(dir, "dovecot.log")}
	ports := freePorts(t, addr, 4)
	d.imap, d.imaps, d.pop3, d.pop3s = ports[0], ports[1], ports[2], ports[3]
	writeCert(t, dir)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A real user exists, so the fake one is really unknown.
	passwd := fmt.Sprintf("someone:{PLAIN}s3cret-%d:65534:65534::%s/mail/someone::\n", time.Now().UnixNano(), dir)
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	disable := "yes"
	if plaintext {
		disable = "no"
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap pop3
listen = %[2]s
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = %[3]s
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
mail_location = maildir:%[1]s/mail/%%u
service imap-login {
  inet_listener imap {
    port = %[4]d
  }
  inet_listener imaps {
    port = %[5]d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[6]d
  }
  inet_listener pop3s {
    port = %[7]d
    ssl = yes
  }
}
`, dir, addr, disable, d.imap, d.imaps, d.pop3, d.pop3s)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(dovecotBin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM lets the master stop its children; SIGKILL only if
		// it does not.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", netip.AddrPortFrom(d.addr, p).String(), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(d.log)
				t.Fatalf("dovecot exited: %s\n%s", out.String(), log)
			default:
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(d.log)
				t.Fatalf("dovecot not listening on %d: %v\n%s\n%s", p, err, out.String(), log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return d
}

func freePorts(t *testing.T, addr string, n int) []uint16 {
	t.Helper()
	var lns []net.Listener
	var ports []uint16
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", addr+":0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, uint16(ln.Addr().(*net.TCPAddr).Port))
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "dovecot.kensa.test"},
		DNSNames:     []string{"dovecot.kensa.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// scanDovecot probes the four services from 127.0.0.1.
func scanDovecot(t *testing.T, d *dovecot) ([]*imap.Observation, []*pop3.Observation) {
	t.Helper()
	env := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr("127.0.0.1")},
		// Dovecot delays failed logins (2.5 s once one has failed).
		Limits: wire.Limits{DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second, MaxLine: 4096, MaxBytes: 256 << 10},
	}
	// One password for every service, as the scan engine does, keeps
	// Dovecot's auth penalty at its first step.
	pass := fmt.Sprintf("kp-test-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := func(service string, port uint16) wire.Target {
		return wire.Target{Service: service, Addr: netip.AddrPortFrom(d.addr, port)}
	}
	im := []*imap.Observation{
		imap.Probe(ctx, env, tg("imap", d.imap), imap.Options{Password: pass}),
		imap.Probe(ctx, env, tg("imaps", d.imaps), imap.Options{Password: pass}),
	}
	po := []*pop3.Observation{
		pop3.Probe(ctx, env, tg("pop3", d.pop3), pop3.Options{Password: pass}),
		pop3.Probe(ctx, env, tg("pop3s", d.pop3s), pop3.Options{Password: pass}),
	}
	for _, o := range im {
		checkNoSecret(t, o, pass)
	}
	for _, o := range po {
		checkNoSecret(t, o, pass)
	}
	return im, po
}

func checkNoSecret(t *testing.T, o any, pass string) {
	t.Helper()
	b, _ := json.Marshal(o)
	if strings.Contains(string(b), pass) {
		t.Errorf("password in observation: %s", b)
	}
	if testing.Verbose() {
		b, _ = json.MarshalIndent(o, "", "  ")
		t.Logf("%s", b)
	}
}

func attemptResult(attempts []imap.Attempt, method string, tls bool) imap.AuthResult {
	for _, a := range attempts {
		if a.Method == method && a.TLS == tls {
			return a.Result
		}
	}
	return ""
}

func pop3Result(attempts []pop3.Attempt, method string, tls bool) pop3.AuthResult {
	for _, a := range attempts {
		if a.Method == method && a.TLS == tls {
			return a.Result
		}
	}
	return ""
}

// TestP1Dovecot scans a real Dovecot that refuses plaintext
// authentication before TLS and one that allows it.
func TestP1Dovecot(t *testing.T) {
	t.Run("plaintext refused", func(t *testing.T) {
		t.Parallel()
		d := startDovecot(t, "127.0.0.2", false)
		im, po := scanDovecot(t, d)
		for _, o := range im {
			if o.Error != "" || !strings.Contains(o.Greeting, "Dovecot") {
				t.Errorf("%s: error %q greeting %q", o.Service, o.Error, o.Greeting)
			}
			if o.TLS == nil || o.TLS.Version == "" {
				t.Errorf("%s: no TLS %+v", o.Service, o.TLS)
			}
		}
		if o := im[0]; !containsFold(o.Capabilities, "LOGINDISABLED") || !containsFold(o.Capabilities, "STARTTLS") ||
			attemptResult(o.Attempts, "LOGIN", false) != imap.Refused || attemptResult(o.Attempts, "AUTHENTICATE PLAIN", false) != imap.Refused ||
			attemptResult(o.Attempts, "LOGIN", true) != imap.Checked {
			t.Errorf("imap: capabilities %v attempts %+v", o.Capabilities, o.Attempts)
		}
		if o := po[0]; o.Error != "" || !pop3.HasCapa(o.Capa, "STLS") || pop3Result(o.Attempts, "USER/PASS", false) != pop3.Refused ||
			pop3Result(o.Attempts, "AUTH PLAIN", false) != pop3.Refused || pop3Result(o.Attempts, "USER/PASS", true) != pop3.Checked {
			t.Errorf("pop3: error %q capa %v attempts %+v", o.Error, o.Capa, o.Attempts)
		}
		v := P1(im, po, DefaultPolicy())
		if v.Outcome != scoring.Pass {
			t.Errorf("P1 %s: %s", v.Outcome, v.Reason)
		}
		checkDovecotVerdict(t, v, d)
		checkFootprint(t, d)
	})
	t.Run("plaintext allowed", func(t *testing.T) {
		t.Parallel()
		d := startDovecot(t, "127.0.0.3", true)
		im, po := scanDovecot(t, d)
		if o := im[0]; attemptResult(o.Attempts, "LOGIN", false) != imap.Checked {
			t.Errorf("imap: attempts %+v error %q", o.Attempts, o.Error)
		}
		if o := po[0]; pop3Result(o.Attempts, "USER/PASS", false) != pop3.Checked {
			t.Errorf("pop3: attempts %+v error %q", o.Attempts, o.Error)
		}
		v := P1(im, po, DefaultPolicy())
		if v.Outcome != scoring.Fail || !strings.Contains(v.Reason, "cleartext password") {
			t.Errorf("P1 %s: %s", v.Outcome, v.Reason)
		}
		checkDovecotVerdict(t, v, d)
		// Over implicit TLS alone the same server protects passwords.
		if v := P1(im[1:], po[1:], DefaultPolicy()); v.Outcome != scoring.Pass {
			t.Errorf("imaps and pop3s alone: %s (%s)", v.Outcome, v.Reason)
		}
	})
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func checkDovecotVerdict(t *testing.T, v scoring.Verdict, d *dovecot) {
	t.Helper()
	if len(v.Evidence) == 0 {
		t.Error("no evidence")
	}
	for _, e := range v.Evidence {
		if !strings.HasPrefix(e, d.addr.String()+":") {
			t.Errorf("evidence %q", e)
		}
	}
	if testing.Verbose() {
		t.Logf("%s: %s", v.Outcome, v.Reason)
		for _, e := range v.Evidence {
			t.Logf("  %s", e)
		}
	}
}

// checkFootprint checks that the server's log shows the fake user, as
// the README says.
func checkFootprint(t *testing.T, d *dovecot) {
	t.Helper()
	log, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("user=<kensa-probe-nonexistent>")) {
		t.Errorf("the fake user is not in Dovecot's log:\n%s", log)
	}
	if testing.Verbose() {
		t.Logf("dovecot log:\n%s", log)
	}
}
