#!/usr/bin/env bash
# bench_pingpong.sh (make bench-pingpong): 1-byte ping-pong, the unmodified
# pingpong binary on the Linux kernel (loopback) and on netfuse (both ends
# under libhook.so over a net_memif pair), 1 and 32 connections, one run.
# See bench/sides.sh for how each side runs.
set -u
. "$(dirname "$0")/sides.sh"
csv=$RESULTS/pingpong.csv
echo "side,conns,rps,p50_us,p99_us" >"$csv"
declare -A R P
for conns in 1 32; do
	for side in kernel netfuse; do
		line=$(pingpong_side "$side" "$conns")
		echo "$side $conns: $line"
		R[$side$conns]=$(field "$line" rps); P[$side$conns]=$(field "$line" p99_us)
		echo "$side,$conns,${R[$side$conns]},$(field "$line" p50_us),${P[$side$conns]}" >>"$csv"
	done
done
echo
echo "| connections | kernel req/s | netfuse req/s | netfuse/kernel | kernel p99 us | netfuse p99 us |"
echo "|---|---|---|---|---|---|"
for conns in 1 32; do
	echo "| $conns | ${R[kernel$conns]:-0} | ${R[netfuse$conns]:-0} | $(ratio "${R[netfuse$conns]:-0}" "${R[kernel$conns]:-0}") | ${P[kernel$conns]:-0} | ${P[netfuse$conns]:-0} |"
done
echo "RESULT bench-pingpong kernel_rps=${R[kernel32]:-0} netfuse_rps=${R[netfuse32]:-0}" \
     "ratio=$(ratio "${R[netfuse32]:-0}" "${R[kernel32]:-0}") kernel_p99_us=${P[kernel32]:-0}" \
     "netfuse_p99_us=${P[netfuse32]:-0} kernel1_rps=${R[kernel1]:-0} netfuse1_rps=${R[netfuse1]:-0}"
[ -n "${R[netfuse32]:-}" ] && [ -n "${R[kernel32]:-}" ]
