#!/usr/bin/env bash
# itest_vfs.sh: unmodified programs under LD_PRELOAD=libhook.so on the
# user-space stack (vfs/ + stack/ + io/ over the default net_tap nf0),
# talking to kernel programs on the kernel side of the tap.
#
# Root only (run by `make test`). Everything runs in a network namespace
# created here (nf-vfs-$$) and removed on exit; addresses are the defaults
# (198.18.0.1/24 kernel side of nf0, 198.18.0.2 the stack). Cases:
#   1. build/apps/pingpong server (epoll, C) under the hook; the kernel's
#      pingpong client checks every byte, over nf0 (user stack) and over
#      127.0.0.1 (the kernel half of the wildcard listener)
#   2. a python3 blocking echo server under the hook, 1 MB echoed
#      byte-exact to a kernel client, three connections in a row
#   3. a python3 client under the hook connecting out to a kernel server
#   4. a python3 UDP echo server under the hook, kernel client
#   5. a python3 server that forks a child closing the listener: the parent
#      keeps serving (the child never touches the parent's stack)
#   6. a python3 server that exits without closing its connection: the
#      kernel client still gets the data and then EOF (FIN at exit)
#   7. NETFUSE_VFS=0: the same echo server stays on the kernel (no nf0)
#   8. memcached -t 1 and -t 4 (if installed) under the hook: 500 values set
#      and read back over 4 connections from a kernel client, every value
#      checked, over nf0 and over 127.0.0.1
# Each program is bounded by timeout; TAP lines counted by tests/run.sh.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
HOOK=$PWD/$B/libhook.so
PP=$PWD/$B/apps/pingpong

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_vfs.sh: needs root"; exit 77; fi
for f in "$HOOK" "$PP" "$B/libnfio.so"; do
	[ -e "$f" ] || { echo "not ok - $f not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "SKIP itest_vfs.sh: no python3"; exit 77; }
[ "$(cat /proc/sys/vm/mmap_min_addr)" = 0 ] ||
	{ echo "SKIP itest_vfs.sh: vm.mmap_min_addr != 0 (make setup)"; exit 77; }

NS=nf-vfs-$$
TMP=$(mktemp -d /tmp/nf-vfs-test.XXXXXX)
PIDS=()
fail=0
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
hooked() {
	ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off "$@"
}
# wait_for FILE PATTERN PID: until the line appears (15 s) or PID dies
wait_for() {
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

cat >"$TMP/echo.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
print("READY", flush=True)
fork = len(sys.argv) > 3 and sys.argv[3] == "fork"
for i in range(int(sys.argv[2])):
    if fork and i == 1:
        pid = os.fork()
        if pid == 0:       # like a BGSAVE child: close the listener, leave
            s.close()
            os._exit(0)
        os.waitpid(pid, 0)
        print("CHILD DONE", flush=True)
    c, a = s.accept()
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
print("DONE", flush=True)
PY
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(n)
c = socket.create_connection((host, port), timeout=10)
def send():                  # send while receiving: no buffer deadlock
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
got = bytearray()
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
t.join()
print("OK" if got == data else "MISMATCH %d/%d" % (len(got), n), flush=True)
PY
cat >"$TMP/udp.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("READY", flush=True)
for i in range(int(sys.argv[2])):
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
print("DONE", flush=True)
PY
cat >"$TMP/udpc.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
good = 0
for i in range(int(sys.argv[3])):
    d = os.urandom(1 + i * 37 % 1400)
    for attempt in range(5):
        s.sendto(d, (sys.argv[1], int(sys.argv[2])))
        try:
            r, a = s.recvfrom(2048)
        except socket.timeout:
            continue
        if r == d:
            good += 1
        break
print("OK" if good == int(sys.argv[3]) else "BAD %d" % good, flush=True)
PY

# 1. pingpong server (epoll) under the hook
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	"$PP" server -a 0.0.0.0 -p 7070 -d 40 \
	>"$TMP/pp.out" 2>"$TMP/pp.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/pp.out" "listening" "$P"; then
	ok "pingpong server under libhook.so listening"
	# the stack starts on the listener; the tap appears then
	for _ in $(seq 50); do in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break; sleep 0.1; done
	if timeout 30 ip netns exec "$NS" "$PP" client -a 198.18.0.2 -p 7070 \
		-c 4 -o 2 -s 300 -d 2 -w 0 >"$TMP/ppc.out" 2>&1; then
		ok "kernel pingpong client -> 198.18.0.2 (user stack): every byte checked"
	else
		cat "$TMP/ppc.out"; bad "kernel pingpong client -> 198.18.0.2 (user stack)"
	fi
	if timeout 30 ip netns exec "$NS" "$PP" client -a 127.0.0.1 -p 7070 \
		-c 2 -o 1 -s 100 -d 1 -w 0 >"$TMP/ppc2.out" 2>&1; then
		ok "kernel pingpong client -> 127.0.0.1 (kernel half of the wildcard listener)"
	else
		cat "$TMP/ppc2.out"; bad "kernel pingpong client -> 127.0.0.1"
	fi
	# ARP and ICMP echo answered by the stack inside the unmodified program
	in_ns ip neigh flush dev nf0 2>/dev/null
	if ! command -v ping >/dev/null; then
		bad "ping missing (scripts/setup.sh installs iputils-ping)"
	elif in_ns timeout 20 ping -c 5 -i 0.2 -W 2 198.18.0.2 >"$TMP/ping.out" 2>&1 &&
	     grep -q " 0% packet loss" "$TMP/ping.out" &&
	     in_ns ip neigh show 198.18.0.2 dev nf0 | grep -q lladdr; then
		ok "kernel ping -> 198.18.0.2: ARP resolved, 5/5 echo replies from the program's stack"
	else
		cat "$TMP/ping.out"; bad "kernel ping -> 198.18.0.2"
	fi
else
	cat "$TMP/pp.out" "$TMP/pp.err"; bad "pingpong server under libhook.so listening"
fi
stop "$P"
grep -q "user-space stack up\|port 0 (net_tap) up" "$TMP/pp.err" ||
	{ grep -v "hook: active" "$TMP/pp.err" | tail -5; }

# 2. python blocking echo, 1 MB x 3
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	python3 "$TMP/echo.py" 7000 3 \
	>"$TMP/e.out" 2>"$TMP/e.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/e.out" READY "$P"; then
	good=0
	for i in 1 2 3; do
		r=$(timeout 20 ip netns exec "$NS" python3 "$TMP/client.py" 198.18.0.2 7000 1000000 2>&1)
		[ "$r" = OK ] && good=$((good+1)) || echo "# client $i: $r"
	done
	if [ $good = 3 ]; then ok "python3 echo server under libhook.so: 3 x 1 MB byte-exact"
	else bad "python3 echo server under libhook.so: $good of 3 x 1 MB"; fi
else
	cat "$TMP/e.out" "$TMP/e.err" | grep -v "hook: active"; bad "python3 echo server READY"
fi
stop "$P"

# 3. a hooked client connects out to a kernel server
timeout 60 ip netns exec "$NS" python3 "$TMP/echo.py" 7001 1 >"$TMP/k.out" 2>&1 &
P=$!; PIDS+=("$P")
if wait_for "$TMP/k.out" READY "$P"; then
	r=$(timeout 30 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
		python3 "$TMP/client.py" 198.18.0.1 7001 300000 2>"$TMP/c.err")
	if [ "$r" = OK ]; then ok "python3 client under libhook.so -> kernel server: 300 KB byte-exact"
	else grep -v "hook: active" "$TMP/c.err" | tail -5; bad "hooked client -> kernel server ($r)"; fi
else
	bad "kernel echo server READY"
fi
stop "$P"

# 4. UDP echo under the hook
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	python3 "$TMP/udp.py" 7002 50 >"$TMP/u.out" 2>"$TMP/u.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/u.out" READY "$P"; then
	for _ in $(seq 50); do in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break; sleep 0.1; done
	r=$(timeout 30 ip netns exec "$NS" python3 "$TMP/udpc.py" 198.18.0.2 7002 20 2>&1)
	if [ "$r" = OK ]; then ok "python3 UDP echo under libhook.so: 20 datagrams byte-exact"
	else bad "UDP echo under libhook.so ($r)"; fi
else
	bad "UDP echo server READY"
fi
stop "$P"

# 5. fork: the child closes the listener, the parent keeps serving
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	python3 "$TMP/echo.py" 7003 3 fork \
	>"$TMP/f.out" 2>"$TMP/f.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/f.out" READY "$P"; then
	good=0
	for i in 1 2 3; do
		r=$(timeout 20 ip netns exec "$NS" python3 "$TMP/client.py" 198.18.0.2 7003 100000 2>&1)
		[ "$r" = OK ] && good=$((good+1)) || echo "# client $i: $r"
	done
	if [ $good = 3 ] && grep -q "CHILD DONE" "$TMP/f.out"; then
		ok "fork child closes the listener; parent serves 3 connections"
	else
		grep -v "hook: active" "$TMP/f.err" | tail -5
		bad "fork child closes the listener ($good of 3)"
	fi
else
	bad "fork echo server READY"
fi
stop "$P"

# 6. exit without close: FIN at exit_group
cat >"$TMP/exit.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
print("READY", flush=True)
c, a = s.accept()
c.recv(5)
c.sendall(b"bye")
os._exit(0)
PY
cat >"$TMP/exitc.py" <<'PY'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"hello")
got = b""
try:
    while True:
        d = c.recv(100)
        if not d:
            break
        got += d
    print("OK" if got == b"bye" else "BAD %r" % got)
except socket.timeout:
    print("TIMEOUT %r" % got)
PY
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	python3 "$TMP/exit.py" 7004 >"$TMP/x.out" 2>"$TMP/x.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/x.out" READY "$P"; then
	for _ in $(seq 50); do in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break; sleep 0.1; done
	r=$(timeout 20 ip netns exec "$NS" python3 "$TMP/exitc.py" 198.18.0.2 7004 2>&1 | tail -1)
	if [ "$r" = OK ]; then ok "server exits without close: client gets the data and EOF"
	else bad "server exits without close ($r)"; fi
else
	bad "exit server READY"
fi
stop "$P"

# 7. NETFUSE_VFS=0
timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_VFS=0 \
	python3 "$TMP/echo.py" 7005 1 >"$TMP/v.out" 2>"$TMP/v.err" &
P=$!; PIDS+=("$P")
if wait_for "$TMP/v.out" READY "$P"; then
	sleep 0.5
	r=$(timeout 20 ip netns exec "$NS" python3 "$TMP/client.py" 127.0.0.1 7005 10000 2>&1)
	if [ "$r" = OK ] && ! in_ns ip link show nf0 >/dev/null 2>&1; then
		ok "NETFUSE_VFS=0: kernel only (no DPDK start, no nf0)"
	else
		bad "NETFUSE_VFS=0 ($r)"
	fi
else
	bad "NETFUSE_VFS=0 echo server READY"
fi
stop "$P"

# 8. memcached
cat >"$TMP/mc.py" <<'PY'
import os, socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conns = [socket.create_connection((host, port), timeout=10) for _ in range(4)]
def cmd(c, data, until):
    c.sendall(data)
    buf = b""
    while not buf.endswith(until):
        d = c.recv(65536)
        if not d:
            raise Exception("eof")
        buf += d
    return buf
vals = {}
for i in range(n):
    v = os.urandom(1 + (i * 131) % 5000).hex().encode()
    vals[i] = v
    r = cmd(conns[i % 4], b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(v), v), b"\r\n")
    assert r == b"STORED\r\n", r
bad = 0
for i in range(n):
    r = cmd(conns[(i + 1) % 4], b"get k%d\r\n" % i, b"END\r\n")
    if r != b"VALUE k%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(vals[i]), vals[i]):
        bad += 1
print("OK" if bad == 0 else "BAD %d" % bad, flush=True)
PY
if command -v memcached >/dev/null; then
	for t in 1 4; do
		timeout 60 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
			memcached -u root -t $t -p 11211 -l 0.0.0.0 \
			>"$TMP/mc.out" 2>&1 &
		P=$!; PIDS+=("$P")
		r=
		for _ in $(seq 100); do
			in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break
			sleep 0.1
		done
		sleep 0.5
		r1=$(timeout 30 ip netns exec "$NS" python3 "$TMP/mc.py" 198.18.0.2 11211 500 2>&1 | tail -1)
		r2=$(timeout 30 ip netns exec "$NS" python3 "$TMP/mc.py" 127.0.0.1 11211 100 2>&1 | tail -1)
		if [ "$r1" = OK ] && [ "$r2" = OK ]; then
			ok "memcached -t $t under libhook.so: 500 values over nf0, 100 over 127.0.0.1"
		else
			grep -v "hook: active" "$TMP/mc.out" | tail -5
			bad "memcached -t $t under libhook.so ($r1 / $r2)"
		fi
		stop "$P"
	done
else
	echo "# memcached not installed: skipping its case"
fi

exit $fail
