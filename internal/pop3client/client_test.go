package pop3client

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/kensa-inspect/kensa/internal/fleet/pop3d"
)

// script is a scripted server: for each line the client sends it writes
// the answer in replies (keyed by the line), after a greeting.
func script(t *testing.T, greeting string, replies map[string]string) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		defer server.Close()
		if _, err := server.Write([]byte(greeting)); err != nil {
			return
		}
		br := bufio.NewReader(server)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			r, ok := replies[strings.TrimRight(line, "\r\n")]
			if !ok {
				r = "-ERR unknown\r\n"
			}
			if _, err := server.Write([]byte(r)); err != nil {
				return
			}
		}
	}()
	return client
}

func TestParseReply(t *testing.T) {
	cases := []struct {
		line   string
		status Status
		code   string
		text   string
		bad    bool
	}{
		{"+OK Dovecot ready.", StatusOK, "", "Dovecot ready.", false},
		{"+OK", StatusOK, "", "", false},
		{"+ok lower case", StatusOK, "", "lower case", false},
		{"-ERR [AUTH] Authentication failed.", StatusErr, "AUTH", "Authentication failed.", false},
		{"-ERR [SYS/TEMP] try later", StatusErr, "SYS/TEMP", "try later", false},
		{"-ERR [unclosed", StatusErr, "", "[unclosed", false},
		{"+ ", StatusContinue, "", "", false},
		{"+ VXNlcm5hbWU6", StatusContinue, "", "VXNlcm5hbWU6", false},
		{"+", StatusContinue, "", "", false},
		{"+OKAY", 0, "", "", true},
		{"* OK IMAP", 0, "", "", true},
		{"", 0, "", "", true},
	}
	for _, c := range cases {
		r, err := ParseReply(c.line)
		if c.bad {
			var perr *ProtocolError
			if !errors.As(err, &perr) {
				t.Errorf("%q: error %v, want a ProtocolError", c.line, err)
			}
			continue
		}
		if err != nil || r.Status != c.status || r.Code != c.code || r.Text != c.text || r.Line != c.line {
			t.Errorf("%q: %+v %v", c.line, r, err)
		}
	}
}

func TestTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		"POP3 ready <1896.697170952@dbc.mtview.ca.us>": "<1896.697170952@dbc.mtview.ca.us>",
		"ready <no-at> <1.2@h>":                        "<1.2@h>",
		"ready":                                        "",
		"ready <a@b":                                   "",
		"<x y@z> <ok@z>":                               "<ok@z>",
	} {
		if got := Timestamp(in); got != want {
			t.Errorf("Timestamp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGreetingAndCapa(t *testing.T) {
	conn := script(t, "+OK ready <1.2@host>\r\n", map[string]string{
		"CAPA": "+OK\r\nTOP\r\n..DOT\r\nSASL PLAIN LOGIN\r\n.\r\n",
		"QUIT": "+OK bye\r\n",
	})
	var trace []string
	c, err := NewClient(conn, &Options{Trace: func(dir, line string) { trace = append(trace, dir+": "+line) }})
	if err != nil {
		t.Fatal(err)
	}
	if c.Timestamp() != "<1.2@host>" || c.Greeting().Text != "ready <1.2@host>" {
		t.Errorf("greeting %+v", c.Greeting())
	}
	capa, err := c.Capa()
	if err != nil || strings.Join(capa, "|") != "TOP|.DOT|SASL PLAIN LOGIN" {
		t.Errorf("capa %q %v", capa, err)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
	if len(trace) != 9 || trace[1] != "C: CAPA" {
		t.Errorf("trace %q", trace)
	}
}

func TestErrors(t *testing.T) {
	conn := script(t, "+OK hi\r\n", map[string]string{
		"USER u": "-ERR [AUTH] Plaintext authentication disallowed\r\n",
		"PASS p": "- what\r\n",
	})
	c, err := NewClient(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.User("u")
	var rerr *ReplyError
	if !errors.As(err, &rerr) || rerr.Command != "USER" || rerr.Code != "AUTH" || !strings.Contains(rerr.Text, "disallowed") {
		t.Errorf("USER: %v", err)
	}
	var perr *ProtocolError
	if err := c.Pass("p"); !errors.As(err, &perr) {
		t.Errorf("PASS: %v", err)
	}
	if err := c.User("a\r\nQUIT"); err == nil {
		t.Error("line break in an argument accepted")
	}
}

func TestGreetingRefused(t *testing.T) {
	_, err := NewClient(script(t, "-ERR [SYS/TEMP] busy\r\n", nil), nil)
	var rerr *ReplyError
	if !errors.As(err, &rerr) || rerr.Command != "greeting" || rerr.Code != "SYS/TEMP" {
		t.Errorf("%v", err)
	}
	_, err = NewClient(script(t, "SSH-2.0-OpenSSH\r\n", nil), nil)
	var perr *ProtocolError
	if !errors.As(err, &perr) {
		t.Errorf("%v", err)
	}
}

func TestLineLimit(t *testing.T) {
	_, err := NewClient(script(t, "+OK "+strings.Repeat("x", 200)+"\r\n", nil), &Options{MaxLine: 100})
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long greeting: %v", err)
	}
	conn := script(t, "+OK hi\r\n", map[string]string{"CAPA": "+OK\r\n" + strings.Repeat("X\r\n", 50) + ".\r\n"})
	c, err := NewClient(conn, &Options{MaxLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Capa(); !errors.Is(err, ErrTooManyLines) {
		t.Errorf("long CAPA: %v", err)
	}
}

func TestAuth(t *testing.T) {
	// PLAIN: the initial response goes out after the empty continuation.
	conn := script(t, "+OK hi\r\n", map[string]string{
		"AUTH PLAIN":       "+ \r\n",
		"AHVzZXIAcGFzcw==": "-ERR [AUTH] Authentication failed.\r\n",
		"AUTH LOGIN":       "+ VXNlcm5hbWU6\r\n",
		"dXNlcg==":         "+ UGFzc3dvcmQ6\r\n",
		"cGFzcw==":         "+OK logged in\r\n",
		"AUTH CRAM-MD5":    "-ERR Unsupported authentication mechanism.\r\n",
		"AUTH ANONYMOUS":   "+ not base64!\r\n",
		"*":                "-ERR cancelled\r\n",
	})
	c, err := NewClient(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rerr *ReplyError
	if err := c.Auth(sasl.NewPlainClient("", "user", "pass")); !errors.As(err, &rerr) || rerr.Code != "AUTH" {
		t.Errorf("PLAIN: %v", err)
	}
	if err := c.Auth(&loginMech{}); err != nil {
		t.Errorf("LOGIN: %v", err)
	}
	if err := c.Auth(&fixedMech{name: "CRAM-MD5"}); !errors.As(err, &rerr) || rerr.Command != "AUTH" {
		t.Errorf("CRAM-MD5: %v", err)
	}
	var perr *ProtocolError
	if err := c.Auth(&fixedMech{name: "ANONYMOUS"}); !errors.As(err, &perr) {
		t.Errorf("bad challenge: %v", err)
	}
}

type loginMech struct{}

func (loginMech) Start() (string, []byte, error) { return "LOGIN", nil, nil }
func (loginMech) Next(c []byte) ([]byte, error) {
	if string(c) == "Username:" {
		return []byte("user"), nil
	}
	return []byte("pass"), nil
}

type fixedMech struct{ name string }

func (m *fixedMech) Start() (string, []byte, error) { return m.name, nil, nil }
func (m *fixedMech) Next([]byte) ([]byte, error)    { return []byte("x"), nil }

// TestSTLS runs STLS against the fleet server and checks that CAPA
// changes over TLS.
func TestSTLS(t *testing.T) {
	srv, err := pop3d.Start("127.0.0.1:0", pop3d.Config{Profile: pop3d.TLSRequired})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := NewClient(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.User("x"); err == nil {
		t.Error("USER accepted before TLS")
	}
	cs, err := c.StartTLS(&tls.Config{InsecureSkipVerify: true})
	if err != nil || !cs.HandshakeComplete || !c.TLS() {
		t.Fatalf("STLS: %v", err)
	}
	capa, err := c.Capa()
	if err != nil || !strings.Contains(strings.Join(capa, " "), "USER") {
		t.Errorf("capa after TLS %q %v", capa, err)
	}
	if _, err := c.StartTLS(&tls.Config{}); err == nil {
		t.Error("STLS twice")
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

// TestSTLSInjection refuses data sent between the STLS reply and the
// handshake.
func TestSTLSInjection(t *testing.T) {
	conn := script(t, "+OK hi\r\n", map[string]string{"STLS": "+OK go\r\n+OK injected\r\n"})
	c, err := NewClient(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var perr *ProtocolError
	if _, err := c.StartTLS(&tls.Config{}); !errors.As(err, &perr) {
		t.Errorf("injection: %v", err)
	}
}
