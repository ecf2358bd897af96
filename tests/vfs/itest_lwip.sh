#!/usr/bin/env bash
# itest_lwip.sh: unmodified programs on lwIP (NETFUSE_STACK=lwip,
# backends/lwip/) over the default tap. Root only (`make test`). In a
# network namespace (nf-lw-$$) removed on exit. Cases:
#   1. socat TCP-LISTEN ... PIPE: 1 MiB echoed byte-exact to a kernel
#      client; telemetry names backend "lwip" and counts its frames
#   2. memcached -t 4: 8 kernel clients at once, 200 set/get each of
#      values from 20 to 3000 bytes, every value read back exact
#   3. a python UDP echo server: 50 datagrams of up to 1400 bytes
#   4. NETFUSE_QUEUES=2: one line (lwIP runs one instance), and it serves
#   5. a fork child using its parent's lwIP socket: EBADF and one line
#      naming NETFUSE_STACK; the parent's connection still works
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_lwip.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] && [ -e "$B/libnfbe_lwip.so" ] || { echo "not ok - $HOOK / libnfbe_lwip.so not built"; exit 1; }
for p in socat memcached; do
	command -v $p >/dev/null || { echo "not ok - $p missing: run scripts/setup.sh"; exit 1; }
done

NS=nf-lw-$$
TMP=$(mktemp -d /tmp/nf-lw-test.XXXXXX)
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
STACK=198.19.69.2
KERN=198.19.69.1

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

run() { # run LOG ENV... -- PROG ARGS: under the hook on lwIP, P=pid
	local log=$1; shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	timeout -k 5 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24 \
		NETFUSE_STACK=lwip "${envs[@]}" "$@" >"$log" 2>&1 &
	P=$!; PIDS+=("$P")
}
stop() { kill -TERM "$P" 2>/dev/null; wait "$P" 2>/dev/null; }
# the tap is up (it comes with the program's first stack socket: its
# listener) and the program still runs
wait_tap() {
	for _ in $(seq 150); do
		in_ns ip addr show nf0 2>/dev/null | grep -q $KERN && { sleep 0.3; return 0; }
		kill -0 "$P" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
telemetry() { # the server's /netfuse/instances entry 0 as "backend rx tx"
	in_ns python3 -c "
import sys; sys.path.insert(0, 'tools'); import nftel
for pid, _ in nftel.processes():
    try:
        i = nftel.query(pid, '/netfuse/instances')['0']
        print(i.get('backend', '?'), i.get('rx_packets', 0), i.get('tx_packets', 0))
        break
    except Exception:
        pass" 2>/dev/null
}

echo_1m() { # port -> OK / BAD
	in_ns timeout 30 python3 - "$STACK" "$1" <<'PY'
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
}

# 1. socat: one connection, echoed by PIPE
run "$TMP/socat.out" -- socat TCP-LISTEN:7401,reuseaddr PIPE
if wait_tap; then
	tel=$(telemetry)
	r=$(echo_1m 7401)
	set -- $tel
	if [ "$r" = OK ] && [ "${1:-}" = lwip ] && [ "${2:-0}" -gt 0 ] &&
	   [ ! -s "$TMP/socat.out" ]; then
		ok "socat on lwIP: 1 MiB echoed byte-exact; telemetry: backend ${1}, frames in/out ${2}/${3} before the transfer"
	else
		bad "socat on lwIP: client '$r', telemetry '$tel', socat: $(head -3 "$TMP/socat.out" | tr '\n' ' ')"
	fi
else
	bad "socat on lwIP: the tap did not come up ($(head -3 "$TMP/socat.out" | tr '\n' ' '))"
fi
stop

# 2. memcached -t 4, 8 clients at once
run "$TMP/mc.out" -- memcached -u root -t 4 -U 0 -l $STACK -p 11311
if wait_tap; then
	r=$(in_ns timeout 60 python3 - $STACK <<'PY'
import os, socket, sys, threading
ok = [0]; bad = []
def worker(k):
    try:
        c = socket.create_connection((sys.argv[1], 11311), timeout=10)
        f = c.makefile("rb")
        for i in range(200):
            v = os.urandom(10 + (i * 37 + k) % 1500).hex().encode()
            key = b"k%d_%d" % (k, i)
            c.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(v), v))
            if f.readline() != b"STORED\r\n":
                bad.append("set"); return
            c.sendall(b"get %s\r\n" % key)
            h = f.readline()
            d = f.read(len(v) + 2)
            if h.split()[:2] != [b"VALUE", key] or d[:-2] != v or f.readline() != b"END\r\n":
                bad.append("get %s" % key); return
            ok[0] += 1
        c.close()
    except OSError as e:
        bad.append(str(e))
ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(ok[0], len(bad), bad[:2])
PY
)
	if [ "${r%% *}" = 1600 ] && [ ! -s "$TMP/mc.out" ]; then
		ok "memcached -t 4 on lwIP: 8 concurrent clients, 1600 set/get pairs read back exact"
	else
		bad "memcached on lwIP: '$r', memcached: $(head -3 "$TMP/mc.out" | tr '\n' ' ')"
	fi
else
	bad "memcached on lwIP: the tap did not come up ($(head -3 "$TMP/mc.out" | tr '\n' ' '))"
fi
stop

# 3. UDP echo
cat >"$TMP/udp.py" <<'PY'
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 7402))
while True:
    d, a = u.recvfrom(65536)
    u.sendto(d, a)
PY
run "$TMP/udp.out" -- python3 "$TMP/udp.py"
if wait_tap; then
	r=$(in_ns timeout 30 python3 - $STACK <<'PY'
import os, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
good = 0
for i in range(50):
    d = os.urandom(1 + (i * 97) % 1400)
    for _ in range(3):   # a datagram may wait for ARP once
        u.sendto(d, (sys.argv[1], 7402))
        try:
            g, a = u.recvfrom(65536)
        except socket.timeout:
            continue
        good += g == d and a == (sys.argv[1], 7402)
        break
print(good)
PY
)
	if [ "$r" = 50 ]; then
		ok "UDP echo on lwIP: 50 datagrams of 1-1400 bytes back exact, from the server's address"
	else
		bad "UDP echo on lwIP: $r of 50; server: $(head -3 "$TMP/udp.out" | tr '\n' ' ')"
	fi
else
	bad "UDP on lwIP: the tap did not come up"
fi
stop

# 4. NETFUSE_QUEUES=2: one instance, one line
run "$TMP/q2.out" NETFUSE_QUEUES=2 -- socat TCP-LISTEN:7403,reuseaddr PIPE
if wait_tap; then
	r=$(echo_1m 7403)
	n=$(grep -c "NETFUSE_QUEUES=2: the lwip backend runs one instance" "$TMP/q2.out")
	lines=$(wc -l <"$TMP/q2.out")
	if [ "$r" = OK ] && [ "$n" = 1 ] && [ "$lines" = 1 ]; then
		ok "NETFUSE_QUEUES=2 on lwIP: one line ($(cut -c1-90 "$TMP/q2.out")...), 1 MiB echoed"
	else
		bad "NETFUSE_QUEUES=2 on lwIP: client '$r', $n matching of $lines lines: $(head -3 "$TMP/q2.out" | tr '\n' ' ')"
	fi
else
	bad "NETFUSE_QUEUES=2 on lwIP: the tap did not come up ($(head -3 "$TMP/q2.out" | tr '\n' ' '))"
fi
stop

# 5. a fork child and its parent's socket
cat >"$TMP/fork.py" <<'PY'
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7404))
s.listen(4)
c, _ = s.accept()
pid = os.fork()
if pid == 0:
    try:
        c.send(b"child")
        print("CHILD sent", flush=True)
    except OSError as e:
        print("CHILD errno", e.errno, flush=True)
    # a socket of its own goes to the kernel
    k = socket.socket()
    k.bind(("127.0.0.1", 0))
    print("CHILD own socket ok", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
c.sendall(c.recv(100).upper())
c.close()
PY
run "$TMP/fork.out" -- python3 "$TMP/fork.py"
if wait_tap; then
	r=$(in_ns timeout 10 python3 -c "
import socket, time
c = socket.create_connection(('$STACK', 7404), timeout=5)
time.sleep(0.5); c.sendall(b'abc'); print(c.recv(100).decode())")
	sleep 0.3
	n=$(grep -c "NETFUSE_STACK=lwip: .*fork child" "$TMP/fork.out")
	if [ "$r" = ABC ] && [ "$n" = 1 ] && grep -q "CHILD errno 9" "$TMP/fork.out" &&
	   grep -q "CHILD own socket ok" "$TMP/fork.out"; then
		ok "fork child on lwIP: its parent's socket gives EBADF with one line; its own socket works; the parent's connection goes on (ABC)"
	else
		bad "fork child on lwIP: client '$r', $n lines: $(tr '\n' ' ' <"$TMP/fork.out" | cut -c1-300)"
	fi
else
	bad "fork on lwIP: the tap did not come up"
fi
stop
exit $fail
