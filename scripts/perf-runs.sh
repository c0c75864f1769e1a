#!/usr/bin/env bash
# Reproduces the load-test table of docs/performance.md: the server pinned
# to CPU 0, the load generator to CPU 1, one fresh server per run, all on
# loopback. Prints one JSON result per run to results/ and a summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/palabre-perf ./cmd/palabre
mkdir -p results
run() { # name rooms listeners speakers duration
	local name=$1 rooms=$2 listeners=$3 speakers=$4 duration=$5 data
	data=$(mktemp -d)
	taskset -c 0 /tmp/palabre-perf serve --log-level warn --join-rate 1000 --data "$data" \
		--listen 127.0.0.1:18080 >/dev/null 2>&1 &
	local pid=$!
	sleep 1
	taskset -c 1 /tmp/palabre-perf loadtest --server http://127.0.0.1:18080 --rooms "$rooms" \
		--listeners "$listeners" --speakers "$speakers" --turn 5s --duration "$duration" \
		--join-rate 100 --server-pid "$pid" --json >"results/$name.json" 2>/dev/null
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -rf "$data"
	echo "$name: $(tr -d ' \n' <"results/$name.json")"
}
run "1x100x1" 1 100 1 20s
run "1x500x1" 1 500 1 20s
run "1x1000x1" 1 1000 1 20s
run "10x50x2" 10 50 2 20s
run "idle-1000" 1 1000 0 20s
