#!/usr/bin/env bash
# itest_dual6.sh: AF_INET6 (dual-stack) servers on the user-space stack
# (vfs/addr.c, stack/sock_addr.c), reached over IPv4 and IPv6. Before,
# every AF_INET6 socket went to the kernel, so `iperf3 -s` (which
# listens on [::] by default) never touched netfuse.
#
# Root only (run by `make test`). In a network namespace (nf-d6-$$)
# removed on exit; stack 198.19.65.2 and 2001:2::2, tap's kernel side
# 198.19.65.1/24 and 2001:2::1/64: those addresses exist only in the
# user-space stack, so a kernel client reaching them proves the server
# serves there. Cases:
#   1. unmodified iperf3 -s (default: [::]), the kernel's iperf3 -c over
#      IPv4 for 2 s, then over IPv6: bytes received each time
#   2. a python3 server on ("::", port): 1 MB echoed byte-exact to a
#      kernel IPv4 client (peer seen as ::ffff:198.19.65.1), to a kernel
#      IPv6 client over nf0 (peer 2001:2::1), and to one on ::1 (its
#      kernel half)
#   3. a python3 AF_INET6 UDP echo server: IPv4 and IPv6 datagrams over
#      nf0, sources seen as the kernel sent them
#   4. a hooked python3 client connecting out to the kernel over IPv6
#      (a kernel listener on [2001:2::1]): 1 MB echoed byte-exact
#   4b. the echo server with two stack instances: 6 IPv6 clients at once
#   5. unmodified nginx with `listen [::]:8080` (ipv6only=off): a page
#      fetched over IPv4 and over IPv6
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
[[ $B == /* ]] || B=$PWD/$B
HOOK=$B/libhook.so

if [ "$(id -u)" != 0 ]; then echo "SKIP itest_dual6.sh: needs root"; exit 77; fi
[ -e "$HOOK" ] || { echo "not ok - $HOOK not built"; exit 1; }

NS=nf-d6-$$
TMP=$(mktemp -d /tmp/nf-d6-test.XXXXXX)
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
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
in_ns() { ip netns exec "$NS" "$@"; }
STACK=198.19.65.2
KERN=198.19.65.1
STACK6=2001:2::2
KERN6=2001:2::1
hooked() { # hooked LIMIT CMD...: in the namespace, background, P=pid
	local lim=$1; shift
	timeout -k 5 "$lim" ip netns exec "$NS" env LD_PRELOAD="$HOOK" \
		NETFUSE_HUGE=off NETFUSE_ADDR=$STACK/24 NETFUSE_TAP_ADDR=$KERN/24 \
		"$@" &
	P=$!; PIDS+=("$P")
}
wait_for() { # wait_for FILE PATTERN PID: until the line appears (15 s)
	for _ in $(seq 150); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_port() { # wait_port HOST PORT: until it accepts (10 s)
	for _ in $(seq 100); do
		in_ns timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}

ip netns add "$NS" || { echo "not ok - ip netns add $NS"; exit 1; }
in_ns ip link set lo up

# 1. iperf3 -s, default listener ([::])
if command -v iperf3 >/dev/null; then
	hooked 40 iperf3 -s -1 -p 5311 --forceflush >"$TMP/i.out" 2>&1
	if wait_for "$TMP/i.out" "listening" $P; then
		r=$(in_ns timeout 30 iperf3 -c $STACK -p 5311 -t 2 -J 2>&1 |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' 2>&1)
		wait $P; src=$?
		if [[ $r =~ ^[0-9]+$ ]] && [ "$r" -gt 1000000 ] && [ $src = 0 ]; then
			ok "iperf3 -s (listens on [::]) under libhook.so: kernel iperf3 -c over IPv4 via the user-space stack, $r bytes"
		else
			bad "iperf3 -s on [::]: client '$r', server exit $src ($(tail -2 "$TMP/i.out" | tr '\n' ' '))"
		fi
	else
		bad "iperf3 -s under libhook.so: not listening ($(tail -2 "$TMP/i.out" | tr '\n' ' '))"
	fi
	hooked 40 iperf3 -s -1 -p 5312 --forceflush >"$TMP/i6.out" 2>&1
	if wait_for "$TMP/i6.out" "listening" $P; then
		r=$(in_ns timeout 30 iperf3 -c $STACK6 -p 5312 -t 2 -J 2>&1 |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' 2>&1)
		wait $P; src=$?
		if [[ $r =~ ^[0-9]+$ ]] && [ "$r" -gt 1000000 ] && [ $src = 0 ]; then
			ok "iperf3 -s under libhook.so: kernel iperf3 -c over IPv6 ([$STACK6]) via the user-space stack, $r bytes"
		else
			bad "iperf3 -s on [::], IPv6 client: '$r', server exit $src ($(tail -2 "$TMP/i6.out" | tr '\n' ' '))"
		fi
	else
		bad "iperf3 -s under libhook.so (2nd): not listening"
	fi
else
	bad "iperf3 not installed (scripts/setup.sh installs it)"
fi

# 2. python3 TCP echo on ("::", port)
cat >"$TMP/echo6.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
print("READY", flush=True)
while True:
    c, peer = s.accept()
    print("PEER", peer[0], flush=True)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
PY
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, threading
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.settimeout(20)
c.connect((sys.argv[1], int(sys.argv[2])))
data = os.urandom(1 << 20)
t = threading.Thread(target=c.sendall, args=(data,))
t.start()
got = bytearray()
while len(got) < len(data):
    d = c.recv(65536)
    if not d:
        break
    got += d
t.join()
print("OK" if bytes(got) == data else "BAD %d" % len(got))
PY
hooked 40 python3 "$TMP/echo6.py" 7611 >"$TMP/e.out" 2>&1
EP=$P
if wait_for "$TMP/e.out" READY $EP && wait_port $STACK 7611; then
	sleep 0.2
	r4=$(in_ns timeout 30 python3 "$TMP/client.py" $STACK 7611 2>&1)
	if [ "$r4" = OK ] && wait_for "$TMP/e.out" "PEER ::ffff:$KERN" $EP; then
		ok "python3 server on (\"::\", 7611): 1 MiB echoed byte-exact to an IPv4 client over nf0, peer seen as ::ffff:$KERN"
	else
		bad "python3 server on ::, IPv4 client: $r4 ($(grep PEER "$TMP/e.out" | tr '\n' ' '))"
	fi
	r6=$(in_ns timeout 30 python3 "$TMP/client.py" $STACK6 7611 2>&1)
	if [ "$r6" = OK ] && wait_for "$TMP/e.out" "PEER $KERN6" $EP; then
		ok "the same listener: 1 MiB echoed byte-exact to a kernel IPv6 client over nf0 ([$STACK6]), peer seen as $KERN6"
	else
		bad "python3 server on ::, IPv6 client over nf0: $r6 ($(grep PEER "$TMP/e.out" | tr '\n' ' '))"
	fi
	r6=$(in_ns timeout 30 python3 "$TMP/client.py" ::1 7611 2>&1)
	if [ "$r6" = OK ] && wait_for "$TMP/e.out" "PEER ::1" $EP; then
		ok "the same listener: 1 MiB echoed to an IPv6 client on ::1 (its kernel half)"
	else
		bad "python3 server on ::, IPv6 client on ::1: $r6"
	fi
else
	bad "python3 AF_INET6 server under libhook.so: not listening ($(tail -2 "$TMP/e.out" | tr '\n' ' '))"
fi
kill -TERM $EP 2>/dev/null; wait $EP 2>/dev/null

# 3. python3 UDP echo on ("::", port)
cat >"$TMP/udp6.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1])))
print("READY", flush=True)
for _ in range(50):
    d, a = s.recvfrom(2048)
    s.sendto(d + a[0].encode(), a)
PY
hooked 40 python3 "$TMP/udp6.py" 7612 >"$TMP/u.out" 2>&1
UP=$P
if wait_for "$TMP/u.out" READY $UP; then
	r=$(in_ns timeout 20 python3 - $STACK 7612 $KERN <<'PY'
import os, socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(1)
good = 0
for i in range(50):
    m = os.urandom(100 + i)
    for _ in range(5):   # the first datagrams may wait for ARP
        c.sendto(m, (sys.argv[1], int(sys.argv[2])))
        try:
            d = c.recv(2048)
        except socket.timeout:
            continue
        good += d == m + b"::ffff:" + sys.argv[3].encode()
        break
print(good)
PY
)
	if [ "$r" = 50 ]; then
		ok "python3 AF_INET6 UDP echo on ::: 50 IPv4 datagrams over nf0, source seen mapped"
	else
		bad "python3 AF_INET6 UDP echo: $r of 50"
	fi
else
	bad "python3 AF_INET6 UDP server under libhook.so: not READY"
fi
kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null

# 3b. the same over IPv6
hooked 40 python3 "$TMP/udp6.py" 7613 >"$TMP/u6.out" 2>&1
UP=$P
if wait_for "$TMP/u6.out" READY $UP; then
	r=$(in_ns timeout 20 python3 - $STACK6 7613 $KERN6 <<'PY'
import os, socket, sys
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(1)
good = 0
for i in range(50):
    m = os.urandom(100 + i)
    for _ in range(5):   # the first datagrams may wait for ND
        c.sendto(m, (sys.argv[1], int(sys.argv[2])))
        try:
            d = c.recv(2048)
        except socket.timeout:
            continue
        good += d == m + sys.argv[3].encode()
        break
print(good)
PY
)
	if [ "$r" = 50 ]; then
		ok "python3 AF_INET6 UDP echo on ::: 50 IPv6 datagrams over nf0, source seen as $KERN6"
	else
		bad "python3 AF_INET6 UDP echo over IPv6: $r of 50"
	fi
else
	bad "python3 AF_INET6 UDP server under libhook.so (IPv6): not READY"
fi
kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null

# 4. a hooked client connecting out over IPv6 to a kernel echo server
cat >"$TMP/kecho.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("READY", flush=True)
c, peer = s.accept()
print("PEER", peer[0], flush=True)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
PY
# the tap appears with the hooked program's stack: the kernel server
# starts once nf0 has its address, so the client retries a refused
# connect for up to 10 s
cat >"$TMP/client_retry.py" <<'PY'
import os, socket, sys, threading, time
for _ in range(100):
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.settimeout(20)
    try:
        c.connect((sys.argv[1], int(sys.argv[2])))
        break
    except OSError:
        c.close()
        time.sleep(0.1)
else:
    raise SystemExit("BAD connect")
data = os.urandom(1 << 20)
t = threading.Thread(target=c.sendall, args=(data,))
t.start()
got = bytearray()
while len(got) < len(data):
    d = c.recv(65536)
    if not d:
        break
    got += d
t.join()
print("OK" if bytes(got) == data else "BAD %d" % len(got))
PY
hooked 40 python3 "$TMP/client_retry.py" $KERN6 7614 >"$TMP/c6.out" 2>&1
CP=$P
for _ in $(seq 100); do
	in_ns ip -6 addr show dev nf0 2>/dev/null | grep -q "$KERN6" && break
	sleep 0.1
done
in_ns timeout 30 python3 "$TMP/kecho.py" $KERN6 7614 >"$TMP/k6.out" 2>&1 &
KP=$!; PIDS+=("$KP")
wait $CP
if grep -q '^OK' "$TMP/c6.out" && grep -q "PEER $STACK6" "$TMP/k6.out"; then
	ok "a hooked client connects out over IPv6 to a kernel server on [$KERN6]: 1 MiB echoed byte-exact, the kernel saw $STACK6"
else
	bad "hooked IPv6 client: $(tail -2 "$TMP/c6.out" | tr '\n' ' ') / $(tr '\n' ' ' <"$TMP/k6.out")"
fi
kill -TERM $KP 2>/dev/null; wait $KP 2>/dev/null

# 4b. two stack instances (NETFUSE_QUEUES=2): IPv6 flows spread over
# both queues; frames on the wrong one are handed over (vfs/steer.c)
NETFUSE_QUEUES=2 hooked 60 python3 "$TMP/echo6.py" 7615 >"$TMP/q2.out" 2>&1
QP=$P
if wait_for "$TMP/q2.out" READY $QP && wait_port $STACK 7615; then
	CL=()
	for i in 1 2 3 4 5 6; do
		in_ns timeout 40 python3 "$TMP/client.py" $STACK6 7615 \
			>"$TMP/q2c.$i" 2>&1 &
		CL+=($!)
	done
	for c in "${CL[@]}"; do wait "$c"; done
	n=$(cat "$TMP"/q2c.* 2>/dev/null | grep -c '^OK')
	if [ "$n" = 6 ]; then
		ok "NETFUSE_QUEUES=2: 6 IPv6 clients at once, 1 MiB each echoed byte-exact (flows over two instances)"
	else
		bad "NETFUSE_QUEUES=2, IPv6 clients: $n of 6 OK ($(cat "$TMP"/q2c.* | sort | uniq -c | tr '\n' ' '))"
	fi
else
	bad "python3 server with NETFUSE_QUEUES=2: not listening"
fi
kill -TERM $QP 2>/dev/null; wait $QP 2>/dev/null

# 5. nginx, listen [::]:8080 (dual: ipv6only=off)
if command -v nginx >/dev/null; then
	mkdir -p "$TMP/www" "$TMP/ng"
	head -c 300000 /dev/urandom >"$TMP/www/blob"
	cat >"$TMP/ng/nginx.conf" <<NG
daemon off;
master_process off;
worker_processes 1;
error_log $TMP/ng/error.log;
pid $TMP/ng/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/ng;
	proxy_temp_path $TMP/ng;
	fastcgi_temp_path $TMP/ng;
	uwsgi_temp_path $TMP/ng;
	scgi_temp_path $TMP/ng;
	server {
		listen [::]:8080 ipv6only=off;
		root $TMP/www;
	}
}
NG
	hooked 40 nginx -c "$TMP/ng/nginx.conf" >"$TMP/ng.out" 2>&1
	NP=$P
	if wait_port $STACK 8080; then
		h4=$(in_ns timeout 10 curl -s -o "$TMP/b4" -w '%{http_code}' http://$STACK:8080/blob)
		h6=$(in_ns timeout 10 curl -s -o "$TMP/b6" -w '%{http_code}' "http://[$STACK6]:8080/blob")
		if [ "$h4" = 200 ] && [ "$h6" = 200 ] &&
		   cmp -s "$TMP/b4" "$TMP/www/blob" && cmp -s "$TMP/b6" "$TMP/www/blob"; then
			ok "nginx with listen [::]:8080: a 300 KB file byte-exact over IPv4 ($STACK) and IPv6 ([$STACK6])"
		else
			bad "nginx listen [::]:8080: IPv4 $h4, IPv6 $h6 ($(tail -2 "$TMP/ng/error.log" 2>/dev/null | tr '\n' ' '))"
		fi
	else
		bad "nginx with listen [::]:8080 under libhook.so: not listening ($(tail -2 "$TMP/ng.out" | tr '\n' ' '))"
	fi
	kill -TERM $NP 2>/dev/null; wait $NP 2>/dev/null
else
	bad "nginx not installed (scripts/setup.sh installs nginx-light)"
fi

exit $fail
