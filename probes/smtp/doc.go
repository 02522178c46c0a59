// Package smtp probes SMTP services (smtp, submission, smtps): the
// greeting and its timestamp, EHLO with HELO fallback and its
// extensions, AUTH before and after STARTTLS, the TLS session, and an
// open-relay test from an unauthenticated client that stops at RCPT and
// never sends DATA.
//
// It observes and decides nothing: package rules turns an observe.SMTP
// into the verdicts of items A1 (open-relay prevention) and X1 (sender
// authentication on submission).
//
// The probe speaks SMTP with a small client of its own (not go-smtp's):
// it keeps every reply line exactly as sent, bounds each line
// (wire.Limits.MaxLine), each reply (Options.ReplyTimeout) and each
// connection (wire.Conn's byte budget and per-read deadlines, the
// context's deadline), and puts the relay test's raw address forms on
// the wire verbatim. It waits for the greeting and for the replies to
// EHLO, MAIL and RCPT as a patient client does (RFC 5321 gives five
// minutes; Options.GreetingTimeout, Options.CommandTimeout), within the
// context's deadline: servers hold them back on purpose (Sendmail's
// greet_pause, Postfix's postscreen, Exim's ACL delay). Each relay
// attempt is judged on its own replies (observe.RelayTest.Outcome), which the
// rules judge again from stored observations.
package smtp
