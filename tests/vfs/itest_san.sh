#!/usr/bin/env bash
# itest_san.sh: the vfs/ integration programs once more, under the
# sanitizer build (issue 17): tests/vfs/itest_servers.sh (C servers over
# epoll/poll/select/threads/hand-off, a client, UDP, fork, exec, exit
# linger, splice, memcached, redis with BGSAVE, iperf3) with
# LD_PRELOAD="libasan.so libubsan.so build/san/libhook.so": vfs/, the
# stack and io/ (build/san/libnfio.so, loaded beside it) built with
# -fsanitize=address,undefined -fno-sanitize-recover=all, the hook's own
# objects as they are. A report aborts the hooked program, whose exit
# status or service every case checks; reports are also searched for in
# the programs' output (ASAN_OPTIONS log_path). Root only.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
if [ "$(id -u)" != 0 ]; then echo "SKIP itest_san.sh: needs root"; exit 77; fi
for f in "$B/san/libhook.so" "$B/san/libnfio.so"; do
	[ -e "$f" ] || { echo "not ok - $f not built (make test builds it)"; exit 1; }
done
ASAN=$(gcc -print-file-name=libasan.so)
UBSAN=$(gcc -print-file-name=libubsan.so)
for f in "$ASAN" "$UBSAN"; do
	[ -e "$f" ] || { echo "not ok - $f missing (install gcc)"; exit 1; }
done
LOGS=$(mktemp -d /tmp/nf-san-test.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
# leaks: the servers are killed at the end of each case, with memory
# they legitimately still hold; every other ASan/UBSan check is on
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$LOGS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$LOGS/ubsan"
NETFUSE_TEST_HOOK=$B/san/libhook.so NETFUSE_TEST_PRELOAD="$ASAN $UBSAN" \
	NETFUSE_TEST_TAG="[ASan/UBSan] " bash tests/vfs/itest_servers.sh
rc=$?
n=$(cat "$LOGS"/* 2>/dev/null | grep -c -E "ERROR: AddressSanitizer|runtime error")
if [ "$n" = 0 ]; then
	echo "ok - [ASan/UBSan] no sanitizer report from any hooked program"
else
	grep -h -A12 -E "ERROR: AddressSanitizer|runtime error" "$LOGS"/* | head -40 | sed 's/^/# /'
	echo "not ok - [ASan/UBSan] $n sanitizer report(s) from hooked programs"
	rc=1
fi
exit $rc
