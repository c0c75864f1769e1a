#!/usr/bin/env bash
# Runs every fuzz target of the module (go test -fuzz) for FUZZTIME each
# (default 10s), one at a time. .ci/run calls it with the default; a long
# run is `FUZZTIME=10m scripts/fuzz.sh`. A crasher is written under the
# package's testdata/fuzz/ by go test: commit it, it becomes a regression
# test that every `go test` runs.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is busy (a race in
# internal/fuzz, golang/go#75804, fixed in Go 1.27; likelier on a loaded
# 2-core machine). Such a run wrote no crasher: it is told apart by that
# one line and no "Failing input written", and the target's corpus is then
# replayed (go test -run) to be sure; anything else fails the script.
# FUZZPKGS (package paths) narrows the run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
log=/tmp/palabre-fuzz.$$.log
trap 'rm -f "$log"' EXIT

# stop_race reports whether a failed run's log is only the coordinator's
# stop race: the deadline line, a FAIL for the target, no input written.
stop_race() {
	grep -q '^    context deadline exceeded$' "$log" &&
		! grep -q 'Failing input written' "$log" &&
		! grep -q 'panic:' "$log" &&
		[ "$(grep -c '^    ' "$log")" -eq 1 ]
}

for pkg in ${FUZZPKGS:-$(go list ./...)}; do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($fuzztime)"
		if go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" >"$log" 2>&1; then
			tail -1 "$log"
			continue
		fi
		if stop_race; then
			grep '^fuzz: elapsed' "$log" | tail -1
			echo "  stopped by Go's fuzz-coordinator deadline race (golang/go#75804), no crasher written; replaying the corpus"
			go test "$pkg" -count=1 -run "^${target}\$" >"$log" 2>&1 || { cat "$log"; exit 1; }
			tail -1 "$log"
			continue
		fi
		cat "$log"
		exit 1
	done
done
