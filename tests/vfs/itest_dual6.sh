#!/usr/bin/env bash
# itest_dual6.sh: AF_INET6 (dual-stack) servers on the user-space stack
# (vfs/addr.c). Before, every AF_INET6 socket went to the kernel, so
# `iperf3 -s` (which listens on [::] by default) never touched netfuse.
#
# Root only (run by `make test`). In a network namespace (nf-d6-$$)
# removed on exit; stack 198.19.65.2, tap's kernel side 198.19.65.1/24:
# that address exists only in the user-space stack, so a kernel client
# reaching it proves the server serves there. Cases:
#   1. unmodified iperf3 -s (default: [::]), the kernel's iperf3 -c over
#      IPv4 for 2 s: bytes received
#   2. a python3 server on ("::", port): 1 MB echoed byte-exact to a
#      kernel IPv4 client, the server sees the peer as ::ffff:198.19.65.1;
#      an IPv6 client on ::1 reaches the same listener (its kernel half)
#   3. a python3 AF_INET6 UDP echo server: IPv4 datagrams over nf0
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_dual6.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }

NS=nf-d6-$$
TMP=$(mktemp -d /tmp/nf-d6-test.XXXXXX)
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
STACK=198.19.65.2
KERN=198.19.65.1
hooked() { # hooked LIMIT CMD...: in the namespace, background, P=pid
	local lim=$1; shift
	timeout -k 5 "$lim" ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24 \
		"$@" &
	P=$!; PIDS+=("$P")
}
wait_for() { # wait_for FILE PATTERN PID: until the line appears (15 s)
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_port() { # wait_port HOST PORT: until it accepts (10 s)
	for _ in $(seq 100); do
		in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

# 1. iperf3 -s, default listener ([::])
if command -v iperf3 >/dev/null; then
	hooked 40 iperf3 -s -1 -p 5311 --forceflush >"$TMP/i.out" 2>&1
	if wait_for "$TMP/i.out" "listening" $P; then
		r=$(in_ns timeout 30 iperf3 -c $STACK -p 5311 -t 2 -J 2>&1 |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' 2>&1)
		wait $P; src=$?
		if [[ $r =~ ^[0-9]+$ ]] && [ "$r" -gt 1000000 ] && [ $src = 0 ]; then
			ok "iperf3 -s (listens on [::]) under libhook.so: kernel iperf3 -c over IPv4 via the user-space stack, $r bytes"
		else
			bad "iperf3 -s on [::]: client '$r', server exit $src ($(tail -2 "$TMP/i.out" | tr '\n' ' '))"
		fi
	else
		bad "iperf3 -s under libhook.so: not listening ($(tail -2 "$TMP/i.out" | tr '\n' ' '))"
	fi
else
	bad "iperf3 not installed (scripts/setup.sh installs it)"
fi

# 2. python3 TCP echo on ("::", port)
cat >"$TMP/echo6.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
print("READY", flush=True)
while True:
    c, peer = s.accept()
    print("PEER", peer[0], flush=True)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
PY
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, threading
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.settimeout(20)
c.connect((sys.argv[1], int(sys.argv[2])))
data = os.urandom(1 << 20)
t = threading.Thread(target=c.sendall, args=(data,))
t.start()
got = bytearray()
while len(got) < len(data):
    d = c.recv(65536)
    if not d:
        break
    got += d
t.join()
print("OK" if bytes(got) == data else "BAD %d" % len(got))
PY
hooked 40 python3 "$TMP/echo6.py" 7611 >"$TMP/e.out" 2>&1
EP=$P
if wait_for "$TMP/e.out" READY $EP && wait_port $STACK 7611; then
	sleep 0.2
	r4=$(in_ns timeout 30 python3 "$TMP/client.py" $STACK 7611 2>&1)
	if [ "$r4" = OK ] && wait_for "$TMP/e.out" "PEER ::ffff:$KERN" $EP; then
		ok "python3 server on (\"::\", 7611): 1 MiB echoed byte-exact to an IPv4 client over nf0, peer seen as ::ffff:$KERN"
	else
		bad "python3 server on ::, IPv4 client: $r4 ($(grep PEER "$TMP/e.out" | tr '\n' ' '))"
	fi
	r6=$(in_ns timeout 30 python3 "$TMP/client.py" ::1 7611 2>&1)
	if [ "$r6" = OK ] && wait_for "$TMP/e.out" "PEER ::1" $EP; then
		ok "the same listener: 1 MiB echoed to an IPv6 client on ::1 (its kernel half)"
	else
		bad "python3 server on ::, IPv6 client on ::1: $r6"
	fi
else
	bad "python3 AF_INET6 server under libhook.so: not listening ($(tail -2 "$TMP/e.out" | tr '\n' ' '))"
fi
kill -TERM $EP 2>/dev/null; wait $EP 2>/dev/null

# 3. python3 UDP echo on ("::", port)
cat >"$TMP/udp6.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1])))
print("READY", flush=True)
for _ in range(50):
    d, a = s.recvfrom(2048)
    s.sendto(d + a[0].encode(), a)
PY
hooked 40 python3 "$TMP/udp6.py" 7612 >"$TMP/u.out" 2>&1
UP=$P
if wait_for "$TMP/u.out" READY $UP; then
	r=$(in_ns timeout 20 python3 - $STACK 7612 $KERN <<'PY'
import os, socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(1)
good = 0
for i in range(50):
    m = os.urandom(100 + i)
    for _ in range(5):   # the first datagrams may wait for ARP
        c.sendto(m, (sys.argv[1], int(sys.argv[2])))
        try:
            d = c.recv(2048)
        except socket.timeout:
            continue
        good += d == m + b"::ffff:" + sys.argv[3].encode()
        break
print(good)
PY
)
	if [ "$r" = 50 ]; then
		ok "python3 AF_INET6 UDP echo on ::: 50 IPv4 datagrams over nf0, source seen mapped"
	else
		bad "python3 AF_INET6 UDP echo: $r of 50"
	fi
else
	bad "python3 AF_INET6 UDP server under libhook.so: not READY"
fi
kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null

exit $fail
