#!/usr/bin/env bash
# Soak: a bounded load held for a long time, the server sampled every 10 s
# and judged flat (docs/performance.md, "Soak").
#
#   scripts/soak.sh            the 2-minute soak of the test suite (TestSoak:
#                              an in-process server, 5 rooms × 2 speakers ×
#                              10 listeners); what .ci/run calls
#   SOAK=30m scripts/soak.sh   a separate server process (palabre serve
#                              --load-test) and palabre loadtest for 30
#                              minutes at half the measured capacity; the
#                              JSON lands in loadtest/results/soak-30m.json
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

rooms=${SOAK_ROOMS:-10} listeners=${SOAK_LISTENERS:-50} speakers=${SOAK_SPEAKERS:-2}
sample=${SOAK_SAMPLE:-10s} port=${SOAK_PORT:-18090}
url=http://127.0.0.1:$port
out=loadtest/results/soak-$SOAK.json
if curl -sf "$url/healthz" >/dev/null 2>&1; then
	echo "soak: something already serves $url; set SOAK_PORT" >&2
	exit 1
fi

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/palabre" ./cmd/palabre

pin0=() pin1=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin0=(taskset -c 0) pin1=(taskset -c 1)
fi
"${pin0[@]}" "$work/palabre" serve --load-test --data "$work/data" --listen "127.0.0.1:$port" \
	--media-tcp-port 0 --turn=false --log-level warn >"$work/server.log" 2>&1 &
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

echo "soak: $rooms rooms × ($speakers speakers + $listeners listeners) for $SOAK, sampled every $sample; server pid $pid"
mkdir -p loadtest/results
rc=0
"${pin1[@]}" "$work/palabre" loadtest --server "$url" --server-pid "$pid" \
	--rooms "$rooms" --listeners "$listeners" --speakers "$speakers" --turn 5s --join-rate 100 \
	--duration "$SOAK" --sample "$sample" --assert-flat --json-file "$out" || rc=$?
echo "soak: JSON in $out"
exit "$rc"
