#!/usr/bin/env bash
# bench_nginx.sh (make bench-nginx): Debian's nginx (unmodified, master
# process on) with 1 and with 2 worker processes serving a 612-byte file
# to wrk (keep-alive, 1 thread, 64 connections), on the Linux kernel
# (loopback) and on netfuse (server and wrk under libhook.so over a
# net_memif pair; the workers are fork children sharing the master's
# stack instance: docs/DESIGN.md, "Processes"). 1 worker runs on CPU 0,
# 2 workers on CPUs 0 and 1; wrk on CPU 1 (this machine has 2 cores: with
# 2 workers, wrk shares a core with one). After each netfuse run, the
# master's telemetry gives the instance's lock contentions, reported per
# request (the cost of cross-process locking). Writes
# bench/results/nginx.csv.
set -u
SIDES_CMDLOG=${RESULTS:-$(cd "$(dirname "$0")" && pwd)/results}/nginx.cmds
. "$(dirname "$0")/sides.sh"
: >"$SIDES_CMDLOG"
CONNS=${CONNS:-64}
csv=$RESULTS/nginx.csv
echo "side,workers,rps,contended_per_req" >"$csv"
command -v nginx >/dev/null && command -v wrk >/dev/null ||
	{ echo "nginx or wrk missing: run scripts/setup.sh"; exit 1; }

# contentions PIDFILE: the instance's lock_contentions (telemetry)
contentions() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || { echo 0; return; }
	/usr/bin/python3 - "/var/run/dpdk/netfuse-$pid/dpdk_telemetry.v2" <<'PY' 2>/dev/null || echo 0
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(3)
s.connect(sys.argv[1]); s.recv(4096)
s.send(b"/netfuse/instances")
d = json.loads(s.recv(1 << 20).decode())["/netfuse/instances"]
print(sum(v["lock_contentions"] for v in d.values()))
PY
}

# nginx_side SIDE WORKERS: one wrk run; prints "rps=X contended=Y"
nginx_side() {
	local side=$1 w=$2 port dir log out rps c
	port=$(free_port)
	dir=$SIDES_TMP/ngx-$side-$w
	mkdir -p "$dir/www"
	head -c 612 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
	cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $w;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log error;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    server { listen 0.0.0.0:$port; root $dir/www; }
}
EOF
	log=$dir/out.log
	if [ "$w" = 2 ]; then SCPU=0,1; else SCPU=${SERVER_CPU:-0}; fi
	start_server "$side" "$log" nginx -c "$dir/nginx.conf" -p "$dir"
	if ! wait_port "$port"; then
		echo "FAILED nginx ($side, $w workers): $(tail -3 "$dir/error.log" "$log" 2>/dev/null)"
		stop_server; return 1
	fi
	out=$(run_client "$side" wrk -t 1 -c "$CONNS" -d "${DURATION}s" \
		"http://$(server_addr "$side"):$port/index.html" 2>&1)
	rps=$(echo "$out" | awk '/Requests\/sec/ { printf "%d", $2 }')
	c=0
	[ "$side" = netfuse ] && c=$(contentions "$dir/nginx.pid")
	kill "$(cat "$dir/nginx.pid" 2>/dev/null)" 2>/dev/null
	stop_server
	echo "rps=${rps:-0} contended=$c"
}

declare -A R C
for side in kernel netfuse; do
	for w in 1 2; do
		line=$(nginx_side "$side" "$w")
		echo "$side, $w worker(s): $line"
		R[$side$w]=$(field "$line" rps)
		C[$side$w]=$(field "$line" contended)
		per=$(awk -v c="${C[$side$w]:-0}" -v r="${R[$side$w]:-0}" -v d="$DURATION" \
			'BEGIN { if (r > 0) printf "%.5f", c / (r * d); else print 0 }')
		echo "$side,$w,${R[$side$w]:-0},$per" >>"$csv"
	done
done
echo
echo "| side | 1 worker req/s | 2 workers req/s | 2/1 |"
echo "|---|---|---|---|"
for side in kernel netfuse; do
	echo "| $side | ${R[${side}1]:-0} | ${R[${side}2]:-0} | $(ratio "${R[${side}2]:-0}" "${R[${side}1]:-0}") |"
done
echo "RESULT bench-nginx kernel1_rps=${R[kernel1]:-0} kernel2_rps=${R[kernel2]:-0}" \
     "netfuse1_rps=${R[netfuse1]:-0} netfuse2_rps=${R[netfuse2]:-0}" \
     "ratio1=$(ratio "${R[netfuse1]:-0}" "${R[kernel1]:-0}")" \
     "ratio2=$(ratio "${R[netfuse2]:-0}" "${R[kernel2]:-0}")" \
     "netfuse2_contended=${C[netfuse2]:-0}"
[ -n "${R[netfuse2]:-}" ] && [ "${R[netfuse2]:-0}" -gt 0 ]
