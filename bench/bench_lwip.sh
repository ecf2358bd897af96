#!/usr/bin/env bash
# bench_lwip.sh (make bench-lwip): the same unmodified servers on lwIP
# (NETFUSE_STACK=lwip, backends/lwip/) and on netfuse's own stack, side by
# side, with the Linux kernel (loopback) as a third row. The server is on
# the stack under test; the load generator is always on netfuse's stack
# (the far end of the net_memif pair, bench/sides.sh), so only the
# server's stack changes. Default settings otherwise. Workloads:
# pingpong (1 byte, 1 and 32 connections) and memcached -t 1 (mcload,
# 32 connections). The stacks alternate ROUNDS times (default 3); medians.
# Writes bench/results/lwip.csv.
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/lwip.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
ROUNDS=${ROUNDS:-3}
csv=$RESULTS/lwip.csv
echo "workload,stack,round,rps,p50_us,p99_us" >"$csv"
declare -A L P
one() { # WORKLOAD STACK -> summary line
	local w=$1 st=$2 side=netfuse env=
	[ "$st" = kernel ] && side=kernel
	[ "$st" = lwip ] && env=NETFUSE_STACK=lwip
	case $w in
	pp1) NF_SERVER_ENV=$env pingpong_side "$side" 1 ;;
	pp32) NF_SERVER_ENV=$env pingpong_side "$side" 32 ;;
	mc32) NF_SERVER_ENV=$env memcached_side "$side" 32 ;;
	esac
}
for w in pp1 pp32 mc32; do
	for r in $(seq "$ROUNDS"); do
		for st in netfuse lwip kernel; do
			line=$(one $w $st)
			echo "$w $st round $r: $line"
			echo "$w,$st,$r,$(field "$line" rps),$(field "$line" p50_us),$(field "$line" p99_us)" >>"$csv"
			L[$w$st]="${L[$w$st]:-} $(field "$line" rps)"
			P[$w$st]="${P[$w$st]:-} $(field "$line" p99_us)"
		done
	done
done
echo
echo "| workload | netfuse req/s | lwIP req/s | kernel req/s | lwIP/netfuse | lwIP/kernel | p99 us netfuse / lwIP |"
echo "|---|---|---|---|---|---|---|"
declare -A M Q
for w in pp1 pp32 mc32; do
	for st in netfuse lwip kernel; do
		M[$w$st]=$(median "${L[$w$st]:-}")
		Q[$w$st]=$(median "${P[$w$st]:-}")
	done
	case $w in pp1) n="pingpong, 1 conn" ;; pp32) n="pingpong, 32 conns" ;; mc32) n="memcached -t 1, 32 conns" ;; esac
	echo "| $n | ${M[${w}netfuse]} | ${M[${w}lwip]} | ${M[${w}kernel]} |" \
	     "$(ratio "${M[${w}lwip]}" "${M[${w}netfuse]}") | $(ratio "${M[${w}lwip]}" "${M[${w}kernel]}") |" \
	     "${Q[${w}netfuse]} / ${Q[${w}lwip]} |"
done
echo "RESULT bench-lwip pp32_netfuse=${M[pp32netfuse]} pp32_lwip=${M[pp32lwip]}" \
     "pp32_ratio=$(ratio "${M[pp32lwip]}" "${M[pp32netfuse]}")" \
     "mc32_netfuse=${M[mc32netfuse]} mc32_lwip=${M[mc32lwip]}" \
     "mc32_ratio=$(ratio "${M[mc32lwip]}" "${M[mc32netfuse]}")"
[ "${M[pp32lwip]:-0}" != 0 ] && [ "${M[mc32lwip]:-0}" != 0 ]
