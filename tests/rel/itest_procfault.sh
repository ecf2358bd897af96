#!/usr/bin/env bash
# itest_procfault.sh: process-level faults of a program under
# LD_PRELOAD=libhook.so (issue 7, "Process-level faults"). Root only (make
# test). Topology and helper as itest_load.sh (tests/rel/rel2_lib.sh,
# tests/rel/itest_load.c).
#
#   sigkill    an unmodified client streaming to a kernel sink, on
#              hugepages (NETFUSE_HUGE=on), is SIGKILLed mid-transfer.
#              Nothing may be left that stops the next start: no hugepage
#              file of its EAL prefix (netfuse-PID) in /dev/hugepages, no
#              /dev/shm file of it, the tap interface gone; its EAL runtime
#              dir (/var/run/dpdk/netfuse-PID, which a killed process
#              cannot remove) must be removed by the next start. The next
#              start (same program, same tap name, hugepages again) must
#              stream, and on SIGTERM close with a FIN the sink sees (EOF)
#              and exit 0.
#   memif      the same kill and restart of a server on net_memif
#              (role=server, default abstract socket): the next start must
#              get its port; and the socket-abstract=no variant, whose
#              socket file a killed program leaves behind (io/memif.c
#              removes a stale one before the next start)
#   sigterm    an epoll server holding 200 kernel connections gets SIGTERM;
#              its handler closes every socket and exits 0: every kernel
#              peer must see the FIN (CLOSE-WAIT) and the exit status is 0
#   sigterm-exit  the same, but the handler calls _exit(0) with every
#              socket open: vfs/'s exit path must send the FINs
# NETFUSE_PROCFAULT_HUGE=off runs sigkill without hugepages (when none are
# free: otherwise that case fails, saying why). One TAP line per case,
# then a results table.
set -u
cd "$(dirname "$0")/../.."
. tests/rel/rel2_lib.sh
rel2_require ss:iproute2 ping:iputils-ping
ulimit -n "$(ulimit -Hn)"
HUGE=${NETFUSE_PROCFAULT_HUGE:-on}
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
NCONN=200

rel2_net

# files of EAL prefix netfuse-PID in hugetlbfs and /dev/shm
leftovers() {
	ls -d /dev/hugepages/netfuse-"$1"* /dev/shm/*netfuse-"$1"* 2>/dev/null
}

# ---- sigkill, then the next start --------------------------------------
why=""
if [ "$HUGE" = on ] && [ "$(cat $HP 2>/dev/null || echo 0)" -lt 64 ]; then
	why="fewer than 64 free 2 MB hugepages ($(cat $HP 2>/dev/null)): make setup, or NETFUSE_PROCFAULT_HUGE=off"
fi
if [ -z "$why" ]; then
	ip netns exec "$NSK" "$BIN" sink 7601 >"$TMP/k1.out" 2>&1 &
	K=$!; PIDS+=("$K")
	wait_for "$TMP/k1.out" READY "$K" || why="kernel sink not up"
fi
if [ -z "$why" ]; then
	hp0=$(cat $HP)
	rel2_hooked "$TMP/s1.out" SOCKET 64 "$HUGE" stream 198.19.20.1 7601 "$TMP/go1" ||
		why="hooked client not up"
fi
if [ -z "$why" ]; then
	VP=$SP
	touch "$TMP/go1"
	wait_for "$TMP/s1.out" STREAMING "$VP" || why="hooked client did not connect"
fi
if [ -z "$why" ]; then
	sleep 1
	hpr=$(cat $HP)
	[ -d /var/run/dpdk/netfuse-$VP ] || why="$why no EAL runtime dir netfuse-$VP while running;"
	kill -KILL "$VP"; wait "$VP" 2>/dev/null
	gone=0
	for _ in $(seq 50); do
		in_ns ip link show "$TAP" >/dev/null 2>&1 || { gone=1; break; }
		sleep 0.1
	done
	[ $gone = 1 ] || why="$why tap $TAP still there after SIGKILL;"
	lo=$(leftovers "$VP")
	[ -z "$lo" ] || why="$why left behind: $lo;"
	hp1=$(cat $HP)
	left_dir=no; [ -d /var/run/dpdk/netfuse-$VP ] && left_dir=yes
	kill -KILL "$K" 2>/dev/null; wait "$K" 2>/dev/null
	# the next start: same tap name, hugepages again; stream, SIGTERM
	ip netns exec "$NSK" "$BIN" sink 7602 >"$TMP/k2.out" 2>&1 &
	K=$!; PIDS+=("$K")
	wait_for "$TMP/k2.out" READY "$K" || why="$why kernel sink 2 not up;"
	if rel2_hooked "$TMP/s2.out" SOCKET 64 "$HUGE" stream 198.19.20.1 7602 "$TMP/go2"; then
		touch "$TMP/go2"
		if wait_for "$TMP/s2.out" STREAMING "$SP"; then
			sleep 1
			[ -d /var/run/dpdk/netfuse-$VP ] &&
				why="$why the next start did not remove the dead run dir netfuse-$VP;"
			kill -TERM "$SP"; wait "$SP"; rc=$?
			[ $rc = 0 ] || why="$why next start exited $rc after SIGTERM;"
			wait "$K"
			sk=$(grep SINK "$TMP/k2.out")
			sent=$(awk '$1=="SENT"{print $2}' "$TMP/s2.out")
			[ "$(field "$sk" end)" = EOF ] || why="$why sink ended '$sk' (no FIN);"
			[ -n "$sent" ] && [ "$(field "$sk" bytes)" = "$sent" ] ||
				why="$why sink got $(field "$sk" bytes) of $sent bytes;"
		else
			why="$why the next start did not connect;"; tail -3 "$TMP/s2.out.err"
		fi
	else
		why="$why the next start failed;"; tail -3 "$TMP/s2.out.err"
	fi
	info="hugepages free $hp0 -> $hpr running -> $hp1 after kill; run dir left by the kill: $left_dir (removed by the next start)"
	if [ -z "$why" ]; then
		ok "sigkill mid-transfer (NETFUSE_HUGE=$HUGE): nothing left that stops the next start, next start streams $sent bytes, SIGTERM: FIN, exit 0 [$info]"
		rel2_row "sigkill mid-transfer, next start" "netfuse client" "${sent:-0}" "-" ok
	else
		bad "sigkill mid-transfer (NETFUSE_HUGE=$HUGE):$why [$info]"
		rel2_row "sigkill mid-transfer, next start" "netfuse client" "-" "-" FAIL
	fi
else
	bad "sigkill mid-transfer: $why"
	rel2_row "sigkill mid-transfer" "netfuse client" "-" "-" FAIL
fi

# ---- sigkill on net_memif, then the next start --------------------------
# memif_start OUT DEV: the server under the hook on memif (role=server, no
# peer needed to start); 0 if the stack came up on it
memif_start() {
	ip netns exec "$NS" env LD_PRELOAD="$HOOK" NETFUSE_DEV="$2" \
		NETFUSE_ADDR=$SADDR/24 NETFUSE_HUGE=off NETFUSE_MAX_SOCKS=64 \
		"$BIN" server 7620 0 0 >"$1" 2>"$1.err" &
	SP=$!; PIDS+=("$SP")
	wait_for "$1" READY "$SP" || return 1
	! grep -q "start-up failed\|no_instance\|gave no ethernet port" "$1.err"
}
memif_case() {   # NAME DEV [SOCKETFILE]
	local name=$1 dev=$2 file=${3:-} why="" vp lo
	if ! memif_start "$TMP/$name.1" "$dev"; then
		bad "$name: the first start failed: $(grep netfuse "$TMP/$name.1.err" | head -2)"
		rel2_row "$name" "netfuse server" "-" "-" FAIL
		return
	fi
	vp=$SP
	kill -KILL "$vp"; wait "$vp" 2>/dev/null
	lo=$(leftovers "$vp")
	[ -z "$lo" ] || why="$why left behind: $lo;"
	if memif_start "$TMP/$name.2" "$dev"; then
		kill -TERM "$SP"; wait "$SP" || why="$why the next start exited $? after SIGTERM;"
	else
		why="$why the next start failed: $(grep netfuse "$TMP/$name.2.err" | head -2 | tr '\n' ' ');"
		[ -n "$file" ] && [ -e "$file" ] && why="$why (stale socket file $file);"
	fi
	[ -n "$file" ] && rm -f "$file"
	if [ -z "$why" ]; then
		ok "$name: SIGKILL, nothing left that stops the next start; the next start works, exits 0 on SIGTERM"
		rel2_row "$name sigkill, next start" "netfuse server" "-" "-" ok
	else
		bad "$name:$why"
		rel2_row "$name sigkill, next start" "netfuse server" "-" "-" FAIL
	fi
}
memif_case memif "net_memif,role=server"
# socket-abstract=no: the killed server leaves its socket file; io/
# removes a stale one (nothing accepts on it) before the next start
memif_case memif-file "net_memif,role=server,socket=/run/nf-rel2-$$.sock,socket-abstract=no" \
	/run/nf-rel2-$$.sock

# ---- sigterm during load ------------------------------------------------
sigterm_case() {   # NAME ENV
	local name=$1 port=$2 why="" rc cw H
	HOOK_ENV=$3
	if ! rel2_server "$TMP/$name.out" 1024 off "$port" 0 0; then
		bad "$name: server under libhook.so not up"
		rel2_row "$name" "netfuse server" "-" "-" FAIL
		HOOK_ENV=""
		return
	fi
	HOOK_ENV=""
	ip netns exec "$NSK" "$BIN" hold $SADDR "$port" $NCONN 8 -1 >"$TMP/$name.c" 2>&1 &
	H=$!; PIDS+=("$H")
	wait_for "$TMP/$name.c" CONNECTED "$H" 300
	[ "$(field "$(grep CONNECTED "$TMP/$name.c")" ok)" = $NCONN ] ||
		why="$why clients: $(grep CONNECTED "$TMP/$name.c");"
	kill -TERM "$SP"; wait "$SP"; rc=$?
	[ $rc = 0 ] || why="$why exit status $rc;"
	# every kernel peer got the FIN: CLOSE-WAIT (its app has not closed)
	for _ in $(seq 30); do
		cw=$(in_k ss -Htn state close-wait "( sport = :$port or dport = :$port )" | wc -l)
		[ "$cw" = $NCONN ] && break
		sleep 0.1
	done
	[ "$cw" = $NCONN ] || why="$why $cw of $NCONN peers saw the FIN;"
	kill -KILL "$H" 2>/dev/null; wait "$H" 2>/dev/null
	if [ -z "$why" ]; then
		ok "$name: SIGTERM with $NCONN connections: $cw FINs seen by the kernel peers, exit 0 ($(grep TERM "$TMP/$name.out"))"
		rel2_row "$name ($NCONN conns)" "netfuse server" "-" "$cw/$NCONN FIN" ok
	else
		bad "$name:$why"
		rel2_row "$name ($NCONN conns)" "netfuse server" "-" "${cw:-0}/$NCONN FIN" FAIL
	fi
}
sigterm_case sigterm 7610 ""
sigterm_case sigterm-exit 7611 "ITEST_TERM_NOCLOSE=1"

rel2_table
echo "# itest_procfault.sh: $(( $(date +%s) - T0 )) s"
exit $fail
