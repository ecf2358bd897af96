#!/usr/bin/env bash
# scripts/demo.sh (make demo): the main job.
#
# 1. Debian's memcached, unmodified, under LD_PRELOAD=build/libhook.so on
#    the default device (net_tap: kernel side nf0 = 198.18.0.1, the
#    user-space stack = 198.18.0.2), in a network namespace of its own; a
#    kernel-side client stores a value and reads it back through it.
# 2. mcload against memcached on netfuse (both under the hook, joined by a
#    net_memif pair) and against memcached on the Linux kernel (loopback),
#    same workload, one run; then the side-by-side table with the ratio.
# 3. The same for apps/pingpong (1-byte requests, 32 connections).
# Everything it starts is stopped at the end, also on Ctrl-C.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
. "$ROOT/bench/sides.sh"
NS=nf-demo-$$
cleanup_demo() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	sleep 0.3
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	sides_cleanup
}
trap cleanup_demo EXIT

[ -f "$HOOK" ] || { echo "demo: build first (make)"; exit 1; }
command -v memcached >/dev/null || { echo "demo: memcached missing (scripts/setup.sh installs it)"; exit 1; }

echo "== 1. memcached -t 1, unmodified, under libhook.so on nf0 (namespace $NS)"
ip netns add "$NS" || exit 1
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off NETFUSE_LOG=info \
	timeout 120 memcached -u root -U 0 -t 1 -l 0.0.0.0 -p 11211 >"$SIDES_TMP/mc.log" 2>&1 &
for i in $(seq 100); do
	ip netns exec "$NS" ip -br addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break
	sleep 0.1
done
grep -m1 "hook: active" "$SIDES_TMP/mc.log" | sed 's/^/   /'
ip netns exec "$NS" ip -br addr show nf0 | sed 's/^/   kernel side: /'
out=$(ip netns exec "$NS" timeout 20 /usr/bin/python3 - <<'PY'
import socket, time
for attempt in range(100):
    try:
        s = socket.create_connection(("198.18.0.2", 11211), timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("cannot connect to 198.18.0.2:11211")
def ask(line):
    s.sendall(line)
    time.sleep(0.05)
    return s.recv(4096).decode().strip()
print("   kernel client -> 198.18.0.2:11211  set demo 'hello from netfuse' ->", ask(b"set demo 0 0 18\r\nhello from netfuse\r\n"))
r = ask(b"get demo\r\n")
print("   kernel client -> 198.18.0.2:11211  get demo ->", r.replace("\r\n", " | "))
print("OK" if "hello from netfuse" in r else "BAD")
PY
)
echo "$out" | grep -v '^OK$\|^BAD$'
echo "$out" | grep -q '^OK$' || { echo "demo: the value did not come back"; exit 1; }
ip netns pids "$NS" | xargs -r kill 2>/dev/null
sleep 0.5

echo "== 2. mcload (90% get, 8-byte keys/values, 1 M keys Zipf 0.99, 32 conns, ${DURATION} s)"
declare -A R P
for side in kernel netfuse; do
	echo "   -- memcached on $side (progress every second)"
	line=$(memcached_side "$side" 32 --progress)
	R[$side]=$(field "$line" rps); P[$side]=$(field "$line" p99_us)
	echo "      errors=$(field "$line" errors) wrong=$(field "$line" wrong)"
done
echo
echo "   | memcached -t 1 | requests/s | p99 us |"
echo "   |---|---|---|"
echo "   | Linux kernel (loopback) | ${R[kernel]:-0} | ${P[kernel]:-0} |"
echo "   | netfuse (memif, both under libhook.so) | ${R[netfuse]:-0} | ${P[netfuse]:-0} |"
echo "   netfuse / kernel = $(ratio "${R[netfuse]:-0}" "${R[kernel]:-0}")"
[ -n "${R[netfuse]:-}" ] && [ -n "${R[kernel]:-}" ] || { echo "demo: a run failed"; exit 1; }

echo "== 3. pingpong, 1-byte requests, 32 connections, ${DURATION} s (apps/pingpong, unmodified)"
for side in kernel netfuse; do
	line=$(pingpong_side "$side" 32)
	R[pp$side]=$(field "$line" rps); P[pp$side]=$(field "$line" p99_us)
done
echo "   | pingpong | requests/s | p99 us |"
echo "   |---|---|---|"
echo "   | Linux kernel (loopback) | ${R[ppkernel]:-0} | ${P[ppkernel]:-0} |"
echo "   | netfuse (memif, both under libhook.so) | ${R[ppnetfuse]:-0} | ${P[ppnetfuse]:-0} |"
echo "   netfuse / kernel = $(ratio "${R[ppnetfuse]:-0}" "${R[ppkernel]:-0}")"
[ -n "${R[ppnetfuse]:-}" ] && [ -n "${R[ppkernel]:-}" ] || { echo "demo: a run failed"; exit 1; }
echo "== demo ok"
