package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTranscriptRedactsSecrets: a password registered as a secret, in
// each form it is sent, never reaches the transcript or the trace —
// not when the probe sends it in two writes, nor when the server echoes
// it back.
func TestTranscriptRedactsSecrets(t *testing.T) {
	const pw = "kp-0123456789abcdef"
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00kensa-probe-nonexistent\x00" + pw))
	var trace bytes.Buffer
	tr := NewTranscript(NewTracer(&trace), "127.0.0.1:110 pop3")
	tr.AddSecret(pw)
	tr.AddSecret(b64)

	client, server := loopback(t)
	c := NewConn(context.Background(), client, Limits{}, tr)
	go func() {
		br := bufio.NewReader(server)
		for i := 0; i < 2; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(server, "-ERR [AUTH] no such user, you sent %s", line)
		}
	}()
	br := bufio.NewReader(c)
	for _, send := range [][]string{{"PASS kp-01234", "56789abcdef\r\n"}, {"AUTH PLAIN " + b64 + "\r\n"}} {
		for _, part := range send {
			if _, err := c.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	want := []string{
		"C: PASS <redacted>",
		"S: -ERR [AUTH] no such user, you sent PASS <redacted>",
		"C: AUTH PLAIN <redacted>",
		"S: -ERR [AUTH] no such user, you sent AUTH PLAIN <redacted>",
	}
	if got := tr.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("transcript\n got %q\nwant %q", got, want)
	}
	// The trace has the same lines, each after the connection and its
	// time since the connection opened.
	timing := regexp.MustCompile(`^127\.0\.0\.1:110 pop3 c1 \+\d+ms `)
	got := strings.Split(strings.TrimSuffix(trace.String(), "\n"), "\n")
	for i := range got {
		got[i] = timing.ReplaceAllString(got[i], "")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trace\n got %q\nwant %q", trace.String(), want)
	}
	for _, s := range []string{pw, b64, "kp-01234"} {
		if strings.Contains(trace.String(), s) || strings.Contains(strings.Join(tr.Lines(), "\n"), s) {
			t.Errorf("%q reached the transcript or the trace", s)
		}
	}
}

// TestTranscriptLineBounds: a line longer than the connection's line
// limit is kept cut, with a mark, and the rest of it skipped; a line
// kept is never longer than MaxShownLine bytes (then "…"); control
// characters and invalid UTF-8 are escaped, tabs become spaces.
func TestTranscriptLineBounds(t *testing.T) {
	tr := NewTranscript(nil, "")
	tap := &lineTap{tr: tr, dir: "S", max: 16}
	tap.Write([]byte(strings.Repeat("x", 40)))
	tap.Write([]byte("more of the same line\r\nnext\r\n"))
	tr.Add("S", strings.Repeat("y", MaxShownLine+100))
	tr.Add("S", "a\tb\x1b[31mred\x00\xff end")
	tr.Add("C", "")
	want := []string{
		"S: " + strings.Repeat("x", 16) + " …(line cut)",
		"S: next",
		"S: " + strings.Repeat("y", MaxShownLine) + "…",
		`S: a b\x1b[31mred\x00\xff end`,
		"C: ",
	}
	if got := tr.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
}

// TestSanitizeKeepsRunes: a cut never splits a character; it ends after
// the character that reaches the limit.
func TestSanitizeKeepsRunes(t *testing.T) {
	for max, want := range map[int]string{1: "日…", 3: "日…", 4: "日本…", 9: "日本語", 100: "日本語"} {
		got := Sanitize("日本語", max)
		if got != want || !utf8.ValidString(got) {
			t.Errorf("Sanitize(日本語, %d) = %q, want %q", max, got, want)
		}
	}
}

// TestTranscriptLineCount: a transcript keeps MaxTranscriptLines lines
// and counts the rest; after Take it keeps nothing more, but the trace
// still gets every line.
func TestTranscriptLineCount(t *testing.T) {
	var trace bytes.Buffer
	tr := NewTranscript(NewTracer(&trace), "p")
	for i := 0; i < MaxTranscriptLines+5; i++ {
		tr.Add("S", fmt.Sprint(i))
	}
	if tr.Len() != MaxTranscriptLines+5 {
		t.Errorf("Len %d, want %d", tr.Len(), MaxTranscriptLines+5)
	}
	lines := tr.Take()
	if len(lines) != MaxTranscriptLines+1 || lines[0] != "S: 0" || lines[MaxTranscriptLines-1] != fmt.Sprintf("S: %d", MaxTranscriptLines-1) ||
		lines[MaxTranscriptLines] != "*: 5 more lines not kept" {
		t.Fatalf("took %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	tr.Add("S", "after take")
	for _, l := range tr.Lines() {
		if l == "S: after take" {
			t.Error("a line added after Take was kept")
		}
	}
	if !strings.HasSuffix(trace.String(), "p S: after take\n") || strings.Count(trace.String(), "\n") != MaxTranscriptLines+6 {
		t.Errorf("the trace does not hold every line")
	}
}

// TestTranscriptPause: lines added while paused are traced, not kept; a
// note says how many and where they are kept instead.
func TestTranscriptPause(t *testing.T) {
	var trace bytes.Buffer
	tr := NewTranscript(NewTracer(&trace), "p")
	tr.Add("C", "EHLO kensa.invalid")
	tr.Pause()
	tr.Add("C", "MAIL FROM:<>")
	tr.Add("S", "250 2.1.0 Ok")
	tr.Add("C", "RCPT TO:<relaytest@kensa-relay-test.example>")
	tr.Resume("observations.smtp.relay")
	tr.Pause()
	tr.Resume("nowhere") // nothing left out: no note
	want := []string{"C: EHLO kensa.invalid", "*: 3 lines not kept here: see observations.smtp.relay"}
	if got := tr.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	if strings.Count(trace.String(), "\n") != 5 || !strings.Contains(trace.String(), "p S: 250 2.1.0 Ok\n") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

// TestStopTranscript: the bytes after StopTranscript (a TLS handshake)
// are not recorded, and a line begun before it is kept.
func TestStopTranscript(t *testing.T) {
	tr := NewTranscript(nil, "")
	client, server := loopback(t)
	c := NewConn(context.Background(), client, Limits{}, tr)
	c.Write([]byte("STARTTLS\r\nHALF A LI"))
	c.StopTranscript()
	c.Write([]byte("NE\r\n\x16\x03\x01 binary handshake\r\n"))
	buf := make([]byte, 64)
	server.Write([]byte("also not recorded\r\n"))
	c.Read(buf)
	want := []string{"C: STARTTLS", "C: HALF A LI"}
	if got := tr.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

// TestNilTranscript: a probe may run without a transcript.
func TestNilTranscript(t *testing.T) {
	var tr *Transcript
	tr.AddSecret("x")
	tr.Add("S", "x")
	tr.Note("x %d", 1)
	if tr.Lines() != nil || tr.Take() != nil {
		t.Error("a nil transcript has lines")
	}
}

// TestTraceTiming: every traced line names its connection and the
// milliseconds since that connection opened; two connections of one
// conversation are told apart, and lines of a tap above the second
// (TLS) go with it. The kept transcript carries no timing.
func TestTraceTiming(t *testing.T) {
	var trace bytes.Buffer
	tr := NewTranscript(NewTracer(&trace), "127.0.0.1:25 smtp")
	tr.Note("before any connection")
	c1, s1 := loopback(t)
	c2, s2 := loopback(t)
	defer s1.Close()
	defer s2.Close()
	a := NewConn(context.Background(), c1, Limits{}, tr)
	b := NewConn(context.Background(), c2, Limits{}, tr)
	if _, err := a.Write([]byte("EHLO one\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("EHLO two\r\n")); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(a.Tap("S"), "250 above the first\r\n")
	tr.Note("after both")
	a.Close()
	b.Close()
	lines := strings.Split(strings.TrimSpace(trace.String()), "\n")
	want := []string{
		`^127\.0\.0\.1:25 smtp \*: before any connection$`,
		`^127\.0\.0\.1:25 smtp c1 \+\d+ms C: EHLO one$`,
		`^127\.0\.0\.1:25 smtp c2 \+\d+ms C: EHLO two$`,
		`^127\.0\.0\.1:25 smtp c1 \+\d+ms S: 250 above the first$`,
		`^127\.0\.0\.1:25 smtp c2 \+\d+ms \*: after both$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("trace:\n%s", trace.String())
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], w)
		}
	}
	for _, l := range tr.Lines() {
		if strings.Contains(l, "ms ") {
			t.Errorf("kept line with timing: %q", l)
		}
	}
}
