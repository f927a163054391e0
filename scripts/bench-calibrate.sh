#!/usr/bin/env bash
# Measures one live bench scenario against a fresh demo and a fresh echo
# ceiling server (live echo) in alternation, five pairs, and prints each
# pair's figures and their ratio, then the median ratio. Alternating keeps
# both sides of a ratio inside the same minute, which matters on machines
# whose speed drifts (see docs/benchmarks.md).
# Usage: scripts/bench-calibrate.sh METRIC bench-args...
#   METRIC: a key of the -json result, e.g. server_cpu_us_per_op or
#   server_cpu_us_per_delivery.
# Example: scripts/bench-calibrate.sh server_cpu_us_per_op -scenario actions -clients 100
# Loopback only; every run lasts BENCH_DURATION (default 6s).
set -euo pipefail
cd "$(dirname "$0")/.."
metric=${1:?usage: $0 METRIC bench-args...}
shift
dur=${BENCH_DURATION:-6s}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/live" ./cmd/live
. scripts/bench-lib.sh
port=19400

measure() { # server-kind, bench args...
	local kind=$1
	shift
	port=$((port + 1))
	bench_once "$kind" $port "$@" | python3 -c "import json, sys; print('%.2f' % json.loads(sys.stdin.read())['$metric'])"
}

ratios=()
for i in 1 2 3 4 5; do
	d=$(measure demo "$@")
	e=$(measure echo "$@")
	r=$(python3 -c "print('%.3f' % ($d / $e))")
	ratios+=("$r")
	echo "pair $i: live-go $d, echo $e, ratio $r"
done
printf '%s\n' "${ratios[@]}" | python3 -c 'import sys, statistics; print("median ratio %.3f" % statistics.median(float(l) for l in sys.stdin))'
