//go:build linux

package ntp

import (
	"fmt"

	"github.com/kensa-inspect/kensa/observe"
	"golang.org/x/sys/unix"
)

// LocalClock reads the scanner host's clock status with adjtimex(2)
// (read-only: no mode bits set, so no privilege is needed).
func LocalClock() observe.ClockStatus {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return observe.ClockStatus{Reason: "adjtimex: " + err.Error()}
	}
	cs := observe.ClockStatus{
		Checked:    true,
		MaxErrorMS: float64(tx.Maxerror) / 1000,
		EstErrorMS: float64(tx.Esterror) / 1000,
	}
	switch {
	case tx.Status&unix.STA_UNSYNC != 0:
		cs.Reason = "the kernel marks the clock unsynchronised (STA_UNSYNC): no time daemon disciplines it"
	case state == unix.TIME_ERROR:
		cs.Reason = "the kernel reports clock state TIME_ERROR"
	default:
		cs.Synced = true
	}
	if !cs.Synced {
		cs.Reason += fmt.Sprintf("; maximum error %.0f ms", cs.MaxErrorMS)
	}
	return cs
}
