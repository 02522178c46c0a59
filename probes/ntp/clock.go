package ntp

// ClockStatus is the scanner host's own clock discipline, as the kernel
// reports it. Offsets are measured against this clock, so a scan run
// from an unsynchronised host deserves a warning.
type ClockStatus struct {
	// Checked is set when the status could be read.
	Checked bool `json:"checked"`
	// Synced is set when the kernel clock is disciplined (no STA_UNSYNC,
	// state not TIME_ERROR).
	Synced bool `json:"synced"`
	// MaxErrorMS and EstErrorMS are the kernel's maximum and estimated
	// error, in milliseconds.
	MaxErrorMS float64 `json:"max_error_ms"`
	EstErrorMS float64 `json:"est_error_ms"`
	// Reason says in words why the clock looks unsynchronised, or that
	// it could not be checked.
	Reason string `json:"reason,omitempty"`
}
