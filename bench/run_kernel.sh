#!/usr/bin/env bash
# bench/run_kernel.sh: the Linux-kernel half of the side-by-side benchmark.
#
# Runs the unmodified workloads on the kernel's loopback TCP, server pinned
# to SERVER_CPU and client to CLIENT_CPU (taskset):
#   pingpong, 1-byte payload, 1 and 32 connections (one client thread);
#   Debian's memcached -t 1 driven by mcload's default workload (90% get,
#   8-byte keys and values, 1 M keys, Zipf 0.99, preloaded) over 1 and 32
#   connections. memcached gets MC_OPTS (default: -m 1024 -o hashpower=21,
#   room for all keys and a hash table presized for 1 M items: without it
#   memcached grows its table in a background thread during the first
#   measurement, on the same pinned core, and the numbers swing 3x); the
#   netfuse side must use the same options.
# Writes bench/results/kernel.csv (columns: stack,test, then
# `pingpong --csv-header`), prints a table, and ends with
#   RESULT bench-kernel pp1_rps=.. pp32_rps=.. pp32_p99_us=.. mc1_rps=..
#          mc32_rps=.. mc32_p99_us=..
# (the netfuse half is added next to this later.)
#
# Environment: B (build dir, default build), DURATION (s, default 5),
# WARMUP (s, default 1), SERVER_CPU (0), CLIENT_CPU (1), RESULTS (dir),
# MC_OPTS (extra memcached options, see above).
# Needs memcached (apt-get install memcached). Everything it starts is
# stopped on exit, also on Ctrl-C.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PP=$BDIR/apps/pingpong
MCL=$BDIR/apps/mcload
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
SCPU=${SERVER_CPU:-0}
CCPU=${CLIENT_CPU:-1}
RESULTS=${RESULTS:-$ROOT/bench/results}
MC_OPTS=${MC_OPTS:--m 1024 -o hashpower=21}
CSV=$RESULTS/kernel.csv
TMP=$(mktemp -d /tmp/bench_kernel.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run_kernel: $*" >&2; exit 1; }

for bin in "$PP" "$MCL"; do
	[ -x "$bin" ] || die "$bin not built (make $B/apps/$(basename "$bin"))"
done
command -v memcached >/dev/null || die "memcached missing (apt-get install memcached)"
command -v taskset >/dev/null || die "taskset missing (util-linux)"
ncpu=$(nproc)
[ "$SCPU" -lt "$ncpu" ] && [ "$CCPU" -lt "$ncpu" ] ||
	die "SERVER_CPU=$SCPU / CLIENT_CPU=$CCPU: this machine has $ncpu CPUs"
mkdir -p "$RESULTS"

load0=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load0" 'BEGIN { exit !(l > 0.5) }'; then
	echo "run_kernel: warning: load average $load0 before the run: other processes" \
		"share these CPUs, the numbers will be low and noisy" >&2
fi
HDR=$("$PP" --csv-header)
echo "stack,test,$HDR" >"$CSV"

field() {   # field <csv-line> <name>
	awk -F, -v h="$HDR" -v name="$2" 'BEGIN { n = split(h, k, ",") }
		{ for (i = 1; i <= n; i++) if (k[i] == name) print $i }' <<<"$1"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

declare -A R   # test -> CSV line
failed=0

run_client() {   # run_client <test> <command...>: one CSV line into R and the file
	local test=$1
	shift
	echo "run_kernel: $test: $*" >&2
	local line
	line=$(timeout $((DURATION + WARMUP + 120)) taskset -c "$CCPU" "$@" --csv 2>"$TMP/$test.err" | tail -1)
	local rc=${PIPESTATUS[0]}
	sed "s/^/run_kernel: $test: /" "$TMP/$test.err" >&2
	if [ -z "$line" ] || [ "$rc" != 0 ]; then
		echo "run_kernel: $test FAILED (exit $rc)" >&2
		failed=1
	fi
	[ -n "$line" ] && echo "kernel,$test,$line" >>"$CSV"
	R[$test]=$line
}

# ---- pingpong ----------------------------------------------------------
taskset -c "$SCPU" "$PP" server -a 127.0.0.1 -p 0 -t 1 >"$TMP/pps.out" 2>&1 &
PIDS+=($!)
port=
for _ in $(seq 50); do
	port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/pps.out")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || die "pingpong server did not start: $(cat "$TMP/pps.out")"
for c in 1 32; do
	run_client "pingpong_c$c" "$PP" client -a 127.0.0.1 -p "$port" -c "$c" -s 1 \
		-d "$DURATION" -w "$WARMUP"
done

# ---- memcached ---------------------------------------------------------
user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
mport=
for _ in 1 2 3; do
	p=$(free_port)
	# shellcheck disable=SC2086 # MC_OPTS is a list of options
	taskset -c "$SCPU" memcached "${user[@]}" -l 127.0.0.1 -p "$p" -U 0 -t 1 $MC_OPTS \
		>"$TMP/mc.log" 2>&1 &
	mpid=$!
	PIDS+=($mpid)
	for _ in $(seq 50); do
		port_open "$p" && { mport=$p; break; }
		kill -0 "$mpid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$mport" ] && break
done
[ -n "$mport" ] || die "memcached did not start: $(cat "$TMP/mc.log")"
echo "run_kernel: $(memcached -V) on 127.0.0.1:$mport, -t 1 $MC_OPTS, cpu $SCPU" >&2
for c in 1 32; do
	run_client "memcached_c$c" "$MCL" -a 127.0.0.1 -p "$mport" -c "$c" \
		-d "$DURATION" -w "$WARMUP"
done

# ---- report ------------------------------------------------------------
echo
printf '%-16s %6s %12s %10s %10s %10s %10s %8s\n' test conns rps p50_us p99_us \
	p999_us mean_us errors
for t in pingpong_c1 pingpong_c32 memcached_c1 memcached_c32; do
	l=${R[$t]:-}
	[ -n "$l" ] || { printf '%-16s (failed)\n' "$t"; continue; }
	printf '%-16s %6s %12s %10s %10s %10s %10s %8s\n' "$t" "$(field "$l" conns)" \
		"$(field "$l" rps)" "$(field "$l" p50_us)" "$(field "$l" p99_us)" \
		"$(field "$l" p999_us)" "$(field "$l" mean_us)" "$(field "$l" errors)"
done
echo "CSV: $CSV"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r); server cpu $SCPU, client cpu $CCPU; load average before/after: $load0/$(cut -d' ' -f1 /proc/loadavg)"
get() { local l=${R[$1]:-}; [ -n "$l" ] && field "$l" "$2" || echo 0; }
echo "RESULT bench-kernel pp1_rps=$(get pingpong_c1 rps) pp32_rps=$(get pingpong_c32 rps)" \
	"pp32_p99_us=$(get pingpong_c32 p99_us) mc1_rps=$(get memcached_c1 rps)" \
	"mc32_rps=$(get memcached_c32 rps) mc32_p99_us=$(get memcached_c32 p99_us)"
exit $failed
