package login

import (
	"context"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// writes records each Write.
type writes [][]byte

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, append([]byte(nil), p...))
	return len(p), nil
}

// TestHolderHoldsThePasswordLine: armed with a turn, the line that
// carries the password goes in two writes (all but its last byte, then
// the last byte once the gate sent it); other lines, and every line once
// the turn was used or disarmed, go in one.
func TestHolderHoldsThePasswordLine(t *testing.T) {
	tr := wire.NewTranscript(nil, "test")
	cred := NewCredentials("kp-secret", tr)
	g := wire.NewLoginGate(time.Hour, nil)
	g.Expect()
	turn := g.Wait(context.Background()) // the whole batch: the pair is this login
	var h Holder
	h.Arm(context.Background(), turn, true, cred)
	var w writes
	for _, line := range []string{"USER kensa-probe-nonexistent\r\n", "PASS kp-secret\r\n", "PASS kp-secret\r\n"} {
		if n, err := h.Write(&w, []byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	want := []string{"USER kensa-probe-nonexistent\r\n", "PASS kp-secret\r", "\n", "PASS kp-secret\r\n"}
	if len(w) != len(want) {
		t.Fatalf("writes %q, want %q", w, want)
	}
	for i := range want {
		if string(w[i]) != want[i] {
			t.Errorf("write %d = %q, want %q", i, w[i], want[i])
		}
	}
	turn.End()

	// SASL PLAIN's base64 form is a form of the password too.
	g = wire.NewLoginGate(time.Hour, nil)
	g.Expect()
	h.Arm(context.Background(), g.Wait(context.Background()), true, cred)
	w = nil
	plain := cred.secrets[1] + "\r\n"
	h.Write(&w, []byte(plain))
	if len(w) != 2 {
		t.Errorf("SASL PLAIN response in %d writes, want 2", len(w))
	}
	h.Disarm()
	w = nil
	h.Write(&w, []byte(plain))
	var none *Holder
	none.Write(&w, []byte(plain))
	if len(w) != 2 {
		t.Errorf("disarmed and nil holders wrote %d times for two lines, want 2", len(w))
	}
}
