#!/usr/bin/env bash
# Runs every fuzz target of the module (go test -fuzz) for FUZZTIME each
# (default 10s), one at a time. .ci/run calls it with the default; a long
# run is `FUZZTIME=10m scripts/fuzz.sh`. A crasher is written under the
# package's testdata/fuzz/ by go test: commit it, it becomes a regression
# test that every `go test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >/tmp/palabre-fuzz.log 2>&1 || {
			cat /tmp/palabre-fuzz.log; exit 1
		}
		tail -1 /tmp/palabre-fuzz.log
	done
done
