#!/usr/bin/env bash
# itest_tap.sh: io/ over the default net_tap device, seen from the kernel.
#
# Root only (run by `make test`). Creates its own network namespace, runs
# build/tests/io/itest_tap --respond inside it (io/ on net_tap nf0 with
# --no-huge, the kernel side at 198.18.0.1/24, a tiny ARP/ICMP responder
# for 198.18.0.2 written in the test since stack/ is not used here), then:
#   - ping(8) 198.18.0.2 from the namespace's kernel side: 5 of 5 replies
#   - DPDK telemetry: /netfuse/config and /netfuse/stats answer, with
#     port counters that saw the pings
#   - NETFUSE_PCAP: the pcapng capture holds the requests and replies
#   - at exit every buffer came back to the pool (itest_tap checks it)
#   - with NETFUSE_OFFLOAD_TX_CKSUM=sw NETFUSE_OFFLOAD_TSO=sw, io/'s own
#     checksums and librte_gso produce frames the kernel accepts
#   - NETFUSE_DEV=net_af_packet0,iface=<veth>: the same over af_packet
# Bounded (timeout 60) and cleans the namespace up even on failure.
set -u
cd "$(dirname "$0")/../.."
BIN=${B:-build}/tests/io/itest_tap

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_tap.sh: needs root"; exit 77; fi
if [ ! -x "$BIN" ]; then echo "not ok - $BIN not built"; exit 1; fi
for t in ip python3 timeout; do
	command -v $t >/dev/null || { echo "SKIP itest_tap.sh: no $t"; exit 77; }
done

NS=nf-io-test-$$
TMP=$(mktemp -d /tmp/nf-io-test.XXXXXX)
PID=
fail=0
cleanup() {
	if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# TAP-style lines, counted by tests/run.sh
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

# the responder (itest_tap.c) polls queue 0 only: one queue, not one per CPU
export NETFUSE_QUEUES=1
ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
ip netns exec "$NS" ip link set lo up

NETFUSE_PCAP=$TMP/cap.pcapng NETFUSE_HUGE=off \
	timeout 60 ip netns exec "$NS" "$BIN" --respond 40 >"$TMP/out" 2>"$TMP/err" &
PID=$!
for _ in $(seq 300); do
	grep -q READY "$TMP/out" && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q READY "$TMP/out"; then
	cat "$TMP/out" "$TMP/err"
	bad "io/ up on net_tap nf0 in netns $NS"
	exit 1
fi
cat "$TMP/out"
ok "io/ up on net_tap nf0 in netns $NS"

# 1. the kernel pings the responder through nf0
if command -v ping >/dev/null; then
	PING=(ping -c 5 -i 0.2 -W 2 198.18.0.2)
else
	PING=("$BIN" --ping 198.18.0.2 5)  # raw ICMP socket, same kernel path
fi
ip netns exec "$NS" timeout 20 "${PING[@]}" >"$TMP/ping"
cat "$TMP/ping"
if grep -q ' 5 received' "$TMP/ping"; then ok "kernel ping 198.18.0.2: 5 of 5 replies"
else bad "kernel ping 198.18.0.2: 5 of 5 replies"; fi

# 2. telemetry, from outside the namespace (a unix socket on the fs)
RUNDIR=$(sed -n 's/^RUNDIR //p' "$TMP/out")
timeout 10 python3 - "$RUNDIR/dpdk_telemetry.v2" >"$TMP/tel" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
json.loads(s.recv(65536))           # the greeting
out = {}
for cmd in ("/netfuse/config", "/netfuse/stats", "/netfuse/sockets", "/"):
    s.send(cmd.encode())
    out[cmd] = json.loads(s.recv(1 << 20))
cfg = out["/netfuse/config"]["/netfuse/config"]
st = out["/netfuse/stats"]["/netfuse/stats"]
print("config:", json.dumps(cfg))
print("stats:", json.dumps(st))
assert cfg["driver"] == "net_tap", cfg
assert cfg["addr"] == "198.18.0.2/24", cfg
assert cfg["tap"] == "nf0 198.18.0.1/24", cfg
assert cfg["wake"] == "rx-interrupt", cfg
assert st["port_ipackets"] >= 6 and st["port_opackets"] >= 6, st
assert st["io_q0_tx_pkts"] >= 6, st
assert "/netfuse/stats" in out["/"]["/"], out["/"]
print("telemetry ok")
PY
tel_rc=$?
cat "$TMP/tel"
if [ $tel_rc = 0 ]; then ok "telemetry /netfuse/config, /netfuse/stats, /netfuse/sockets"
else bad "telemetry /netfuse/config, /netfuse/stats, /netfuse/sockets"; fi

# 3. stop the responder: it checks its buffers came back
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
grep -v -e READY -e RUNDIR "$TMP/out"
if [ $rc = 0 ]; then ok "responder answered ARP and echo, exited cleanly"
else cat "$TMP/err"; bad "responder answered ARP and echo, exited cleanly (rc $rc)"; fi
if grep -q 'buffers not returned: 0' "$TMP/out"; then ok "every buffer back in the pool"
else bad "every buffer back in the pool"; fi

# 4. the capture: pcapng with the echo requests and replies
timeout 10 python3 - "$TMP/cap.pcapng" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"\x0a\x0d\x0d\x0a", "not pcapng"
off, req, rep, arp = 0, 0, 0, 0
while off + 12 <= len(d):
    t, l = struct.unpack_from("<II", d, off)
    if l < 12:
        break
    if t == 6:
        cap = struct.unpack_from("<I", d, off + 20)[0]
        f = d[off + 28: off + 28 + cap]
        if f[12:14] == b"\x08\x06":
            arp += 1
        if f[12:14] == b"\x08\x00" and f[23] == 1:
            ihl = (f[14] & 15) * 4
            if f[14 + ihl] == 8: req += 1
            if f[14 + ihl] == 0: rep += 1
    off += l
print("pcapng: %d echo requests, %d replies, %d arp" % (req, rep, arp))
assert req >= 5 and rep >= 5 and arp >= 1
PY
if [ $? = 0 ]; then ok "NETFUSE_PCAP pcapng capture holds the exchange"
else bad "NETFUSE_PCAP pcapng capture holds the exchange"; fi

# 5. io/'s software fallbacks end to end: tx checksums and TSO (librte_gso)
# in software even though net_tap offers them, seen by the kernel
# (itest_tap's self-contained mode: its own netns, TSO/UDP/ping checks)
NETFUSE_OFFLOAD_TX_CKSUM=sw NETFUSE_OFFLOAD_TSO=sw timeout 60 "$BIN" >"$TMP/sw" 2>&1
sw_rc=$?
grep -E '^(tso|udp|ping)' "$TMP/sw"
if [ $sw_rc = 0 ] && grep -q 'gso_out 4 ' "$TMP/sw"; then
	ok "software checksums and librte_gso TSO accepted by the kernel"
else
	cat "$TMP/sw"
	bad "software checksums and librte_gso TSO accepted by the kernel"
fi
# 6. another device through the same variable: net_af_packet on a veth
# pair inside the namespace (no rx interrupts: the timerfd wake-up)
ip netns exec "$NS" ip link add nfa0 type veth peer name nfa1 &&
ip netns exec "$NS" ip addr add 198.18.1.1/24 dev nfa1 &&
ip netns exec "$NS" ip link set nfa1 up &&
ip netns exec "$NS" ip link set nfa0 up
NETFUSE_DEV=net_af_packet0,iface=nfa0 NETFUSE_ADDR=198.18.1.2/24 NETFUSE_HUGE=off \
	timeout 60 ip netns exec "$NS" "$BIN" --respond 30 >"$TMP/afp" 2>&1 &
PID=$!
for _ in $(seq 300); do
	grep -q READY "$TMP/afp" && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
ip netns exec "$NS" timeout 20 "$BIN" --ping 198.18.1.2 5 >"$TMP/ping2"
cat "$TMP/ping2"
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
grep -v -e READY -e RUNDIR "$TMP/afp"
if [ $rc = 0 ] && grep -q ' 5 received' "$TMP/ping2"; then
	ok "net_af_packet over veth: 5 of 5 pings, every buffer back"
else
	bad "net_af_packet over veth: 5 of 5 pings, every buffer back"
fi
exit $fail
# 6. another device through the same variable: net_af_packet on a veth
# pair inside the namespace (no rx interrupts: the timerfd wake-up)
ip netns exec "$NS" ip link add nfa0 type veth peer name nfa1 &&
ip netns exec "$NS" ip addr add 198.18.1.1/24 dev nfa1 &&
ip netns exec "$NS" ip link set nfa1 up &&
ip netns exec "$NS" ip link set nfa0 up
NETFUSE_DEV=net_af_packet0,iface=nfa0 NETFUSE_ADDR=198.18.1.2/24 NETFUSE_HUGE=off \
	timeout 60 ip netns exec "$NS" "$BIN" --respond 30 >"$TMP/afp" 2>&1 &
PID=$!
for _ in $(seq 300); do
	grep -q READY "$TMP/afp" && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
ip netns exec "$NS" timeout 20 "$BIN" --ping 198.18.1.2 5 >"$TMP/ping2"
cat "$TMP/ping2"
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
grep -v -e READY -e RUNDIR "$TMP/afp"
if [ $rc = 0 ] && grep -q ' 5 received' "$TMP/ping2"; then
	ok "net_af_packet over veth: 5 of 5 pings, every buffer back"
else
	bad "net_af_packet over veth: 5 of 5 pings, every buffer back"
fi
exit $fail
