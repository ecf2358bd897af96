#!/usr/bin/env bash
# itest_table.sh: the vfs/ unit tests again with the stack behind a copy
# of its backend table (FX_TABLE=1, tests/vfs/vfs_fixture.h), so vfs/
# takes the path every backend but the default one takes: every
# operation through stack/nf_backend.h's table, none of vfs_priv.h's
# direct calls. A first conformance run of the interface: the same
# socket semantics through the table as through the direct calls.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
fail=0
for t in test_vfs test_dual6 test_efault test_inst test_signal test_wait test_wild; do
	bin=$B/tests/vfs/$t
	[ -x "$bin" ] || { echo "not ok - $bin not built"; fail=1; continue; }
	out=$(FX_TABLE=1 timeout 300 "$bin" 2>&1); rc=$?
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	if [ "$rc" = 0 ] && [ "$f" = 0 ] && [ "$p" -gt 0 ]; then
		echo "ok - $t through the backend table: $p cases pass"
	else
		echo "$out" | grep -E "ERROR|LINE|FAILED" | head -5
		echo "not ok - $t through the backend table: $p passed, $f failed, exit $rc"
		fail=1
	fi
done
exit $fail
