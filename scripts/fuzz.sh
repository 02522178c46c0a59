#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default
# 20s). New inputs that fail are written under the package's
# testdata/fuzz directory by go test.
set -euo pipefail
time=${1:-20s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(go list ./...); do
  for fz in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $fz ($time)"
    go test -run "^$" -fuzz "^${fz}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg" || status=1
  done
done
exit $status
