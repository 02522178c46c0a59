// Package fleet plays a simulated fleet of mail servers on loopback, for
// the demo, the benchmarks and the end-to-end tests: each simulated host
// has its own 127.x.y.z address (never a wildcard listener) and runs the
// services its Plan says (SMTP, submission, IMAP, POP3, SSH, NTP, telnet
// or rlogin/rsh), each built from the per-protocol packages under fleet/
// with a named behaviour.
//
// A Plan is data: it writes the matching inventory, and the ground truth
// (the expected outcome of every item on every host), which is derived
// from the behaviours' own semantics (each fleet package's Truth), never
// from package rules, so a test comparing a scan with the truth can fail.
//
// A process may hold at most 20,000 open files here, so large fleets are
// spread over child processes (Spawn), each serving a slice of the plan.
//
// It is a package of its own because it composes every protocol's
// simulated server into hosts and organisations, which no single protocol
// package should know about.
package fleet
