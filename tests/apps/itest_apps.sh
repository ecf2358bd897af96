#!/usr/bin/env bash
# itest_apps.sh: pingpong and mcload end to end on the Linux loopback.
#
#  1. pingpong server on 127.0.0.1 (free port, -p 0), client 2 s with 4
#     connections: exit 0, rps > 0, zero errors.
#     Then open loop at 2000 requests/s: rps within 20% of that.
#  2. the client against a closed port and with bad arguments: it must
#     report the failure (exit 1, errors > 0) and the misuse (exit 2).
#  3. Debian's memcached on 127.0.0.1 (free port), mcload with the default
#     workload, preload on, 2 s: exit 0, requests > 0, zero errors, zero
#     misses (every key was preloaded and memcached has room for all).
#  4. mcload against the pingpong echo server: the echoed requests are not
#     memcached responses, so it must fail (the response checking is live).
#  5. two mcloads writing the same 100 keys at once: each sees the other's
#     values, which are not the ones it stored, and must report them.
#
# Run by `make test` (needs memcached: installed with apt-get when missing
# and running as root). Every command is bounded with `timeout`; the trap
# stops everything this script started. Exits non-zero on any failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PP=$BDIR/apps/pingpong
MCL=$BDIR/apps/mcload
TMP=$(mktemp -d /tmp/itest_apps.XXXXXX)
PIDS=()
fails=0

cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {   # check <description> <condition-command...>
	local what=$1
	shift
	if "$@"; then
		echo "itest_apps: ok   $what"
	else
		echo "itest_apps: FAIL $what"
		fails=$((fails + 1))
	fi
}

# CSV field by name (APP_CSV_HEADER in apps/app_common.h)
field() {   # field <csv-line> <name>
	local hdr
	hdr=$("$PP" --csv-header)
	awk -F, -v h="$hdr" -v name="$2" 'BEGIN { n = split(h, k, ",") }
		{ for (i = 1; i <= n; i++) if (k[i] == name) print $i }' <<<"$1"
}

gt0()  { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
eq0()  { [ -n "$1" ] && awk -v x="$1" 'BEGIN { exit !(x + 0 == 0) }'; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {   # port_open <port>: true once something accepts on it
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

for bin in "$PP" "$MCL"; do
	if [ ! -x "$bin" ]; then
		echo "itest_apps: FAIL $bin not built (make $B/apps/$(basename "$bin"))"
		exit 1
	fi
done

# ---- 1. pingpong ---------------------------------------------------------
timeout 60 "$PP" server -a 127.0.0.1 -p 0 -t 2 -d 50 >"$TMP/pps.out" 2>&1 &
PIDS+=($!)
port=
for _ in $(seq 50); do
	port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$TMP/pps.out")
	[ -n "$port" ] && break
	sleep 0.1
done
check "pingpong server started ($(head -1 "$TMP/pps.out"))" test -n "$port"
if [ -n "$port" ]; then
	timeout 20 "$PP" client -a 127.0.0.1 -p "$port" -c 4 -d 2 -w 0.5 --csv \
		>"$TMP/ppc.csv" 2>"$TMP/ppc.err"
	rc=$?
	line=$(tail -1 "$TMP/ppc.csv")
	echo "itest_apps: pingpong: $(cat "$TMP/ppc.err")"
	check "pingpong client exit 0 (got $rc)" test "$rc" = 0
	check "pingpong rps > 0 ($(field "$line" rps))" gt0 "$(field "$line" rps)"
	check "pingpong errors == 0 ($(field "$line" errors))" eq0 "$(field "$line" errors)"
	check "pingpong conns == 4 ($(field "$line" conns))" test "$(field "$line" conns)" = 4
	# open loop: 2000 requests/s offered, all of them served
	timeout 20 "$PP" client -a 127.0.0.1 -p "$port" -c 4 -r 2000 -d 1 -w 0.2 --csv \
		>"$TMP/ppo.csv" 2>/dev/null
	rc=$?
	line=$(tail -1 "$TMP/ppo.csv")
	rps=$(field "$line" rps)
	check "pingpong open loop -r 2000: exit 0 (got $rc)" test "$rc" = 0
	check "pingpong open loop -r 2000: rps within 20% ($rps)" \
		awk -v x="$rps" 'BEGIN { exit !(x >= 1600 && x <= 2400) }'
fi

# ---- 2. failures are reported ---------------------------------------------
dead=$(free_port)
timeout 20 "$PP" client -p "$dead" -d 0.5 -w 0 --csv >"$TMP/dead.csv" 2>/dev/null
rc=$?
line=$(tail -1 "$TMP/dead.csv")
check "pingpong client to a closed port: exit 1 (got $rc)" test "$rc" = 1
check "pingpong client to a closed port: errors > 0 ($(field "$line" errors))" \
	gt0 "$(field "$line" errors)"
timeout 5 "$PP" client -c 0 >/dev/null 2>&1
rc=$?
check "pingpong bad argument: exit 2 (got $rc)" test "$rc" = 2
timeout 5 "$MCL" -z 1.5 >/dev/null 2>&1
rc=$?
check "mcload bad argument: exit 2 (got $rc)" test "$rc" = 2

# ---- 3. memcached ----------------------------------------------------------
if ! command -v memcached >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		echo "itest_apps: installing memcached"
		timeout 300 apt-get install -y -q memcached >"$TMP/apt.log" 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1; timeout 300 apt-get install -y -q memcached >>"$TMP/apt.log" 2>&1; }
	fi
fi
if ! command -v memcached >/dev/null; then
	check "memcached installed (apt-get install memcached)" false
else
	user=()
	[ "$(id -u)" = 0 ] && user=(-u nobody)
	mport=
	for _ in 1 2 3; do   # a free port can be taken between probe and bind
		p=$(free_port)
		timeout 60 memcached "${user[@]}" -l 127.0.0.1 -p "$p" -U 0 -t 1 -m 512 \
			>"$TMP/mc.log" 2>&1 &
		mpid=$!
		PIDS+=($mpid)
		for _ in $(seq 50); do
			port_open "$p" && { mport=$p; break; }
			kill -0 "$mpid" 2>/dev/null || break
			sleep 0.1
		done
		[ -n "$mport" ] && break
	done
	check "memcached started on 127.0.0.1:${mport:-?}" test -n "$mport"
	if [ -n "$mport" ]; then
		timeout 60 "$MCL" -p "$mport" -c 4 -d 2 -w 0.5 --csv \
			>"$TMP/mcl.csv" 2>"$TMP/mcl.err"
		rc=$?
		line=$(tail -1 "$TMP/mcl.csv")
		sed 's/^/itest_apps: mcload: /' "$TMP/mcl.err"
		check "mcload exit 0 (got $rc)" test "$rc" = 0
		check "mcload requests > 0 ($(field "$line" requests))" gt0 "$(field "$line" requests)"
		check "mcload errors == 0 ($(field "$line" errors))" eq0 "$(field "$line" errors)"
		check "mcload misses == 0 after preload ($(field "$line" misses))" \
			eq0 "$(field "$line" misses)"
		check "mcload did gets and sets ($(field "$line" gets)/$(field "$line" sets))" \
			gt0 "$(field "$line" sets)"
		# 5. two mcloads writing the same keys see each other's values:
		#    both must say so (wrong answers), none may pass silently
		timeout 20 "$MCL" -p "$mport" -k 100 -g 50 -d 1 -w 0 --seed 1 --csv \
			>"$TMP/twin1.csv" 2>/dev/null &
		twin=$!
		PIDS+=($twin)
		timeout 20 "$MCL" -p "$mport" -k 100 -g 50 -d 1 -w 0 --seed 2 --csv \
			>"$TMP/twin2.csv" 2>/dev/null
		rc2=$?
		wait "$twin"
		rc1=$?
		e1=$(field "$(tail -1 "$TMP/twin1.csv")" errors)
		e2=$(field "$(tail -1 "$TMP/twin2.csv")" errors)
		check "two mcloads on the same keys: both exit 1 ($rc1, $rc2)" \
			test "$rc1$rc2" = 11
		check "two mcloads on the same keys: wrong values counted ($e1, $e2)" \
			gt0 "$e1"
	fi
fi

# ---- 4. the response check is live -------------------------------------------
if [ -n "$port" ]; then
	timeout 20 "$MCL" -p "$port" -k 1000 -d 0.5 -w 0 --csv >"$TMP/bad.csv" 2>"$TMP/bad.err"
	rc=$?
	line=$(tail -1 "$TMP/bad.csv")
	check "mcload against an echo server: exit 1 (got $rc)" test "$rc" = 1
	check "mcload against an echo server: errors > 0 ($(field "$line" errors))" \
		gt0 "$(field "$line" errors)"
fi

if [ $fails = 0 ]; then
	echo "itest_apps: PASS"
	exit 0
fi
echo "itest_apps: $fails check(s) FAILED"
exit 1
