#!/usr/bin/env bash
# bench_pingpong.sh (make bench-pingpong): 1-byte ping-pong, the unmodified
# pingpong binary on the Linux kernel (loopback) and on netfuse (both ends
# under libhook.so over a net_memif pair), 1 and 32 connections, one run.
# See bench/sides.sh for how each side runs. Writes bench/results/pingpong.csv
# and, for 32 connections, the latency CDF of each side as
# bench/results/cdf_pingpong_{kernel,netfuse}.csv (latency_us,fraction).
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/pingpong.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
csv=$RESULTS/pingpong.csv
echo "side,conns,rps,p50_us,p99_us" >"$csv"
declare -A R P
for conns in 1 32; do
	for side in kernel netfuse; do
		cdf=()
		[ "$conns" = 32 ] && cdf=(--cdf "$RESULTS/cdf_pingpong_$side.csv")
		line=$(pingpong_side "$side" "$conns" "${cdf[@]}")
		echo "$side $conns: $line"
		R[$side$conns]=$(field "$line" rps); P[$side$conns]=$(field "$line" p99_us)
		echo "$side,$conns,${R[$side$conns]},$(field "$line" p50_us),${P[$side$conns]}" >>"$csv"
	done
done
# an extra row, never the headline: netfuse tuned (a 1 ms spin)
line=$(NF_EXTRA_ENV="NETFUSE_SPIN_US=1000" pingpong_side netfuse 32)
echo "netfuse-tuned 32 (NETFUSE_SPIN_US=1000): $line"
R[tuned32]=$(field "$line" rps); P[tuned32]=$(field "$line" p99_us)
echo "netfuse_spin1000,32,${R[tuned32]},$(field "$line" p50_us),${P[tuned32]}" >>"$csv"
echo
echo "| connections | kernel req/s | netfuse req/s | netfuse/kernel | kernel p99 us | netfuse p99 us |"
echo "|---|---|---|---|---|---|"
for conns in 1 32; do
	echo "| $conns | ${R[kernel$conns]:-0} | ${R[netfuse$conns]:-0} | $(ratio "${R[netfuse$conns]:-0}" "${R[kernel$conns]:-0}") | ${P[kernel$conns]:-0} | ${P[netfuse$conns]:-0} |"
done
echo "| 32, netfuse with NETFUSE_SPIN_US=1000 (extra row) | ${R[kernel32]:-0} | ${R[tuned32]:-0} | $(ratio "${R[tuned32]:-0}" "${R[kernel32]:-0}") | ${P[kernel32]:-0} | ${P[tuned32]:-0} |"
echo "RESULT bench-pingpong kernel_rps=${R[kernel32]:-0} netfuse_rps=${R[netfuse32]:-0}" \
     "ratio=$(ratio "${R[netfuse32]:-0}" "${R[kernel32]:-0}") kernel_p99_us=${P[kernel32]:-0}" \
     "netfuse_p99_us=${P[netfuse32]:-0} kernel1_rps=${R[kernel1]:-0} netfuse1_rps=${R[netfuse1]:-0}" \
     "tuned_spin1000_rps=${R[tuned32]:-0}"
[ -n "${R[netfuse32]:-}" ] && [ -n "${R[kernel32]:-}" ]
