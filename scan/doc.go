// Package scan is the scan engine: it plans the work of an inventory per
// server, address and service, runs the probes concurrently under global
// and per-host bounds (open connections, new connections per second),
// gives every server its own time budget so that a silent or hostile
// server costs only its own time, and streams one record per finished
// server to the results file.
//
// It is a package of its own because it is the one place that knows about
// concurrency, scope, rates and budgets: probes only observe one service,
// rules only judge observations, and the command line only wires flags.
// The engine never contacts an address outside the scan's scope; the
// dialer it gives every probe refuses such an address.
package scan
