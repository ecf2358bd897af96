#!/usr/bin/env bash
# bench/run.sh NAME|all: run one benchmark (make bench-NAME) or all.
# A benchmark is bench/bench_NAME.sh (a script) or build/bench/bench_NAME
# (a program); each ends its output with one "RESULT bench-NAME ..." line.
# Output is also saved to bench/results/NAME.txt. "all" runs hook, stack,
# io, pingpong, memcached, latency (and any other), then bench/plot.sh and
# bench/report.sh (which rewrites the generated part of bench/README.md).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
mkdir -p bench/results
run_one() {
	local n=$1
	echo "== bench-$n ($(date -u +%FT%TZ), $(nproc) cores, $(uname -r))"
	if [ -f "bench/bench_$n.sh" ]; then
		bash "bench/bench_$n.sh" 2>&1 | tee "bench/results/$n.txt"
	elif [ -x "build/bench/bench_$n" ]; then
		if [ "$n" = hook ]; then
			taskset -c 0 "build/bench/bench_$n" build/libhook.so 2>&1 | tee "bench/results/$n.txt"
		else
			"build/bench/bench_$n" 2>&1 | tee "bench/results/$n.txt"
		fi
	else
		echo "no benchmark named '$n' (bench/bench_$n.sh or bench/bench_$n.c)"
		return 1
	fi
	return "${PIPESTATUS[0]}"
}
# all: the benchmarks in this order, then any other bench_* not listed,
# then the plots and the README table from their results
ORDER="hook stack io pingpong memcached latency"
if [ "${1:-}" = all ]; then
	rc=0
	start=$(date +%s)
	names=$ORDER
	for f in bench/bench_*.c bench/bench_*.sh; do
		[ -e "$f" ] || continue
		n=${f#bench/bench_}; n=${n%.*}
		case " $names " in *" $n "*) ;; *) names="$names $n" ;; esac
	done
	for n in $names; do
		run_one "$n" || rc=1
	done
	echo "== plots and report"
	bash bench/plot.sh || rc=1
	bash bench/report.sh || rc=1
	echo "== make bench: $(( $(date +%s) - start )) s, exit status $rc"
	exit $rc
fi
[ $# -eq 1 ] || { echo "usage: bench/run.sh NAME|all"; exit 2; }
run_one "$1"
