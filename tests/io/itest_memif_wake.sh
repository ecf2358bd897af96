#!/usr/bin/env bash
# itest_memif_wake.sh: net_memif's rx interrupt (io/memif_wake.c) across
# links. An unmodified pingpong server under libhook.so on a memif link
# serves three pingpong clients (also under the hook) one after the other,
# each a new memif link: new eventfds (often with the numbers of the old
# ones) and newly mapped rings. Each client runs open loop at 2000 req/s
# over 4 connections for 1 s, so the server sleeps between requests and
# must be woken by the frame.
#
# Checks, per client: exit 0, no errors, rps within 10% of 2000, and a
# median latency under 300 us (a sleeper woken by io/'s 500 us timer or
# vfs/'s 1 ms progress look instead of the interrupt shows 500-1000 us:
# what a lost eventfd registration did after the first link); and that
# the server is still alive after the third (unmapped rings: it crashed).
#
# Needs root (memif control socket, hugepages or --no-huge). Run by
# `make test`; bounded by timeouts; the trap stops what it started.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PP=$BDIR/apps/pingpong
HOOK=$BDIR/libhook.so
TMP=$(mktemp -d /tmp/itest_memif_wake.XXXXXX)
SRV=
fails=0

cleanup() {
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

check() {   # check <description> <condition-command...>
	local what=$1
	shift
	if "$@"; then
		echo "itest_memif_wake: ok   $what"
	else
		echo "itest_memif_wake: FAIL $what"
		fails=$((fails + 1))
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "itest_memif_wake: FAIL needs root (make test runs it as root)"
	exit 1
fi

SOCK=$TMP/memif.sock
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nf() { # nf ROLE ADDR CMD...
	local role=$1 addr=$2; shift 2
	env LD_PRELOAD="$HOOK" NETFUSE_DEV="--vdev=net_memif0,role=$role,socket=$SOCK" \
	    NETFUSE_ADDR="$addr/24" NETFUSE_TAP_ADDR=none "$@"
}
nf server 198.18.0.2 timeout 120 "$PP" server -a 0.0.0.0 -p "$PORT" >"$TMP/srv.log" 2>&1 &
SRV=$!
for _ in $(seq 200); do
	grep -q listening "$TMP/srv.log" 2>/dev/null && break
	sleep 0.1
done
check "server listening" grep -q listening "$TMP/srv.log"

field() { echo "$1" | grep -o " $2=[0-9.]*" | head -1 | cut -d= -f2; }
for run in 1 2 3; do
	out=$(nf client 198.18.0.3 timeout 60 "$PP" client -a 198.18.0.2 \
		-p "$PORT" -c 4 -s 1 -d 1 -w 1 -r 2000 2>&1)
	rc=$?
	line=$(echo "$out" | grep "requests=" | tail -1)
	echo "# client $run: ${line:-$(echo "$out" | tail -2)}"
	rps=$(field " $line" rps); p50=$(field " $line" p50_us)
	errs=$(field " $line" errors)
	check "client $run (link $run): exit 0" [ "$rc" = 0 ]
	check "client $run: no errors" [ "${errs:-1}" = 0 ]
	check "client $run: rps within 10% of 2000 (${rps:-none})" \
		awk -v r="${rps:-0}" 'BEGIN { exit !(r >= 1800 && r <= 2200) }'
	check "client $run: p50 under 300 us, woken by the frame (${p50:-none} us)" \
		awk -v p="${p50:-0}" 'BEGIN { exit !(p > 0 && p < 300) }'
done
check "server alive after three links" kill -0 "$SRV"

if [ "$fails" = 0 ]; then
	echo "itest_memif_wake: PASS"
	exit 0
fi
echo "itest_memif_wake: $fails check(s) FAILED"
exit 1
