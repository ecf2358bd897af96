#!/usr/bin/env bash
# itest_cache.sh: the rewrite cache (hook/cache.c) gives the same sites as
# decoding, is used on the second run, and a damaged entry is ignored.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$root/build/libhook.so
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 700 "$dir"
run() { NETFUSE_CACHE_DIR=$dir NETFUSE_LOG=info LD_PRELOAD=$lib /bin/echo hi 2>&1 >/dev/null | grep "hook: active"; }
field() { echo "$1" | sed -n "s/.* \([0-9]*\) $2.*/\1/p"; }
a=$(run); b=$(run)
sa=$(field "$a" "sites rewritten"); sb=$(field "$b" "sites rewritten")
da=$(field "$a" "instructions decoded"); db=$(field "$b" "instructions decoded")
hb=$(field "$b" "mappings from cache")
if [ -n "$sa" ] && [ "$sa" = "$sb" ] && [ "$da" -gt 0 ] && [ "$db" = 0 ] && [ "$hb" -gt 0 ]; then
	echo "ok 1 - second run from the cache: $sb sites, $hb mappings, 0 decoded (first: $da decoded)"
else
	echo "not ok 1 - first: '$a' second: '$b'"
fi
# damage every entry: point the first site at offset 0 (not a syscall)
for f in "$dir"/*.sites; do
	printf '\x00\x00\x00\x00' | dd of="$f" bs=1 seek=72 conv=notrunc 2>/dev/null
done
c=$(run)
sc=$(field "$c" "sites rewritten"); dc=$(field "$c" "instructions decoded")
if [ "$sc" = "$sa" ] && [ "$dc" -gt 0 ]; then
	echo "ok 2 - damaged entries ignored: decoded again, $sc sites"
else
	echo "not ok 2 - after damage: '$c'"
fi
# a cache directory open to others is not used
chmod 777 "$dir"; rm -f "$dir"/*.sites
d=$(run)
if [ -z "$(ls "$dir")" ] && [ "$(field "$d" "sites rewritten")" = "$sa" ]; then
	echo "ok 3 - world-writable cache directory not used"
else
	echo "not ok 3 - '$d'; $(ls "$dir")"
fi
