#!/usr/bin/env bash
# bench/plot.sh: draws the PNG plots of the side-by-side benchmarks from the
# latest CSVs in bench/results/ (gnuplot, pngcairo terminal, or png if cairo
# is missing). Each plot is skipped, with a line saying so, when its CSVs
# are absent, so it can run after any subset of the benchmarks:
#   throughput.png   req/s, Linux kernel vs netfuse: pingpong 1 and 32
#                    connections (pingpong.csv), memcached 32 connections
#                    (memcached.csv); the ratio netfuse/Linux over each pair
#   latency_cdf.png  latency CDF at 32 connections, closed loop, both sides
#                    (cdf_pingpong_*.csv, cdf_memcached_*.csv), log x
#   latency_load.png p99 (and p50) against offered req/s, open-loop rate
#                    steps (latency.csv), log y; steps that delivered under
#                    95% of their rate are crossed
#   latency_load_memcached.png  the same for memcached
#                    (latency_memcached.csv)
# Usage: bench/plot.sh [results-dir]; exit status 1 if gnuplot is missing
# or no plot could be drawn.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
R=${1:-${RESULTS:-$root/bench/results}}
command -v gnuplot >/dev/null || { echo "plot: gnuplot missing (scripts/setup.sh installs gnuplot-nox)"; exit 1; }
if gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo; then
	TERM_SPEC="pngcairo size 900,540 font 'sans,10'"
else
	TERM_SPEC="png size 900,540"
fi
tmp=$(mktemp -d /tmp/nf-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
drawn=0
# col CSV SIDE CONNS COLUMN: the value of COLUMN in the row side,conns
col() {
	awk -F, -v s="$2" -v c="$3" -v k="$4" \
		'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) n = i; next }
		 $1 == s && $2 == c && n { print $n; exit }' "$1" 2>/dev/null
}

# -- throughput bars
: >"$tmp/tput.dat"
add_bar() { # LABEL CSV CONNS
	local k n
	k=$(col "$2" kernel "$3" rps); n=$(col "$2" netfuse "$3" rps)
	[ -n "$k" ] && [ -n "$n" ] && echo "\"$1\" $k $n" >>"$tmp/tput.dat"
}
add_bar "pingpong 1 B, 1 conn" "$R/pingpong.csv" 1
add_bar "pingpong 1 B, 32 conns" "$R/pingpong.csv" 32
add_bar "memcached -t 1, 32 conns" "$R/memcached.csv" 32
if [ -s "$tmp/tput.dat" ]; then
	gnuplot <<GP && drawn=$((drawn + 1)) && echo "plot: $R/throughput.png"
set terminal $TERM_SPEC
set output "$R/throughput.png"
set title "Throughput, same unmodified binaries: Linux kernel (loopback) vs netfuse (memif)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xrange [-0.6:*]
set ylabel "requests/s"
set format y "%.0s%c"
set yrange [0:*]
set grid ytics
set key top left
set offsets 0, 0, graph 0.12, 0
set label "over each pair: netfuse/Linux" at graph 0.99, graph 0.96 right
plot "$tmp/tput.dat" using 2:xtic(1) title "Linux kernel" lc rgb "#4e79a7", \
     "" using 3 title "netfuse" lc rgb "#e15759", \
     "" using (\$0):(\$3 > \$2 ? \$3 : \$2):(sprintf("%.2fx", \$3 / \$2)) with labels offset 0,1 notitle
GP
else
	echo "plot: throughput.png skipped (no pingpong.csv / memcached.csv rows)"
fi

# -- latency CDF
plots=()
for w in pingpong memcached; do
	for s in kernel netfuse; do
		f=$R/cdf_${w}_$s.csv
		[ -s "$f" ] || continue
		dash=1; [ "$w" = memcached ] && dash=2
		color='#4e79a7'; [ "$s" = netfuse ] && color='#e15759'
		label="$w, Linux kernel"; [ "$s" = netfuse ] && label="$w, netfuse"
		plots+=("\"$f\" using 1:2 with lines lw 2 dt $dash lc rgb \"$color\" title \"$label\"")
	done
done
if [ ${#plots[@]} -gt 0 ]; then
	list=$(IFS=,; echo "${plots[*]}")
	# x from the fastest sample to 3x the slowest p99.9: a single stalled
	# request (seconds) would otherwise squeeze every curve to the left
	xr=$(awk -F, 'FNR == 1 { done = 0; next }
		$1 + 0 > 0 && (lo == "" || $1 < lo) { lo = $1 }
		!done && $2 >= 0.999 { done = 1; if ($1 > hi) hi = $1 }
		END { printf "[%g:%g]", lo * 0.8, hi * 3 }' "$R"/cdf_*_*.csv)
	gnuplot <<GP && drawn=$((drawn + 1)) && echo "plot: $R/latency_cdf.png"
set terminal $TERM_SPEC
set output "$R/latency_cdf.png"
set title "Latency CDF, 32 connections, closed loop (1 request in flight per connection)"
set datafile separator ","
set key bottom right
set logscale x
set xrange $xr
set xlabel "latency (us); x axis ends at 3x the largest p99.9"
set ylabel "fraction of requests"
set yrange [0:1]
set grid
plot $list
GP
else
	echo "plot: latency_cdf.png skipped (no cdf_*.csv)"
fi

# -- latency vs load: load_plot CSV PNG TITLE
load_plot() {
	local csv=$1 png=$2 title=$3 s
	if [ "$(wc -l <"$csv" 2>/dev/null || echo 0)" -le 1 ]; then
		echo "plot: $(basename "$png") skipped (no $(basename "$csv"))"
		return 0
	fi
	for s in kernel netfuse; do
		# target delivered p50 p99 saturated(1: delivered < 95% of target)
		awk -F, -v s=$s 'NR > 1 && $1 == s { print $2, $3, $4, $6, ($3 < 0.95 * $2) }' \
			"$csv" | sort -n >"$tmp/lat_$s.dat"
		# gnuplot stops on an empty file: a side with no step gets no curve
		[ -s "$tmp/lat_$s.dat" ] || echo "0 0 NaN NaN 0" >"$tmp/lat_$s.dat"
	done
	# y from the decade below the smallest latency to the one above the largest
	yr=$(awk '$3 + 0 > 0 { for (i = 3; i <= 4; i++) { if (lo == "" || $i < lo) lo = $i; if ($i > hi) hi = $i } }
		END { if (lo == "") { print "[1:10000]"; exit }
			printf "[%g:%g]", 0.95 * 10 ^ int(log(lo) / log(10) - (lo < 1)), 1.05 * 10 ^ (int(log(hi) / log(10) - 1e-9) + 1) }' \
		"$tmp/lat_kernel.dat" "$tmp/lat_netfuse.dat")
	gnuplot <<GP && drawn=$((drawn + 1)) && echo "plot: $png"
set terminal $TERM_SPEC
set output "$png"
set title "$title"
set logscale y
set yrange $yr
set xlabel "offered load (target requests/s); crossed: delivered under 95% of it"
set ylabel "latency, from when each request was due"
set format x "%.0s%c"
set ytics ("1 us" 1, "10 us" 10, "100 us" 100, "1 ms" 1000, "10 ms" 10000, \
	   "100 ms" 100000, "1 s" 1000000, "10 s" 10000000)
set xrange [0:*]
set grid
set key outside right top vertical
set arrow from graph 0, first 1000 to graph 1, first 1000 nohead dt 3 lc rgb "gray40"
plot "$tmp/lat_kernel.dat" using 1:4 with linespoints lw 2 pt 7 lc rgb "#4e79a7" title "Linux kernel p99", \
     "" using 1:3 with linespoints lw 1 dt 2 pt 6 lc rgb "#4e79a7" title "Linux kernel p50", \
     "$tmp/lat_netfuse.dat" using 1:4 with linespoints lw 2 pt 7 lc rgb "#e15759" title "netfuse p99", \
     "" using 1:3 with linespoints lw 1 dt 2 pt 6 lc rgb "#e15759" title "netfuse p50", \
     "$tmp/lat_kernel.dat" using 1:(\$5 > 0 ? \$4 : 1/0) with points pt 2 ps 2.5 lc rgb "black" notitle, \
     "$tmp/lat_netfuse.dat" using 1:(\$5 > 0 ? \$4 : 1/0) with points pt 2 ps 2.5 lc rgb "black" notitle
GP
}
load_plot "$R/latency.csv" "$R/latency_load.png" \
	"Latency vs load: pingpong 1 B, 32 connections, open loop (Poisson rate steps)"
load_plot "$R/latency_memcached.csv" "$R/latency_load_memcached.png" \
	"Latency vs load: memcached -t 1 + mcload (90% get, 8 B, Zipf 0.99), 32 connections, open loop"
[ "$drawn" -gt 0 ]
