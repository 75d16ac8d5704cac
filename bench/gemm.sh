#!/usr/bin/env bash
# gemm.sh measures troupe's SGEMM against OpenBLAS's cblas_sgemm side by
# side on the products of kernels.BenchShapes, on 1 and 2 threads.
#
# For each product and thread count it alternates one run of each, REPS
# times, and keeps each one's best, so both see the same background load;
# it reports the spread (worst/best) of both as a measure of that noise.
#
# Usage: bench/gemm.sh [-r REPS] [-t "THREADS..."] [-i IMPL] [-s REGEXP]
#   -r  runs of each side per product (default 5)
#   -t  thread counts (default "1 2")
#   -i  troupe implementation: avx512, avx2 or generic (default: the best)
#   -s  only products whose name matches REGEXP (grep -E)
# Needs go, gcc and OpenBLAS (Debian: apt-get install libopenblas-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

reps=5 threads="1 2" impl="" filter=.
while getopts "r:t:i:s:" opt; do
	case $opt in
	r) reps=$OPTARG ;;
	t) threads=$OPTARG ;;
	i) impl=$OPTARG ;;
	s) filter=$OPTARG ;;
	*) exit 2 ;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/openblas" bench/gemm_openblas.c -lopenblas
go test -c -o "$tmp/kernels.test" ./kernels

if [ -z "$impl" ]; then
	impl=$("$tmp/kernels.test" -test.run '^$' -test.bench '^BenchmarkSgemm$/^impl=' -test.benchtime 1x 2>/dev/null |
		sed -n 's|^BenchmarkSgemm/impl=\([a-z0-9]*\)/.*|\1|p' | head -1)
fi

# The products, as BenchmarkSgemm names them: name_MxNxK_XY.
mapfile -t shapes < <("$tmp/kernels.test" -test.run '^$' -test.bench '^BenchmarkSgemm$/^impl=package$' -test.benchtime 1x 2>/dev/null |
	sed -n 's|^BenchmarkSgemm/impl=package/\(.*_[0-9]*x[0-9]*x[0-9]*_[NT][NT]\)-[0-9]*[[:space:]].*|\1|p' | grep -E -- "$filter")

# gflops_go SHAPE THREADS prints the GFLOP/s of one troupe benchmark run.
gflops_go() {
	local pattern="^BenchmarkSgemm\$/^impl=$impl\$/^threads=$2\$/^${1//\//\$/^}\$"
	"$tmp/kernels.test" -test.run '^$' -test.bench "$pattern" -test.benchtime 0.2s 2>/dev/null |
		awk '{for (i = 2; i <= NF; i++) if ($i == "GFLOP/s") print $(i-1)}'
}

# gflops_openblas SHAPE THREADS prints the GFLOP/s of one OpenBLAS run.
gflops_openblas() {
	local name=${1%_*x*x*_*} dims=${1#*_[0-9]} nt=${1##*_}
	local mnk=${1%_*}
	mnk=${mnk##*_}
	local m=${mnk%%x*} k=${mnk##*x} n
	n=${mnk#*x}
	n=${n%x*}
	local ta=0 tb=0
	[ "${nt:0:1}" = T ] && ta=1
	[ "${nt:1:1}" = T ] && tb=1
	echo "$name $ta $tb $m $n $k" |
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$2" "$tmp/openblas" "$2" 1 |
		sed -n 's/.*"gflops":\([0-9.]*\).*/\1/p'
}

printf '%-34s %3s %9s %9s %6s %8s %8s\n' product thr "$impl" openblas ratio "spread" "spread"
printf '%-34s %3s %9s %9s %6s %8s %8s\n' "" "" GFLOP/s GFLOP/s "" troupe openblas
for t in $threads; do
	for s in "${shapes[@]}"; do
		go_runs=() ob_runs=()
		for _ in $(seq "$reps"); do
			go_runs+=("$(gflops_go "$s" "$t")")
			ob_runs+=("$(gflops_openblas "$s" "$t")")
		done
		printf '%s\n' "${go_runs[@]}" >"$tmp/go"
		printf '%s\n' "${ob_runs[@]}" >"$tmp/ob"
		awk -v s="$s" -v t="$t" '
			FNR == 1 { f++ }
			f == 1 { g = $1 > g ? $1 : g; gl = (gl == "" || $1 < gl) ? $1 : gl }
			f == 2 { o = $1 > o ? $1 : o; ol = (ol == "" || $1 < ol) ? $1 : ol }
			END { printf "%-34s %3d %9.1f %9.1f %6.2f %8.2f %8.2f\n", s, t, g, o, g / o, gl / g, ol / o }
		' "$tmp/go" "$tmp/ob"
	done
done
