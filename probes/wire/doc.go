// Package wire holds what every probe needs on the network and nothing
// else: the Env a probe receives from the scan engine (a Dialer that
// enforces the engine's connection bounds, timeouts, a clock, a tracer),
// Conn, a connection whose every read and write has a deadline and whose
// reads have a byte budget whatever the protocol library above it does
// with deadlines, Transcript, the protocol lines kept as evidence with
// credentials redacted, and TLS inspection.
//
// It knows nothing of checklist items or verdicts.
package wire
