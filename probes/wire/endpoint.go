package wire

import "time"

// Endpoint is the part every probe's observation shares: which service at
// which address was examined, whether it answered, and the conversation.
// Probe observations embed it.
type Endpoint struct {
	Service string `json:"service"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Reachable is set when the service answered in its own protocol
	// (a connection that only opened and then stayed silent is not).
	Reachable bool `json:"reachable"`
	// Error says why the probe could not finish, in one line; empty when
	// it did.
	Error string `json:"error,omitempty"`
	// Started is when the probe began; DurationMS how long it took.
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"duration_ms"`
	// Transcript holds the protocol lines exchanged, redacted.
	Transcript []string `json:"transcript,omitempty"`
}

// NewEndpoint starts the endpoint of an observation of t.
func NewEndpoint(t Target, now time.Time) Endpoint {
	return Endpoint{
		Service: t.Service,
		Address: t.Addr.Addr().String(),
		Port:    int(t.Addr.Port()),
		Started: now,
	}
}

// Finish records the duration and takes the transcript's lines (the
// transcript keeps no more lines after it).
func (e *Endpoint) Finish(now time.Time, tr *Transcript) {
	e.DurationMS = now.Sub(e.Started).Milliseconds()
	e.Transcript = tr.Take()
}
