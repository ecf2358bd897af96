# rel2_lib.sh: shared set-up of tests/rel/itest_load.sh and
# itest_procfault.sh (sourced, not run). Topology, all removed on exit:
#
#   namespace $NS (nf-rel2-s-PID): the program under LD_PRELOAD=libhook.so
#     on net_tap iface nf-rel2-tap (stack 198.19.20.2/24, the tap's kernel
#     side has no address), bridged by br0 to veth vS
#   namespace $NSK (nf-rel2-k-PID): the kernel peer on veth vK,
#     198.19.20.1/24 plus 198.19.20.9 .. .17 (client source addresses)
#
# No netem and no user-space wire here: the bridge forwards frames as
# they are (offloads off on the tap and both veths, so real checksums
# cross). "Cutting the link" = `ip link set vS down` in $NS.
# Results: rel2_row appends "case|side|bytes|rate|result" to
# $B/rel-results/<script>.rows (read by itest_zz_results.sh) and
# rel2_table prints this script's rows as a table.

B=${B:-build}
HOOK=$PWD/$B/libhook.so
BIN=$PWD/$B/tests/rel/itest_load
NS=nf-rel2-s-$$
NSK=nf-rel2-k-$$
TAP=nf-rel2-tap
SADDR=198.19.20.2
TMP=$(mktemp -d /tmp/nf-rel2-test.XXXXXX)
ROWDIR=$PWD/$B/rel-results
ROWS=$ROWDIR/$(basename "$0" .sh).rows
PIDS=()
fail=0
T0=$(date +%s)
mkdir -p "$ROWDIR" && : >"$ROWS"

rel2_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# anything still running inside our namespaces (a namespace lives on
	# while a process holds it)
	for p in $(ip netns pids "$NS" 2>/dev/null) $(ip netns pids "$NSK" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NSK" 2>/dev/null
	rm -rf "$TMP"
}
trap rel2_cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
in_k() { ip netns exec "$NSK" "$@"; }
rel2_row() { echo "$1|$2|$3|$4|$5" >>"$ROWS"; }
rel2_table() {
	echo "# results of $(basename "$0")"
	printf '# %-44s %-16s %-14s %-34s %s\n' case side bytes throughput/conns result
	while IFS='|' read -r a b c d e; do
		printf '# %-44s %-16s %-14s %-34s %s\n' "$a" "$b" "$c" "$d" "$e"
	done <"$ROWS"
}

rel2_require() {
	if [ "$(id -u)" != 0 ]; then echo "SKIP $(basename "$0"): needs root"; exit 77; fi
	[ -e "$HOOK" ] || { echo "not ok - $HOOK not built (make all)"; exit 1; }
	[ -x "$BIN" ] || { echo "not ok - $BIN not built (make all)"; exit 1; }
	[ "$(cat /proc/sys/vm/mmap_min_addr)" = 0 ] ||
		{ echo "SKIP $(basename "$0"): vm.mmap_min_addr != 0 (make setup)"; exit 77; }
	local t
	for t in ethtool:ethtool ip:iproute2 "$@"; do
		command -v "${t%%:*}" >/dev/null ||
			{ echo "not ok - ${t%%:*} missing (install ${t#*:})"; exit 1; }
	done
}

# wait_for FILE PATTERN PID [TENTHS]: until the line appears or PID dies
wait_for() {
	local i
	for i in $(seq "${4:-150}"); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

rel2_net() {
	ip netns add "$NS" && ip netns add "$NSK" || { echo "not ok - ip netns add"; exit 1; }
	local i
	in_ns ip link set lo up
	in_k ip link set lo up
	in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	in_k sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	in_k sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
	in_ns ip link add br0 address 02:00:c6:13:14:fd type bridge &&
		in_ns ip link set br0 up &&
		in_ns ip link add vS type veth peer name vK netns "$NSK" &&
		in_ns ip link set vS master br0 &&
		in_ns ip link set vS up &&
		in_k ip addr add 198.19.20.1/24 dev vK &&
		in_k ip link set vK up &&
		in_ns ethtool -K vS tx off tso off gso off gro off >/dev/null &&
		in_k ethtool -K vK tx off tso off gso off gro off >/dev/null ||
		{ echo "not ok - bridge/veth set-up"; exit 1; }
	for i in $(seq 9 17); do in_k ip addr add 198.19.20.$i/24 dev vK; done
}

# rel2_hooked OUT READY MAXSOCKS HUGE ARGS...: start the helper (ARGS)
# under the hook in $NS (sets SP), wait for the line READY, bridge the
# new tap, ping the stack; 0 if it is up. Extra environment: $HOOK_ENV.
rel2_hooked() {
	local out=$1 ready=$2 ms=$3 huge=$4 i
	shift 4
	ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_DEV="--vdev=net_tap0,iface=$TAP" NETFUSE_ADDR=$SADDR/24 \
		NETFUSE_TAP_ADDR=none NETFUSE_HUGE="$huge" NETFUSE_MAX_SOCKS="$ms" \
		${HOOK_ENV:-} "$BIN" "$@" >"$out" 2>"$out.err" &
	SP=$!; PIDS+=("$SP")
	wait_for "$out" "$ready" "$SP" || { tail -5 "$out.err"; return 1; }
	for i in $(seq 100); do
		in_ns ip link show "$TAP" >/dev/null 2>&1 && break
		sleep 0.1
	done
	# net_tap gives the kernel side the port's own MAC: a bridge would
	# take frames to that MAC as its own, so the kernel side gets another
	in_ns ip link set "$TAP" address 02:00:c6:13:14:fe &&
		in_ns ip link set "$TAP" master br0 &&
		in_ns ip link set "$TAP" up &&
		in_ns ethtool -K "$TAP" tx off tso off gso off >/dev/null 2>&1 ||
		{ echo "# $TAP did not appear in $NS"; return 1; }
	in_k ip neigh flush dev vK
	# the first ARP may race the bridge's port coming up: ping until it answers
	for i in $(seq 50); do
		in_k ping -c1 -W1 -q $SADDR >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# no ping answer from $SADDR"
	return 1
}
# rel2_server OUT MAXSOCKS HUGE PORT KEEPIDLE UTO: the epoll echo server
rel2_server() {
	local out=$1 ms=$2 huge=$3
	shift 3
	rel2_hooked "$out" READY "$ms" "$huge" server "$@"
}

# server_stats: ask the server (SIGUSR1) and print its last STATS line
server_stats() {
	local n
	n=$(grep -c STATS "$1" 2>/dev/null)
	kill -USR1 "$SP" 2>/dev/null
	for _ in $(seq 30); do
		[ "$(grep -c STATS "$1" 2>/dev/null)" -gt "$n" ] && break
		sleep 0.1
	done
	grep STATS "$1" | tail -1
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
