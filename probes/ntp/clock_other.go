//go:build !linux

package ntp

import "github.com/kensa-inspect/kensa/observe"

// LocalClock cannot read the clock status on this system.
func LocalClock() observe.ClockStatus {
	return observe.ClockStatus{Reason: "clock status not available on this system"}
}
