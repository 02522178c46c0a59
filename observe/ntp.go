package observe

import "time"

// NTPSample is one query and its reply.
type NTPSample struct {
	// Sent and Received are the scanner's clock when the query left and
	// the reply arrived.
	Sent     time.Time `json:"sent"`
	Received time.Time `json:"received,omitzero"`
	// Answered is set when a well-formed server reply to this query
	// arrived (mode 4, origin timestamp matching the query's).
	Answered bool `json:"answered"`
	// Timing is set when the reply's timestamps give an offset: an
	// answer that is no kiss-of-death and that the library accepted.
	Timing bool `json:"timing"`
	// OffsetMS is the server's clock minus the scanner's, corrected for
	// the round trip ((t2-t1)+(t3-t4))/2; RTTMS the round trip without
	// the server's processing time.
	OffsetMS float64 `json:"offset_ms"`
	RTTMS    float64 `json:"rtt_ms"`
	// The reply's raw header fields.
	Leap             int       `json:"leap"`
	Version          int       `json:"version"`
	Mode             int       `json:"mode"`
	Stratum          int       `json:"stratum"`
	Poll             int       `json:"poll"`
	Precision        int       `json:"precision"`
	RootDelayMS      float64   `json:"root_delay_ms"`
	RootDispersionMS float64   `json:"root_dispersion_ms"`
	RefID            string    `json:"ref_id,omitempty"`
	RefIDHex         string    `json:"ref_id_hex,omitempty"`
	ReferenceTime    time.Time `json:"reference_time,omitzero"`
	ServerReceived   time.Time `json:"server_received,omitzero"`
	ServerSent       time.Time `json:"server_sent,omitzero"`
	// KissCode is the reference ID as text when the stratum is 0 (RATE,
	// DENY, RSTR, INIT, …).
	KissCode string `json:"kiss_code,omitempty"`
	// Error says what went wrong with this query, if anything.
	Error string `json:"error,omitempty"`
}

// NTP is what the probe saw of one NTP service.
type NTP struct {
	Endpoint
	Samples []NTPSample `json:"samples"`
	// Answered counts the well-formed replies to the probe's queries.
	Answered int `json:"answered"`
	// OffsetValid is set when at least one reply gave an offset;
	// OffsetMS is then the median offset (server minus scanner) and
	// UncertaintyMS half the longest round trip among those replies, the
	// bound of the error of an NTP offset.
	OffsetValid   bool    `json:"offset_valid"`
	OffsetMS      float64 `json:"offset_ms"`
	UncertaintyMS float64 `json:"uncertainty_ms"`
	TimingSamples int     `json:"timing_samples"`
	// The server's state, from its last answer that is no kiss-of-death
	// (or its last answer, if all were kisses).
	Leap             int     `json:"leap"`
	Version          int     `json:"version"`
	Stratum          int     `json:"stratum"`
	RefID            string  `json:"ref_id,omitempty"`
	RootDelayMS      float64 `json:"root_delay_ms"`
	RootDispersionMS float64 `json:"root_dispersion_ms"`
	// RootDistanceMS is root delay / 2 + root dispersion + round trip /
	// 2: the server's own bound on its error from true time, as seen
	// here.
	RootDistanceMS float64 `json:"root_distance_ms"`
	// KissCode is the last kiss code received, if any.
	KissCode string `json:"kiss_code,omitempty"`
}

// Banners returns nothing: NTP has no banner.
func (o *NTP) Banners() []Banner { return nil }

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
