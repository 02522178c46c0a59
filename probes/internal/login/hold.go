package login

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/kensa-inspect/kensa/probes/wire"
)

// Holder sends the commands of a login attempt on one connection. Armed
// with the attempt's turn at the server's login gate, it sends the
// command line that carries the password in two writes: all of it but
// its last byte at once, and the last byte when the turn may go
// (wire.LoginTurn.Hold), so that the logins the gate sends together
// reach the server within the time it takes to send one byte, whatever
// came before (a POP3 USER and its answer, a TLS record). Everything
// else is written as it comes. A nil *Holder holds nothing.
type Holder struct {
	mu   sync.Mutex
	ctx  context.Context
	turn *wire.LoginTurn
	tls  bool
	cred Credentials
}

// Arm makes the next line that carries a form of cred's password wait
// for turn (nil: none waits); tls says whether the connection is
// encrypted.
func (h *Holder) Arm(ctx context.Context, turn *wire.LoginTurn, tls bool, cred Credentials) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ctx, h.turn, h.tls, h.cred = ctx, turn, tls, cred
}

// Disarm ends what Arm set.
func (h *Holder) Disarm() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ctx, h.turn = nil, nil
}

// Write writes p to w, holding its last byte back for the armed turn when
// p carries the password; only the first such write holds.
func (h *Holder) Write(w io.Writer, p []byte) (int, error) {
	if h == nil {
		return w.Write(p)
	}
	h.mu.Lock()
	turn, ctx, tls := h.turn, h.ctx, h.tls
	if turn == nil || len(p) < 2 || !h.cred.carried(p) {
		turn = nil
	} else {
		h.turn = nil
	}
	h.mu.Unlock()
	if turn == nil {
		return w.Write(p)
	}
	n, err := w.Write(p[:len(p)-1])
	if err != nil {
		return n, err
	}
	var m int
	if !turn.Hold(ctx, tls, func() { m, err = w.Write(p[len(p)-1:]) }) {
		return n, context.Cause(ctx)
	}
	return n + m, err
}

// carried reports whether p holds a form of the password.
func (c Credentials) carried(p []byte) bool {
	for _, s := range c.secrets {
		if s != "" && bytes.Contains(p, []byte(s)) {
			return true
		}
	}
	return false
}

// Writer returns w with its writes going through h.
func (h *Holder) Writer(w io.Writer) io.Writer { return heldWriter{w: w, h: h} }

type heldWriter struct {
	w io.Writer
	h *Holder
}

func (hw heldWriter) Write(p []byte) (int, error) { return hw.h.Write(hw.w, p) }
