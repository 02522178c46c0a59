// Package deploy holds no code: it is where the files that run kensa on
// existing tools live — deploy/systemd (a service, a monthly timer and
// the wrapper that names the results by date) and deploy/kubernetes (an
// Indexed Job of shards, the merge Job, the ConfigMap and the container
// build file) — and the tests that check them: systemd-analyze verify
// on the units, and the kensa flags the manifests pass against kensa's
// own commands.
package deploy
