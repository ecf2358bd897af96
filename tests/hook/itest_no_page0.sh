#!/usr/bin/env bash
# itest_no_page0.sh: when address 0 cannot be mapped, the hook says so in
# one line naming the fix, and the program runs unhooked, correctly.
# Raises vm.mmap_min_addr for a moment and drops CAP_SYS_RAWIO (which
# would let root map page 0 anyway); restores the setting on exit.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$root/build/libhook.so
old=$(sysctl -n vm.mmap_min_addr)
trap 'sysctl -q -w vm.mmap_min_addr=$old' EXIT
if ! sysctl -q -w vm.mmap_min_addr=65536 2>/dev/null; then
	echo "not ok 1 - cannot change vm.mmap_min_addr (need root)"; exit 1
fi
out=$(LD_PRELOAD=$lib setpriv --bounding-set -sys_rawio --inh-caps -sys_rawio \
	/bin/echo still-works 2>/tmp/nf-page0.err); rc=$?
sysctl -q -w vm.mmap_min_addr=$old
lines=$(grep -c "netfuse: hook:" /tmp/nf-page0.err)
if [ $rc = 0 ] && [ "$out" = still-works ] && [ "$lines" = 1 ] &&
   grep -q "sysctl -w vm.mmap_min_addr=0" /tmp/nf-page0.err; then
	echo "ok 1 - unhooked run with one line: $(cat /tmp/nf-page0.err)"
else
	echo "not ok 1 - rc=$rc out='$out' stderr:"; sed 's/^/# /' /tmp/nf-page0.err
fi
rm -f /tmp/nf-page0.err
