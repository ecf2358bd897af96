#!/usr/bin/env bash
# itest_transfer.sh: byte-exact TCP transfers over a real wire (issue 7)
# between an unmodified python3 program under LD_PRELOAD=libhook.so (user
# stack on the default net_tap nf0, 198.18.0.2) and a kernel TCP peer
# (198.18.0.1), with faults injected between them.
#
# Root only (run by `make test`). Topology: namespace nf-rel-$$ holds the
# program under the hook and nf0 (its kernel address is flushed once up);
# namespace nf-relk-$$ holds the kernel peer on vethK (198.18.0.1/24);
# tests/rel/wire.py bridges nf0 <-> vethR (the other end of vethK) frame by
# frame with netem-like faults. Why not `tc qdisc ... netem` on nf0: this
# VM's kernel is built without CONFIG_NET_SCH_NETEM (and without act_*
# modules), and egress drops by tc/nftables are seen by the kernel's TCP as
# local congestion, not as loss on a wire. The issue's cases impair what
# leaves the kernel side (from=b: as netem on the kernel peer's egress):
# the kernel's data and the kernel's ACKs of ours. That never drops a
# frame the user stack sends, so the "both ways" cases repeat the lossy
# ones with the faults on both directions (netem on both sides), which is
# what exercises the user stack's own loss recovery. Offloads are off on nf0, vethR and vethK (ethtool -K
# tx off tso off gso off) so real frames with real checksums cross.
#
# Each case runs twice: netfuse as server (kernel client) and netfuse as
# client (kernel server). Both ends send SIZE bytes while receiving
# (tests/rel/xfer.py); sha256 compared across the wire; both ends must see
# EOF (shutdown(SHUT_WR), FIN/FIN close); no RST may cross the wire
# (tests/rel/rstcount.py, AF_PACKET + BPF on vethK, checksums checked),
# except, where the wire duplicates or reorders, bare RSTs answering a
# stray segment that arrives after the connection closed (RFC 793 3.4). The program under the
# hook closes only once the kernel peer has everything (vfs/ gives unsent
# data 20 ms at exit, vfs/README.md "Process exit").
# Cases (issue 7): loss 1%; loss 5% delay 10ms reorder 25%; duplicate 5%
# corrupt 1%; delay 40ms jitter 10ms rate 100mbit; peer MSS 536 (TCP_MAXSEG
# in the kernel peer; every frame from the user stack must fit it); peer
# with SACK, timestamps and window scaling off (sysctls in the peer
# namespace) with loss 1%; both receivers stop reading for 10 s (zero
# window, persist probes) then resume. Then, both ways: loss 1%; loss 5%
# delay 10ms reorder 25%; duplicate 5% corrupt 1%; SACK/TS/WS off, loss 1%;
# and loss 1% both ways with MTU 9000 on nf0's kernel side, the wire and
# the kernel peer (the user stack stays at 1500: its MSS option keeps the
# peer's segments within it, and its frames must all fit 1514 bytes); and
# with NETFUSE_MTU=1280 on the stack (net_tap gives nf0 the same) and the
# peer's link (frames within 1294 bytes). Then over IPv6 (AF_INET6
# sockets both ends, 2001:2::2 <-> 2001:2::1), both ways: loss 1%; loss
# 5% delay 10ms reorder 25%; duplicate 5% corrupt 1%.
# SIZE: 4 MiB each way in `make test` (~2 min for the script); 64 MiB with
# NETFUSE_TEST_LONG=1 (needs NETFUSE_TEST_TIMEOUT=3600 in tests/run.sh);
# NETFUSE_REL_MB=N overrides; NETFUSE_REL_CASES=REGEX runs only the
# matching cases (by name); NETFUSE_REL_INFO=SECS logs the user stack's
# TCP_INFO (cwnd, RTT, retransmissions) to $B/rel-results/tcpinfo.log. One TAP line per case and mode, with the
# measured throughput (per direction, both directions at once) and the
# wire's counters.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
HOOK=$PWD/$B/libhook.so
REL=$PWD/tests/rel
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_transfer.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }
[ -x "$PY" ] || { echo "not ok - python3 missing (install python3)"; exit 1; }
for t in tc:iproute2 ethtool:ethtool nstat:iproute2; do
	command -v "${t%%:*}" >/dev/null ||
		{ echo "not ok - ${t%%:*} missing (install ${t#*:})"; exit 1; }
done
[ "$(cat /proc/sys/vm/mmap_min_addr)" = 0 ] ||
	{ echo "SKIP itest_transfer.sh: vm.mmap_min_addr != 0 (make setup)"; exit 77; }

MB=4; LIM=90
[ "${NETFUSE_TEST_LONG:-0}" = 1 ] && { MB=64; LIM=900; }
MB=${NETFUSE_REL_MB:-$MB}
SIZE=$((MB * 1048576))
NS=nf-rel-$$
NSK=nf-relk-$$
TMP=$(mktemp -d /tmp/nf-rel-test.XXXXXX)
PIDS=()
fail=0
T0=$(date +%s)
# one row per case and mode for the rel results table (itest_zz_results.sh)
ROWS=$PWD/$B/rel-results/itest_transfer.rows
mkdir -p "${ROWS%/*}" && : >"$ROWS"
row() { echo "$1|$2|$3|$4|$5" >>"$ROWS"; }
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NSK" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
in_k() { ip netns exec "$NSK" "$@"; }
# wait_for FILE PATTERN PID: until the line appears (15 s) or PID dies
wait_for() {
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_nf0() {
	for _ in $(seq 100); do
		in_ns ip addr show nf0 2>/dev/null | grep -q 198.18.0.1 && return 0
		sleep 0.1
	done
	return 1
}

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
ip netns add "$NSK" || { echo "not ok - ip netns add $NSK"; exit 1; }
in_ns ip link set lo up
in_k ip link set lo up
# the kernel peer: vethK (198.18.0.1/24) in $NSK; vethR in $NS is bridged to
# nf0 by wire.py (nf0 loses its kernel address once up)
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_k sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# each case on its own: the kernel peer must not start a connection with
# what an earlier case taught its route cache (tcp_metrics: ssthresh, and
# the reordering degree the reordering case measured, which made a later
# case's NewReno sender wait for 45 dup ACKs per loss: 3 s -> 48-90 s)
in_k sysctl -qw net.ipv4.tcp_no_metrics_save=1
in_ns ip link add vethR type veth peer name vethK netns "$NSK" &&
	in_ns ip link set vethR up promisc on &&
	in_k ip addr add 198.18.0.1/24 dev vethK &&
	in_k ip link set vethK up &&
	in_ns ethtool -K vethR tx off tso off gso off gro off >/dev/null &&
	in_k ethtool -K vethK tx off tso off gso off gro off >/dev/null ||
	{ echo "not ok - veth set-up"; exit 1; }

set_peer_sysctls() {    # 0|1: SACK, timestamps, window scaling
	in_k sysctl -qw net.ipv4.tcp_sack="$1" net.ipv4.tcp_timestamps="$1" \
		net.ipv4.tcp_window_scaling="$1"
}

# the kernel peer's IPv6 (the IPv6 cases): vethK 2001:2::1/64, the
# stack's NETFUSE_ADDR6 default 2001:2::2
peer_ip6() {    # 0|1
	in_k sysctl -qw net.ipv6.conf.vethK.disable_ipv6=$((1 - $1))
	[ "$1" = 1 ] && in_k ip addr add 2001:2::1/64 dev vethK nodad 2>/dev/null
	return 0
}

# run_case NAME MODE NETEM PEEROPTS APPOPTS [MTU [STACK_MTU [FAMILY]]]
#   MODE server: netfuse (hooked) is the server; client: netfuse connects out
#   MTU: of nf0's kernel side, vethR and vethK (the kernel peer's link)
#   STACK_MTU: the user stack's (NETFUSE_MTU; default its device's 1500:
#   DPDK 22.11's net_tap takes no more)
#   FAMILY: 4 (default) or 6 (AF_INET6 sockets, IPv6 on the wire)
run_case() {
	local name=$1 mode=$2 netem=$3 popt=$4 aopt=$5 mtu=${6:-1500} smtu=${7:-1500}
	local fam=${8:-4} any=0.0.0.0 kaddr=198.18.0.1 saddr=198.18.0.2
	[ "$fam" = 6 ] && { any=::; kaddr=2001:2::1; saddr=2001:2::2; }
	local port=$((7200 + ${#PIDS[@]}))
	# NETFUSE_REL_INFO=SECS: the user stack's TCP_INFO every SECS into
	# $B/rel-results/tcpinfo.log (what limits its sender)
	[ -n "${NETFUSE_REL_INFO:-}" ] && aopt="$aopt info=$NETFUSE_REL_INFO"
	local P Q S W why=""
	rm -f "$TMP"/{a,k}.{out,err} "$TMP/go" "$TMP/hold" "$TMP/rst" "$TMP/sniff"
	in_k ip neigh flush dev vethK            # the new stack has a new MAC
	in_k ip tcp_metrics flush all 2>/dev/null
	in_k ip -6 tcp_metrics flush all 2>/dev/null
	if [ "$mode" = server ]; then
		timeout $LIM ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off NETFUSE_MTU="$smtu" \
			$PY "$REL/xfer.py" server $any $port $SIZE hold="$TMP/hold" $aopt \
			>"$TMP/a.out" 2>"$TMP/a.err" &
		P=$!; PIDS+=("$P")
		wait_for "$TMP/a.out" READY "$P" && wait_nf0 || why="hooked server not up"
	else
		timeout $LIM ip netns exec "$NSK" $PY "$REL/xfer.py" server $kaddr \
			$port $SIZE $popt >"$TMP/k.out" 2>"$TMP/k.err" &
		Q=$!; PIDS+=("$Q")
		wait_for "$TMP/k.out" READY "$Q" || why="kernel server not up"
		timeout $LIM ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off NETFUSE_MTU="$smtu" \
			$PY "$REL/xfer.py" client $kaddr $port $SIZE \
			go="$TMP/go" warm=$((port + 100)) hold="$TMP/hold" $aopt \
			>"$TMP/a.out" 2>"$TMP/a.err" &
		P=$!; PIDS+=("$P")
		[ -n "$why" ] || { wait_for "$TMP/a.out" READY "$P" && wait_nf0; } ||
			why="hooked client not up"
	fi
	if [ -z "$why" ]; then
		in_ns ethtool -K nf0 tx off tso off gso off >/dev/null 2>&1 ||
			why="ethtool -K nf0 failed"
		in_ns ip addr flush dev nf0
		in_ns ip link set nf0 promisc on
		in_ns ip link set nf0 mtu "$mtu" && in_ns ip link set vethR mtu "$mtu" &&
			in_k ip link set vethK mtu "$mtu" || why="MTU $mtu not set"
		ip netns exec "$NS" $PY "$REL/wire.py" nf0 vethR $netem >"$TMP/wire" 2>&1 &
		W=$!; PIDS+=("$W")
		wait_for "$TMP/wire" READY "$W" || { cat "$TMP/wire"; why="wire.py not up"; }
	fi
	if [ -z "$why" ]; then
		ip netns exec "$NSK" $PY "$REL/rstcount.py" vethK "$TMP/rst" \
			>"$TMP/sniff" 2>&1 &
		S=$!; PIDS+=("$S")
		wait_for "$TMP/sniff" SNIFFING "$S" || why="RST sniffer not up"
	fi
	if [ -z "$why" ]; then
		if [ "$mode" = server ]; then
			# in the background: a TERM to this script runs the trap now
			timeout $LIM ip netns exec "$NSK" $PY "$REL/xfer.py" client \
				$saddr $port $SIZE $popt >"$TMP/k.out" 2>"$TMP/k.err" &
			Q=$!; PIDS+=("$Q")
			wait "$Q"
		else
			touch "$TMP/go"
			wait "$Q"
		fi
		local krc=$?
		touch "$TMP/hold"          # the kernel peer has it all: let go
		wait "$P"; local arc=$?
		sleep 0.3                   # a late RST would cross now
		kill -TERM "$S" 2>/dev/null; wait "$S" 2>/dev/null
		kill -TERM "$W" 2>/dev/null; wait "$W" 2>/dev/null
		[ -n "${NETFUSE_REL_INFO:-}" ] && { echo "== $name, netfuse $mode"
			grep TCPINFO "$TMP/a.err"; } >>"${ROWS%/*}/tcpinfo.log"
		local rsts; rsts=$(cat "$TMP/rst" 2>/dev/null || echo "?")
		[ "${rsts%% *}" = 0 ] || echo "# RSTs on vethK: $rsts"
		# bare RSTs (RST, no ACK) answer an ACK for a connection already
		# closed (RFC 793 3.4): a duplicated or reordered segment arriving
		# after the close. Allowed only when the wire duplicates, reorders
		# or loses (a retransmission made because an ACK was lost can land
		# after the peer closed), and the transfer itself checked out; any
		# other RST fails. The count is printed in the ok line.
		local nrst=${rsts%% *} bare; bare=$(echo "$rsts" | awk '{print $2}')
		local note=""
		rsts=$nrst
		case "$netem" in *dup=*|*reorder=*|*loss=*)
			[ "${bare:-0}" -gt 0 ] 2>/dev/null &&
				{ rsts=$((nrst - bare)); note=" ($bare bare RST(s) answering stray segments after the close)"; };;
		esac
		local as ar ks kr
		as=$(awk '$1=="SENT"{print $2, $3}' "$TMP/a.out")
		ar=$(awk '$1=="RECV"{print $2, $3}' "$TMP/a.out")
		ks=$(awk '$1=="SENT"{print $2, $3}' "$TMP/k.out")
		kr=$(awk '$1=="RECV"{print $2, $3}' "$TMP/k.out")
		local at kt aeof keof
		at=$(awk '$1=="RECV"{print $4}' "$TMP/a.out")
		kt=$(awk '$1=="RECV"{print $4}' "$TMP/k.out")
		aeof=$(awk '$1=="RECV"{print $5}' "$TMP/a.out")
		keof=$(awk '$1=="RECV"{print $5}' "$TMP/k.out")
		[ "$arc" = 0 ] || why="$why hooked exit $arc;"
		[ "$krc" = 0 ] || why="$why kernel exit $krc;"
		[ -n "$as" ] && [ "${as%% *}" = "$SIZE" ] || why="$why hooked sent '${as%% *}';"
		[ -n "$ks" ] && [ "${ks%% *}" = "$SIZE" ] || why="$why kernel sent '${ks%% *}';"
		[ -n "$ar" ] && [ "$ar" = "$ks" ] || why="$why kernel->netfuse bytes/sha256 differ (got ${ar%% *});"
		[ -n "$kr" ] && [ "$kr" = "$as" ] || why="$why netfuse->kernel bytes/sha256 differ (got ${kr%% *});"
		[ "$aeof" = EOF ] || why="$why hooked recv ended '$aeof';"
		[ "$keof" = EOF ] || why="$why kernel recv ended '$keof';"
		[ "$rsts" = 0 ] || why="$why $rsts RST(s) on the wire;"
		local wc; wc=$(tail -1 "$TMP/wire")
		# MSS case: every frame from the user stack fits the peer's MSS
		local mss=${popt#*mss=}
		if [ "$mss" != "$popt" ]; then
			local mx; mx=$(echo "$wc" | sed -n 's/.*max_a2b=\([0-9]*\).*/\1/p')
			[ -n "$mx" ] && [ "$mx" -le $((${mss%% *} + 54)) ] ||
				why="$why largest frame from the user stack $mx bytes > MSS ${mss%% *} + 54;"
		fi
		# other MTUs: the user stack's frames fit its own MTU
		if [ "$mtu" != 1500 ] || [ "$smtu" != 1500 ]; then
			local mx; mx=$(echo "$wc" | sed -n 's/.*max_a2b=\([0-9]*\).*/\1/p')
			[ -n "$mx" ] && [ "$mx" -le $((smtu + 14)) ] ||
				why="$why largest frame from the user stack $mx bytes > $((smtu + 14)) (its MTU $smtu, the link's $mtu);"
		fi
		local tp
		tp=$(awk -v n="$SIZE" -v a="${at:-0}" -v k="${kt:-0}" 'BEGIN {
			t = a > k ? a : k; if (t <= 0) { print "?"; exit }
			printf "%.1f MB/s each way (%.2f s)", n / t / 1e6, t }')
		local what="$name, netfuse $mode, ${MB} MiB each way"
		if [ -z "$why" ]; then ok "$what: sha256 ok, FIN/FIN, no RST$note, $tp [wire: $wc]"
			row "$name" "netfuse $mode" "2 x $SIZE" "$tp" ok
		else
			grep -v "hook: active\|TELEMETRY" "$TMP/a.err" "$TMP/k.err" | tail -5
			bad "$what:$why $tp [wire: $wc]"
			row "$name" "netfuse $mode" "2 x $SIZE" "$tp" FAIL
		fi
	else
		grep -v "hook: active\|TELEMETRY" "$TMP/a.err" "$TMP/k.err" 2>/dev/null | tail -5
		bad "$name, netfuse $mode: $why"
		row "$name" "netfuse $mode" "-" "-" FAIL
	fi
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}

cases() {   # NAME|NETEM|PEEROPTS|APPOPTS|SYSCTLS|MTU
	cat <<'C'
loss 1%|loss=1 from=b|||1
loss 5% delay 10ms reorder 25%|loss=5 delay=10 reorder=25 from=b|||1
duplicate 5% corrupt 1%|dup=5 corrupt=1 from=b|||1
delay 40ms 10ms rate 100mbit|delay=40 jitter=10 rate=100 from=b|||1
peer MSS 536|delay=1 from=b|mss=536||1
peer SACK/timestamps/window scaling off, loss 1%|loss=1 from=b|||0
receivers stop reading 10 s then resume|delay=1 from=b|pause=10|pause=10|1
both ways: loss 1%|loss=1|||1
both ways: loss 5% delay 10ms reorder 25%|loss=5 delay=10 reorder=25|||1
both ways: duplicate 5% corrupt 1%|dup=5 corrupt=1|||1
both ways: peer SACK/timestamps/window scaling off, loss 1%|loss=1|||0
MTU 9000 on the tap and the kernel peer, both ways: loss 1%|loss=1|||1|9000
NETFUSE_MTU=1280 (stack, tap and peer), both ways: loss 1%|loss=1|||1|1280|1280
IPv6, both ways: loss 1%|loss=1|||1|||6
IPv6, both ways: loss 5% delay 10ms reorder 25%|loss=5 delay=10 reorder=25|||1|||6
IPv6, both ways: duplicate 5% corrupt 1%|dup=5 corrupt=1|||1|||6
C
}
while IFS='|' read -r name netem popt aopt sc mtu smtu fam; do
	set_peer_sysctls "$sc"
	[ "${fam:-4}" = 6 ] && peer_ip6 1
	for mode in server client; do
		run_case "$name" "$mode" "$netem" "$popt" "$aopt" "${mtu:-1500}" \
			"${smtu:-1500}" "${fam:-4}"
	done
	[ "${fam:-4}" = 6 ] && peer_ip6 0
	set_peer_sysctls 1
done < <(cases | grep -E -- "${NETFUSE_REL_CASES:-.}")
echo "# itest_transfer.sh: $(( $(date +%s) - T0 )) s"
exit $fail
