#!/usr/bin/env bash
# itest_netfuse.sh: the operator's command, installed (make install PREFIX=
# a temporary directory) and run from /, against a live server in a
# namespace (nf-tools-$$, removed on exit): `netfuse PROGRAM` starts
# tests/rel/echo_sel.py on the stack and its stderr stays empty; `netfuse
# ss` shows the established connection with the fd the server accepted it
# on, and the listener; `netfuse stat` counters move with traffic;
# `netfuse capture -c N` of the live process gives N frames of the
# connection, dated now; `netfuse doctor` passes here; each misconfiguration
# (typo in NETFUSE_LOG, NETFUSE_ADDR outside the tap's subnet, no root, an
# unknown device) gets exactly one line, with the text asserted. Root only.
set -u
cd "$(dirname "$0")/../.."
SRC=$PWD
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
PY=/usr/bin/python3
if [ "$(id -u)" != 0 ]; then echo "SKIP itest_netfuse.sh: needs root"; exit 77; fi
[ -e "$B/libhook.so" ] || { echo "not ok - $B/libhook.so not built"; exit 1; }
$PY -c "import scapy.all" 2>/dev/null ||
	{ echo "not ok - scapy missing (install python3-scapy)"; exit 1; }
command -v tshark >/dev/null ||
	{ echo "not ok - tshark missing (scripts/setup.sh installs it)"; exit 1; }

NS=nf-tools-$$
TMP=$(mktemp -d /tmp/nf-tools-test.XXXXXX)
chmod 755 "$TMP"   # the "not root" case runs the installed files as nobody
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
wait_for() {
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# install, then use only what was installed, from /
PFX=$TMP/prefix
make -s -C "$SRC" install B="$B" PREFIX="$PFX" >"$TMP/install.log" 2>&1 ||
	{ tail -5 "$TMP/install.log"; echo "not ok - make install"; exit 1; }
NF=$PFX/bin/netfuse
for f in "$NF" "$PFX/lib/netfuse/libhook.so" "$PFX/lib/netfuse/libnfio.so" \
	 "$PFX/lib/pkgconfig/netfuse.pc" "$PFX/share/man/man1/netfuse.1" \
	 "$PFX/include/netfuse/stack/stack.h"; do
	[ -e "$f" ] || bad "make install: $f missing"
done
cp "$SRC/tests/rel/echo_sel.py" "$TMP/"
cd /
ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

# the server, started by the installed netfuse
timeout 120 ip netns exec "$NS" env -u NETFUSE_LIBDIR "$NF" --huge off \
	"$PY" "$TMP/echo_sel.py" 7500 >"$TMP/s.out" 2>"$TMP/s.err" &
S=$!; PIDS+=("$S")
if ! wait_for "$TMP/s.out" READY "$S"; then
	cat "$TMP/s.err" | head -5; echo "not ok - netfuse python3 echo_sel.py: not READY"; exit 1
fi
SPID=$(awk '/^READY/ { print $2; exit }' "$TMP/s.out")
# a kernel client: connects, echoes now and then for 20 s
in_ns "$PY" - >"$TMP/c.out" 2>&1 <<'EOF' &
import socket, time
c = socket.create_connection(("198.18.0.2", 7500), timeout=5)
print("PORT", c.getsockname()[1], flush=True)
end = time.time() + 20
while time.time() < end:
    c.sendall(b"ping" * 50)
    got = b""
    while len(got) < 200:
        got += c.recv(4096)
    time.sleep(0.05)
EOF
C=$!; PIDS+=("$C")
wait_for "$TMP/c.out" PORT "$C" && wait_for "$TMP/s.out" ACCEPTED "$S" ||
	bad "kernel client connected to the server under netfuse"
CPORT=$(awk '/^PORT/ { print $2 }' "$TMP/c.out")
AFD=$(awk '/^ACCEPTED/ { print $2; exit }' "$TMP/s.out")

# ss
"$NF" ss -t >"$TMP/ss" 2>&1
if grep -q "^tcp *ESTABLISHED .*198.18.0.2:7500 *198.18.0.1:$CPORT .*pid=$SPID,fd=$AFD)" "$TMP/ss"; then
	ok "netfuse ss: the established connection, with the server's pid and fd $AFD"
else
	sed 's/^/# /' "$TMP/ss"; bad "netfuse ss: no ESTABLISHED 198.18.0.2:7500 <- :$CPORT with pid=$SPID,fd=$AFD"
fi
"$NF" ss -l -i >"$TMP/ssl" 2>&1
grep -q "^tcp *LISTEN .*0.0.0.0:7500 .*pid=$SPID" "$TMP/ssl" &&
	"$NF" ss -t -i | grep -q "rtt:[0-9.]*/[0-9.]* rto:[0-9]* cwnd:[0-9]*" &&
	ok "netfuse ss -l / -i: the listener; rtt, rto, cwnd of the connection" ||
	{ sed 's/^/# /' "$TMP/ssl"; bad "netfuse ss -l -i"; }

# stat: counters move
s1=$("$NF" stat "$SPID" | awk '$1 == "rx_frames" { print $2 }')
sleep 1
s2=$("$NF" stat "$SPID" | awk '$1 == "rx_frames" { print $2 }')
if [ -n "$s1" ] && [ -n "$s2" ] && [ "$s2" -gt "$s1" ]; then
	ok "netfuse stat: rx_frames $s1 -> $s2 in 1 s of traffic"
else
	"$NF" stat "$SPID" | head -20 | sed 's/^/# /'; bad "netfuse stat: rx_frames '$s1' -> '$s2'"
fi
"$NF" stat "$SPID" | grep -q "^connections by state:" &&
	"$NF" stat "$SPID" | grep -q "^  ESTABLISHED  *1$" ||
	bad "netfuse stat: connections by state"

# capture of the live process
timeout 30 "$NF" capture "$SPID" -w "$TMP/cap.pcapng" -c 20 2>"$TMP/cap.err"
rc=$?
r=$("$PY" - "$TMP/cap.pcapng" "$CPORT" 2>/dev/null <<'EOF'
import sys, time
from scapy.all import rdpcap, TCP
p = rdpcap(sys.argv[1])
port = int(sys.argv[2])
ours = [x for x in p if TCP in x and {x[TCP].sport, x[TCP].dport} == {7500, port}]
now = time.time()
fresh = [x for x in p if abs(float(x.time) - now) < 120]
print(len(p), len(ours), len(fresh), time.gmtime(float(p[0].time)).tm_year if p else 0)
EOF
)
set -- $r
if [ $rc = 0 ] && [ "${1:-0}" = 20 ] && [ "${2:-0}" -ge 18 ] && [ "${3:-0}" = 20 ] &&
	[ "${4:-0}" = "$(date -u +%Y)" ]; then
	ok "netfuse capture -c 20 of the live server: 20 frames, ${2} of the connection, dated now ($4)"
	# and Wireshark's reader takes it: directions and ports per frame
	t=$(tshark -r "$TMP/cap.pcapng" -T fields -e frame.p2p_dir -e tcp.port 2>/dev/null |
		awk -v p="$CPORT" '$2 ~ p { d[$1]++ } END { print d[0] + 0, d[1] + 0 }')
	set -- $t
	if [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] && [ $(( $1 + $2 )) -ge 18 ]; then
		ok "tshark reads the capture: $2 frames received, $1 sent, on the connection"
	else
		bad "tshark on the capture: sent/received '$t'"
	fi
else
	cat "$TMP/cap.err" | sed 's/^/# /'
	bad "netfuse capture: exit $rc; frames, of the connection, dated now, year: ${r:-none}"
fi

# doctor
"$NF" doctor >"$TMP/doc" 2>&1 && ok "netfuse doctor: nothing to fix here" ||
	{ sed 's/^/# /' "$TMP/doc"; bad "netfuse doctor"; }

kill -TERM "$C" 2>/dev/null; wait "$C" 2>/dev/null
kill -TERM "$S" 2>/dev/null; wait "$S" 2>/dev/null
if [ -s "$TMP/s.err" ]; then
	sed 's/^/# /' "$TMP/s.err" | head -5; bad "a normal run printed on stderr"
else
	ok "a normal run under netfuse printed nothing on stderr"
fi

# misconfigurations: one line each, with its text
# (stack=1: the listener is on the user-space stack, whose run directory
# exists while the program runs)
LISTEN='import os, socket; s = socket.socket(); s.bind(("0.0.0.0", 7600)); s.listen()
print("OK stack=%d" % os.path.isdir("/var/run/dpdk/netfuse-%d" % os.getpid()))'
misconf() {  # NAME TEXT STACK ENV...
	local name=$1 text=$2 stack=$3; shift 3
	timeout 30 ip netns exec "$NS" "$@" "$NF" --huge off "$PY" -c "$LISTEN" \
		>"$TMP/m.out" 2>"$TMP/m.err"
	local n; n=$(wc -l <"$TMP/m.err")
	if [ "$n" = 1 ] && grep -qF "$text" "$TMP/m.err" &&
	   grep -q "OK stack=$stack" "$TMP/m.out"; then
		ok "$name: one line: $(cut -c1-110 "$TMP/m.err")"
	else
		sed 's/^/# /' "$TMP/m.err" | head -5
		bad "$name: want exactly one line with '$text' (got $n), stack=$stack ($(cat "$TMP/m.out"))"
	fi
}
misconf "typo in NETFUSE_LOG (the stack still starts)" \
	"NETFUSE_LOG must be error, warn, info or debug; using warn" 1 \
	env NETFUSE_LOG=infoo
misconf "NETFUSE_ADDR outside the tap's subnet" \
	"NETFUSE_ADDR 10.9.0.2 is not in the subnet of the tap's kernel side" 1 \
	env NETFUSE_ADDR=10.9.0.2/24
misconf "an unknown device" "NETFUSE_DEV" 0 env NETFUSE_DEV=--vdev=net_foo0
grep -q "net_foo0" "$TMP/m.err" && ! grep -qi hugepage "$TMP/m.err" ||
	bad "unknown device: the line names it and says nothing of hugepages"
misconf "not root" "needs root or CAP_NET_ADMIN" 0 \
	setpriv --reuid=65534 --regid=65534 --clear-groups env

exit $fail
