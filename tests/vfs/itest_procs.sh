#!/usr/bin/env bash
# itest_procs.sh: multi-process servers on the user-space stack. A fork
# child shares its parent's stack instances (vfs/shm.c, docs/DESIGN.md
# "Processes"): it uses every socket it inherited, and a socket stays
# open while any process holds it. Before, a child got EIO on every
# netfuse socket.
#
# Root only (run by `make test`). In a network namespace (nf-pr-$$)
# removed on exit; stack 198.19.63.2, tap's kernel side 198.19.63.1/24;
# the stack's address exists only in the user-space stack, so a kernel
# client reaching it proves the processes serve there. Every client
# checks its bytes. Cases:
#   1. prefork, 2 workers accepting (blocking) on the inherited
#      listener: 16 concurrent clients, both workers serve
#   2. the same with each worker's own epoll set (nginx's pattern);
#      2b. each worker opens its own SO_REUSEPORT listener after fork
#   3. fork per connection, the parent closing its copy at once: 5
#      sequential and 6 concurrent clients; 3b. inetd style: the child
#      execs /bin/cat with the connection as its stdin and stdout
#      (vfs/exec.c's relay)
#   4. socat TCP-LISTEN,fork: sequential and concurrent clients
#   5. a worker SIGKILLed in the middle of a transfer: the other keeps
#      serving, and the master's telemetry still answers
#   6. nginx, master_process on, 2 workers, listening on the stack's
#      address only: a 1 MiB file to 12 parallel clients, byte-exact
#   7. nginx as by default (daemon on): the process that started the
#      stack exits; a worker's process takes over its progress
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so
SRV=$B/tests/vfs/itest_procs

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_procs.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] && [ -x "$SRV" ] || { echo "not ok - $HOOK or $SRV not built"; exit 1; }

NS=nf-pr-$$
TMP=$(mktemp -d /tmp/nf-pr-test.XXXXXX)
fail=0
cleanup() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	sleep 0.2
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
STACK=198.19.63.2
KERN=198.19.63.1
HENV=(env LD_PRELOAD="$HOOK" NETFUSE_HUGE=off
      NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24)
wait_port() { # wait_port HOST PORT: until it accepts (10 s)
	for _ in $(seq 100); do
		in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}
# tel PID CMD: one DPDK telemetry request to a netfuse process, JSON out
tel() {
	timeout 10 python3 - "/var/run/dpdk/netfuse-$1/dpdk_telemetry.v2" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)
s.send(sys.argv[2].encode())
print(json.dumps(json.loads(s.recv(1 << 20).decode())))
PY
}
# passive PID: the stack's passive opens, from PID's telemetry (or -1)
passive() {
	tel "$1" /netfuse/stats 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["/netfuse/stats"]["tcp_conn_passive"])' 2>/dev/null || echo -1
}
# stop_all: kill every process in the namespace (the servers of a case)
stop_all() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -TERM 2>/dev/null
	for _ in $(seq 30); do
		[ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && return
		sleep 0.1
	done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	sleep 0.2
}
# clients PORT N SIZE CONCURRENT [PIDLINE]: N clients (CONCURRENT at a
# time) each send SIZE random bytes and read them back; with PIDLINE=1
# the server's "<pid>\n" comes first. Prints "bad K pids P1,P2,..."
clients() {
	in_ns timeout 60 python3 - "$STACK" "$@" <<'PY'
import os, socket, sys, threading
host, port, n, size, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
pidline = len(sys.argv) > 6 and sys.argv[6] == "1"
bad, pids, lock = [0], set(), threading.Lock()
def one():
    try:
        s = socket.create_connection((host, port), timeout=20)
        data = os.urandom(size)
        f = s.makefile("rb")
        pid = f.readline().strip() if pidline else b"-"
        def send():
            s.sendall(data); s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send); t.start()
        got = f.read()
        t.join()
        with lock:
            pids.add(pid.decode())
            if got != data: bad[0] += 1
        s.close()
    except Exception as e:
        with lock: bad[0] += 1
        print("client:", e, file=sys.stderr)
left = n
while left > 0:
    ts = [threading.Thread(target=one) for _ in range(min(conc, left))]
    for t in ts: t.start()
    for t in ts: t.join()
    left -= len(ts)
print("bad %d pids %s" % (bad[0], ",".join(sorted(pids))))
PY
}

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

# 1, 2. prefork: two workers accept on the listener they inherited
for mode in prefork prefork-epoll; do
	in_ns "${HENV[@]}" "$SRV" $mode $STACK 7100 2 >"$TMP/pf.out" 2>&1 &
	if ! wait_port $STACK 7100; then
		bad "$mode: $STACK:7100 not reachable ($(tail -2 "$TMP/pf.out" | tr '\n' ' '))"
	else
		r=$(clients 7100 16 200000 16 1)
		np=$(echo "$r" | sed -n 's/.*pids //p' | tr ',' '\n' | grep -c .)
		if [[ $r == "bad 0 pids"* ]] && [ "$np" -ge 2 ]; then
			ok "$mode: 2 workers share the inherited listener: 16 concurrent clients x 200 KB echoed byte-exact, served by $np processes"
		else
			bad "$mode: $r ($(tail -2 "$TMP/pf.out" | tr '\n' ' '))"
		fi
	fi
	stop_all
done

# 2b. SO_REUSEPORT listeners each worker opens after the fork
in_ns "${HENV[@]}" "$SRV" reuseport $STACK 7105 2 >"$TMP/rp.out" 2>&1 &
if ! wait_port $STACK 7105; then
	bad "reuseport: $STACK:7105 not reachable ($(tail -2 "$TMP/rp.out" | tr '\n' ' '))"
else
	r=$(clients 7105 24 50000 8 1)
	np=$(echo "$r" | sed -n 's/.*pids //p' | tr ',' '\n' | grep -c .)
	if [[ $r == "bad 0 pids"* ]] && [ "$np" -ge 2 ]; then
		ok "SO_REUSEPORT listeners opened by 2 workers after fork: 24 clients echoed byte-exact, spread over $np processes"
	else
		bad "reuseport: $r ($(tail -2 "$TMP/rp.out" | tr '\n' ' '))"
	fi
fi
stop_all

# 3. fork per connection; the parent closes its copy before the child
# has served a byte
in_ns "${HENV[@]}" "$SRV" forkconn $STACK 7101 12 >"$TMP/fc.out" 2>&1 &
FC=$!
if ! wait_port $STACK 7101; then
	bad "forkconn: $STACK:7101 not reachable"
else
	# wait_port's probe was connection 1 of 12
	r1=$(clients 7101 5 100000 1 1)
	r2=$(clients 7101 6 100000 6 1)
	wait $FC; rc=$?
	if [[ $r1 == "bad 0 pids"* && $r2 == "bad 0 pids"* ]] && [ $rc = 0 ]; then
		ok "fork per connection, the parent's copy closed first: 5 sequential + 6 concurrent clients echoed byte-exact, every child exited 0"
	else
		bad "forkconn: sequential '$r1', concurrent '$r2', server exit $rc ($(tail -2 "$TMP/fc.out" | tr '\n' ' '))"
	fi
fi
stop_all

# 3b. inetd style: fork, dup2 the connection to 0 and 1, exec /bin/cat
in_ns "${HENV[@]}" "$SRV" inetd $STACK 7104 7 >"$TMP/in.out" 2>&1 &
IN=$!
if ! wait_port $STACK 7104; then
	bad "inetd: $STACK:7104 not reachable"
else
	r1=$(clients 7104 3 300000 1)
	r2=$(clients 7104 3 100000 3)
	wait $IN; rc=$?
	if [[ $r1 == "bad 0 pids"* && $r2 == "bad 0 pids"* ]] && [ $rc = 0 ]; then
		ok "inetd style (fork, dup2 to 0 and 1, exec /bin/cat): 3 sequential x 300 KB + 3 concurrent clients echoed byte-exact by cat"
	else
		bad "inetd: sequential '$r1', concurrent '$r2', server exit $rc ($(tail -2 "$TMP/in.out" | tr '\n' ' '))"
	fi
fi
stop_all

# 4. socat's fork option
if command -v socat >/dev/null; then
	in_ns "${HENV[@]}" socat TCP-LISTEN:7102,bind=$STACK,fork,reuseaddr,backlog=32 \
		EXEC:cat >"$TMP/so.out" 2>&1 &
	if ! wait_port $STACK 7102; then
		bad "socat fork: $STACK:7102 not reachable ($(tail -2 "$TMP/so.out" | tr '\n' ' '))"
	else
		r1=$(clients 7102 4 1048576 1)
		r2=$(clients 7102 8 100000 8)
		if [[ $r1 == "bad 0 pids"* && $r2 == "bad 0 pids"* ]]; then
			ok "socat TCP-LISTEN,fork EXEC:cat: 4 sequential x 1 MiB and 8 concurrent clients echoed byte-exact"
		else
			bad "socat fork: sequential '$r1', concurrent '$r2' ($(tail -2 "$TMP/so.out" | tr '\n' ' '))"
		fi
	fi
	stop_all
else
	bad "socat not installed (scripts/setup.sh installs it)"
fi

# 5. a worker SIGKILLed mid-transfer
in_ns "${HENV[@]}" "$SRV" prefork $STACK 7103 2 >"$TMP/kl.out" 2>&1 &
if ! wait_port $STACK 7103; then
	bad "sigkill: $STACK:7103 not reachable"
else
	MASTER=$(pgrep -o -f "itest_procs prefork $STACK 7103")
	in_ns timeout 30 python3 - $STACK 7103 >"$TMP/victim" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
f = s.makefile("rb")
print(f.readline().strip().decode(), flush=True)
how = "not closed"
s.settimeout(5)  # the dead worker's socket must end well before this
try:
    for _ in range(5000):  # a transfer that is cut
        s.sendall(b"x" * 4096)
        if not s.recv(65536):
            how = "EOF"; break
        time.sleep(0.002)
except socket.timeout:
    how = "not closed (5 s without data)"
except OSError as e:
    how = "reset"
print("victim connection:", how, flush=True)
PY
	VC=$!
	for _ in $(seq 50); do [ -s "$TMP/victim" ] && break; sleep 0.1; done
	vp=$(head -1 "$TMP/victim")
	sleep 0.3
	# the victim is the master's child (not the master, not a stranger)
	if [ -n "$vp" ] && [ "$vp" != "$MASTER" ] && kill -KILL "$vp" 2>/dev/null; then
		sleep 0.3
		r=$(clients 7103 12 100000 4 1)
		if [[ $r == "bad 0 pids"* ]] && [[ $r != *"pids $vp"* ]] &&
		   [[ $r != *",$vp"* ]]; then
			ok "a worker SIGKILLed mid-transfer: the other served 12 more clients byte-exact"
		else
			bad "sigkill: after killing $vp: $r"
		fi
		# the dead worker's connection is closed for it, as the kernel
		# closes a killed process's sockets (vfs/procs.c's reaper)
		wait $VC
		vend=$(sed -n 2p "$TMP/victim")
		if [[ $vend == *EOF* || $vend == *reset* ]]; then
			ok "the SIGKILLed worker's connection is closed for it (the client saw ${vend#victim connection: })"
		else
			bad "sigkill: the dead worker's connection: '$vend'"
		fi
		# the telemetry is the stack's: still served after a child died
		np=$(passive "$MASTER")
		if [ "$np" -ge 13 ]; then
			ok "telemetry after a worker's death: the master answers, $np passive opens counted for all processes"
		else
			bad "sigkill: the master's telemetry after the worker's death: $np"
		fi
	else
		bad "sigkill: no worker pid from the victim connection ($(cat "$TMP/victim"))"
	fi
fi
stop_all

# 6. nginx with its master and 2 workers
if command -v nginx >/dev/null; then
	mkdir -p "$TMP/www" "$TMP/ngx"
	head -c 1048576 /dev/urandom >"$TMP/www/big.bin"
	cat >"$TMP/nginx.conf" <<EOF
daemon off;
user root;
master_process on;
worker_processes 2;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/error.log warn;
events { worker_connections 256; }
http {
    access_log $TMP/ngx/access.log;
    client_body_temp_path $TMP/ngx;
    proxy_temp_path $TMP/ngx;
    fastcgi_temp_path $TMP/ngx;
    server {
        listen $STACK:8080;
        root $TMP/www;
    }
}
EOF
	in_ns "${HENV[@]}" nginx -c "$TMP/nginx.conf" -p "$TMP/ngx" \
		>"$TMP/ngx.out" 2>&1 &
	if ! wait_port $STACK 8080; then
		bad "nginx 2 workers: $STACK:8080 not reachable ($(tail -3 "$TMP/ngx/error.log" "$TMP/ngx.out" 2>/dev/null | tr '\n' ' '))"
	else
		r=$(in_ns timeout 60 python3 - $STACK "$TMP/www/big.bin" <<'PY'
import http.client, sys, threading
host, path = sys.argv[1], sys.argv[2]
want = open(path, "rb").read()
bad = [0]
def one():
    try:
        c = http.client.HTTPConnection(host, 8080, timeout=20)
        for _ in range(2):  # keep-alive: two requests per connection
            c.request("GET", "/big.bin")
            if c.getresponse().read() != want: bad[0] += 1
    except Exception as e:
        bad[0] += 1; print(e, file=sys.stderr)
ts = [threading.Thread(target=one) for _ in range(12)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", bad[0])
PY
)
		# the workers (fork children of the master) served them: the
		# address is the stack's only, and the stack's telemetry (the
		# master's process) counts the connections
		mp=$(cat "$TMP/ngx/nginx.pid" 2>/dev/null || echo 0)
		nw=$(pgrep -P "$mp" | wc -l)
		np=$(passive "$mp")
		if [ "$r" = "bad 0" ] && [ "$nw" = 2 ] && [ "$np" -ge 12 ]; then
			ok "nginx master_process on, 2 workers, on the stack's address only: 12 parallel clients x 2 x 1 MiB byte-exact, $np passive opens in the stack's telemetry"
		else
			bad "nginx 2 workers: '$r', $nw workers, $np passive opens ($(tail -3 "$TMP/ngx/error.log" 2>/dev/null | tr '\n' ' '))"
		fi
	fi
	stop_all
	# 7. nginx as it runs by default (daemon on): the process that opened
	# the listener and started the stack forks the master and exits;
	# the workers' processes take over the stack's progress
	sed -i 's/^daemon off;$//' "$TMP/nginx.conf"
	rm -f "$TMP/ngx/nginx.pid"
	if ! in_ns "${HENV[@]}" timeout 20 nginx -c "$TMP/nginx.conf" -p "$TMP/ngx" \
		>"$TMP/ngd.out" 2>&1; then
		bad "nginx (daemon on) did not start: $(tail -2 "$TMP/ngd.out")"
	elif ! wait_port $STACK 8080; then
		bad "nginx (daemon on): $STACK:8080 not reachable after the starting process exited"
	else
		r=$(in_ns timeout 60 python3 - $STACK "$TMP/www/big.bin" <<'PY'
import http.client, sys, threading
host, path = sys.argv[1], sys.argv[2]
want = open(path, "rb").read()
bad = [0]
def one():
    try:
        c = http.client.HTTPConnection(host, 8080, timeout=20)
        c.request("GET", "/big.bin")
        if c.getresponse().read() != want: bad[0] += 1
    except Exception as e:
        bad[0] += 1; print(e, file=sys.stderr)
ts = [threading.Thread(target=one) for _ in range(12)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", bad[0])
PY
)
		if [ "$r" = "bad 0" ]; then
			ok "nginx with daemon on (the process that started the stack exits): 12 parallel clients x 1 MiB byte-exact"
		else
			bad "nginx daemon on: '$r'"
		fi
	fi
	stop_all
else
	bad "nginx not installed (scripts/setup.sh installs nginx-light)"
fi

exit $fail
