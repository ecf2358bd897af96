#!/usr/bin/env bash
# itest_conform.sh: the backend conformance suite (itest_conform.c) run
# against the kernel (the reference: no hook, two namespaces over a veth
# pair), netfuse's stack and lwIP (libhook.so, NETFUSE_STACK=netfuse /
# lwip, over the tap), with the same addresses and the same far end
# (conform_peer.py on the kernel's stack). Root only (`make test`).
#   1. the kernel answers every check as the suite expects (so each
#      expectation is Linux's, measured, not remembered)
#   2. netfuse differs from Linux in none
#   3. lwIP differs in exactly the documented checks (vfs/README.md,
#      "Conformance"): a new difference, or one fixed, fails the test
#      until the list is updated
# Results per backend: $B/conform/<backend>.txt
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so
PROG=$B/tests/vfs/itest_conform
PEER_PY=$PWD/tests/vfs/conform_peer.py

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_conform.sh: needs root"; exit 77; fi
[ -x "$PROG" ] && [ -e "$HOOK" ] || { echo "not ok - $PROG / $HOOK not built"; exit 1; }

# lwIP's known differences from Linux (vfs/README.md explains each)
LWIP_DIFFS="tcp_maxseg udp_connected_port_unreachable"

SELF=198.19.68.2
PEER=198.19.68.1
NA=nf-cfa-$$ NB=nf-cfb-$$ NS=nf-cfs-$$
mkdir -p "$B/conform"
fail=0
cleanup() {
	for n in $NA $NB $NS; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

# the diffs of a result file, sorted, on one line
diffs() { grep '^diff ' "$1" | sed 's/^diff \([^:]*\):.*/\1/' | sort | tr '\n' ' ' | sed 's/ $//'; }
summary() { grep '^conform:' "$1" || echo "did not finish: $(tail -2 "$1" | tr '\n' ' ')"; }

# 1. the kernel
ip netns add $NA && ip netns add $NB || { echo "not ok - ip netns add"; exit 1; }
ip link add cfa$$ type veth peer name cfb$$
ip link set cfa$$ netns $NA
ip link set cfb$$ netns $NB
ip netns exec $NA sh -c "ip link set lo up; ip addr add $SELF/24 dev cfa$$; ip link set cfa$$ up"
ip netns exec $NB sh -c "ip link set lo up; ip addr add $PEER/24 dev cfb$$; ip link set cfb$$ up"
ip netns exec $NB timeout 120 python3 "$PEER_PY" $SELF $PEER 7599 >"$B/conform/peer-kernel.log" 2>&1 &
ip netns exec $NA timeout 120 "$PROG" $SELF $PEER 7599 >"$B/conform/kernel.txt" 2>&1
if grep -q '^conform: .* 0 diff' "$B/conform/kernel.txt"; then
	ok "kernel (the reference): $(summary "$B/conform/kernel.txt")"
else
	bad "kernel: $(summary "$B/conform/kernel.txt"): $(diffs "$B/conform/kernel.txt")"
fi
cleanup

# 2, 3. the backends, under the hook over the tap
for be in netfuse lwip; do
	ip netns add $NS || { bad "ip netns add"; continue; }
	ip netns exec $NS ip link set lo up
	(
		# the tap comes up with the program's first stack socket
		for _ in $(seq 150); do
			ip netns exec $NS ip addr show nf0 2>/dev/null | grep -q $PEER && break
			sleep 0.1
		done
		exec ip netns exec $NS timeout 120 python3 "$PEER_PY" $SELF $PEER 7599
	) >"$B/conform/peer-$be.log" 2>&1 &
	ip netns exec $NS env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off \
		NETFUSE_ADDR=$SELF/24 NETFUSE_TAP_ADDR=$PEER/24 NETFUSE_STACK=$be \
		timeout 120 "$PROG" $SELF $PEER 7599 >"$B/conform/$be.txt" 2>&1
	got=$(diffs "$B/conform/$be.txt")
	want=""
	[ $be = lwip ] && want=$(echo $LWIP_DIFFS | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
	if grep -q '^conform:' "$B/conform/$be.txt" && [ "$got" = "$want" ] &&
	   [ "$(grep -vc '^ok \|^diff \|^conform:' "$B/conform/$be.txt")" = 0 ]; then
		ok "NETFUSE_STACK=$be: $(summary "$B/conform/$be.txt")${got:+ (documented: $got)}"
	else
		bad "NETFUSE_STACK=$be: $(summary "$B/conform/$be.txt"); differs in '$got', documented '$want'; other lines: $(grep -v '^ok \|^diff \|^conform:' "$B/conform/$be.txt" | head -3 | tr '\n' ' ')"
	fi
	cleanup
done
exit $fail
