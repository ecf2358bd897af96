#!/usr/bin/env bash
# itest_zz_results.sh: the results table of the rel tests (issue 7, "every
# result is printed as a table at the end"). Runs last among tests/rel/
# (name order): prints every row the rel scripts of this run wrote to
# $B/rel-results/<script>.rows ("case|side|bytes|throughput/conns|result",
# one file per script, rewritten by each run of it) as one table with the
# script's name and the age of its file. Passes when every row it prints
# is ok; a script without rows (it did not run) is listed as such and does
# not fail here (its own TAP lines did). Rows older than
# NETFUSE_RESULTS_MAX_AGE seconds (default 7200: an earlier run) are left
# out.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
DIR=$B/rel-results
MAXAGE=${NETFUSE_RESULTS_MAX_AGE:-7200}
now=$(date +%s)
nrow=0 nbad=0
line() { printf '%-16s %-46s %-16s %-14s %-40s %s\n' "$@"; }
echo "# ===== rel results (issue 7) ====="
line script case side bytes throughput/conns result
for s in itest_transfer itest_hostile itest_fuzz itest_load itest_procfault; do
	f=$DIR/$s.rows
	if [ ! -s "$f" ] || [ $(( now - $(stat -c %Y "$f") )) -gt "$MAXAGE" ]; then
		line "$s" "(no results from this run)" - - - -
		continue
	fi
	while IFS='|' read -r c side bytes rate res; do
		line "$s" "${c:0:46}" "$side" "$bytes" "${rate:0:40}" "$res"
		nrow=$((nrow + 1))
		[ "$res" = ok ] || nbad=$((nbad + 1))
	done <"$f"
done
echo "# $nrow results, $nbad not ok"
if [ "$nbad" = 0 ]; then
	echo "ok - rel results table: $nrow results, all ok"
else
	echo "not ok - rel results table: $nbad of $nrow results not ok"
fi
[ "$nbad" = 0 ]
