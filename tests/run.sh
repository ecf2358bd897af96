#!/usr/bin/env bash
# tests/run.sh MODE TEST...: run test programs and scripts, print a summary.
#
# cmocka programs are counted by their own "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines; others print "ok ..." / "not ok ..."
# lines (TAP style, optionally prefixed "name: "); a program with neither
# counts once, by its exit status. A program that crashes or exits
# non-zero without reporting a failure counts as one failure. Each test has a time limit
# (NETFUSE_TEST_TIMEOUT, default 600 s). Ends with "N passed, N failed".
set -u
mode=$1; shift
pass=0; fail=0; failed_names=()
limit=${NETFUSE_TEST_TIMEOUT:-600}
for t in "$@"; do
	[ -e "$t" ] || { echo "missing: $t"; fail=$((fail+1)); failed_names+=("$t"); continue; }
	echo "=== $t"
	out=$(mktemp)
	if [[ $t == *.sh ]]; then
		timeout -k 10 "$limit" bash "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "$limit" "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
	fi
	# cmocka summaries, else TAP-style lines ("ok ...", "name: ok ...")
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		p=$(grep -cE '^([A-Za-z0-9_.-]+: )?ok ' "$out")
		f=$(grep -cE '^([A-Za-z0-9_.-]+: )?not ok ' "$out")
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "!!! $t exited with status $rc"
		f=1
	fi
	# a program with no per-case lines counts once, by its exit status
	[ "$p" = 0 ] && [ "$f" = 0 ] && [ "$rc" = 0 ] && p=1
	pass=$((pass+p)); fail=$((fail+f))
	[ "$f" != 0 ] && failed_names+=("$t")
	rm -f "$out"
done
echo
echo "=== $mode: ${#@} test programs"
for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
