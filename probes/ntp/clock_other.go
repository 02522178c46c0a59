//go:build !linux

package ntp

// LocalClock cannot read the clock status on this system.
func LocalClock() ClockStatus {
	return ClockStatus{Reason: "clock status not available on this system"}
}
