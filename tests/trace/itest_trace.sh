#!/usr/bin/env bash
# itest_trace.sh: NETFUSE_TRACE=1 with vfs/ active prints strace's lines:
# build/tests/trace/itest_trace run under strace (no hook) and under
# libhook.so with NETFUSE_TRACE=1 (its socket on the user-space stack, in a
# namespace nf-trace-$$ removed on exit); the program's own calls (between
# its two getppid() markers) must give the same lines, word for word
# (names, decoded arguments, flags, strings, results, errno names), once
# the netfuse line's "<where>" is set aside; and the where must say kernel
# for files and the refused loopback connect, the stack for the listener.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
PROG=$B/tests/trace/itest_trace
if [ "$(id -u)" != 0 ]; then echo "SKIP itest_trace.sh: needs root"; exit 77; fi
command -v strace >/dev/null || { echo "not ok - strace missing (scripts/setup.sh installs it)"; exit 1; }
[ -x "$PROG" ] || { echo "not ok - $PROG not built"; exit 1; }
NS=nf-trace-$$
TMP=$(mktemp -d /tmp/nf-trace-test.XXXXXX)
trap 'ip netns del "$NS" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up ||
	{ echo "not ok - ip netns add"; exit 1; }
fail=0
PORT=$((20000 + $$ % 20000))
between() { awk '/^getppid\(\)/ { n++; next } n == 1' "$1"; }

ip netns exec "$NS" strace -qq -o "$TMP/strace" "$PROG" $PORT >/dev/null
ip netns exec "$NS" env LD_PRELOAD="$B/libhook.so" NETFUSE_HUGE=off \
	NETFUSE_TRACE=1 NETFUSE_TRACE_FD=9 "$PROG" $PORT 9>"$TMP/nf" >/dev/null
between "$TMP/strace" | sed "s/) *= /) = /" >"$TMP/want"
# (the other threads' lines: DPDK's, started with the stack)
between "$TMP/nf" | grep -v '^\[pid ' | sed 's/ <[^<>]*>$//' >"$TMP/got"
n=$(wc -l <"$TMP/want")
if [ "$n" -ge 15 ] && diff "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	echo "ok - NETFUSE_TRACE=1 under vfs/: the program's $n calls print as strace prints them"
else
	echo "# strace (<) vs NETFUSE_TRACE (>):"; sed 's/^/# /' "$TMP/diff" | head -20
	echo "not ok - NETFUSE_TRACE lines differ from strace's ($n lines)"; fail=1
fi
where() { between "$TMP/nf" | grep -F "$1" | head -1 | sed -n 's/.* <\([^<>]*\)>$/\1/p'; }
w_open=$(where 'openat(AT_FDCWD, "/nonexistent')
w_conn=$(where 'connect(3, {sa_family=AF_INET, sin_port=htons(9)')
w_listen=$(where 'listen(')
w_shut=$(where 'shutdown(')
if [ "$w_open" = kernel ] && [ "$w_conn" = kernel ] &&
   { [ "$w_listen" = vfs ] || [ "${w_listen#netfuse#}" != "$w_listen" ]; } &&
   [ "$w_shut" = "netfuse#0" ]; then
	echo "ok - each line says where the call went: open $w_open, loopback connect $w_conn, listen $w_listen, shutdown $w_shut"
else
	echo "not ok - where: open '$w_open' connect '$w_conn' listen '$w_listen' shutdown '$w_shut'"; fail=1
fi
exit $fail
