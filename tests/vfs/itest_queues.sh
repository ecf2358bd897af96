#!/usr/bin/env bash
# itest_queues.sh: two stack instances in one process (NETFUSE_QUEUES=2),
# unmodified programs, over the default net_tap (a multi-queue tap: the
# kernel picks a flow's queue; vfs/steer.c hands over what lands on the
# wrong one) and over a net_memif pair with two queue pairs.
#
# Root only (run by `make test`). Everything in a network namespace
# (nf-q-$$) removed on exit; stack 198.19.60.2, tap's kernel side
# 198.19.60.1/24; memif pair 198.18.0.2 / .3 (no tap). Cases:
#   1. memcached -t 2 serves 16 kernel connections, 300 set/get each,
#      every value compared; while they are open, /netfuse/instances
#      (DPDK telemetry) shows both instances with established connections
#      and connections moved to their worker's instance (moved_in)
#   2. a thread-per-connection blocking server, and an accept-on-one-thread
#      server handing connections to two workers (itest_servers modes),
#      6 connections over nf0, every byte checked
#   3. outgoing connects from two threads: a hooked pingpong client
#      (-t 2 -c 4) against a kernel pingpong server for 2 s, no errors,
#      and both instances carried connections
#   4. memif, two queue pairs on both sides: pingpong server -t 2
#      --reuseport and client -t 2 -c 4, no errors, both of the server's
#      instances carried connections
#   5. NETFUSE_QUEUES=9 on net_tap (DPDK 22.11's tap aborts above 4 queue
#      pairs): one line naming the variable and the limit, then 4
#      instances that serve
#   6. NETFUSE_QUEUES=auto: as many instances as CPUs (tap: at most 4),
#      one when pinned to one CPU; a single-threaded server holds all
#      its connections on its own instance (the others moved to it)
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so
SRV=$B/tests/vfs/itest_servers
PP=$B/apps/pingpong

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_queues.sh: needs root"; exit 77; fi
for f in "$HOOK" "$SRV" "$PP"; do
	[ -e "$f" ] || { echo "not ok - $f not built"; exit 1; }
done

NS=nf-q-$$
TMP=$(mktemp -d /tmp/nf-q-test.XXXXXX)
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
STACK=198.19.60.2
KERN=198.19.60.1
HENV=(env LD_PRELOAD="$HOOK" NETFUSE_QUEUES=2 NETFUSE_HUGE=off
      NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24)
hooked() { # hooked LIMIT CMD...: in the namespace, background, P=pid
	local lim=$1; shift
	timeout -k 5 "$lim" ip netns exec "$NS" "${HENV[@]}" "$@" &
	P=$!; PIDS+=("$P")
}
# the pid of the program itself (timeout and ip netns exec run it)
prog_pid() { pgrep -f "$1" | sort -n | tail -1; }
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
# samples PATTERN SECONDS: /netfuse/instances of the program matching
# PATTERN every 0.2 s, one JSON line each, until one shows every
# instance with established connections or SECONDS pass
samples() {
	local end=$(( $(date +%s%N) + $2 * 1000000000 )) pid line
	while [ "$(date +%s%N)" -lt $end ]; do
		pid=$(prog_pid "$1")
		line=$([ -n "$pid" ] && tel "$pid" /netfuse/instances 2>/dev/null)
		if [ -n "$line" ]; then
			echo "$line"
			both_carry "$line" conns >/dev/null && return 0
		fi
		sleep 0.2
	done
}
# both_carry JSONLINES FIELD: in some sample every instance has FIELD > 0
# (prints the best sample's values)
both_carry() {
	python3 -c '
import json, sys
best = None
for line in sys.argv[1].splitlines():
    try:
        d = json.loads(line)["/netfuse/instances"]
    except Exception:
        continue
    if not isinstance(d, dict):  # asked before io/ registered
        continue
    v = [d[k][sys.argv[2]] for k in sorted(d)]
    if best is None or min(v) > min(best):
        best = v
print(" ".join(str(x) for x in best or []))
sys.exit(0 if best and len(best) == 2 and min(best) > 0 else 1)' "$1" "$2"
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
T0=$(date +%s)

# 1. memcached -t 2
if command -v memcached >/dev/null; then
	hooked 60 memcached -u root -t 2 -p 11411 -U 0 -l 0.0.0.0
	MP=$P
	if wait_port $STACK 11411; then
		in_ns python3 - $STACK 11411 "$TMP/mc.fifo" >"$TMP/mc.out" 2>&1 <<'PY' &
import os, random, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
conns = [socket.create_connection((host, port)) for _ in range(16)]
def rd(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d: raise SystemExit("EOF")
        b += d
    return b
bad = 0
for r in range(300):
    for i, c in enumerate(conns):
        k = b"k%d_%d" % (i, r)
        v = os.urandom(random.randint(1, 2000))
        c.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
        if rd(c, 8) != b"STORED\r\n": bad += 1
        c.sendall(b"get %s\r\n" % k)
        want = b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v)
        if rd(c, len(want)) != want: bad += 1
    if r == 150:
        print("HALF", flush=True)
        time.sleep(1.5)  # the script reads telemetry now
print("bad", bad, flush=True)
PY
		CP=$!
		for _ in $(seq 100); do grep -q HALF "$TMP/mc.out" && break; sleep 0.1; done
		t=$(samples 'memcached -u root -t 2 -p 11411' 1)
		wait $CP; crc=$?
		if c=$(both_carry "$t" conns); then
			ok "memcached -t 2, NETFUSE_QUEUES=2: both instances hold connections (conns $c)"
		else
			bad "memcached -t 2, NETFUSE_QUEUES=2: both instances hold connections (conns ${c:-?}; $t)"
		fi
		# memcached's listener thread hands each connection to a
		# worker: those that landed on the other worker's instance
		# moved to their worker's (vfs/move.c)
		m=$(python3 -c '
import json, sys
last = None
for line in sys.argv[1].splitlines():
    try:
        d = json.loads(line)["/netfuse/instances"]
    except Exception:
        continue
    if isinstance(d, dict):
        last = d
print(sum(v["moved_in"] for v in last.values()) if last else -1)' "$t")
		if [ "${m:--1}" -gt 0 ] 2>/dev/null; then
			ok "memcached -t 2, NETFUSE_QUEUES=2: handed-off connections moved to their worker's instance ($m of 16)"
		else
			bad "memcached -t 2, NETFUSE_QUEUES=2: no connection moved (moved_in ${m:-?})"
		fi
		if [ $crc = 0 ] && grep -q "^bad 0$" "$TMP/mc.out"; then
			ok "memcached -t 2, NETFUSE_QUEUES=2: 16 connections x 300 set/get, every value checked"
		else
			bad "memcached -t 2, NETFUSE_QUEUES=2: values ($(tail -2 "$TMP/mc.out" | tr '\n' ' '))"
		fi
	else
		bad "memcached -t 2 under libhook.so, NETFUSE_QUEUES=2: not listening"
	fi
	kill -TERM $MP 2>/dev/null; wait $MP 2>/dev/null
else
	bad "memcached not installed (scripts/setup.sh installs it)"
fi

# 2. thread per connection; accept on one thread, serve on two
SIZES=1,1460,65536,65537,262147,1000000
port=7300
for mode in threads handoff; do
	port=$((port+1))
	hooked 60 "$SRV" "$mode" $port 6 >"$TMP/s.out" 2>"$TMP/s.err"
	for _ in $(seq 150); do grep -q READY "$TMP/s.out" && break; sleep 0.1; done
	for _ in $(seq 200); do
		in_ns ip addr show nf0 2>/dev/null | grep -q "$KERN" && break
		sleep 0.1
	done
	if ! grep -q READY "$TMP/s.out"; then
		bad "$mode server, NETFUSE_QUEUES=2: not READY"; continue
	fi
	r=$(timeout 60 ip netns exec "$NS" "$SRV" client $STACK $port $SIZES 2>&1)
	wait $P; rc=$?
	if [[ $r == OK* ]] && [ $rc = 0 ]; then
		ok "$mode server, NETFUSE_QUEUES=2: ${r#OK }, exit 0"
	else
		bad "$mode server, NETFUSE_QUEUES=2: $r (exit $rc; $(tail -2 "$TMP/s.err" | tr '\n' ' '))"
	fi
done

# 3. outgoing connects from two threads
in_ns "$PP" server -a 0.0.0.0 -p 7400 -t 2 >"$TMP/ks.out" 2>&1 &
KP=$!; PIDS+=("$KP")
if wait_port 127.0.0.1 7400; then
	hooked 30 "$PP" client -a $KERN -p 7400 -t 2 -c 4 -d 4 -w 1 >"$TMP/c.out" 2>&1
	CP=$P
	t=$(samples "pingpong client -a $KERN -p 7400" 8)
	wait $CP; crc=$?
	line=$(grep "requests=" "$TMP/c.out" | tail -1)
	if [ $crc = 0 ] && echo "$line" | grep -q " errors=0"; then
		ok "pingpong client -t 2 -c 4, NETFUSE_QUEUES=2, to a kernel server: no errors (${line:0:60})"
	else
		bad "pingpong client -t 2, NETFUSE_QUEUES=2: exit $crc ($(tail -2 "$TMP/c.out" | tr '\n' ' '))"
	fi
	if c=$(both_carry "$t" conns); then
		ok "outgoing connects from two threads: both instances hold connections (conns $c)"
	else
		bad "outgoing connects from two threads: both instances hold connections (conns ${c:-?}; $t)"
	fi
else
	bad "kernel pingpong server not listening"
fi
kill -TERM $KP 2>/dev/null; wait $KP 2>/dev/null

# 4. memif, two queue pairs
SOCK=$TMP/memif.sock
nf() { # nf ROLE ADDR CMD...
	local role=$1 addr=$2; shift 2
	env LD_PRELOAD="$HOOK" NETFUSE_QUEUES=2 \
	    NETFUSE_DEV="--vdev=net_memif0,role=$role,socket=$SOCK" \
	    NETFUSE_ADDR="$addr/24" NETFUSE_TAP_ADDR=none NETFUSE_HUGE=off "$@"
}
nf server 198.18.0.2 timeout 60 "$PP" server -a 0.0.0.0 -p 7500 -t 2 \
	--reuseport >"$TMP/ms.out" 2>&1 &
MS=$!; PIDS+=("$MS")
for _ in $(seq 200); do grep -q listening "$TMP/ms.out" && break; sleep 0.1; done
nf client 198.18.0.3 timeout 30 "$PP" client -a 198.18.0.2 -p 7500 -t 2 -c 4 \
	-d 4 -w 1 >"$TMP/mc2.out" 2>&1 &
CP=$!
t=$(samples 'pingpong server -a 0.0.0.0 -p 7500' 8)
wait $CP; crc=$?
line=$(grep "requests=" "$TMP/mc2.out" | tail -1)
if [ $crc = 0 ] && echo "$line" | grep -q " errors=0"; then
	ok "memif, 2 queue pairs: pingpong -t 2 -c 4, no errors (${line:0:60})"
else
	bad "memif, 2 queue pairs: pingpong client exit $crc ($(tail -2 "$TMP/mc2.out" | tr '\n' ' '))"
fi
if c=$(both_carry "$t" conns); then
	ok "memif, 2 queue pairs: both server instances hold connections (conns $c)"
else
	bad "memif, 2 queue pairs: both server instances hold connections (conns ${c:-?}; $t)"
fi
kill -TERM $MS 2>/dev/null; wait $MS 2>/dev/null

# 5. more queues than the device can have
timeout -k 5 20 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_QUEUES=9 \
	NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24 \
	"$PP" server -p 7600 -d 6 >"$TMP/q9.out" 2>&1 &
QP=$!; PIDS+=("$QP")
for _ in $(seq 150); do # listening (the tap has its address before)
	grep -q listening "$TMP/q9.out" 2>/dev/null && break
	sleep 0.1
done
r=$(in_ns timeout 20 "$PP" client -a $STACK -p 7600 -c 4 -d 1 -w 0 2>&1 | tail -1)
wait $QP
n=$(grep -c "NETFUSE_QUEUES=9: device net_tap has at most 4 queue pairs; using 4" "$TMP/q9.out")
if [ "$n" = 1 ] && echo "$r" | grep -q " errors=0" && ! echo "$r" | grep -q "^pingpong rps=0 "; then
	ok "NETFUSE_QUEUES=9 on net_tap: one line names the limit, 4 instances serve (${r:0:40})"
else
	bad "NETFUSE_QUEUES=9 on net_tap: $n limit line(s), client: $r ($(grep -v TELEMETRY "$TMP/q9.out" | head -3 | tr '\n' ' '))"
fi

# 6. NETFUSE_QUEUES=auto: one instance per CPU the process may run on
# (net_tap: at most 4); pinned to one CPU, one. A single-threaded server
# serves every connection from its own instance: those that landed on
# another queue moved to it (vfs/move.c)
ncpu=$(nproc); [ "$ncpu" -gt 4 ] && ncpu=4
for pin in all one; do
	port=$((7700 + ${#pin}))
	cmd=("$PP" server -p $port -d 7)
	[ $pin = one ] && cmd=(taskset -c 0 "${cmd[@]}")
	timeout -k 5 20 ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_QUEUES=auto NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 \
		NETFUSE_TAP_ADDR=$KERN/24 "${cmd[@]}" >"$TMP/auto.out" 2>&1 &
	AP=$!; PIDS+=("$AP")
	for _ in $(seq 150); do grep -q listening "$TMP/auto.out" 2>/dev/null && break; sleep 0.1; done
	in_ns timeout 20 "$PP" client -a $STACK -p $port -c 8 -d 4 -w 0 >"$TMP/auto.cl" 2>&1 &
	CLP=$!
	sleep 1
	for _ in 1 2 3 4 5; do # until a sample sees all 8 (a busy CPU 0 delays it)
		pid=$(prog_pid "pingpong server -p $port")
		t=$([ -n "$pid" ] && tel "$pid" /netfuse/instances 2>/dev/null)
		python3 -c 'import json, sys; d = json.loads(sys.argv[1])["/netfuse/instances"]; sys.exit(sum(d[k]["conns"] for k in d) != 8)' "$t" 2>/dev/null && break
		sleep 0.3
	done
	wait $CLP; crc=$?
	wait $AP
	want=$ncpu; [ $pin = one ] && want=1
	v=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])["/netfuse/instances"]
c = [d[k]["conns"] for k in sorted(d)]
m = sum(d[k]["moved_in"] for k in d)
print(len(d), max(c), sum(c), m)' "$t" 2>/dev/null)
	read -r n mx tot mv <<<"${v:-0 0 0 0}"
	if [ "$n" = "$want" ] && [ "$mx" = 8 ] && [ "$tot" = 8 ] && [ $crc = 0 ] &&
	   grep -q " errors=0" "$TMP/auto.cl" && { [ $pin = one ] || [ "$ncpu" = 1 ] || [ "$mv" -gt 0 ]; }; then
		ok "NETFUSE_QUEUES=auto, pinned to $pin CPU(s): $n instance(s); a single-threaded server holds all 8 connections on its own ($mv moved to it)"
	else
		bad "NETFUSE_QUEUES=auto, pinned to $pin CPU(s): instances $n (want $want), conns max $mx total $tot, moved $mv, client exit $crc ($(tail -1 "$TMP/auto.cl"))"
	fi
done

echo "# itest_queues.sh: $(( $(date +%s) - T0 )) s"
exit $fail
