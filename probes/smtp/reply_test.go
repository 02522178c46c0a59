package smtp

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

func TestParseReplyLine(t *testing.T) {
	cases := []struct {
		line string
		code int
		sep  byte
		text string
		bad  bool
	}{
		{"250 OK", 250, ' ', "OK", false},
		{"250-mx.example.jp", 250, '-', "mx.example.jp", false},
		{"220", 220, ' ', "", false},
		{"554 5.7.1 <x@y>: Relay access denied", 554, ' ', "5.7.1 <x@y>: Relay access denied", false},
		{"25", 0, 0, "", true},
		{"abc def", 0, 0, "", true},
		{"250OK", 0, 0, "", true},
		{"199 too low", 0, 0, "", true},
		{"600 too high", 0, 0, "", true},
		{"", 0, 0, "", true},
	}
	for _, c := range cases {
		code, sep, text, err := observe.ParseSMTPReplyLine(c.line)
		if c.bad {
			if err == nil || !errors.Is(err, observe.ErrMalformedSMTP) {
				t.Errorf("%q: err %v, want observe.ErrMalformedSMTP", c.line, err)
			}
			continue
		}
		if err != nil || code != c.code || sep != c.sep || text != c.text {
			t.Errorf("%q: got %d %q %q %v", c.line, code, sep, text, err)
		}
	}
}

func TestParseEnhanced(t *testing.T) {
	cases := []struct {
		text  string
		class int
		want  string
	}{
		{"5.7.1 Relay access denied", 5, "5.7.1"},
		{"4.7.1 <a@b>: Relay access denied", 4, "4.7.1"},
		{"2.1.5 Ok", 2, "2.1.5"},
		{"5.7.1 x", 4, ""},
		{"5.7.100 x", 5, "5.7.100"},
		{"5.7.1000 x", 5, ""},
		{"3.0.0 x", 3, ""},
		{"5.7 x", 5, ""},
		{"5.a.1 x", 5, ""},
		{"Relay access denied", 5, ""},
		{"", 5, ""},
	}
	for _, c := range cases {
		if got := observe.ParseEnhancedCode(c.text, c.class); got != c.want {
			t.Errorf("observe.ParseEnhancedCode(%q, %d) = %q, want %q", c.text, c.class, got, c.want)
		}
	}
}

func read(t *testing.T, input string, maxLine int) (*observe.SMTPReply, error) {
	t.Helper()
	rr := newReplyReader(strings.NewReader(input), maxLine, time.Now)
	return rr.read(time.Minute, 0)
}

func TestReadReply(t *testing.T) {
	r, err := read(t, "250-mx.example.jp Hello\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n", 4096)
	if err != nil || r.Code != 250 || len(r.Lines) != 3 || r.Lines[2] != "250 AUTH PLAIN LOGIN" {
		t.Fatalf("multi-line: %+v %v", r, err)
	}
	// Bare LF ends a line too.
	r, err = read(t, "554 5.7.1 no\n", 4096)
	if err != nil || r.Code != 554 || r.Enhanced != "5.7.1" {
		t.Fatalf("bare LF: %+v %v", r, err)
	}
	// A continuation with another code is malformed.
	r, err = read(t, "250-a\r\n251 b\r\n", 4096)
	if !errors.Is(err, observe.ErrMalformedSMTP) || r == nil || !r.Malformed || len(r.Lines) != 2 {
		t.Fatalf("code change: %+v %v", r, err)
	}
	// Garbage.
	r, err = read(t, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n", 4096)
	if !errors.Is(err, observe.ErrMalformedSMTP) || r == nil || !r.Malformed {
		t.Fatalf("garbage: %+v %v", r, err)
	}
	// A line longer than the limit.
	_, err = read(t, "220 "+strings.Repeat("x", 5000)+"\r\n", 4096)
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
	// A reply that never ends.
	_, err = read(t, strings.Repeat("250-x\r\n", 200), 4096)
	if !errors.Is(err, ErrTooManyLines) {
		t.Fatalf("endless reply: %v", err)
	}
	// Cut in the middle of a line.
	_, err = read(t, "220 mx", 4096)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut line: %v", err)
	}
	// Cut between lines of a reply.
	r, err = read(t, "250-mx\r\n", 4096)
	if !errors.Is(err, io.EOF) || r == nil || !r.Malformed {
		t.Fatalf("cut reply: %+v %v", r, err)
	}
	// Empty input.
	if _, err = read(t, "", 4096); !errors.Is(err, io.EOF) {
		t.Fatalf("empty: %v", err)
	}
}

// slowReader returns one byte per read, each after a pause.
type slowReader struct {
	s     string
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestReadReplyTimeLimit(t *testing.T) {
	rr := newReplyReader(&slowReader{s: strings.Repeat("220-drip\r\n", 100), pause: 5 * time.Millisecond}, 4096, time.Now)
	start := time.Now()
	_, err := rr.read(100*time.Millisecond, 0)
	if !errors.Is(err, ErrReplySlow) {
		t.Fatalf("got %v, want ErrReplySlow", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestParseReply(t *testing.T) {
	if _, err := observe.ParseSMTPReply(nil); err == nil {
		t.Error("empty reply accepted")
	}
	if _, err := observe.ParseSMTPReply([]string{"250 a", "250 b"}); err == nil {
		t.Error("final line before the end accepted")
	}
	if _, err := observe.ParseSMTPReply([]string{"250-a"}); err == nil {
		t.Error("reply ending with a continuation accepted")
	}
	r, err := observe.ParseSMTPReply([]string{"550-5.7.1 first", "550 5.7.1 second"})
	if err != nil || r.Code != 550 || r.Enhanced != "5.7.1" || r.Text() != "5.7.1 first\n5.7.1 second" {
		t.Errorf("got %+v %v", r, err)
	}
}

// FuzzReadReply feeds arbitrary server output to the reply reader: it
// must never panic, and what it returns without error must be a valid
// reply.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("220 mx.example.jp ESMTP Postfix\r\n"))
	f.Add([]byte("250-mx.example.jp\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"))
	f.Add([]byte("554 5.7.1 <relaytest@example.com>: Relay access denied\r\n"))
	f.Add([]byte("454 4.7.1 <relaytest@example.com>: Relay access denied\n"))
	f.Add([]byte("250-a\r\n251 b\r\n"))
	f.Add([]byte("\x00\xff\r\n"))
	f.Add([]byte("220"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := newReplyReader(strings.NewReader(string(data)), 256, time.Now)
		for range 8 {
			r, err := rr.read(time.Minute, 0)
			if err != nil {
				if r != nil && !r.Malformed {
					t.Fatalf("error %v with a well-formed reply %+v", err, r)
				}
				return
			}
			if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 || r.Malformed {
				t.Fatalf("bad reply %+v", r)
			}
			for _, l := range r.Lines {
				if len(l) > 256+2 {
					t.Fatalf("line longer than the limit: %d", len(l))
				}
				if c, _, _, err := observe.ParseSMTPReplyLine(l); err != nil || c != r.Code {
					t.Fatalf("line %q of reply %d: %v", l, r.Code, err)
				}
			}
			if r.Enhanced != "" && int(r.Enhanced[0]-'0') != r.Class() {
				t.Fatalf("enhanced %s in a %d reply", r.Enhanced, r.Code)
			}
			_ = r.Kind()
			_ = ServerName(r)
			ParseEHLO(r)
		}
	})
}
