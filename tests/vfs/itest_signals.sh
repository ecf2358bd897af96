#!/usr/bin/env bash
# itest_signals.sh: an unmodified server whose SIGALRM handler (every
# 500 us) sends, receives and closes on its sockets while the main thread
# streams through another with blocking writes (vfs/signal.c: handlers of
# signals that land inside vfs/ run after the call). Before, the handler
# deadlocked on the instance lock its own thread held.
#
# Root only (run by `make test`). In a network namespace (nf-sg-$$)
# removed on exit; stack 198.19.67.2, tap's kernel side 198.19.67.1/24.
# Cases: the server (tests/vfs/itest_signals.c) under libhook.so for 5 s
# and on the plain kernel for 1 s, its kernel-side client checking every
# byte of both streams and the handler's close.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so
SG=$B/tests/vfs/itest_signals

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_signals.sh: needs root"; exit 77; fi
for f in "$HOOK" "$SG"; do
	[ -e "$f" ] || { echo "not ok - $f not built"; exit 1; }
done

NS=nf-sg-$$
TMP=$(mktemp -d /tmp/nf-sg-test.XXXXXX)
fail=0
cleanup() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
STACK=198.19.67.2
KERN=198.19.67.1

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
ip netns exec "$NS" ip link set lo up

# run NAME HOST SECS ENV...: server (in the namespace, with ENV) + client
run() {
	local name=$1 host=$2 secs=$3 p; shift 3
	timeout -k 5 $((secs + 40)) ip netns exec "$NS" env "$@" \
		"$SG" server 7711 "$secs" >"$TMP/s.out" 2>&1 &
	p=$!
	for _ in $(seq 150); do grep -q READY "$TMP/s.out" && break; sleep 0.1; done
	for _ in $(seq 100); do
		ip netns exec "$NS" timeout 1 bash -c "exec 3<>/dev/tcp/$host/7712" 2>/dev/null
		[ "$host" = 127.0.0.1 ] && break
		ip netns exec "$NS" ip addr show nf0 2>/dev/null | grep -q "$KERN" && break
		sleep 0.1
	done
	r=$(timeout $((secs + 70)) ip netns exec "$NS" "$SG" client "$host" 7711 2>&1)
	wait $p; rc=$?
	s=$(grep SERVER "$TMP/s.out")
	if [[ $r == OK* ]] && [ $rc = 0 ]; then
		ok "$name: $r; ${s#SERVER }"
	else
		bad "$name: client '$r', server exit $rc ($(tail -3 "$TMP/s.out" | tr '\n' ' '))"
	fi
}

run "SIGALRM handler sends/recvs/closes while main streams, plain kernel, 1 s" \
	127.0.0.1 1 X=1
run "SIGALRM handler sends/recvs/closes while main streams, under libhook.so, 5 s" \
	$STACK 5 LD_PRELOAD="$HOOK" NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 \
	NETFUSE_TAP_ADDR=$KERN/24
exit $fail
