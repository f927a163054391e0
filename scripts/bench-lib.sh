# Shared by the benchmark scripts (sourced, not run). Needs $bin (a
# directory holding the built live binary) and $dur (the window of each run).

# bench_once KIND PORT bench-args...: starts a fresh server of KIND (demo,
# or echo: the calibration server) on 127.0.0.1:PORT, runs live bench
# against it, prints the -json result line, and stops the server.
bench_once() {
	local kind=$1 port=$2
	shift 2
	if [ "$kind" = echo ]; then
		"$bin/live" echo -addr 127.0.0.1:$port >/dev/null 2>&1 &
	else
		LIVE_STATE_SECRET=bench-secret-bench-secret-bench-secret "$bin/live" demo -rate-limit -1 -addr 127.0.0.1:$port >/dev/null 2>&1 &
	fi
	local pid=$!
	for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
	timeout 900 "$bin/live" bench -url ws://127.0.0.1:$port/api/live/ws -pid $pid -json -duration "$dur" "$@" 2>/dev/null | tail -1
	kill $pid
	wait $pid 2>/dev/null || true
}
