#!/usr/bin/env bash
# bench_memcached.sh (make bench-memcached): Debian's memcached (-t 1,
# unmodified) driven by mcload (90% get / 10% set, 8-byte keys and values,
# 1 M keys, Zipf 0.99, preloaded), on the Linux kernel (loopback) and on
# netfuse (both under libhook.so over a net_memif pair), 32 connections.
# Writes bench/results/memcached.csv and the latency CDF of each side as
# bench/results/cdf_memcached_{kernel,netfuse}.csv (latency_us,fraction).
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/memcached.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
CONNS=${CONNS:-32}
csv=$RESULTS/memcached.csv
echo "side,conns,rps,p50_us,p99_us,errors" >"$csv"
declare -A R P
for side in kernel netfuse; do
	line=$(memcached_side "$side" "$CONNS" --cdf "$RESULTS/cdf_memcached_$side.csv")
	echo "$side: $line"
	R[$side]=$(field "$line" rps); P[$side]=$(field "$line" p99_us)
	echo "$side,$CONNS,${R[$side]},$(field "$line" p50_us),${P[$side]},$(field "$line" errors)" >>"$csv"
done
echo
echo "| side | req/s | p99 us |"
echo "|---|---|---|"
for side in kernel netfuse; do echo "| $side | ${R[$side]:-0} | ${P[$side]:-0} |"; done
echo "RESULT bench-memcached kernel_rps=${R[kernel]:-0} netfuse_rps=${R[netfuse]:-0}" \
     "ratio=$(ratio "${R[netfuse]:-0}" "${R[kernel]:-0}") kernel_p99_us=${P[kernel]:-0}" \
     "netfuse_p99_us=${P[netfuse]:-0}"
[ -n "${R[netfuse]:-}" ] && [ -n "${R[kernel]:-}" ]
