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
# Then CPU efficiency (issue 14): netfuse's closed-loop pingpong peak P
# (32 connections), then open-loop pingpong at 10%, 50% and 100% of P on
# each side, with the CPU time of the server's and the client's process
# trees (utime + stime from /proc/PID/stat, every thread) over the
# measured window; bench/results/cpu.csv (side,pct,target_rps,rps,
# server_cpu,client_cpu,server_us_per_req,total_us_per_req) and RESULT
# keys cpu10_* .. cpu100_* (requests per CPU-second, both sides' CPU).
# pingpong's open-loop client polls with epoll_wait(0) between due
# requests on both sides, so its CPU is near 1 core on each and the
# server's column is the one that tells the stacks apart.
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
declare -A MAX MAXP PEAK MAX50 CPUS

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
# tree_cpu PID: CPU seconds (utime + stime) of PID and its descendants
tree_cpu() {
	local p kids t=0
	for p in $(tree_pids "$1"); do
		t=$(awk -v t="$t" -v tck="$(getconf CLK_TCK)" \
			'{ sub(/^.*\) /, ""); print t + ($12 + $13) / tck }' \
			"/proc/$p/stat" 2>/dev/null || echo "$t")
	done
	echo "$t"
}
tree_pids() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

# cpu_step SIDE RATE: open-loop pingpong at RATE; prints
# "rps server_cpu client_cpu" (CPU in cores over the window)
cpu_step() {
	local side=$1 rate=$2 port log out s0 s1 c0 c1 t0 t1 cli rps
	port=$(free_port)
	log=$SIDES_TMP/cpu-$side-$rate.log
	out=$SIDES_TMP/cpu-$side-$rate.out
	start_server "$side" "$log" "$PP" server -a 0.0.0.0 -p "$port"
	if ! wait_listen "$log" "listening"; then
		echo "0 0 0"; stop_server; return 1
	fi
	run_client "$side" "$PP" client -a "$(server_addr "$side")" -p "$port" \
		-c "$CONNS" -s 1 -d "$CPU_DURATION" -w 2 -r "$rate" >"$out" 2>&1 &
	cli=$!
	sleep 2.5          # connections up (netfuse: ~0.2 s) and warm-up
	t0=$(date +%s.%N); s0=$(tree_cpu "$SIDES_SERVER"); c0=$(tree_cpu "$cli")
	sleep $((CPU_DURATION - 2))   # ends before the client does
	t1=$(date +%s.%N); s1=$(tree_cpu "$SIDES_SERVER"); c1=$(tree_cpu "$cli")
	wait "$cli"
	stop_server
	rps=$(grep -o " rps=[0-9.]*" "$out" | head -1 | cut -d= -f2)
	awk -v r="${rps:-0}" -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" \
		-v t0="$t0" -v t1="$t1" 'BEGIN { d = t1 - t0; if (d <= 0) d = 1
		printf "%s %.3f %.3f\n", r, (s1 - s0) / d, (c1 - c0) / d }'
}

CPU_DURATION=${LAT_CPU_DURATION:-5}
declare -A CPUR
echo "side,pct,target_rps,rps,server_cpu,client_cpu,server_us_per_req,total_us_per_req" \
	>"$RESULTS/cpu.csv"
peak_line=$(pingpong_side netfuse "$CONNS")
CPU_PEAK=$(field "$peak_line" rps); CPU_PEAK=${CPU_PEAK%.*}
echo "cpu: netfuse closed-loop peak ${CPU_PEAK:-0} req/s"
for pct in 10 50 100; do
	rate=$(( ${CPU_PEAK:-0} * pct / 100 ))
	[ "$rate" -gt 0 ] || continue
	for side in kernel netfuse; do
		read -r rps scpu ccpu < <(cpu_step "$side" "$rate")
		line=$(awk -v r="$rps" -v s="$scpu" -v c="$ccpu" 'BEGIN {
			if (r > 0) printf "%.2f,%.2f,%.0f", s * 1e6 / r, (s + c) * 1e6 / r, r / (s + c)
			else print "0,0,0" }')
		echo "cpu $side $pct% ($rate/s): delivered $rps req/s, server $scpu CPU, client $ccpu CPU (us/req server,total; req per CPU-s: $line)"
		echo "$side,$pct,$rate,$rps,$scpu,$ccpu,${line%,*}" >>"$RESULTS/cpu.csv"
		CPUR[$side$pct]=${line##*,}
		CPUS[$side$pct]=$(echo "$line" | cut -d, -f1)
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
     "mc_kernel_max_rps_p50=${MAX50[$m/kernel]} mc_netfuse_max_rps_p50=${MAX50[$m/netfuse]}" \
     "cpu_peak_rps=${CPU_PEAK:-0}" \
     "cpu10_kernel_rpcs=${CPUR[kernel10]:-0} cpu10_netfuse_rpcs=${CPUR[netfuse10]:-0}" \
     "cpu10_kernel_srv_us=${CPUS[kernel10]:-0} cpu10_netfuse_srv_us=${CPUS[netfuse10]:-0}" \
     "cpu50_kernel_rpcs=${CPUR[kernel50]:-0} cpu50_netfuse_rpcs=${CPUR[netfuse50]:-0}" \
     "cpu50_kernel_srv_us=${CPUS[kernel50]:-0} cpu50_netfuse_srv_us=${CPUS[netfuse50]:-0}" \
     "cpu100_kernel_rpcs=${CPUR[kernel100]:-0} cpu100_netfuse_rpcs=${CPUR[netfuse100]:-0}" \
     "cpu100_kernel_srv_us=${CPUS[kernel100]:-0} cpu100_netfuse_srv_us=${CPUS[netfuse100]:-0}"
[ "$(wc -l <"$RESULTS/latency.csv")" -gt 1 ] &&
	{ [ -z "$MC_RATES" ] || [ "$(wc -l <"$RESULTS/latency_memcached.csv")" -gt 1 ]; }
