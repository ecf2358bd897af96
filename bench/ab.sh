#!/bin/bash
# bench/ab.sh OLD_BUILD [ROUNDS]: A/B of two builds of netfuse, interleaved.
# Runs pingpong (32 connections) and memcached (-t 1, 32 connections) on
# the netfuse side with default settings, alternating OLD_BUILD (a build
# directory of another tree, e.g. a git worktree of an earlier commit)
# and this tree's build/ round by round, and prints each build's runs,
# medians and new/old. The VM's speed drifts by tens of percent within
# minutes, so only interleaved medians compare two builds.
#
#   git worktree add /tmp/old <commit> && make -C /tmp/old -j2 all
#   bash bench/ab.sh /tmp/old/build 7
set -u
OLD=${1:?usage: bench/ab.sh OLD_BUILD_DIR [ROUNDS]}
ROUNDS=${2:-5}
. "$(dirname "$0")/sides.sh"
NEW=$BDIR
[ -f "$OLD/libhook.so" ] || { echo "ab.sh: no $OLD/libhook.so; build that tree first" >&2; exit 2; }
use() { PP=$1/apps/pingpong; MCL=$1/apps/mcload; HOOK=$1/libhook.so; }
declare -A R
for r in $(seq "$ROUNDS"); do
	# the order inside a round alternates too, so neither build always
	# runs first after the other's teardown
	if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
	for w in pp32 mc32; do
		for b in $order; do
			[ $b = old ] && use "$OLD" || use "$NEW"
			case $w in
			pp32) line=$(pingpong_side netfuse 32) ;;
			mc32) line=$(memcached_side netfuse 32) ;;
			esac
			rps=$(field "$line" rps)
			echo "$w $b round $r: $line"
			R[$w$b]="${R[$w$b]:-} ${rps:-0}"
		done
	done
done
echo
echo "| benchmark | old (req/s) | new (req/s) | median new/old |"
echo "|---|---|---|---|"
for w in pp32 mc32; do
	mo=$(median "${R[${w}old]}")
	mn=$(median "${R[${w}new]}")
	echo "| $w |${R[${w}old]} |${R[${w}new]} | $(ratio "$mn" "$mo") |"
done
