#!/usr/bin/env bash
# itest_load.sh: load and scale against an unmodified epoll server under
# LD_PRELOAD=libhook.so (issue 7, "Load and scale"), kernel clients in a
# peer namespace, over net_tap + a bridge (tests/rel/rel2_lib.sh has the
# topology; helper: tests/rel/itest_load.c). Root only (make test).
#
# Cases (CI size / NETFUSE_TEST_LONG=1 size):
#   concurrent  2,000 / 10,000 connections from 8 source addresses, held
#               10 / 60 s, an echo on each before and after: zero errors;
#               memory per connection = server RSS delta / connections
#   sequential  2,000 / 20,000 connect + one request + close, one at a
#               time, every other one closed by the server first (TIME_WAIT
#               on the user stack, whose table is only NETFUSE_MAX_SOCKS=256
#               here, so TIME_WAIT must be reclaimed), the client's
#               TIME_WAITs on the kernel: zero errors
#   synflood    hping3 --flood of SYNs (10 / 30 s, in the namespace only)
#               from a source whose SYN-ACKs go nowhere (198.19.20.3 is
#               taught to the stack with a fake MAC by ARP), while a
#               legitimate client connects + echoes in a loop: >= 99% of
#               its connects succeed (SYN cookies); server RSS grows < 64 MiB
#   halfopen    200 / 2,000 established connections, then the link is cut
#               (vS down): the server's keep-alive (idle 2 s, 1 s x 3) and,
#               on every other connection, TCP_USER_TIMEOUT 3 s with data
#               outstanding reap every one with ETIMEDOUT to the program
#               within 60 s; no other error
# Sizes: NETFUSE_LOAD_CONC, NETFUSE_LOAD_HOLD, NETFUSE_LOAD_SEQ,
# NETFUSE_LOAD_FLOOD, NETFUSE_LOAD_HALF override; NETFUSE_LOAD_CASES=REGEX
# picks cases. One TAP line per case, then a results table.
set -u
cd "$(dirname "$0")/../.."
. tests/rel/rel2_lib.sh
rel2_require hping3:hping3 ping:iputils-ping
PY=/usr/bin/python3
$PY -c "import scapy.all" 2>/dev/null ||
	{ echo "not ok - scapy missing (install python3-scapy)"; exit 1; }

if [ "${NETFUSE_TEST_LONG:-0}" = 1 ]; then
	CONC=10000 HOLD=60 SEQN=20000 FLOOD=30 HALF=2000
else
	CONC=2000 HOLD=10 SEQN=2000 FLOOD=10 HALF=200
fi
CONC=${NETFUSE_LOAD_CONC:-$CONC}
HOLD=${NETFUSE_LOAD_HOLD:-$HOLD}
SEQN=${NETFUSE_LOAD_SEQ:-$SEQN}
FLOOD=${NETFUSE_LOAD_FLOOD:-$FLOOD}
HALF=${NETFUSE_LOAD_HALF:-$HALF}
want() { echo "$1" | grep -qE -- "${NETFUSE_LOAD_CASES:-.}"; }
# every connection is an fd in the server and in the client process
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $(( (CONC > HALF ? CONC : HALF) + 1000 )) ] ||
	{ echo "not ok - open files limit $(ulimit -n) < connections + 1000 (raise ulimit -Hn)"; exit 1; }
PORT=7500

rel2_net

# ---- server A: concurrent, halfopen, synflood (the flood last: its
# embryonic connections linger for a minute) --------------------------
OUT=$TMP/a.out
MS=$(( (CONC > HALF ? CONC : HALF) + 1024 ))
if ! rel2_server "$OUT" $MS off $PORT 2 3000; then
	bad "epoll server under libhook.so did not come up"; exit 1
fi
RSS0=$(rss_kb "$SP")
echo "# server pid $SP, NETFUSE_MAX_SOCKS=$MS, RSS at start ${RSS0} KiB"

if want concurrent; then
	t0=$(date +%s.%N)
	ip netns exec "$NSK" "$BIN" hold $SADDR $PORT "$CONC" 8 "$HOLD" >"$TMP/c.out" 2>"$TMP/c.err" &
	C=$!; PIDS+=("$C")
	wait_for "$TMP/c.out" CONNECTED "$C" 1200
	sleep 1
	RSS1=$(rss_kb "$SP"); st=$(server_stats "$OUT")
	wait "$C"; crc=$?
	cl=$(grep CONNECTED "$TMP/c.out"); hl=$(grep HELD "$TMP/c.out")
	# every connection closed by the client: the server sees EOF on all
	for _ in $(seq 100); do
		st2=$(server_stats "$OUT")
		[ "$(field "$st2" cur)" = 0 ] && break
		sleep 0.2
	done
	per=$(( (RSS1 - RSS0) * 1024 / CONC ))
	why=""
	[ "$crc" = 0 ] || why="$why client exit $crc;"
	[ "$(field "$cl" ok)" = "$CONC" ] || why="$why connected '$cl';"
	[ "$(field "$hl" ok)" = "$CONC" ] || why="$why after hold '$hl';"
	[ "$(field "$st" cur)" = "$CONC" ] || why="$why server saw cur=$(field "$st" cur) while held;"
	[ "$(field "$st2" cur)" = 0 ] || why="$why server still has $(field "$st2" cur) open;"
	for f in etimedout reset other accerr; do
		[ "$(field "$st2" $f)" = 0 ] || why="$why server $f=$(field "$st2" $f);"
	done
	what="concurrent: $CONC connections held ${HOLD} s, 8 sources"
	info="connect $(field "$cl" s) s, RSS +$(( (RSS1 - RSS0) / 1024 )) MiB = $per B/conn"
	if [ -z "$why" ]; then
		ok "$what: zero errors, $info"
		rel2_row "concurrent $CONC held ${HOLD}s" "netfuse server" "$((CONC * 32))" "$CONC conns, $per B/conn" ok
	else
		tail -3 "$TMP/c.err"; bad "$what:$why $info"
		rel2_row "concurrent $CONC held ${HOLD}s" "netfuse server" "-" "$(field "$cl" ok) conns" FAIL
	fi
fi

if want halfopen; then
	st0=$(server_stats "$OUT")
	ip netns exec "$NSK" "$BIN" hold $SADDR $PORT "$HALF" 8 -1 >"$TMP/o.out" 2>"$TMP/o.err" &
	O=$!; PIDS+=("$O")
	wait_for "$TMP/o.out" CONNECTED "$O" 600
	cl=$(grep CONNECTED "$TMP/o.out")
	sleep 0.5
	in_ns ip link set vS down          # the peer vanishes: no FIN, no RST
	kill -USR2 "$SP"                   # data outstanding on the TCP_USER_TIMEOUT half
	t0=$(date +%s)
	e0=$(field "$st0" etimedout)
	for _ in $(seq 120); do
		st=$(server_stats "$OUT")
		[ $(( $(field "$st" etimedout) - e0 )) -ge "$HALF" ] && break
		sleep 0.5
	done
	dt=$(( $(date +%s) - t0 ))
	kill -KILL "$O" 2>/dev/null; wait "$O" 2>/dev/null
	in_ns ip link set vS up
	reaped=$(( $(field "$st" etimedout) - e0 ))
	why=""
	[ "$(field "$cl" ok)" = "$HALF" ] || why="$why connected '$cl';"
	[ "$reaped" = "$HALF" ] || why="$why $reaped of $HALF reaped with ETIMEDOUT;"
	[ "$(field "$st" cur)" = 0 ] || why="$why $(field "$st" cur) still open;"
	for f in reset other; do
		[ "$(field "$st" $f)" = "$(field "$st0" $f)" ] ||
			why="$why server $f went $(field "$st0" $f) -> $(field "$st" $f);"
	done
	what="halfopen: $HALF established, link cut"
	if [ -z "$why" ]; then
		ok "$what: all reaped with ETIMEDOUT in ${dt} s (keep-alive / TCP_USER_TIMEOUT)"
		rel2_row "halfopen $HALF, link cut" "netfuse server" "-" "$HALF reaped in ${dt}s" ok
	else
		tail -3 "$TMP/o.err"; bad "$what:$why (${dt} s) [$st]"
		rel2_row "halfopen $HALF, link cut" "netfuse server" "-" "$reaped reaped" FAIL
	fi
fi
if want synflood; then
	RSSF0=$(rss_kb "$SP")
	# teach the stack a MAC nobody has for 198.19.20.3 (ARP request to
	# it, repeated so the entry never ages out): SYN-ACKs to the flood's
	# source vanish, the SYN queue fills, SYN cookies must take over
	ip netns exec "$NSK" $PY - "$((FLOOD + 8))" >"$TMP/arp.out" 2>&1 <<'E' &
import sys, time
from scapy.all import Ether, ARP, sendp, conf
conf.verb = 0
end = time.time() + float(sys.argv[1])
f = Ether(src="02:de:ad:00:00:03", dst="ff:ff:ff:ff:ff:ff") / ARP(
    op=1, hwsrc="02:de:ad:00:00:03", psrc="198.19.20.3", pdst="198.19.20.2")
print("ARP", flush=True)
while time.time() < end:
    sendp(f, iface="vK")
    time.sleep(2)
E
	A=$!; PIDS+=("$A")
	wait_for "$TMP/arp.out" ARP "$A"
	sleep 0.5
	ip netns exec "$NSK" "$BIN" loop $SADDR $PORT $((FLOOD + 2)) >"$TMP/l.out" 2>"$TMP/l.err" &
	L=$!; PIDS+=("$L")
	sleep 1
	in_k timeout "$FLOOD" hping3 -q -S -p $PORT --flood -a 198.19.20.3 $SADDR \
		>"$TMP/h.out" 2>&1
	wait "$L"
	kill "$A" 2>/dev/null; wait "$A" 2>/dev/null
	RSSF1=$(rss_kb "$SP")
	cnt=$($PY tests/rel/rel2_tel.py /var/run/dpdk/netfuse-$SP/dpdk_telemetry.v2 \
		tcp_syncookies_sent tcp_syncookies_ok drop_tcp_syncookie drop_tcp_backlog \
		drop_tcp_nosock drop_arp_queue_full 2>&1 | tail -1)
	ll=$(grep LOOP "$TMP/l.out")
	lok=$(field "$ll" ok); lfail=$(field "$ll" fail)
	sent=$(grep -o '[0-9]* packets transmitted' "$TMP/h.out" | awk '{print $1}')
	grow=$(( (RSSF1 - RSSF0) / 1024 ))
	pct=$(awk -v o="${lok:-0}" -v f="${lfail:-0}" 'BEGIN { if (o + f) printf "%.1f", 100 * o / (o + f); else print 0 }')
	why=""
	[ -n "$ll" ] || why="$why no result from the loop client;"
	[ "${lok:-0}" -ge 20 ] || why="$why only ${lok:-0} connects;"
	awk -v p="$pct" 'BEGIN { exit !(p >= 99) }' || why="$why $pct% < 99% of connects succeeded;"
	[ "$grow" -lt 64 ] || why="$why RSS grew $grow MiB;"
	kill -0 "$SP" 2>/dev/null || why="$why server died;"
	what="synflood: hping3 ${FLOOD} s (${sent:-?} SYNs) + a legitimate client in a loop"
	info="$lok ok / $lfail failed ($pct%), RSS +$grow MiB [stack: $cnt]"
	if [ -z "$why" ]; then
		ok "$what: $info"
		rel2_row "synflood ${FLOOD}s (${sent:-?} SYNs)" "netfuse server" "-" "$lok/$((lok + lfail)) connects ($pct%)" ok
	else
		tail -3 "$TMP/l.err"; tail -2 "$TMP/h.out"; bad "$what:$why $info"
		rel2_row "synflood ${FLOOD}s" "netfuse server" "-" "$pct% connects" FAIL
	fi
fi

kill -TERM "$SP" 2>/dev/null; wait "$SP" 2>/dev/null

# ---- server B: sequential, small socket table --------------------------
if want sequential; then
	OUT=$TMP/b.out
	if ! rel2_server "$OUT" 256 off $((PORT + 1)) 0 0; then
		bad "sequential: server B did not come up"
	else
		ip netns exec "$NSK" "$BIN" seq $SADDR $((PORT + 1)) "$SEQN" 8 >"$TMP/s.out" 2>"$TMP/s.err" &
		Q=$!; PIDS+=("$Q")
		wait "$Q"; qrc=$?
		sl=$(grep SEQ "$TMP/s.out")
		st=$(server_stats "$OUT")
		tw=$(in_k ss -tan state time-wait | tail -n +2 | wc -l)
		rate=$(awk -v n="$SEQN" -v s="$(field "$sl" s)" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "?" }')
		why=""
		[ "$qrc" = 0 ] || why="$why client exit $qrc;"
		[ "$(field "$sl" ok)" = "$SEQN" ] || why="$why '$sl';"
		[ "$(field "$st" acc)" = "$SEQN" ] || why="$why server accepted $(field "$st" acc);"
		for f in etimedout reset other accerr; do
			[ "$(field "$st" $f)" = 0 ] || why="$why server $f=$(field "$st" $f);"
		done
		what="sequential: $SEQN connect+request+close (half closed by the server, NETFUSE_MAX_SOCKS=256)"
		if [ -z "$why" ]; then
			ok "$what: zero errors, $rate conn/s, $tw TIME_WAIT on the kernel side"
			rel2_row "sequential $SEQN" "netfuse server" "$((SEQN * 16))" "$rate conn/s" ok
		else
			tail -3 "$TMP/s.err"; bad "$what:$why"
			rel2_row "sequential $SEQN" "netfuse server" "-" "$(field "$sl" ok) ok" FAIL
		fi
	fi
	kill -TERM "$SP" 2>/dev/null; wait "$SP" 2>/dev/null
fi

rel2_table
echo "# itest_load.sh: $(( $(date +%s) - T0 )) s"
exit $fail
