#!/usr/bin/env bash
# Soak: a bounded load held for a long time, the server sampled every 10 s
# and judged flat (docs/performance.md, "Soak").
#
#   scripts/soak.sh            the 2-minute soak of the test suite (TestSoak:
#                              an in-process server, 5 rooms × 2 speakers ×
#                              10 listeners beside 1,000 idle light
#                              participants); what .ci/run calls
#   SOAK=30m scripts/soak.sh   a separate server process (palabre serve
#                              --load-test) and palabre loadtest for 30
#                              minutes at half the measured capacity; the
#                              JSON lands in loadtest/results/soak-30m.json
#   SOAK=5m SOAK_IDLE=10000 scripts/soak.sh
#                              the same server with 10,000 idle light
#                              participants (palabre loadtest --idle) beside
#                              talking light rooms (10 × (2 + 20) unless
#                              SOAK_ROOMS… say otherwise), for 5 minutes;
#                              the latency is also split at the server's
#                              garbage collections (--gc-watch 1s). JSON in
#                              loadtest/results/soak-5m-idle10000.json, the
#                              server's GODEBUG=gctrace=1 lines beside it
#                              (.gctrace)
#
# SOAK_IDLE: a process holds 2 files per light participant and the
# container caps one at 20,000, so the idle crowd is split among load
# generators of SOAK_IDLE_PER (5,000) each: the helpers, idle only, join
# first and hold until the last one, which carries the rest and the
# talking rooms and measures, has finished. An admin token lifts the
# per-address limit on room creation. SOAK_SERVER_FLAGS adds flags to the
# server (e.g. "--memory-limit 1GiB"), SOAK_SERVER_ENV variables to its
# environment (e.g. "GOGC=5 GOMAXPROCS=1"), SOAK_SERVER_CPUS the CPUs it
# runs on (0; "0,1": both, beside the load generators' CPU 1), and
# SOAK_NAME names the results (loadtest/results/soak-$SOAK_NAME.json).
#
# With SOAK set, SOAK_ROOMS, SOAK_LISTENERS and SOAK_SPEAKERS change the
# load (default 10 × 50 × 2: half the 1,000 listeners of the largest run
# of docs/performance.md that lost nothing, 1 × 1000 × 1, spread as its
# measured 10 × 50 × 2 row, i.e. about half its packet rate), SOAK_SAMPLE
# the sampling interval (10s) and SOAK_PORT the server's port (18090: HTTP
# and media UDP; TURN and ICE-TCP are off). As in scripts/perf-runs.sh,
# the server runs on CPU 0 and the load generator on CPU 1 when taskset
# is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SOAK:-}" ]; then
	PALABRE_SOAK=2m exec go test -run '^TestSoak$' -count=1 -v -timeout 10m ./loadtest/
fi

idle=${SOAK_IDLE:-0} per=${SOAK_IDLE_PER:-5000}
if [ "$idle" -gt 0 ]; then
	rooms=${SOAK_ROOMS:-10} listeners=${SOAK_LISTENERS:-20} speakers=${SOAK_SPEAKERS:-2}
	out=loadtest/results/soak-${SOAK_NAME:-$SOAK-idle$idle}.json
else
	rooms=${SOAK_ROOMS:-10} listeners=${SOAK_LISTENERS:-50} speakers=${SOAK_SPEAKERS:-2}
	out=loadtest/results/soak-${SOAK_NAME:-$SOAK}.json
fi
sample=${SOAK_SAMPLE:-10s} port=${SOAK_PORT:-18090}
url=http://127.0.0.1:$port
if curl -sf "$url/healthz" >/dev/null 2>&1; then
	echo "soak: something already serves $url; set SOAK_PORT" >&2
	exit 1
fi

work=$(mktemp -d)
pid="" helpers=()
cleanup() {
	for h in "${helpers[@]}"; do kill -INT "$h" 2>/dev/null || true; done
	for h in "${helpers[@]}"; do wait "$h" 2>/dev/null || true; done
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/palabre" ./cmd/palabre

pin0=() pin1=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin0=(taskset -c "${SOAK_SERVER_CPUS:-0}") pin1=(taskset -c 1)
fi
token=()
if [ "$idle" -gt 0 ]; then
	token=(--token "$("$work/palabre" admin token --data "$work/data" 2>/dev/null)")
fi
# shellcheck disable=SC2086 # SOAK_SERVER_ENV and SOAK_SERVER_FLAGS are lists
env GODEBUG=gctrace=1 ${SOAK_SERVER_ENV:-} "${pin0[@]}" "$work/palabre" serve --load-test --data "$work/data" \
	--listen "127.0.0.1:$port" --media-tcp-port 0 --turn=false --log-level warn ${SOAK_SERVER_FLAGS:-} \
	>"$work/server.log" 2>&1 &
pid=$!
tries=0
until curl -sf "$url/healthz" >/dev/null; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "soak: the server did not start:" >&2; cat "$work/server.log" >&2
		exit 1
	fi
	sleep 0.1
done

mkdir -p loadtest/results
extra=()
if [ "$idle" -gt 0 ]; then
	# SOAK in seconds (Ns, Nm or Nh): the helpers' bound, past which they
	# stop by themselves should this script die without stopping them.
	case $SOAK in
	*h) secs=$((${SOAK%h} * 3600)) ;; *m) secs=$((${SOAK%m} * 60)) ;; *s) secs=${SOAK%s} ;;
	*) echo "soak: SOAK_IDLE needs SOAK as Ns, Nm or Nh, not $SOAK" >&2; exit 2 ;;
	esac
	left=$idle n=0
	while [ "$left" -gt "$per" ]; do
		n=$((n + 1))
		echo "soak: load generator $n: $per idle participants"
		"${pin1[@]}" "$work/palabre" loadtest --server "$url" "${token[@]}" --light --rooms 0 \
			--idle "$per" --idle-join-rate 250 --duration "$((secs + 900))s" >"$work/helper-$n.log" 2>&1 &
		helpers+=($!)
		tries=0
		until grep -q "measuring for" "$work/helper-$n.log"; do
			tries=$((tries + 1))
			if [ "$tries" -gt 1200 ] || ! kill -0 "${helpers[-1]}" 2>/dev/null; then
				echo "soak: load generator $n did not join its participants:" >&2; tail -20 "$work/helper-$n.log" >&2
				exit 1
			fi
			sleep 0.5
		done
		left=$((left - per))
	done
	extra=("${token[@]}" --light --idle "$left" --idle-join-rate 250 --gc-watch 1s)
	echo "soak: the measuring load generator: $left idle participants and the rooms"
fi

echo "soak: $rooms rooms × ($speakers speakers + $listeners listeners) + $idle idle for $SOAK, sampled every $sample; server pid $pid"
rc=0
"${pin1[@]}" "$work/palabre" loadtest --server "$url" --server-pid "$pid" "${extra[@]}" \
	--rooms "$rooms" --listeners "$listeners" --speakers "$speakers" --turn 5s --join-rate 100 \
	--duration "$SOAK" --sample "$sample" --assert-flat --json-file "$out" || rc=$?
for i in "${!helpers[@]}"; do
	if ! kill -0 "${helpers[$i]}" 2>/dev/null; then
		echo "soak: load generator $((i + 1)) ended before the measurement did:" >&2
		tail -20 "$work/helper-$((i + 1)).log" >&2
		rc=1
	fi
done
grep '^gc ' "$work/server.log" >"${out%.json}.gctrace" || true
echo "soak: JSON in $out, the server's GC trace in ${out%.json}.gctrace ($(wc -l <"${out%.json}.gctrace") collections)"
exit "$rc"
