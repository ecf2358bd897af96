#!/usr/bin/env bash
# itest_fork.sh: servers that fork before their first socket (the daemon
# pattern: fork, the parent exits, the child opens the listeners) run on
# the user-space stack: the child starts its own stack (vfs/inst.c,
# "fork"). Before, a fork child sent every new socket to the kernel, so a
# daemonized server never touched netfuse (no tap appeared).
#
# Root only (run by `make test`). In a network namespace (nf-fk-$$)
# removed on exit; stack 198.19.62.2, tap's kernel side 198.19.62.1/24;
# the stack's address exists only in the user-space stack, so a kernel
# client reaching it proves the daemon serves there. Cases:
#   1. memcached -d: 8 kernel connections x 100 set/get, every value
#      compared; the daemon (pid file) has its own DPDK telemetry socket
#      and /netfuse/instances counts its connections
#   2. redis-server --daemonize yes: SET then GET of 64 random values
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_fork.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }

NS=nf-fk-$$
TMP=$(mktemp -d /tmp/nf-fk-test.XXXXXX)
fail=0
cleanup() {
	for f in "$TMP"/*.pid; do
		[ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	sleep 0.3
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
STACK=198.19.62.2
KERN=198.19.62.1
HENV=(env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off
      NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24)
wait_port() { # wait_port HOST PORT: until it accepts (10 s)
	for _ in $(seq 100); do
		in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}
# tel PID CMD: one DPDK telemetry request to the program, JSON on stdout
tel() {
	timeout 10 python3 - "/var/run/dpdk/netfuse-$1/dpdk_telemetry.v2" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
print(json.dumps(json.loads(s.recv(1 << 20).decode())))
PY
}
stop_pidfile() { # stop_pidfile FILE: TERM the daemon, wait (5 s)
	local p
	p=$(cat "$1" 2>/dev/null) || return
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	rm -f "$1"
}

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

# 1. memcached -d
if command -v memcached >/dev/null; then
	timeout 20 ip netns exec "$NS" "${HENV[@]}" memcached -d -u root \
		-p 11511 -U 0 -l 0.0.0.0 -P "$TMP/mc.pid"
	rc=$?
	if [ $rc != 0 ]; then
		bad "memcached -d under libhook.so: exit $rc"
	elif ! wait_port $STACK 11511; then
		bad "memcached -d: $STACK:11511 (the user-space stack) not reachable"
	else
		in_ns python3 - $STACK 11511 >"$TMP/mc.out" 2>&1 <<'PY' &
import os, random, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
conns = [socket.create_connection((host, port), timeout=10) for _ in range(8)]
def rd(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: raise SystemExit("EOF")
        b += d
    return b
bad = 0
for r in range(100):
    for i, c in enumerate(conns):
        k = b"k%d_%d" % (i, r)
        v = os.urandom(random.randint(1, 3000))
        c.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
        if rd(c, 8) != b"STORED\r\n": bad += 1
        c.sendall(b"get %s\r\n" % k)
        want = b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v)
        if rd(c, len(want)) != want: bad += 1
    if r == 50:
        print("HALF", flush=True)
        time.sleep(1)  # the script reads telemetry now
print("bad", bad, flush=True)
PY
		CP=$!
		for _ in $(seq 100); do grep -q HALF "$TMP/mc.out" && break; sleep 0.1; done
		d=$(cat "$TMP/mc.pid" 2>/dev/null)
		t=$(tel "$d" /netfuse/instances 2>&1)
		wait $CP; crc=$?
		if [ $crc = 0 ] && grep -q "^bad 0$" "$TMP/mc.out"; then
			ok "memcached -d: 8 connections x 100 set/get on the user-space stack, every value checked"
		else
			bad "memcached -d: values ($(tail -2 "$TMP/mc.out" | tr '\n' ' '))"
		fi
		if python3 -c '
import json, sys
d = json.loads(sys.argv[1])["/netfuse/instances"]
sys.exit(0 if sum(v["conns"] for v in d.values()) >= 8 else 1)' "$t" 2>/dev/null; then
			ok "memcached -d: the daemon (pid $d) runs its own stack, telemetry counts its 8 connections"
		else
			bad "memcached -d: telemetry of the daemon (pid ${d:-?}): $t"
		fi
	fi
	stop_pidfile "$TMP/mc.pid"
else
	bad "memcached not installed (scripts/setup.sh installs it)"
fi

# 2. redis-server --daemonize yes
if command -v redis-server >/dev/null; then
	timeout 20 ip netns exec "$NS" "${HENV[@]}" redis-server --daemonize yes \
		--port 6391 --bind 0.0.0.0 --protected-mode no --save "" \
		--appendonly no --dir "$TMP" --pidfile "$TMP/rd.pid" \
		--logfile "$TMP/rd.log"
	rc=$?
	if [ $rc != 0 ]; then
		bad "redis-server --daemonize yes under libhook.so: exit $rc"
	elif ! wait_port $STACK 6391; then
		bad "redis --daemonize yes: $STACK:6391 not reachable ($(tail -2 "$TMP/rd.log" | tr '\n' ' '))"
	else
		r=$(in_ns timeout 30 python3 - $STACK 6391 2>&1 <<'PY'
import os, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = c.makefile("rb")
def cmd(*a):
    c.sendall(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
    return f.readline()
vals = {b"key%d" % i: os.urandom(1 + i * 97).hex().encode() for i in range(64)}
bad = sum(cmd(b"SET", k, v) != b"+OK\r\n" for k, v in vals.items())
for k, v in vals.items():
    if cmd(b"GET", k) != b"$%d\r\n" % len(v): bad += 1; continue
    if f.read(len(v) + 2) != v + b"\r\n": bad += 1
print("bad", bad)
PY
)
		if [ "$r" = "bad 0" ]; then
			ok "redis-server --daemonize yes: 64 SET/GET on the user-space stack, every value checked"
		else
			bad "redis-server --daemonize yes: $r"
		fi
	fi
	stop_pidfile "$TMP/rd.pid"
else
	bad "redis-server not installed (scripts/setup.sh installs it)"
fi

exit $fail
