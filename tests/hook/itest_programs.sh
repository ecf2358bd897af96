#!/usr/bin/env bash
# itest_programs.sh: unmodified programs give the same output and exit
# status under the hook as without it, and the hook was really active.
# Needs vm.mmap_min_addr=0 (scripts/setup.sh). TAP-style output.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$root/build/libhook.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 3000000 /dev/urandom > "$tmp/data"
seq 1 20000 | shuf --random-source=<(yes) > "$tmp/lines"

n=0
check() { # name, command...
	local name=$1; shift
	n=$((n+1))
	timeout 60 "$@" >"$tmp/plain.out" 2>/dev/null; local rc1=$?
	NETFUSE_LOG=info LD_PRELOAD=$lib timeout 60 "$@" >"$tmp/hook.out" 2>"$tmp/hook.err"; local rc2=$?
	if ! grep -q "netfuse: hook: active" "$tmp/hook.err"; then
		echo "not ok $n - $name: hook not active"; sed 's/^/# /' "$tmp/hook.err" | head -5; return
	fi
	if [ $rc1 != $rc2 ]; then
		echo "not ok $n - $name: exit $rc2 under the hook, $rc1 without"; return
	fi
	if ! cmp -s "$tmp/plain.out" "$tmp/hook.out"; then
		echo "not ok $n - $name: output differs"; diff "$tmp/plain.out" "$tmp/hook.out" | head -5 | sed 's/^/# /'; return
	fi
	echo "ok $n - $name (exit $rc1, $(wc -c <"$tmp/plain.out") bytes)"
}

check "ls -la /usr/lib" ls -la --time-style=+%s /usr/lib
check "cat" cat "$tmp/data"
check "sort -n" sort -n "$tmp/lines"
check "sha256sum" sha256sum "$tmp/data"
check "ls of a missing file (exit 2)" ls /nonexistent-netfuse
check "bash pipeline" bash -c "cat $tmp/lines | sort -n | uniq | wc -l; exit 3"
check "python3 threads + subprocess" /usr/bin/python3 -c '
import threading, subprocess, hashlib
out = []
def work(i):
    out.append(hashlib.sha256(str(i).encode()).hexdigest())
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(out), sorted(out)[0])
print(subprocess.run(["sh", "-c", "echo sub; exit 4"], capture_output=True, text=True).stdout.strip())
print(subprocess.call(["true"]))
'
check "find | xargs (fork/exec churn)" bash -c "find /usr/include/linux -name '*.h' | head -200 | xargs -n 20 wc -l | tail -1"
check "dd 200 MiB" bash -c "dd if=/dev/zero of=/dev/null bs=1M count=200 2>/dev/null; echo done"
