#!/usr/bin/env bash
# itest_servers.sh: unmodified C servers (build/tests/vfs/itest_servers,
# plain POSIX, see itest_servers.c) and real Debian servers under
# LD_PRELOAD=libhook.so on the user-space stack over net_tap, with clients
# on the kernel side of the tap.
#
# Root only (run by `make test`). Everything runs in a network namespace
# created here (nf-vfs2-$$) and removed on exit; the stack is 198.19.30.2,
# the kernel side of its tap nf0 198.19.30.1/24. Cases:
#   1. C servers under the hook, each serving 6 connections at once from a
#      kernel client over nf0 and 6 more over 127.0.0.1 (the wildcard
#      listener's kernel half) at the same time (sizes 1 B .. 1 MB,
#      crossing buffer sizes, chunks of varying sizes), every byte checked,
#      exit codes checked: epoll (ET),
#      poll, select, blocking thread per connection, accept on one thread +
#      serve on two others (epoll per worker), mixed epoll (sockets + a
#      pipe fed by a thread + a timerfd)
#   2. a C client under the hook connecting out (blocking and non-blocking
#      connect) to the same program run as a kernel server
#   2b. ioctl SIOCOUTQ / SIOCOUTQNSD on a hooked client whose kernel peer
#      does not read for 1 s: > 0, then 0 once it has read; EINVAL on a
#      listener
#   3. C UDP echo under the hook, 60 datagrams of 5..1404 bytes
#   4. fork: the child closes the listener and a live connection A, then
#      exits; the parent keeps serving A (no EOF/RST seen by the peer, and
#      tcpdump on nf0 sees no FIN/RST from the stack before the parent's
#      own close) and 2 more connections
#   5. exec: a server with a live connection A (SOCK_CLOEXEC) tries a
#      missing program (ENOENT, A still works), then execs /bin/sleep: the
#      peer gets the data, then EOF (FIN sent at exec), and the new
#      program holds none of the stack's fds (the tap nf0 goes away)
#   5b. a server that writes 2 MB, closes every socket and exits at once,
#      to a reader with a small receive buffer that starts after 0.5 s:
#      all 2 MB and EOF arrive (vfs/ lingers at exit even with no socket
#      open)
#   5c. splice from a file (file -> pipe -> non-blocking netfuse socket,
#      POLLOUT on EAGAIN), 3 MB to the same slow reader, byte-exact
#   5d. splice the other way: netfuse socket -> pipe -> file, 3 MB from a
#      kernel client, checked in the file
#   6. memcached -t 1 and -t 4: 60 values (1 B .. 400 KB) stored with
#      memccp, read back with memccat, each compared byte for byte; then
#      memcaslap with 64 connections for 2 s, every get verified
#   7. redis-server: redis-benchmark -t get,set with a BGSAVE during the
#      load (the fork child closes its listeners; the parent's connections
#      are not disturbed: the benchmark completes, no RST on nf0), values
#      checked with redis-cli before and after
#   8. iperf3 -s under the hook, the kernel's iperf3 -c for 3 s, both ways
# Numbers (requests/s, Gbit/s) are printed as "# " lines.
# NETFUSE_TEST_ALLOW_SKIP=1 lets a missing Debian program skip its case;
# otherwise a case that cannot run fails.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
# tests/vfs/itest_san.sh runs this script again with the sanitizer build
# (NETFUSE_TEST_HOOK, its runtimes first in NETFUSE_TEST_PRELOAD)
HOOK=${NETFUSE_TEST_HOOK:-$B/libhook.so}
PRELOAD="${NETFUSE_TEST_PRELOAD:+$NETFUSE_TEST_PRELOAD }$HOOK"
TAG=${NETFUSE_TEST_TAG:-}
SRV=$B/tests/vfs/itest_servers

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_servers.sh: needs root"; exit 77; fi
for f in "$HOOK" "$SRV" "$(dirname "$HOOK")/libnfio.so"; do
	[ -e "$f" ] || { echo "not ok - $f not built"; exit 1; }
done
[ "$(cat /proc/sys/vm/mmap_min_addr)" = 0 ] ||
	{ echo "not ok - vm.mmap_min_addr != 0 (make setup)"; exit 1; }

NS=nf-vfs2-$$
TMP=$(mktemp -d /tmp/nf-vfs2-test.XXXXXX)
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
ok() { echo "ok - $TAG$*"; }
bad() { echo "not ok - $TAG$*"; fail=1; }
missing() { # missing WHAT: fail unless skips are allowed
	if [ "${NETFUSE_TEST_ALLOW_SKIP:-0}" = 1 ]; then
		echo "# SKIP $1 not installed (NETFUSE_TEST_ALLOW_SKIP=1)"
	else
		bad "$1 not installed (scripts/setup.sh installs it)"
	fi
}
in_ns() { ip netns exec "$NS" "$@"; }
STACK=198.19.30.2
KERN=198.19.30.1
HENV=(env LD_PRELOAD="$PRELOAD" NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24
      NETFUSE_TAP_ADDR=$KERN/24)
# hooked LIMIT CMD...: run CMD under the hook in the namespace, background
hooked() {
	local lim=$1; shift
	timeout -k 5 "$lim" ip netns exec "$NS" "${HENV[@]}" "$@" &
	P=$!; PIDS+=("$P")
}
# wait_for FILE PATTERN PID: until the line appears (15 s) or PID dies
wait_for() {
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# the stack brings nf0 up when the program opens its first netfuse socket
wait_tap() {
	for _ in $(seq 200); do
		in_ns ip addr show nf0 2>/dev/null | grep -q "$KERN" && return 0
		sleep 0.1
	done
	return 1
}
# wait_port PORT: until something answers on STACK:PORT (10 s)
wait_port() {
	for _ in $(seq 100); do
		in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$STACK/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# finish PID: wait for PID's own exit (10 s), print its status
finish() {
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$1" 2>/dev/null && kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
errs() { grep -v "hook: active" "$1" | tail -"${2:-5}" | sed 's/^/# /'; }

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up
T0=$(date +%s)

# 1. C servers, 6 connections at once from a kernel client
SIZES=1,1460,65536,65537,262147,1000000
port=7100
for mode in epoll poll select threads handoff mixed; do
	port=$((port+1))
	hooked 60 "$SRV" "$mode" $port 12 >"$TMP/s.out" 2>"$TMP/s.err"
	if ! wait_for "$TMP/s.out" READY "$P" || ! wait_tap; then
		errs "$TMP/s.err"; bad "$mode server under libhook.so READY"; stop "$P"
		continue
	fi
	# 6 connections over nf0 (user stack) and 6 over 127.0.0.1 (the
	# kernel half of the wildcard listener) at the same time
	timeout 60 ip netns exec "$NS" "$SRV" client 127.0.0.1 $port $SIZES \
		>"$TMP/lo.out" 2>&1 &
	LP=$!
	r=$(timeout 60 ip netns exec "$NS" "$SRV" client $STACK $port $SIZES 2>&1)
	wait $LP; lrc=$?
	finish "$P"; rc=$?
	if [[ $r == OK* ]] && [ $lrc = 0 ] && [ $rc = 0 ]; then
		ok "$mode server under libhook.so: ${r#OK } over nf0 and the same over 127.0.0.1 at once, exit 0"
	else
		echo "# nf0 client: $r"; echo "# 127.0.0.1 client: $(cat "$TMP/lo.out")"
		errs "$TMP/s.err"
		bad "$mode server under libhook.so (server exit $rc)"
	fi
	[ $mode = mixed ] && grep "^mixed:" "$TMP/s.err" | sed 's/^/# /'
done

# 2. a hooked C client connects out to the same program on the kernel
port=$((port+1))
timeout 60 ip netns exec "$NS" "$SRV" threads $port 6 >"$TMP/k.out" 2>&1 &
P=$!; PIDS+=("$P")
if wait_for "$TMP/k.out" READY "$P"; then
	timeout 60 ip netns exec "$NS" "${HENV[@]}" "$SRV" client $KERN $port \
		$SIZES >"$TMP/c.out" 2>"$TMP/c.err"; rc=$?
	finish "$P"; krc=$?
	if [ $rc = 0 ] && [ $krc = 0 ] && grep -q "^OK" "$TMP/c.out"; then
		ok "C client under libhook.so -> kernel server: $(sed 's/^OK //' "$TMP/c.out")"
	else
		errs "$TMP/c.err"; bad "C client under libhook.so -> kernel server (client $rc, server $krc)"
	fi
else
	bad "kernel threads server READY"; stop "$P"
fi

# 2b. ioctl SIOCOUTQ/SIOCOUTQNSD on a hooked client towards a slow sink
port=$((port+1))
timeout 60 ip netns exec "$NS" "$SRV" sink $port >"$TMP/k.out" 2>&1 &
P=$!; PIDS+=("$P")
if wait_for "$TMP/k.out" READY "$P"; then
	timeout 60 ip netns exec "$NS" "${HENV[@]}" "$SRV" outq $KERN $port \
		>"$TMP/c.out" 2>"$TMP/c.err"; rc=$?
	finish "$P"; krc=$?
	if [ $rc = 0 ] && [ $krc = 0 ] && grep -q "^OK" "$TMP/c.out"; then
		ok "SIOCOUTQ under libhook.so: $(head -1 "$TMP/c.out"), falls to 0 as the peer reads; EINVAL on a listener"
	else
		cat "$TMP/c.out" | sed 's/^/# /'; errs "$TMP/c.err"
		bad "SIOCOUTQ under libhook.so (client $rc, sink $krc)"
	fi
else
	bad "kernel sink READY"; stop "$P"
fi

# 3. UDP echo
port=$((port+1))
hooked 60 "$SRV" udp $port >"$TMP/u.out" 2>"$TMP/u.err"
if wait_for "$TMP/u.out" READY "$P" && wait_tap; then
	r=$(timeout 60 ip netns exec "$NS" "$SRV" udpc $STACK $port 60 2>&1)
	finish "$P"; rc=$?
	if [[ $r == OK* ]] && [ $rc = 0 ]; then ok "UDP echo under libhook.so: ${r#OK }, exit 0"
	else echo "# $r"; errs "$TMP/u.err"; bad "UDP echo under libhook.so (exit $rc)"; fi
else
	errs "$TMP/u.err"; bad "UDP echo server READY"; stop "$P"
fi

# 4. fork: the child closes the listener and connection A
port=$((port+1))
hooked 60 "$SRV" fork $port 2 >"$TMP/f.out" 2>"$TMP/f.err"
if wait_for "$TMP/f.out" READY "$P" && wait_tap; then
	# the SYN-ACKs, FINs and RSTs the stack sends from this port
	# (absolute sequence numbers; few packets: none dropped by the ring;
	# immediate mode: the tap vanishes when the server exits)
	timeout 60 ip netns exec "$NS" tcpdump --immediate-mode -B 4096 -S -n -l \
		-i nf0 "src host $STACK and tcp src port $port and tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0" \
		>"$TMP/dump.out" 2>"$TMP/dump.err" &
	D=$!; PIDS+=("$D")
	for _ in $(seq 50); do grep -q "listening on" "$TMP/dump.err" && break; sleep 0.1; done
	r1=$(timeout 60 ip netns exec "$NS" "$SRV" forkc $STACK $port 300000 2>&1)
	r2=$(timeout 60 ip netns exec "$NS" "$SRV" client $STACK $port 70000,1000 2>&1)
	finish "$P"; rc=$?
	sleep 0.3; kill -TERM "$D" 2>/dev/null; wait "$D" 2>/dev/null
	# per connection, where its first FIN sits (sequence - ISN): after
	# the last byte the parent sent, 1 + 1 ('K') + 300000 on A, 1 + 70000
	# and 1 + 1000 on the others. A FIN from the child's close of A would
	# sit at 1, before 'K'.
	nrst=$(grep -c "Flags \[[^]]*R" "$TMP/dump.out")
	fins=$(awk '
		match($0, /seq [0-9]+(:[0-9]+)?/) {
			k = $5; sq = substr($0, RSTART + 4, RLENGTH - 4)
			n = split(sq, p, ":"); e = p[n] + 0
			if ($0 ~ /Flags \[S/) { isn[k] = e; next }
			if ($0 ~ /Flags \[[^]]*F/ && !(k in fin) && (k in isn))
				fin[k] = (e - isn[k] + 4294967296) % 4294967296
		}
		END { for (k in fin) print fin[k] }' "$TMP/dump.out" | sort -n | tr '\n' ' ')
	if [[ $r1 == *"OK A"* ]] && [[ $r2 == OK* ]] && [ $rc = 0 ]; then
		ok "fork: child closed the listener and A; parent served A (300 KB) and 2 more, exit 0"
	else
		echo "# $r1 / $r2" | tr '\n' ' '; echo; errs "$TMP/f.err"
		bad "fork: child closes the listener and A (server exit $rc)"
	fi
	if [ "$nrst" = 0 ] && [ "$fins" = "1001 70001 300002 " ]; then
		ok "fork: sniffer on nf0: no RST; each connection's FIN right after its last byte (offsets $fins)"
	else
		head -20 "$TMP/dump.out" | sed 's/^/# /'; tail -3 "$TMP/dump.err" | sed 's/^/# /'
		bad "fork: sniffer on nf0: $nrst RST, FIN offsets '$fins' (want 0 RST, 1001 70001 300002)"
	fi
else
	errs "$TMP/f.err"; bad "fork server READY"; stop "$P"
fi
# 5. exec with a live connection: closed cleanly (data, then FIN)
port=$((port+1))
hooked 60 "$SRV" exec $port >"$TMP/x.out" 2>"$TMP/x.err"
if wait_for "$TMP/x.out" READY "$P" && wait_tap; then
	r=$(timeout 30 ip netns exec "$NS" "$SRV" execc $STACK $port 2>&1)
	if [[ $r == OK* ]]; then
		ok "exec under libhook.so: a failed exec keeps the socket, a successful one closes it cleanly (${r#OK })"
	else
		echo "# $r"; errs "$TMP/x.err"; bad "exec under libhook.so closes netfuse sockets cleanly"
	fi
	# the exec'd program must not inherit the stack's fds (tap queues...)
	gone=0
	for _ in $(seq 30); do
		in_ns ip link show nf0 >/dev/null 2>&1 || { gone=1; break; }
		sleep 0.1
	done
	if [ $gone = 1 ] && kill -0 "$P" 2>/dev/null; then
		ok "exec: the new program holds none of the stack's fds (nf0 gone, program alive)"
	else
		bad "exec: nf0 still exists after exec (tap fd inherited?) or the new program died"
	fi
else
	errs "$TMP/x.err"; bad "exec server READY"
fi
stop "$P"
# 5b. exit with everything closed but data still queued (slow reader)
port=$((port+1))
hooked 60 "$SRV" burst $port 2000000 >"$TMP/b.out" 2>"$TMP/b.err"
if wait_for "$TMP/b.out" READY "$P" && wait_tap; then
	r=$(timeout 30 ip netns exec "$NS" "$SRV" slowc $STACK $port 2000000 2>&1)
	finish "$P"; rc=$?
	if [[ $r == OK* ]] && [ $rc = 0 ]; then
		ok "exit with no socket open, 2 MB still queued for a slow reader: ${r#OK }"
	else
		echo "# $r"; errs "$TMP/b.err"; bad "exit with queued data: delivered before the stack goes (exit $rc)"
	fi
else
	errs "$TMP/b.err"; bad "burst server READY"; stop "$P"
fi
# 5c. splice file -> pipe -> netfuse socket (non-blocking), slow reader
port=$((port+1))
hooked 60 "$SRV" splice $port 3000000 >"$TMP/sp.out" 2>"$TMP/sp.err"
if wait_for "$TMP/sp.out" READY "$P" && wait_tap; then
	r=$(timeout 30 ip netns exec "$NS" "$SRV" slowc $STACK $port 3000000 2>&1)
	finish "$P"; rc=$?
	if [[ $r == OK* ]] && [ $rc = 0 ]; then
		ok "splice file -> pipe -> non-blocking netfuse socket: ${r#OK }, exit 0"
	else
		echo "# $r"; errs "$TMP/sp.err"; bad "splice into a netfuse socket (exit $rc)"
	fi
else
	errs "$TMP/sp.err"; bad "splice server READY"; stop "$P"
fi
# 5d. splice netfuse socket -> pipe -> file
port=$((port+1))
hooked 60 "$SRV" splicerecv $port 3000000 >"$TMP/sr.out" 2>"$TMP/sr.err"
if wait_for "$TMP/sr.out" READY "$P" && wait_tap; then
	r=$(timeout 30 ip netns exec "$NS" "$SRV" sendc $STACK $port 3000000 2>&1)
	finish "$P"; rc=$?
	if [[ $r == OK* ]] && [ $rc = 0 ]; then
		ok "splice netfuse socket -> pipe -> file: ${r#OK }, exit 0"
	else
		echo "# $r"; errs "$TMP/sr.err"; bad "splice out of a netfuse socket (exit $rc)"
	fi
else
	errs "$TMP/sr.err"; bad "splicerecv server READY"; stop "$P"
fi
echo "# C programs: $(( $(date +%s) - T0 )) s"

# 6. memcached with memccp/memccat
if command -v memcached >/dev/null && command -v memccp >/dev/null; then
	mkdir -p "$TMP/mc" "$TMP/mcout"
	python3 - "$TMP/mc" <<'PY'
import os, sys
for i in range(60):
    n = [1, 100, 1023, 1024, 4095, 65536, 65537, 131072, 400000][i % 9] + i
    with open(os.path.join(sys.argv[1], "v%d" % i), "wb") as f:
        f.write(os.urandom(n))
PY
	for t in 1 4; do
		hooked 60 memcached -u root -t $t -p 11311 -l 0.0.0.0 \
			>"$TMP/mc.out" 2>&1
		if ! wait_tap || ! wait_port 11311; then
			errs "$TMP/mc.out"; bad "memcached -t $t under libhook.so up"; stop "$P"; continue
		fi
		good=0
		( cd "$TMP/mc" && in_ns timeout 30 memccp --servers=$STACK:11311 v* ) \
			>"$TMP/mccp.out" 2>&1 || echo "# memccp: $(tail -2 "$TMP/mccp.out")"
		for i in $(seq 0 59); do
			in_ns timeout 10 memccat --servers=$STACK:11311 \
				--file="$TMP/mcout/v$i" v$i >/dev/null 2>&1 &&
				cmp -s "$TMP/mc/v$i" "$TMP/mcout/v$i" && good=$((good+1))
		done
		# then load: 64 connections, every get verified (-v 1)
		lr=nolog
		if command -v memcaslap >/dev/null; then
			in_ns timeout 30 memcaslap -s $STACK:11311 -T 2 -c 64 -t 2s -v 1 \
				>"$TMP/slap.out" 2>&1
			gets=$(sed -n 's/^cmd_get: //p' "$TMP/slap.out")
			if [ "${gets:-0}" -gt 0 ] && grep -q "^verify_failed: 0$" "$TMP/slap.out" &&
			   grep -q "^verify_misses: 0$" "$TMP/slap.out"; then
				lr=ok
				echo "# memcached -t $t, memcaslap 64 connections: $(grep "^Run time" "$TMP/slap.out")"
			else
				lr=bad; tail -8 "$TMP/slap.out" | sed 's/^/# /'
			fi
		fi
		alive=1; kill -0 "$P" 2>/dev/null || alive=0
		stop "$P"
		if [ $good = 60 ] && [ $alive = 1 ]; then
			ok "memcached -t $t under libhook.so: 60 values (1 B..400 KB) memccp/memccat byte-exact"
		else
			errs "$TMP/mc.out"; bad "memcached -t $t under libhook.so: $good of 60 values"
		fi
		case $lr in
		ok) ok "memcached -t $t under libhook.so: memcaslap, 64 connections for 2 s, every get verified" ;;
		bad) bad "memcached -t $t under libhook.so: memcaslap load with verification" ;;
		*) missing memcaslap ;;
		esac
	done
else
	missing "memcached/memccp"
fi

# 7. redis-server, redis-benchmark with a BGSAVE during the load
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	hooked 90 redis-server --port 6390 --bind 0.0.0.0 --protected-mode no \
		--save "" --appendonly no --dir "$TMP" --dbfilename dump.rdb \
		>"$TMP/r.out" 2>&1
	if wait_tap && wait_port 6390; then
		timeout 60 ip netns exec "$NS" tcpdump --immediate-mode -n -l -i nf0 \
			"src host $STACK and tcp src port 6390 and tcp[tcpflags] & tcp-rst != 0" \
			>"$TMP/rdump.out" 2>"$TMP/rdump.err" &
		D=$!; PIDS+=("$D")
		for _ in $(seq 50); do grep -q "listening on" "$TMP/rdump.err" && break; sleep 0.1; done
		cli() { in_ns timeout 10 redis-cli -h $STACK -p 6390 "$@"; }
		v1=$(head -c 3000 /dev/urandom | base64 -w0)
		cli set before "$v1" >/dev/null
		in_ns timeout 60 redis-benchmark -h $STACK -p 6390 -t get,set \
			-n 40000 -r 100000 -c 8 -d 64 -q >"$TMP/rb.out" 2>&1 &
		BP=$!
		sleep 0.5
		bg=$(cli bgsave)
		for _ in $(seq 100); do
			cli info persistence | grep -q "rdb_bgsave_in_progress:0" && break
			sleep 0.1
		done
		wait $BP; brc=$?
		st=$(cli info persistence | tr -d '\r' | grep rdb_last_bgsave_status)
		v2=$(head -c 3000 /dev/urandom | base64 -w0)
		cli set after "$v2" >/dev/null
		g1=$(cli get before); g2=$(cli get after)
		sleep 0.3; kill -TERM "$D" 2>/dev/null; wait "$D" 2>/dev/null
		nrst=$(grep -c "Flags \[[^]]*R" "$TMP/rdump.out")
		tr '\r' '\n' <"$TMP/rb.out" | grep -E "^(SET|GET):.*requests per second" |
			sed 's/^/# redis-benchmark /'
		# a stall: progress lines with no request done in their interval
		# (not a test's first line: redis-benchmark prints rps=0.0 there
		# after a few ms, with a non-zero overall)
		stalls=$(tr '\r' '\n' <"$TMP/rb.out" | awk -F: '/rps=/ {
			if (seen[$1]++ && $0 ~ /rps=0\.0 \(overall: [1-9]/) n++ }
			END { print n + 0 }')
		[ "$stalls" != 0 ] && echo "# redis-benchmark: $stalls progress intervals with 0 requests/s"
		if [ $brc = 0 ] && grep -q "^SET:.*requests per second" <(tr '\r' '\n' <"$TMP/rb.out") &&
		   grep -q "^GET:.*requests per second" <(tr '\r' '\n' <"$TMP/rb.out") &&
		   [[ $bg == *"Background saving started"* ]] &&
		   [ "$st" = "rdb_last_bgsave_status:ok" ] && [ -s "$TMP/dump.rdb" ] &&
		   [ "$g1" = "$v1" ] && [ "$g2" = "$v2" ] && [ "$nrst" = 0 ]; then
			ok "redis-server under libhook.so: redis-benchmark get,set with BGSAVE during load (dump.rdb $(stat -c %s "$TMP/dump.rdb") B, no RST), values checked"
		else
			echo "# bench rc $brc; bgsave '$bg'; $st; rst $nrst; values $([ "$g1" = "$v1" ] && echo ok1) $([ "$g2" = "$v2" ] && echo ok2)"
			tail -3 "$TMP/rb.out" | sed 's/^/# /'; errs "$TMP/r.out"
			bad "redis-server under libhook.so with BGSAVE during load"
		fi
	else
		errs "$TMP/r.out"; bad "redis-server under libhook.so up"
	fi
	stop "$P"
else
	missing "redis-server/redis-benchmark"
fi

# 8. iperf3
if command -v iperf3 >/dev/null; then
	for dir in "" -R; do
		hooked 60 iperf3 -s -4 -1 -p 5301 --forceflush >"$TMP/i.out" 2>&1
		if wait_tap && wait_for "$TMP/i.out" "listening" "$P"; then
			in_ns timeout 30 iperf3 -c $STACK -p 5301 -t 3 $dir -f g \
				>"$TMP/ic.out" 2>&1; rc=$?
			finish "$P"; src=$?
			rx=$(grep -E "receiver$" "$TMP/ic.out" | awk '{for(i=1;i<=NF;i++) if ($i ~ /bits\/sec/) print $(i-1), $i}')
			if [ $rc = 0 ] && [ $src = 0 ] && [ -n "$rx" ]; then
				ok "iperf3 -s under libhook.so, kernel iperf3 -c -t 3 ${dir:-(client sends)}: $rx"
			else
				tail -3 "$TMP/ic.out" | sed 's/^/# /'; errs "$TMP/i.out"
				bad "iperf3 -s under libhook.so ${dir} (client $rc, server $src)"
			fi
		else
			errs "$TMP/i.out"; bad "iperf3 -s under libhook.so listening"; stop "$P"
		fi
	done
else
	missing iperf3
fi
echo "# itest_servers.sh: $(( $(date +%s) - T0 )) s"
exit $fail
