package pop3client

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseReply checks that any line parses without panic, and that a
// parsed reply is consistent with its line.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"+OK Dovecot ready.", "-ERR [AUTH] Authentication failed.", "+ ", "+ VXNlcm5hbWU6",
		"+OK POP3 <1896.697170952@dbc.mtview.ca.us>", "-ERR [SYS/TEMP", "+okay", "", "\x00\xff", "-ERR]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseReply(line)
		if err != nil {
			return
		}
		if r.Line != line {
			t.Fatalf("line %q became %q", line, r.Line)
		}
		switch r.Status {
		case StatusOK, StatusErr, StatusContinue:
		default:
			t.Fatalf("%q: status %v", line, r.Status)
		}
		if !strings.Contains(line, r.Text) || !strings.Contains(line, r.Code) {
			t.Fatalf("%q: text %q code %q not from the line", line, r.Text, r.Code)
		}
		_ = Timestamp(line)
	})
}

// FuzzClient feeds arbitrary server bytes to a whole exchange: it must
// end with a reply or an error, never a panic or a hang.
func FuzzClient(f *testing.F) {
	f.Add([]byte("+OK hi <1@x>\r\n+OK\r\nTOP\r\n.\r\n-ERR [AUTH] no\r\n+ \r\n-ERR x\r\n"))
	f.Add([]byte("+OK\r\n+OK\r\n" + strings.Repeat("A", 300)))
	f.Add([]byte("-ERR go away\r\n"))
	f.Add([]byte("+OK\r\n+ \r\n+ \r\n+ \r\n+ \r\n+ \r\n+ \r\n+ \r\n+ \r\n+ \r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			server.Write(data)
			server.Close()
		}()
		go func() { // drain what the client sends
			buf := make([]byte, 512)
			for {
				if _, err := server.Read(buf); err != nil {
					return
				}
			}
		}()
		client.SetDeadline(time.Now().Add(2 * time.Second))
		c, err := NewClient(client, &Options{MaxLine: 128, MaxLines: 8})
		if err != nil {
			return
		}
		_ = utf8.ValidString(c.Timestamp())
		c.Capa()
		c.User("u")
		c.Auth(&fixedMech{name: "PLAIN"})
		c.Quit()
		_ = bytes.MinRead
	})
}
