#!/usr/bin/env bash
# itest_hostile.sh: hostile frames against the user-space stack of an
# unmodified program under LD_PRELOAD=libhook.so (issue 7).
#
# Root only (run by `make test`). A namespace (nf-host-$$, removed on exit)
# holds a python3 echo server (selectors/epoll, tests/rel/echo_sel.py)
# under the hook on the default net_tap nf0 (stack 198.18.0.2, kernel side
# 198.18.0.1, offloads off there). tests/rel/hostile.py (python3-scapy, on
# the kernel side of nf0) sends each hostile frame: bad IP lengths and IHL,
# overlapping and past-64-KiB fragments, TCP data offsets, option lengths
# 0/1/past the header, SYN+FIN, SYN+RST, bad checksums, broken UDP/ICMP/
# ARP, a jumbo frame past the stack's MTU (nf0's kernel side at 9000), and
# on an established connection an in-window RST and SYNs (RFC 5961:
# challenge ACK, the connection survives); and IPv6 to 2001:2::2: bogus
# extension-header chains, routing type 0, tiny overlapping fragments,
# payload length past the frame, a jumbogram without hop-by-hop, ND with
# hop limit 64, an NA claiming the stack's address, a bad ICMPv6
# checksum, and an echo as the control. Each case checks the counters
# its frames must move (hostile.py, through the telemetry socket). After each: ping, a new
# connection's echo and the established connection's echo must work.
# Also checks at the end that the server process is still alive.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
HOOK=$PWD/$B/libhook.so
REL=$PWD/tests/rel
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_hostile.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }
[ -x "$PY" ] || { echo "not ok - python3 missing (install python3)"; exit 1; }
$PY -c "import scapy.all" 2>/dev/null ||
	{ echo "not ok - scapy missing (install python3-scapy)"; exit 1; }
command -v ping >/dev/null || { echo "not ok - ping missing (install iputils-ping)"; exit 1; }
command -v ethtool >/dev/null || { echo "not ok - ethtool missing (install ethtool)"; exit 1; }
[ "$(cat /proc/sys/vm/mmap_min_addr)" = 0 ] ||
	{ echo "SKIP itest_hostile.sh: vm.mmap_min_addr != 0 (make setup)"; exit 77; }

NS=nf-host-$$
TMP=$(mktemp -d /tmp/nf-host-test.XXXXXX)
PIDS=()
fail=0
T0=$(date +%s)
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
in_ns() { ip netns exec "$NS" "$@"; }
wait_for() {
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

timeout 300 ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
	$PY "$REL/echo_sel.py" 7300 >"$TMP/s.out" 2>"$TMP/s.err" &
P=$!; PIDS+=("$P")
if ! wait_for "$TMP/s.out" READY "$P"; then
	grep -v "hook: active" "$TMP/s.err" | tail -5
	echo "not ok - echo server under libhook.so not up"; exit 1
fi
for _ in $(seq 100); do in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && break; sleep 0.1; done
in_ns ethtool -K nf0 tx off tso off gso off >/dev/null 2>&1 ||
	{ echo "not ok - ethtool -K nf0 tx off tso off gso off"; fail=1; }
# the kernel side takes jumbo frames (the stack stays at 1500): one case
# sends a frame past the stack's MTU
in_ns ip link set nf0 mtu 9000 || { echo "not ok - ip link set nf0 mtu 9000"; fail=1; }

# in the background: a TERM to this script runs the trap at once
SPID=$(awk '/^READY/ { print $2; exit }' "$TMP/s.out")
TEL=/var/run/dpdk/netfuse-$SPID/dpdk_telemetry.v2
for _ in $(seq 50); do [ -S "$TEL" ] && break; sleep 0.1; done
[ -S "$TEL" ] || { echo "not ok - no telemetry socket $TEL"; exit 1; }
timeout 240 ip netns exec "$NS" env HOSTILE_DUMP="${HOSTILE_DUMP:-0}" \
	$PY "$REL/hostile.py" 7300 "$TEL" 2>"$TMP/h.err" \
	> >(tee "$TMP/h.out") &
H=$!; PIDS+=("$H")
wait "$H"; rc=$?
if [ $rc != 0 ]; then
	fail=1
	grep -v "^WARNING" "$TMP/h.err" | tail -5
	[ $rc = 124 ] && echo "not ok - hostile.py timed out (240 s)"
fi
if kill -0 "$P" 2>/dev/null; then
	echo "ok - echo server under libhook.so still running after every hostile case"
else
	wait "$P"; echo "not ok - echo server under libhook.so died (status $?)"
	grep -v "hook: active" "$TMP/s.err" | tail -5; fail=1
fi
# one row per case for the rel results table (itest_zz_results.sh)
sleep 0.2
mkdir -p "$B/rel-results"
sed -n 's/^\(not ok\|ok\) [0-9 -]*\(.*\)/\2|\1/p' "$TMP/h.out" 2>/dev/null |
	awk -F'|' '{ n = $1; sub(/: .*/, "", n); printf "%s|netfuse server|-|-|%s\n", substr(n, 1, 60), $2 == "ok" ? "ok" : "FAIL" }' \
	>"$B/rel-results/itest_hostile.rows"
echo "# itest_hostile.sh: $(( $(date +%s) - T0 )) s"
exit $fail
