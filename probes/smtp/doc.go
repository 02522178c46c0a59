// Package smtp probes SMTP services (smtp, submission, smtps): the
// greeting and its timestamp, EHLO with HELO fallback and its
// extensions, AUTH before and after STARTTLS, the TLS session, and an
// open-relay test from an unauthenticated client that stops at RCPT and
// never sends DATA.
//
// It observes and decides nothing: package rules turns an Observation
// into the verdicts of items A1 (open-relay prevention) and X1 (sender
// authentication on submission).
//
// The probe speaks SMTP with a small client of its own (not go-smtp's):
// it keeps every reply line exactly as sent, bounds each line
// (wire.Limits.MaxLine), each reply (Options.ReplyTimeout) and each
// connection (wire.Conn's byte budget and per-read deadlines, the
// context's deadline), and puts the relay test's raw address forms on
// the wire verbatim.
package smtp
