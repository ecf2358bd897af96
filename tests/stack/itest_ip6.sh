#!/usr/bin/env bash
# itest_ip6.sh: IPv6 on the wire with the Linux kernel as the peer, over
# the default net_tap (issue 16's first part: ND and ICMPv6).
#
# Root only (run by `make test`). In a network namespace (nf-ip6-$$),
# removed on exit: a hooked pingpong server starts the stack with the
# defaults (NETFUSE_ADDR6 2001:2::2/64; the tap's kernel side gets
# NETFUSE_TAP_ADDR6 2001:2::1/64 without DAD). Cases:
#   1. ping -6 2001:2::2 from the kernel: 5 of 5 replies (the kernel
#      resolved the stack's MAC by Neighbor Discovery)
#   2. the kernel's own link-local address passes DAD (the stack's is a
#      hash of the shared MAC, not its EUI-64), and ping -6 to the
#      stack's link-local address, found by pinging all nodes
#   3. /netfuse/stats counts the echo replies and neighbour
#      advertisements; nothing was dropped as malformed
#   4. NETFUSE_ADDR6=bogus: one line naming the variable
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so
PP=$B/apps/pingpong

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_ip6.sh: needs root"; exit 77; fi
for f in "$HOOK" "$PP"; do
	[ -e "$f" ] || { echo "not ok - $f not built"; exit 1; }
done

NS=nf-ip6-$$
TMP=$(mktemp -d /tmp/nf-ip6.XXXXXX)
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
T0=$(date +%s)

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up
timeout -k 5 40 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	"$PP" server -p 7800 -d 30 >"$TMP/srv.out" 2>&1 &
SP=$!; PIDS+=("$SP")
for _ in $(seq 150); do grep -q listening "$TMP/srv.out" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do
	in_ns ip -6 addr show nf0 2>/dev/null | grep -q "2001:2::1/64" && break
	sleep 0.1
done

# 1. ping the global address
r=$(in_ns ping -6 -c 5 -i 0.2 -W 2 2001:2::2 2>&1)
if echo "$r" | grep -q " 5 received"; then
	ok "kernel ping -6 2001:2::2: 5 of 5 replies ($(echo "$r" | tail -1))"
else
	bad "kernel ping -6 2001:2::2: $(echo "$r" | grep -E "received|unreach" | head -2 | tr '\n' ' ') ($(in_ns ip -6 addr show nf0 | grep inet6 | tr '\n' ' '))"
fi
# the kernel's neighbour entry holds the stack's MAC
mac=$(in_ns ip -6 neigh show 2001:2::2 dev nf0 | awk '{print $3}')
[ -n "$mac" ] && ok "kernel learnt the stack's MAC by ND ($mac)" ||
	bad "no neighbour entry for 2001:2::2 ($(in_ns ip -6 neigh show dev nf0 | tr '\n' ' '))"

# 2. the link-local address (fe80:: + a hash of its MAC, not the
# EUI-64 the kernel side of the tap, which has the same MAC, takes):
# the kernel finds it with ping to all nodes, and its own link-local
# address passed duplicate address detection (the stack did not claim it)
for _ in $(seq 30); do # the kernel's DAD takes about a second
	in_ns ip -6 addr show dev nf0 scope link | grep -q tentative || break
	sleep 0.1
done
kll=$(in_ns ip -6 addr show dev nf0 scope link)
if echo "$kll" | grep -q "fe80::" && ! echo "$kll" | grep -q "dadfailed\|tentative"; then
	ok "the kernel's link-local address on nf0 passed DAD ($(echo "$kll" | awk '/inet6/ {print $2}'))"
else
	bad "the kernel's link-local address on nf0: $(echo "$kll" | grep inet6)"
fi
ll=$(in_ns ping -6 -w 2 -i 0.3 "ff02::1%nf0" 2>&1 | grep -o "from fe80::[0-9a-f:]*" |
	awk '{print $2}' | sed 's/:$//' | sort -u | while read -r a; do
	echo "$kll" | grep -q "$a/" || echo "$a"; done | head -1)
if [ -n "$ll" ]; then
	r=$(in_ns ping -6 -c 3 -i 0.2 -W 2 "$ll%nf0" 2>&1)
	if echo "$r" | grep -q " 3 received"; then
		ok "kernel ping -6 $ll%nf0 (the stack's link-local): 3 of 3 replies"
	else
		bad "kernel ping -6 $ll%nf0: $(echo "$r" | grep -E "received" | tr '\n' ' ')"
	fi
else
	bad "no link-local answer to ping ff02::1%nf0 but the kernel's own"
fi

# 3. the stack's counters
pid=$(pgrep -f "pingpong server -p 7800" | sort -n | tail -1)
st=$(timeout 10 python3 - "/var/run/dpdk/netfuse-$pid/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)
s.send(b"/netfuse/stats")
d = json.loads(s.recv(1 << 20).decode())["/netfuse/stats"]
print(d["icmp6_echo_replied"], d["nd_na_sent"], d["drop_nd_bad"],
      d["drop_icmp6_cksum"], d["drop_ip6_len"])
PY
)
read -r echo na ndbad ck len <<<"${st:-0 0 x x x}"
if [ "${echo:-0}" -ge 8 ] && [ "${na:-0}" -ge 1 ] && [ "$ndbad" = 0 ] &&
   [ "$ck" = 0 ] && [ "$len" = 0 ]; then
	ok "telemetry: icmp6_echo_replied $echo, nd_na_sent $na, no malformed drops"
else
	bad "telemetry: icmp6_echo_replied ${echo:-?} nd_na_sent ${na:-?} drop_nd_bad ${ndbad:-?} drop_icmp6_cksum ${ck:-?} drop_ip6_len ${len:-?}"
fi
kill -TERM $SP 2>/dev/null; wait $SP 2>/dev/null

# 4. a bad NETFUSE_ADDR6: one line naming it, the program still runs
out=$(timeout 20 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	NETFUSE_ADDR6=fe80::5/64 "$PP" client -a 198.18.0.1 -p 9 -c 1 -d 1 -w 0 2>&1)
n=$(echo "$out" | grep -c "NETFUSE_ADDR6='fe80::5/64'")
if [ "$n" = 1 ]; then
	ok "NETFUSE_ADDR6=fe80::5/64: one line names the variable"
else
	bad "NETFUSE_ADDR6=fe80::5/64: $n lines name it ($(echo "$out" | head -3 | tr '\n' ' '))"
fi

echo "# itest_ip6.sh: $(( $(date +%s) - T0 )) s"
exit $fail
