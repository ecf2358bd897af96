#!/usr/bin/env bash
# tests/run.sh MODE TEST...: run test programs and scripts, print a summary.
#
# cmocka programs are counted by their own "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines; scripts print "ok - ..." / "not ok - ..."
# lines (TAP style). A program that crashes or exits non-zero without
# reporting a failure counts as one failure. Each test has a time limit
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
		p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	else
		timeout -k 10 "$limit" "$t" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "!!! $t exited with status $rc"
		f=1
	fi
	[ "$p" = 0 ] && [ "$f" = 0 ] && { echo "!!! $t ran no test"; f=1; }
	pass=$((pass+p)); fail=$((fail+f))
	[ "$f" != 0 ] && failed_names+=("$t")
	rm -f "$out"
done
echo
echo "=== $mode: ${#@} test programs"
for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
