package smtp_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/fleet/smtpd"
	"github.com/kensa-inspect/kensa/probes/smtp"
	"github.com/kensa-inspect/kensa/probes/wire"
	"github.com/kensa-inspect/kensa/rules"
	"github.com/kensa-inspect/kensa/scoring"
)

const (
	postfixBin    = "/usr/sbin/postfix"
	postfixMaster = "/usr/lib/postfix/sbin/master"
	// scannerAddr is the probe's source address in these tests; the
	// refusing instance does not trust it, the open one does.
	scannerAddr = "127.0.0.77"
)

// postfix is one instance of the real Postfix, started by the test in
// the foreground with its configuration and queue in a temporary
// directory, listening on one loopback address and an unprivileged
// port. It never delivers anything: no queue manager or delivery agent
// runs, and every transport is discard:.
type postfix struct {
	dir  string
	addr netip.AddrPort
	cmd  *exec.Cmd
	done chan error
}

func needPostfix(t *testing.T) {
	t.Helper()
	for _, p := range []string{postfixBin, postfixMaster} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Postfix not installed (%s missing); CI installs it", p)
		}
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("Postfix not installed (no postfix user)")
	}
	if os.Geteuid() != 0 {
		t.Skip("starting Postfix needs root")
	}
}

// freePort finds a free port on addr.
func freePort(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPostfix starts an instance listening on listen with the given
// mynetworks and extra main.cf lines.
func startPostfix(t *testing.T, listen, mynetworks string, extra ...string) *postfix {
	t.Helper()
	base := t.TempDir()
	// The daemons run as the postfix user: the directories must be
	// traversable.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(base, "conf")
	queue := filepath.Join(base, "queue")
	data := filepath.Join(base, "data")
	for _, d := range []string{conf, queue, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := user.Lookup("postfix")
	uid, _ := strconv.Atoi(u.Uid)
	if err := os.Chown(data, uid, -1); err != nil {
		t.Fatal(err)
	}
	// The fleet's self-signed certificate, for STARTTLS.
	cert, err := smtpd.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})...)
	chainFile := filepath.Join(conf, "chain.pem")
	if err := os.WriteFile(chainFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t, listen)
	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + queue,
		"data_directory = " + data,
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = mx.postfix-test.example",
		"mydomain = postfix-test.example",
		"myorigin = $myhostname",
		"mydestination = $myhostname, localhost",
		// No wildcard: master.cf names the one address; inet_interfaces
		// only has to pass Postfix's own interface check.
		"inet_interfaces = 127.0.0.1",
		"proxy_interfaces = " + listen,
		"inet_protocols = ipv4",
		"mynetworks = " + mynetworks,
		"smtpd_peername_lookup = no",
		"disable_dns_lookups = yes",
		"smtp_dns_support_level = disabled",
		"lmtp_dns_support_level = disabled",
		"alias_maps =",
		"alias_database =",
		"local_recipient_maps = unix:passwd.byname",
		// Nothing is ever delivered anywhere: no queue manager runs,
		// and every transport discards (the error transport would make
		// smtpd refuse the recipient, hiding an open relay).
		"default_transport = discard:kensa test instance",
		"relay_transport = discard:kensa test instance",
		"local_transport = discard:kensa test instance",
		"relayhost =",
		"smtpd_tls_security_level = may",
		"smtpd_tls_chain_files = " + chainFile,
		"maillog_file = " + filepath.Join(base, "maillog"),
		"maillog_file_prefixes = " + base,
		"smtpd_error_sleep_time = 0",
		// No queue manager hands out flow tokens: do not wait for one.
		"in_flow_delay = 0",
		"biff = no",
	}
	main = append(main, extra...)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(strings.Join(main, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	master := fmt.Sprintf(`%s:%d inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
rewrite   unix  - - n - - trivial-rewrite
anvil     unix  - - n - 1 anvil
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
`, listen, port)
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &postfix{dir: base, addr: netip.AddrPortFrom(netip.MustParseAddr(listen), uint16(port)), done: make(chan error, 1)}
	// "postfix check" creates the queue directories with their owners.
	if out, err := exec.Command(postfixBin, "-c", conf, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix check: %v: %s%s", err, out, p.log())
	}
	p.cmd = exec.Command(postfixMaster, "-d", "-c", conf)
	// Its own process group: master signals its whole group when it
	// stops, which must not reach the test.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting Postfix master: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr.String(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("Postfix master exited: %v%s", err, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix not listening on %s: %v%s", p.addr, err, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

// stop ends the instance by its process id (master then stops its own
// children), and its process group if it does not go.
func (p *postfix) stop() {
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlive master (none should) are in its group.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

func (p *postfix) log() string {
	b, err := os.ReadFile(filepath.Join(p.dir, "maillog"))
	if err != nil {
		return ""
	}
	return "\nmaillog:\n" + string(b)
}

func (p *postfix) probe(t *testing.T) *smtp.Observation {
	t.Helper()
	e := wire.Env{
		Dialer: &wire.NetDialer{Source: netip.MustParseAddr(scannerAddr)},
		Limits: wire.Limits{ReadTimeout: 10 * time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var trace bytes.Buffer
	e.Tracer = wire.NewTracer(&trace)
	o := smtp.Probe(ctx, e, wire.Target{Service: "smtp", Addr: p.addr}, smtp.Options{})
	traces.Store(o, traceLines(trace.String()))
	return o
}

func TestPostfixRefusesRelay(t *testing.T) {
	needPostfix(t)
	// The scanner's address is outside mynetworks (Postfix's default,
	// 127.0.0.0/8, would trust it). A low hard error limit makes
	// Postfix drop the session during the test, as busy servers do:
	// the probe must reconnect and finish.
	p := startPostfix(t, "127.0.0.20", "127.0.0.99/32", "smtpd_hard_error_limit = 6")
	o := p.probe(t)
	if o.Error != "" || o.Greeting == nil || !strings.Contains(o.Greeting.Lines[0], "mx.postfix-test.example ESMTP Postfix") {
		t.Fatalf("error %q greeting %v%s", o.Error, o.Greeting, p.log())
	}
	if o.StartTLS == nil || !o.StartTLS.OK || o.TLS == nil || o.TLS.Version == "" {
		t.Errorf("STARTTLS %+v TLS %+v", o.StartTLS, o.TLS)
	}
	neverData(t, o)
	v := rules.A1([]*smtp.Observation{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Pass {
		for _, tt := range o.Relay.Tests {
			t.Logf("%d %s %s | %s | %s", tt.ID, tt.Result, tt.MailCommand, tt.RcptCommand, tt.Why)
		}
		t.Fatalf("A1 %s: %s%s", v.Outcome, v.Reason, p.log())
	}
	if o.Relay.Sessions < 2 {
		t.Errorf("Postfix never dropped the session (%d sessions): the reconnect path was not exercised", o.Relay.Sessions)
	}
	t.Logf("A1 %s: %s (%d sessions)", v.Outcome, v.Reason, o.Relay.Sessions)
	for _, e := range v.Evidence {
		t.Log(e)
	}
}

func TestPostfixOpenRelay(t *testing.T) {
	needPostfix(t)
	// mynetworks includes the scanner: Postfix relays for it.
	p := startPostfix(t, "127.0.0.21", "127.0.0.0/8")
	o := p.probe(t)
	if o.Error != "" {
		t.Fatalf("error %q%s", o.Error, p.log())
	}
	neverData(t, o)
	v := rules.A1([]*smtp.Observation{o}, rules.DefaultPolicy())
	if v.Outcome != scoring.Fail {
		t.Fatalf("A1 %s: %s%s", v.Outcome, v.Reason, p.log())
	}
	if !strings.Contains(strings.Join(v.Evidence, "\n"), "RCPT TO:<relaytest@kensa-relay-test.example>") {
		t.Errorf("evidence %q", v.Evidence)
	}
	t.Logf("A1 %s: %s", v.Outcome, v.Reason)
	if os.Getenv("KENSA_POSTFIX_LOG") != "" {
		t.Log(p.log())
	}
	// Nothing was queued: the probe stops at RCPT.
	var queued []string
	filepath.WalkDir(filepath.Join(p.dir, "queue"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(p.dir, "queue"), path)
			if !strings.HasPrefix(rel, "pid/") && !strings.HasPrefix(rel, "private/") && !strings.HasPrefix(rel, "public/") {
				queued = append(queued, rel)
			}
		}
		return nil
	})
	if len(queued) > 0 {
		t.Errorf("files left in the queue: %q", queued)
	}
}
