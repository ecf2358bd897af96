#!/usr/bin/env bash
# itest_backend.sh: a backend built out of the tree and loaded by path
# (NETFUSE_STACK=/path/backend.so, stack/nf_backend.h, vfs/backend.c).
#
# Root only (run by `make test`). `make install` into a temporary
# DESTDIR; examples/backend/example_backend.c is compiled against the
# installed headers and libnfstack.a only. In a network namespace
# (nf-be-$$) removed on exit. Cases:
#   1. a python3 echo server under libhook.so with NETFUSE_STACK=the
#      example: 1 MiB echoed byte-exact to a kernel client at the stack's
#      address; telemetry names the backend "example"; the example's own
#      change (TCP_NODELAY on every TCP socket) shows in the server's
#      getsockopt
#   2. the example built for interface version 99: one line naming
#      NETFUSE_STACK and both versions; the program runs on the kernel
#   3. NETFUSE_STACK=nonsense: one line naming the variable
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_backend.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }

NS=nf-be-$$
TMP=$(mktemp -d /tmp/nf-be-test.XXXXXX)
PIDS=()
fail=0
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
STACK=198.19.66.2
KERN=198.19.66.1

# the installed tree, and the example built against it alone
P=$TMP/inst/usr/local
if ! make -s install B="$B" DESTDIR="$TMP/inst" PREFIX=/usr/local >"$TMP/install.log" 2>&1; then
	bad "make install into a DESTDIR: $(tail -3 "$TMP/install.log" | tr '\n' ' ')"
	exit 1
fi
for abi in "" 99; do
	out=$TMP/example${abi}.so
	if ! cc -std=c11 -shared -fPIC -O2 -Wall -Werror ${abi:+-DEXAMPLE_ABI=$abi} \
		-I"$P/include/netfuse" -o "$out" examples/backend/example_backend.c \
		"$P/lib/netfuse/libnfstack.a" 2>"$TMP/cc.log"; then
		bad "example backend does not build against the installed headers: $(head -3 "$TMP/cc.log" | tr '\n' ' ')"
		exit 1
	fi
done
ok "examples/backend/example_backend.c builds against the installed <netfuse/stack/nf_backend.h> and libnfstack.a"

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up
cat >"$TMP/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(4)
print("READY", flush=True)
c, _ = s.accept()
print("NODELAY", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.close()
print("DONE", flush=True)
import time; time.sleep(5)
PY
run() { # run LOG ENV...: the echo server under the hook, P=pid
	local log=$1; shift
	timeout -k 5 40 ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24 \
		"$@" python3 "$TMP/echo.py" 7301 >"$log" 2>&1 &
	P=$!; PIDS+=("$P")
}
wait_for() { # FILE PATTERN PID
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# 1. the example backend serves
run "$TMP/s1.out" NETFUSE_STACK="$TMP/example.so"
if wait_for "$TMP/s1.out" READY $P; then
	for _ in $(seq 100); do
		in_ns ip addr show nf0 2>/dev/null | grep -q $KERN && break
		sleep 0.1
	done
	r=$(in_ns timeout 30 python3 - $STACK 7301 <<'PY'
import os, socket, sys, threading
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
data = os.urandom(1 << 20)
t = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
t.start()
got = bytearray()
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
t.join()
print("OK" if bytes(got) == data else "BAD %d" % len(got))
PY
)
	be=$(in_ns python3 -c "
import sys; sys.path.insert(0, 'tools'); import nftel
for pid, _ in nftel.processes():
    try:
        print(nftel.query(pid, '/netfuse/instances')['0'].get('backend', '?'))
        break
    except Exception:
        pass" 2>/dev/null)
	if [ "$r" = OK ] && grep -q "NODELAY 1" "$TMP/s1.out" && [ "$be" = example ]; then
		ok "NETFUSE_STACK=example_backend.so: 1 MiB echoed byte-exact over its stack, telemetry names backend '$be', its TCP_NODELAY shows"
	else
		bad "example backend: client '$r', telemetry backend '$be', server: $(tr '\n' ' ' <"$TMP/s1.out" | cut -c1-200)"
	fi
else
	bad "echo server with the example backend: not READY ($(tail -2 "$TMP/s1.out" | tr '\n' ' '))"
fi
kill -TERM $P 2>/dev/null; wait $P 2>/dev/null

# 2. built for another interface version
run "$TMP/s2.out" NETFUSE_STACK="$TMP/example99.so"
if wait_for "$TMP/s2.out" READY $P; then
	in_ns timeout 5 python3 -c "
import socket; c = socket.create_connection(('127.0.0.1', 7301), timeout=3); c.close()" 2>/dev/null
	sleep 0.3
	n=$(grep -c "NETFUSE_STACK=.*version 99.*speaks [0-9]*" "$TMP/s2.out")
	lines=$(grep -vc "READY\|NODELAY\|DONE" "$TMP/s2.out")
	if [ "$n" = 1 ] && [ "$lines" = 1 ]; then
		ok "an example built for interface version 99: refused with one line ($(grep NETFUSE_STACK "$TMP/s2.out" | cut -c1-120)...), the program served by the kernel"
	else
		bad "version 99: $n matching of $lines lines: $(tr '\n' ' ' <"$TMP/s2.out" | cut -c1-300)"
	fi
else
	bad "echo server with a version-99 backend: not READY ($(tail -2 "$TMP/s2.out" | tr '\n' ' '))"
fi
kill -TERM $P 2>/dev/null; wait $P 2>/dev/null

# 3. a value that is neither netfuse nor a path
run "$TMP/s3.out" NETFUSE_STACK=lwipp
if wait_for "$TMP/s3.out" READY $P; then
	in_ns timeout 5 python3 -c "
import socket; c = socket.create_connection(('127.0.0.1', 7301), timeout=3); c.close()" 2>/dev/null
	sleep 0.3
	if [ "$(grep -c "NETFUSE_STACK='lwipp'" "$TMP/s3.out")" = 1 ]; then
		ok "NETFUSE_STACK=lwipp: one line names the variable and the fix"
	else
		bad "NETFUSE_STACK=lwipp: $(tr '\n' ' ' <"$TMP/s3.out" | cut -c1-300)"
	fi
else
	bad "echo server with NETFUSE_STACK=lwipp: not READY"
fi
kill -TERM $P 2>/dev/null; wait $P 2>/dev/null
exit $fail
