#!/usr/bin/env bash
# bench_latency.sh (make bench-latency): latency versus load. The unmodified
# pingpong binary, 1-byte requests over 32 connections (one client thread,
# at most one request in flight per connection, as bench-pingpong), driven
# open loop (-r: requests due as a Poisson process, latency counted from
# when each was due, so queueing in the client counts) at rate steps from
# 20 K/s to past the kernel's saturation, on the Linux kernel (loopback)
# and on netfuse (both under libhook.so over a net_memif pair). See
# bench/sides.sh for how each side runs.
#
# Writes bench/results/latency.csv (side,target_rps,rps,p50_us,p90_us,
# p99_us,p999_us,unsent), one row per step, and ends with
#   RESULT bench-latency kernel_max_rps=.. netfuse_max_rps=.. ratio=..
#          kernel_p99_us_at_max=.. netfuse_p99_us_at_max=..
# where *_max_rps is the highest step whose p99 is under LAT_P99_US (1000)
# and which delivered at least 95% of its rate (0: no step did), and
# *_peak_rps the most any step delivered, *_max_rps_p50 as *_max_rps with
# p50 in place of p99 (on a shared VM, p99 at low load is often wake-up
# latency of an idle vCPU, not the stack).
#
# Environment: LAT_RATES (requests/s, space separated), LAT_DURATION (s per
# step, default 3), LAT_CONNS (32), plus bench/sides.sh's.
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/latency.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
RATES=${LAT_RATES:-20000 40000 60000 80000 120000 160000 240000 320000}
# shellcheck disable=SC2034 # used by sides.sh
DURATION=${LAT_DURATION:-3}
CONNS=${LAT_CONNS:-32}
LIMIT=${LAT_P99_US:-1000}
csv=$RESULTS/latency.csv
echo "side,target_rps,rps,p50_us,p90_us,p99_us,p999_us,unsent" >"$csv"
declare -A MAX MAXP PEAK MAX50
for side in kernel netfuse; do
	MAX[$side]=0; MAXP[$side]=0; PEAK[$side]=0; MAX50[$side]=0
	for rate in $RATES; do
		line=$(pingpong_side "$side" "$CONNS" -r "$rate")
		rps=$(field "$line" rps); p99=$(field "$line" p99_us)
		echo "$side $rate/s: $line"
		[ -n "$rps" ] || continue
		echo "$side,$rate,$rps,$(field "$line" p50_us),$(field "$line" p90_us),$p99,$(field "$line" p999_us),$(field "$line" unsent)" >>"$csv"
		PEAK[$side]=$(awk -v a="${PEAK[$side]}" -v b="$rps" 'BEGIN { print (b > a ? b : a) }')
		awk -v r="$rps" -v t="$rate" -v p="$(field "$line" p50_us)" -v l="$LIMIT" \
			'BEGIN { exit !(r >= 0.95 * t && p < l) }' && MAX50[$side]=$rate
		if awk -v r="$rps" -v t="$rate" -v p="$p99" -v l="$LIMIT" \
			'BEGIN { exit !(r >= 0.95 * t && p < l) }'; then
			MAX[$side]=$rate; MAXP[$side]=$p99
		fi
	done
done
echo
echo "| side | highest rate with p99 < $LIMIT us | p99 us there |"
echo "|---|---|---|"
for side in kernel netfuse; do echo "| $side | ${MAX[$side]} | ${MAXP[$side]} |"; done
echo "RESULT bench-latency kernel_max_rps=${MAX[kernel]} netfuse_max_rps=${MAX[netfuse]}" \
     "ratio=$(ratio "${MAX[netfuse]}" "${MAX[kernel]}") kernel_p99_us_at_max=${MAXP[kernel]}" \
     "netfuse_p99_us_at_max=${MAXP[netfuse]} p99_limit_us=$LIMIT" \
     "kernel_peak_rps=${PEAK[kernel]} netfuse_peak_rps=${PEAK[netfuse]}" \
     "kernel_max_rps_p50=${MAX50[kernel]} netfuse_max_rps_p50=${MAX50[netfuse]}"
[ "$(wc -l <"$csv")" -gt 1 ]
