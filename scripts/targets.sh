#!/usr/bin/env bash
# The issue-16 targets, measured (docs/performance.md, "Targets"): a fresh
# server per run pinned to CPU 0, the light load generator (palabre
# loadtest --light) pinned to CPU 1, loopback only; the floor benchmark
# in the same session. JSON results in loadtest/results/targets-*.json.
#
#   scripts/targets.sh            every run below
#   TARGETS="fanout" scripts/...  some of them: floor fanout ptt idle
#
# Run it alone on the machine (flock /tmp/palabre-bench.lock): the figures
# are CPU time, but two runs at once share the caches and the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/palabre
go build -o "$bin" ./cmd/palabre
out=loadtest/results
mkdir -p "$out"
port=18095
url=http://127.0.0.1:$port

start_server() {
	data=$(mktemp -d)
	taskset -c 0 "$bin" serve --log-level warn --load-test --data "$data" --listen "127.0.0.1:$port" \
		--media-tcp-port 0 --turn=false >"$data.log" 2>&1 &
	pid=$!
	local tries=0
	until curl -sf "$url/healthz" >/dev/null; do
		tries=$((tries + 1))
		if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "the server did not start:" >&2; cat "$data.log" >&2; exit 1
		fi
		sleep 0.1
	done
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$data.log"; }

run() { # name rooms listeners speakers duration join-rate
	local name=$1
	start_server
	taskset -c 1 "$bin" loadtest --light --server "$url" --server-pid "$pid" --rooms "$2" \
		--listeners "$3" --speakers "$4" --turn 10s --duration "$5" --join-rate "$6" \
		--json-file "$out/targets-$name.json" || true
	stop_server
}

for t in ${TARGETS:-floor fanout ptt idle}; do
	case $t in
	floor) taskset -c 0 go test -run '^$' -bench 'Floor|Send/sendmmsg/receivers=(1000|2000)' -count 3 ./sfu/rtc/ | grep Benchmark ;;
	fanout) run fanout-2000 1 2000 1 30s 200 ;;   # 1 speaker → 2,000 listeners: CPU per packet
	ptt) run ptt-5000 1 5000 1 30s 250 ;;         # 1 push-to-talk speaker → 5,000: loss, p99
	idle) run idle-9000 9 1000 0 30s 300 ;;       # idle participants: memory, CPU, joins/s (room creation is rate-limited per address: 9 rooms)
	esac
done
