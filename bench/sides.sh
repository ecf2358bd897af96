# bench/sides.sh: run one workload on the Linux kernel and on netfuse, side
# by side. Sourced by bench/bench_pingpong.sh, bench/bench_memcached.sh and
# scripts/demo.sh; not run alone.
#
# Kernel side: server and client on loopback. netfuse side: the same
# unmodified binaries under LD_PRELOAD=build/libhook.so, joined by a
# net_memif pair (server role at 198.18.0.2, client role at 198.18.0.3),
# which measures the hook, vfs/ and the stack rather than a wire.
# Server pinned to SERVER_CPU (0), client to CLIENT_CPU (1).
#
# netfuse runs with its defaults: no tuning variable, only the device and
# the addresses (issue 14: the speed reported is the speed a user gets).
# Spinning adapts to the load (vfs/spin.h) and a sleeper wakes on the memif
# ring's interrupt (io/memif_wake.c). NF_EXTRA_ENV (default empty) adds
# variables to every netfuse process, for an extra, labelled row only
# (bench_pingpong.sh's "tuned" row: NETFUSE_SPIN_US=1000). NF_SERVER_ENV
# adds variables to the server only (bench_lwip.sh: NETFUSE_STACK=lwip).
#
# Every process started is killed on exit; every run is bounded by timeout.
#
# SIDES_CMDLOG: when set to a file name, every server and client command
# line (with its netfuse environment; paths relative to the repository
# root) is appended to it, for bench/report.sh.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
B=${B:-build}
case "$B" in /*) BDIR=$B ;; *) BDIR=$ROOT/$B ;; esac
PP=$BDIR/apps/pingpong
MCL=$BDIR/apps/mcload
HOOK=$BDIR/libhook.so
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
SCPU=${SERVER_CPU:-0}
CCPU=${CLIENT_CPU:-1}
NF_EXTRA_ENV=${NF_EXTRA_ENV:-}
MC_OPTS=${MC_OPTS:--m 1024 -o hashpower=21}
RESULTS=${RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS"
SIDES_TMP=$(mktemp -d /tmp/nf-sides.XXXXXX)
SIDES_PIDS=()
SIDES_RUN=0
SIDES_CMDLOG=${SIDES_CMDLOG:-}

sides_cleanup() {
	for p in "${SIDES_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${SIDES_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$SIDES_TMP"
}
trap 'sides_cleanup' EXIT
trap 'exit 130' INT TERM

# free_port: a TCP port nothing listens on
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# nf_env ROLE SOCK: the environment of a netfuse process on the memif pair
nf_env() {
	local role=$1 sock=$2 addr=198.18.0.2/24 addr6=2001:2::2/64
	[ "$role" = client ] && { addr=198.18.0.3/24; addr6=2001:2::3/64; }
	echo "LD_PRELOAD=$HOOK${NF_EXTRA_ENV:+ $NF_EXTRA_ENV}" \
	     "NETFUSE_DEV=--vdev=net_memif0,role=$role,socket=$sock" \
	     "NETFUSE_ADDR=$addr NETFUSE_TAP_ADDR=none" \
	     "NETFUSE_ADDR6=$addr6 NETFUSE_TAP_ADDR6=none"
}

# log_cmd SIDE ROLE [ENV] -- CMD...: append the command to SIDES_CMDLOG
log_cmd() {
	[ -n "$SIDES_CMDLOG" ] || return 0
	local side=$1 role=$2 envs=$3 cmd; shift 4
	cmd="${envs:+$envs }$*"
	echo "$side $role: ${cmd//$ROOT\//}" >>"$SIDES_CMDLOG"   # paths from the repository root
}

# start_server SIDE LOG CMD...: start a server on SIDE (kernel|netfuse)
start_server() {
	local side=$1 log=$2; shift 2
	# the redirection below happens in the background job, maybe after
	# wait_listen first reads LOG: a previous run's "listening" line there
	# let clients connect before this server was up (refused; under
	# netfuse also "DPDK start-up failed": no memif socket yet)
	rm -f "$log"
	SIDES_RUN=$((SIDES_RUN + 1))
	SIDES_SOCK=$SIDES_TMP/memif$SIDES_RUN.sock
	if [ "$side" = netfuse ]; then
		log_cmd "$side" server "$(nf_env server "$SIDES_SOCK")${NF_SERVER_ENV:+ $NF_SERVER_ENV}" -- taskset -c "$SCPU" "$@"
		env $(nf_env server "$SIDES_SOCK") ${NF_SERVER_ENV:-} timeout 300 taskset -c "$SCPU" "$@" >"$log" 2>&1 &
	else
		log_cmd "$side" server "" -- taskset -c "$SCPU" "$@"
		timeout 300 taskset -c "$SCPU" "$@" >"$log" 2>&1 &
	fi
	SIDES_PIDS+=($!)
	SIDES_SERVER=$!
}

stop_server() {
	kill "$SIDES_SERVER" 2>/dev/null
	wait "$SIDES_SERVER" 2>/dev/null
}

# run_client SIDE CMD...: the client on SIDE; its summary line on stdout
run_client() {
	local side=$1; shift
	if [ "$side" = netfuse ]; then
		log_cmd "$side" client "$(nf_env client "$SIDES_SOCK")" -- taskset -c "$CCPU" "$@"
		env $(nf_env client "$SIDES_SOCK") timeout 120 taskset -c "$CCPU" "$@"
	else
		log_cmd "$side" client "" -- taskset -c "$CCPU" "$@"
		timeout 120 taskset -c "$CCPU" "$@"
	fi
}

# summary: pass a client's lines (progress, if any) to stderr, print its
# summary line (the one with requests=) on stdout
summary() {
	local out=$SIDES_TMP/client.out
	tee "$out" | grep -v "requests=" >&2
	grep "requests=" "$out" | tail -1
}

# field LINE KEY: the value of key=value in a summary line
field() { echo "$1" | grep -o "$2=[0-9.]*" | head -1 | cut -d= -f2; }

# server_addr SIDE
server_addr() { [ "$1" = netfuse ] && echo 198.18.0.2 || echo 127.0.0.1; }

# wait_listen LOG PATTERN: until the server says it is up (20 s)
wait_listen() {
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$SIDES_SERVER" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_port PORT: until 127.0.0.1:PORT accepts (20 s)
wait_port() {
	for _ in $(seq 200); do
		/usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
		kill -0 "$SIDES_SERVER" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# pingpong_side SIDE CONNS: one pingpong run; prints its summary line.
# PP_FAMILY=6: over IPv6 (server on ::, client to the server's IPv6
# address; netfuse only)
pingpong_side() {
	local side=$1 conns=$2 port log any=0.0.0.0 to
	port=$(free_port)
	log=$SIDES_TMP/pp-$side-$conns.log
	to=$(server_addr "$side")
	[ "${PP_FAMILY:-4}" = 6 ] && { any=::; to=2001:2::2; }
	start_server "$side" "$log" "$PP" server -a "$any" -p "$port"
	if ! wait_listen "$log" "listening"; then
		echo "FAILED pingpong server ($side): $(tail -3 "$log")"; stop_server; return 1
	fi
	run_client "$side" "$PP" client -a "$to" -p "$port" \
		-c "$conns" -s 1 -d "$DURATION" -w "$WARMUP" "${@:3}" 2>&1 | summary
	stop_server
}

# memcached_side SIDE CONNS [mcload args]: one mcload run against
# Debian's memcached (-t 1); prints mcload's summary line
memcached_side() {
	local side=$1 conns=$2 port log; shift 2
	port=$(free_port)
	log=$SIDES_TMP/mc-$side-$conns.log
	start_server "$side" "$log" memcached -u root -U 0 -t 1 -l 0.0.0.0 -p "$port" $MC_OPTS
	# a wildcard listener under netfuse also listens on the kernel, so
	# 127.0.0.1 tells when either side is up
	if ! wait_port "$port"; then
		echo "FAILED memcached ($side): $(tail -3 "$log")"; stop_server; return 1
	fi
	run_client "$side" "$MCL" -a "$(server_addr "$side")" -p "$port" \
		-c "$conns" -d "$DURATION" -w "$WARMUP" "$@" 2>&1 | summary
	stop_server
}

# median "N N N ...": the median of a space-separated list (0 when empty)
median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }'
}

# ratio A B: A/B to two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
