#!/usr/bin/env bash
# bench_pingpong6.sh (make bench-pingpong6): 1-byte ping-pong on netfuse
# over IPv6 against the same over IPv4, both ends under libhook.so over a
# net_memif pair (bench/sides.sh), default settings. The server listens
# on :: (a dual-stack AF_INET6 socket) for the IPv6 runs and on 0.0.0.0
# for the IPv4 ones; the client connects to 2001:2::2 / 198.18.0.2. Runs
# alternate (IPv4, IPv6) ROUNDS times (default 3) at 1 and 32
# connections; the medians are compared. Writes
# bench/results/pingpong6.csv.
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/pingpong6.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
ROUNDS=${ROUNDS:-3}
csv=$RESULTS/pingpong6.csv
echo "family,conns,round,rps,p50_us,p99_us" >"$csv"
declare -A L
for conns in 1 32; do
	for r in $(seq "$ROUNDS"); do
		for fam in 4 6; do
			line=$(PP_FAMILY=$fam pingpong_side netfuse "$conns")
			echo "IPv$fam $conns conns, round $r: $line"
			echo "$fam,$conns,$r,$(field "$line" rps),$(field "$line" p50_us),$(field "$line" p99_us)" >>"$csv"
			L[$fam$conns]="${L[$fam$conns]:-} $(field "$line" rps)"
		done
	done
done
echo
echo "| connections | IPv4 req/s (median of $ROUNDS) | IPv6 req/s | IPv6/IPv4 | IPv6 runs |"
echo "|---|---|---|---|---|"
declare -A M
for conns in 1 32; do
	for fam in 4 6; do
		M[$fam$conns]=$(median "${L[$fam$conns]:-}")
	done
	echo "| $conns | ${M[4$conns]} | ${M[6$conns]} | $(ratio "${M[6$conns]}" "${M[4$conns]}") |${L[6$conns]:-} |"
done
echo "RESULT bench-pingpong6 v4_rps=${M[432]} v6_rps=${M[632]}" \
     "ratio=$(ratio "${M[632]}" "${M[432]}") v4_1_rps=${M[41]} v6_1_rps=${M[61]}" \
     "ratio1=$(ratio "${M[61]}" "${M[41]}")"
[ "${M[632]:-0}" != 0 ] && [ "${M[432]:-0}" != 0 ]
