#!/usr/bin/env bash
# Reproduces the load-test table of docs/performance.md: the server pinned
# to CPU 0, the load generator to CPU 1, one fresh server per run, all on
# loopback. Prints one JSON result per run to loadtest/results/ and a
# summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/palabre-perf ./cmd/palabre
out=loadtest/results
mkdir -p "$out"
run() { # name rooms listeners speakers duration
	local name=$1 rooms=$2 listeners=$3 speakers=$4 duration=$5 data
	data=$(mktemp -d)
	taskset -c 0 /tmp/palabre-perf serve --log-level warn --load-test --data "$data" \
		--listen 127.0.0.1:18080 >/dev/null 2>&1 &
	local pid=$! tries=0
	until curl -sf http://127.0.0.1:18080/healthz >/dev/null; do # up yet?
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "$name: the server did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	taskset -c 1 /tmp/palabre-perf loadtest --server http://127.0.0.1:18080 --rooms "$rooms" \
		--listeners "$listeners" --speakers "$speakers" --turn 5s --duration "$duration" \
		--join-rate 100 --server-pid "$pid" --json >"$out/$name.json" 2>/dev/null
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -rf "$data"
	echo "$name: $(tr -d ' \n' <"$out/$name.json")"
}
run "1x100x1" 1 100 1 20s
run "1x500x1" 1 500 1 20s
run "1x1000x1" 1 1000 1 20s
run "10x50x2" 10 50 2 20s
run "idle-1000" 1 1000 0 20s
