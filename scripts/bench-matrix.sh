#!/usr/bin/env bash
# Runs the reference benchmark matrix (shared/reference-bench.md) against a
# fresh demo server per run and prints medians of 3 runs as a Markdown
# table. Usage: scripts/bench-matrix.sh [duration]   (default 10s)
# Loopback only; every run is bounded by the duration.
# BENCH_SERVER=echo measures the calibration server (live echo, the "Go echo
# ceiling" of reference-bench.md) instead of the demo, on the rows it can
# serve (no rooms, no churn).
# BENCH_CHURN=1 adds the issue-9 table (fan-out send-queue high-water, and
# 60,000 connect+mount+close cycles: about 7 minutes per run, most of it
# waiting for the idle server's own GCs).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/live" ./cmd/live
. scripts/bench-lib.sh
port=19300

run() { # label, bench args...
	local label=$1; shift
	local results=()
	local fmt=${FMT:-matrix}
	for i in 1 2 3; do
		port=$((port + 1))
		results+=("$(bench_once "${BENCH_SERVER:-demo}" $port "$@")")
	done
	printf '%s\n' "${results[@]}" | python3 -c '
import json, sys, statistics as st
rs = [json.loads(l) for l in sys.stdin if l.strip()]
med = lambda k: st.median([r.get(k, 0) for r in rs])
label, fmt = sys.argv[1], sys.argv[2]
errs = sum(r["errors"] for r in rs)
if fmt == "churn":
    print("| %s | %.0f | %.2f | %.0f / %.0f / %.0f | %.3f | %.0f | %d / %d / %d | %.3f | %d |" % (label, med("ops_per_sec"), med("p99_ms"),
          med("rss_baseline_kib"), med("rss_peak_kib"), med("rss_final_kib"), med("rss_ratio"), med("retained_bytes_per_cycle"),
          med("goroutines_baseline"), med("goroutines_peak"), med("goroutines_final"), med("goroutines_ratio"), errs))
elif fmt == "queue":
    print("| %s | %.0f | %.2f | %.2f | %.0f | %d |" % (label, med("ops_per_sec"), med("p50_ms"), med("p99_ms"), med("queue_max_bytes"), errs))
else:
    print("| %s | %.0f | %.2f | %.2f | %.1f | %.2f | %.1f | %d |" % (label, med("ops_per_sec"), med("p50_ms"), med("p99_ms"),
          med("server_cpu_us_per_op"), med("server_cpu_us_per_delivery"), med("rss_per_client_kib"), errs))
' "$label" "$fmt"
}

# BENCH_ONLY=substring limits the matrix to matching rows.
only=${BENCH_ONLY:-}
row() { # label, bench args...
	if [ "${BENCH_SERVER:-demo}" = echo ] && [[ "$1" == *SharedCounter* ]]; then return; fi
	if [ -z "$only" ] || [[ "$1" == *"$only"* ]]; then run "$@"; fi
}

echo "| scenario | ops/s | p50 ms | p99 ms | server CPU µs/op | µs/delivery | RSS KiB/client | errors |"
echo "|---|---|---|---|---|---|---|---|"
row "mount, N=1" -scenario mount -clients 1
row "mount, N=100" -scenario mount -clients 100
row "mount, N=1000" -scenario mount -clients 1000
row "mount into one room (SharedCounter), N=1000" -scenario mount -clients 1000 -component SharedCounter
row "actions, N=1" -scenario actions -clients 1
row "actions, N=100" -scenario actions -clients 100
row "actions, N=1000" -scenario actions -clients 1000
row "fanout SingletonCounter, N=100, S=10" -scenario fanout -clients 100 -senders 10 -component SingletonCounter
row "fanout SingletonCounter, N=1000, S=10" -scenario fanout -clients 1000 -senders 10 -component SingletonCounter
row "fanout SharedCounter (room), N=100, S=10" -scenario fanout -clients 100 -senders 10 -component SharedCounter
row "fanout SharedCounter (room), N=1000, S=10" -scenario fanout -clients 1000 -senders 10 -component SharedCounter
row "idle, N=1000" -scenario idle -clients 1000
row "idle, N=10000" -scenario idle -clients 10000

if [ "${BENCH_CHURN:-}" = 1 ] && [ "${BENCH_SERVER:-demo}" != echo ]; then
	echo
	echo "| fan-out | actions/s | p50 ms | p99 ms | send queue high-water, bytes | errors |"
	echo "|---|---|---|---|---|---|"
	FMT=queue run "fanout SingletonCounter, N=1000, S=10" -scenario fanout -clients 1000 -senders 10 -component SingletonCounter
	echo
	echo "| churn | cycles/s | p99 ms | RSS KiB baseline / peak / final | RSS ratio | retained B/cycle | goroutines baseline / peak / final | goroutine ratio | errors |"
	echo "|---|---|---|---|---|---|---|---|---|"
	FMT=churn run "60,000 cycles, 50 in flight" -scenario churn -cycles 60000 -clients 50
fi
