package login

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

func TestCredentials(t *testing.T) {
	tr := wire.NewTranscript(nil, "")
	c := NewCredentials("kp-given", tr)
	if c.Password != "kp-given" {
		t.Fatalf("password %q", c.Password)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + observe.FakeUser + "\x00kp-given"))
	b64 := base64.StdEncoding.EncodeToString([]byte("kp-given"))
	for _, s := range []string{"kp-given", plain, b64} {
		tr.Add("C", "x "+s)
		if got := c.Redact("x " + s); got != "x "+wire.Redacted {
			t.Errorf("Redact(%q) = %q", s, got)
		}
	}
	for _, l := range tr.Lines() {
		if l != "C: x "+wire.Redacted {
			t.Errorf("transcript line %q", l)
		}
	}

	r1, r2 := NewCredentials("", nil), NewCredentials("", nil)
	if !strings.HasPrefix(r1.Password, "kp-") || len(r1.Password) != 3+24 || r1.Password != r2.Password {
		t.Errorf("process passwords %q %q", r1.Password, r2.Password)
	}
	var zero Credentials
	if zero.Redact("as is") != "as is" {
		t.Error("zero credentials changed a line")
	}
}

func TestMechanisms(t *testing.T) {
	l := &Login{User: "u", Pass: "p"}
	if name, ir, _ := l.Start(); name != "LOGIN" || ir != nil {
		t.Errorf("LOGIN start %q %q", name, ir)
	}
	for ch, want := range map[string]string{"Username:": "u", "Password:": "p", "PASSWORD": "p", "": "u"} {
		if got, _ := l.Next([]byte(ch)); string(got) != want {
			t.Errorf("LOGIN %q: %q, want %q", ch, got, want)
		}
	}
	if name, ir, _ := (Anonymous{}).Start(); name != "ANONYMOUS" || string(ir) != observe.FakeUser {
		t.Errorf("ANONYMOUS start %q %q", name, ir)
	}
	if got, _ := (Anonymous{}).Next(nil); string(got) != observe.FakeUser {
		t.Errorf("ANONYMOUS next %q", got)
	}
}

func TestClassifyText(t *testing.T) {
	refused := []string{"tls", "disallowed", "invalid command", "not allowed"}
	cases := []struct {
		text string
		want observe.LoginResult
		why  string
	}{
		{"Plaintext authentication DISALLOWED", observe.LoginRefused, `answer says "disallowed"`},
		{"Use TLS first, disallowed", observe.LoginRefused, `answer says "tls"`},
		{"Authentication failed.", observe.LoginChecked, `answer says "failed"`},
		{"failed: TLS required", observe.LoginUnclear, `answer says both "tls" and "failed"`},
		{"Nope", observe.LoginUnclear, observe.NoReason},
		{"", observe.LoginUnclear, observe.NoReason},
		// A checked word inside a refusal phrase does not count.
		{"invalid command", observe.LoginRefused, `answer says "invalid command"`},
		{"invalid command; invalid password", observe.LoginUnclear, `answer says both "invalid command" and "invalid"`},
		// A temporary failure refuses nothing for good.
		{"Too many connections; TLS required", observe.LoginUnclear, `answer says "too many": a temporary failure, not a refusal`},
		// Generic words refuse the user when the answer speaks of one;
		// a word of the connection still refuses.
		{"LOGIN not allowed", observe.LoginRefused, `answer says "not allowed"`},
		{"Account not allowed", observe.LoginUnclear, `answer says "not allowed" of the user or account, not of the connection or the command`},
		{"USER not allowed without TLS", observe.LoginRefused, `answer says "tls"`},
		{"USER command not allowed", observe.LoginRefused, `answer says "not allowed"`},
	}
	for _, c := range cases {
		if got, why := observe.ClassifyLoginText(c.text, refused); got != c.want || why != c.why {
			t.Errorf("%q: %s (%s), want %s (%s)", c.text, got, why, c.want, c.why)
		}
	}
}

type step string

func (s step) Method() string { return string(s) }

type rec struct {
	method string
	out    Outcome
}

// script plays a Runner against scripted answers: answers[method] is the
// list of outcomes of successive tries (an error for no answer).
type script struct {
	answers map[string][]any
	closed  bool
	reopens int
	failAt  int // reopen number that fails, 0 for none
	tls     bool
}

func (s *script) runner() Runner[step, rec] {
	return Runner[step, rec]{
		Anonymous: "ANON",
		Ready: func() error {
			if !s.closed {
				return nil
			}
			s.reopens++
			if s.reopens == s.failAt {
				return errors.New("connect: refused")
			}
			s.closed = false
			return nil
		},
		Try: func(p step) (rec, Outcome, error) {
			a := s.answers[string(p)][0]
			s.answers[string(p)] = s.answers[string(p)][1:]
			if err, ok := a.(error); ok {
				s.closed = true
				out := Outcome{Result: observe.LoginUnclear, TLS: s.tls, Why: "no answer: " + err.Error()}
				return rec{string(p), out}, out, err
			}
			out := Outcome{Result: a.(observe.LoginResult), TLS: s.tls, Why: "because"}
			return rec{string(p), out}, out, nil
		},
		Skipped: func(method, why string) rec {
			return rec{method, Outcome{Result: observe.LoginUnclear, TLS: s.tls, Why: why}}
		},
	}
}

func methods(recs []rec) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.method+"="+string(r.out.Result))
	}
	return strings.Join(out, " ")
}

func TestRunner(t *testing.T) {
	plan := []step{"LOGIN", "PLAIN", "ANON"}
	cases := []struct {
		name    string
		answers map[string][]any
		tls     bool
		failAt  int
		want    string
		wantErr string
	}{
		{"all refused", map[string][]any{"LOGIN": {observe.LoginRefused}, "PLAIN": {observe.LoginRefused}, "ANON": {observe.LoginRefused}}, false, 0,
			"LOGIN=refused PLAIN=refused ANON=refused", ""},
		{"cleartext checked stops passwords", map[string][]any{"LOGIN": {observe.LoginChecked}, "ANON": {observe.LoginRefused}}, false, 0,
			"LOGIN=checked ANON=refused", ""},
		{"checked over TLS goes on", map[string][]any{"LOGIN": {observe.LoginChecked}, "PLAIN": {observe.LoginChecked}, "ANON": {observe.LoginRefused}}, true, 0,
			"LOGIN=checked PLAIN=checked ANON=refused", ""},
		{"logged in stops", map[string][]any{"LOGIN": {observe.LoginLoggedIn}}, false, 0, "LOGIN=logged_in", ""},
		{"hang-up retried once", map[string][]any{"LOGIN": {io.EOF, observe.LoginRefused}, "PLAIN": {observe.LoginRefused}, "ANON": {observe.LoginRefused}}, false, 0,
			"LOGIN=refused PLAIN=refused ANON=refused", ""},
		{"hang-up twice", map[string][]any{"LOGIN": {io.EOF, io.EOF}}, false, 0,
			"LOGIN=unclear", "LOGIN: no answer: EOF"},
		{"silence not retried", map[string][]any{"LOGIN": {wire.ErrTooMuchData}}, false, 0,
			"LOGIN=unclear", "LOGIN: no answer: " + wire.ErrTooMuchData.Error()},
		{"reconnect fails", map[string][]any{"LOGIN": {io.EOF}}, false, 1,
			"LOGIN=unclear", "login attempts: connect: refused"},
	}
	for _, c := range cases {
		s := &script{answers: c.answers, tls: c.tls, failAt: c.failAt}
		recs, err := s.runner().Run(plan)
		if got := methods(recs); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != c.wantErr {
			t.Errorf("%s: error %q, want %q", c.name, gotErr, c.wantErr)
		}
	}
}
