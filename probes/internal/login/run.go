package login

import (
	"context"
	"fmt"

	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/probes/wire"
)

// Planned is one planned login attempt of a protocol.
type Planned interface {
	// Method names the attempt, as the protocol's records do ("LOGIN",
	// "AUTH PLAIN").
	Method() string
}

// Outcome is what Run needs to know of an attempt's answer.
type Outcome struct {
	Result observe.LoginResult
	// TLS is set when the attempt went over TLS.
	TLS bool
	// Why says what the classification rests on.
	Why string
}

// Runner runs a plan of login attempts, each recorded as an A.
type Runner[P Planned, A any] struct {
	// Anonymous is the method of anonymous login, still tried after a
	// cleartext password was checked.
	Anonymous string
	// Ready makes the connection usable for the next attempt: when the
	// server has hung up, it reconnects, or says why it could not.
	Ready func() error
	// Try makes the attempt once and classifies the answer. err is set
	// when no answer came; the connection is then closed.
	Try func(P) (A, Outcome, error)
	// Skipped is the record (result Unclear) of an attempt not made
	// because Ready failed; why says so.
	Skipped func(method, why string) A
	// Gate lines up the attempts with the other logins of the server
	// (wire.LoginGate), within Ctx; nil sends them at once.
	Gate *wire.LoginGate
	Ctx  context.Context
	// Arm, if not nil, is given the attempt's turn at the gate before
	// Try (nil when it has none) and nil after it: the protocol arms
	// its connection's Holder with it.
	Arm func(*wire.LoginTurn)
}

// Run makes the attempts of plan in order and returns their records. An
// attempt whose connection was closed or reset without an answer is made
// once more on a new connection. Run stops after a login succeeds, skips
// the password attempts that remain (anonymous login is still tried)
// once a cleartext password was checked, since one proves the point and
// more would only add failed logins to the server's logs, and stops with
// an error when reconnecting fails or an attempt gets no answer.
func (r Runner[P, A]) Run(plan []P) ([]A, error) {
	var recs []A
	stopPasswords := false
	for _, a := range plan {
		method := a.Method()
		if stopPasswords && method != r.Anonymous {
			continue
		}
		var (
			rec  A
			out  Outcome
			terr error
		)
		for try := 0; try < 2; try++ {
			if err := r.Ready(); err != nil {
				recs = append(recs, r.Skipped(method, "not attempted: "+err.Error()))
				return recs, fmt.Errorf("login attempts: %w", err)
			}
			turn := r.Gate.Wait(r.Ctx)
			if r.Arm != nil {
				r.Arm(turn)
			}
			rec, out, terr = r.Try(a)
			if r.Arm != nil {
				r.Arm(nil)
			}
			turn.End()
			if terr == nil {
				break
			}
			if kind := wire.Classify(terr); kind != "closed" && kind != "reset" {
				break
			}
		}
		recs = append(recs, rec)
		if terr != nil {
			return recs, fmt.Errorf("%s: %s", method, out.Why)
		}
		if out.Result == observe.LoginLoggedIn {
			break
		}
		if out.Result == observe.LoginChecked && !out.TLS {
			stopPasswords = true
		}
	}
	return recs, nil
}

// Beside runs attempts (a login on a connection of its own, beside the
// probe's others) on a goroutine of its own, as one more login expected
// at the server's gate from now until it ends, and returns the channel
// its error arrives on. Expecting it before the attempts in the clear
// can reach the gate keeps the first batch from going without it.
func Beside(gate *wire.LoginGate, attempts func() error) <-chan error {
	done := make(chan error, 1)
	gate.Expect()
	go func() {
		defer gate.Done()
		done <- attempts()
	}()
	return done
}
