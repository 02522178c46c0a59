package imap

import (
	"context"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/internal/probetest"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// FuzzParseStatusLine checks that any line parses without panic and
// that what it finds comes from the line.
func FuzzParseStatusLine(f *testing.F) {
	for _, s := range []string{"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready", "* PREAUTH hi", "T1 NO [PRIVACYREQUIRED] x",
		"* BYE", "* OK [", "a b", "* CAPABILITY IMAP4rev1 AUTH=PLAIN", "\x00* OK \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := observe.ParseIMAPStatusLine(line)
		if err == nil {
			if !strings.HasPrefix(line, s.Tag+" ") || !strings.Contains(line, s.Text) || !strings.Contains(line, s.CodeArgs) {
				t.Fatalf("%q: %+v", line, s)
			}
			switch s.Status {
			case "OK", "NO", "BAD", "BYE", "PREAUTH":
			default:
				t.Fatalf("%q: status %q", line, s.Status)
			}
		}
		caps, ok := CapabilityList(line)
		if !ok && caps != nil {
			t.Fatalf("%q: capabilities without a capability line", line)
		}
		for _, c := range caps {
			if c == "" || strings.ContainsAny(c, " ()\"") || c != strings.ToUpper(c) {
				t.Fatalf("%q: bad capability %q", line, c)
			}
		}
		observe.IMAPAuthMechanisms(caps)
	})
}

// FuzzProbe runs the whole probe against a server sending arbitrary
// bytes: it must return an observation, never panic or hang.
func FuzzProbe(f *testing.F) {
	f.Add([]byte("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\nT1 NO [PRIVACYREQUIRED] no\r\nT2 NO x\r\n+ \r\nT3 BAD y\r\n"))
	f.Add([]byte("* PREAUTH ready\r\n"))
	f.Add([]byte("* OK hi\r\n* LIST () \"/\" {99999}\r\nabc"))
	f.Add([]byte("* OK hi\r\n* CAPABILITY IMAP4rev1 AUTH=LOGIN ID\r\nT1 OK\r\n* ID (\"name\" {3}\r\nabc)\r\nT2 OK\r\n"))
	probetest.FuzzProbe(f, "imap", 143, func(ctx context.Context, env wire.Env, tg observe.Target, password string) *observe.Endpoint {
		if obs := Probe(ctx, env, tg, Options{Password: password}); obs != nil {
			return &obs.Endpoint
		}
		return nil
	})
}
