#!/usr/bin/env bash
# bench_latency.sh (make bench-latency): latency versus load, two curves,
# each on the Linux kernel (loopback) and on netfuse (server and client
# both under libhook.so over a net_memif pair; see bench/sides.sh):
#  - pingpong: the unmodified pingpong binary, 1-byte requests over 32
#    connections (one client thread, at most one request in flight per
#    connection, as bench-pingpong), one server/client pair per rate step
#    from 20 K/s to past the kernel's saturation;
#  - memcached: Debian's memcached -t 1 driven by mcload with
#    bench-memcached's workload (90% get, 8-byte keys and values, 1 M keys,
#    Zipf 0.99), 32 connections; one server per side for all its steps,
#    preloaded by the first step's mcload, the later steps --no-preload.
# Both clients run open loop (-r: requests due as a Poisson process,
# latency counted from when each was due, so queueing in the client
# counts), LAT_DURATION s per step after 1 s of warm-up (which starts once
# every connection is up: apps/app_common.h, app_wait_ready).
#
# Writes bench/results/latency.csv (pingpong) and
# bench/results/latency_memcached.csv, columns side,target_rps,rps,p50_us,
# p90_us,p99_us,p999_us,unsent,due,setup_s (due: requests that fell due in
# the measured window; setup_s: seconds the client took to connect), one
# row per step, and ends with
#   RESULT bench-latency kernel_max_rps=.. netfuse_max_rps=.. ratio=..
#          kernel_p99_us_at_max=.. netfuse_p99_us_at_max=.. ...
#          mc_kernel_max_rps=.. mc_netfuse_max_rps=.. mc_ratio=.. ...
# where *_max_rps is the highest step whose p99 is under LAT_P99_US (1000)
# and which delivered at least 95% of its rate (0: no step did), *_peak_rps
# the most any step delivered, *_max_rps_p50 as *_max_rps with p50 in place
# of p99 (on a shared VM, p99 at low load is often wake-up latency of an
# idle vCPU, not the stack); mc_* the same for memcached.
#
# Environment: LAT_RATES, LAT_MC_RATES (requests/s, space separated; empty
# LAT_MC_RATES skips memcached), LAT_DURATION (s per step, default 3),
# LAT_CONNS (32), plus bench/sides.sh's.
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/latency.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
RATES=${LAT_RATES:-20000 40000 60000 80000 120000 160000 240000 320000}
MC_RATES=${LAT_MC_RATES-10000 20000 40000 60000 80000 100000 120000}
# shellcheck disable=SC2034 # used by sides.sh
DURATION=${LAT_DURATION:-3}
CONNS=${LAT_CONNS:-32}
LIMIT=${LAT_P99_US:-1000}
HEADER="side,target_rps,rps,p50_us,p90_us,p99_us,p999_us,unsent,due,setup_s"
declare -A MAX MAXP PEAK MAX50

# record CURVE SIDE RATE LINE CSV: one step's summary line into CSV and
# the running maxima (keys CURVE/SIDE)
record() {
	local k=$1/$2 rate=$3 line=$4 csv=$5 rps p99 p50
	rps=$(field "$line" rps); p99=$(field "$line" p99_us); p50=$(field "$line" p50_us)
	echo "$1 $2 $rate/s: $line"
	[ -n "$rps" ] || return 0
	echo "$2,$rate,$rps,$p50,$(field "$line" p90_us),$p99,$(field "$line" p999_us),$(field "$line" unsent),$(field "$line" due),$(field "$line" setup_s)" >>"$csv"
	PEAK[$k]=$(awk -v a="${PEAK[$k]}" -v b="$rps" 'BEGIN { print (b > a ? b : a) }')
	awk -v r="$rps" -v t="$rate" -v p="$p50" -v l="$LIMIT" \
		'BEGIN { exit !(r >= 0.95 * t && p < l) }' && MAX50[$k]=$rate
	if awk -v r="$rps" -v t="$rate" -v p="$p99" -v l="$LIMIT" \
		'BEGIN { exit !(r >= 0.95 * t && p < l) }'; then
		MAX[$k]=$rate; MAXP[$k]=$p99
	fi
}

# mc_curve SIDE: one memcached for all of MC_RATES on SIDE
mc_curve() {
	local side=$1 port log pre=() line rate
	port=$(free_port)
	log=$SIDES_TMP/mc-lat-$side.log
	start_server "$side" "$log" memcached -u root -U 0 -t 1 -l 0.0.0.0 -p "$port" $MC_OPTS
	if ! wait_port "$port"; then
		echo "FAILED memcached ($side): $(tail -3 "$log")"; stop_server; return 1
	fi
	for rate in $MC_RATES; do
		line=$(run_client "$side" "$MCL" -a "$(server_addr "$side")" -p "$port" \
			-c "$CONNS" -d "$DURATION" -w "$WARMUP" -r "$rate" "${pre[@]}" 2>&1 | summary)
		record memcached "$side" "$rate" "$line" "$RESULTS/latency_memcached.csv"
		pre=(--no-preload)   # the server keeps the keys of the first step
	done
	stop_server
}

echo "$HEADER" >"$RESULTS/latency.csv"
echo "$HEADER" >"$RESULTS/latency_memcached.csv"
for curve in pingpong memcached; do
	for side in kernel netfuse; do
		k=$curve/$side
		MAX[$k]=0; MAXP[$k]=0; PEAK[$k]=0; MAX50[$k]=0
		if [ "$curve" = pingpong ]; then
			for rate in $RATES; do
				record pingpong "$side" "$rate" "$(pingpong_side "$side" "$CONNS" -r "$rate")" \
					"$RESULTS/latency.csv"
			done
		elif [ -n "$MC_RATES" ]; then
			mc_curve "$side"
		fi
	done
done
echo
echo "| curve | side | highest rate with p99 < $LIMIT us | p99 us there | most delivered |"
echo "|---|---|---|---|---|"
for k in pingpong/kernel pingpong/netfuse memcached/kernel memcached/netfuse; do
	echo "| ${k%/*} | ${k#*/} | ${MAX[$k]} | ${MAXP[$k]} | ${PEAK[$k]} |"
done
p=pingpong m=memcached
echo "RESULT bench-latency kernel_max_rps=${MAX[$p/kernel]} netfuse_max_rps=${MAX[$p/netfuse]}" \
     "ratio=$(ratio "${MAX[$p/netfuse]}" "${MAX[$p/kernel]}") kernel_p99_us_at_max=${MAXP[$p/kernel]}" \
     "netfuse_p99_us_at_max=${MAXP[$p/netfuse]} p99_limit_us=$LIMIT" \
     "kernel_peak_rps=${PEAK[$p/kernel]} netfuse_peak_rps=${PEAK[$p/netfuse]}" \
     "kernel_max_rps_p50=${MAX50[$p/kernel]} netfuse_max_rps_p50=${MAX50[$p/netfuse]}" \
     "mc_kernel_max_rps=${MAX[$m/kernel]} mc_netfuse_max_rps=${MAX[$m/netfuse]}" \
     "mc_ratio=$(ratio "${MAX[$m/netfuse]}" "${MAX[$m/kernel]}")" \
     "mc_kernel_p99_us_at_max=${MAXP[$m/kernel]} mc_netfuse_p99_us_at_max=${MAXP[$m/netfuse]}" \
     "mc_kernel_peak_rps=${PEAK[$m/kernel]} mc_netfuse_peak_rps=${PEAK[$m/netfuse]}" \
     "mc_kernel_max_rps_p50=${MAX50[$m/kernel]} mc_netfuse_max_rps_p50=${MAX50[$m/netfuse]}"
[ "$(wc -l <"$RESULTS/latency.csv")" -gt 1 ] &&
	{ [ -z "$MC_RATES" ] || [ "$(wc -l <"$RESULTS/latency_memcached.csv")" -gt 1 ]; }
