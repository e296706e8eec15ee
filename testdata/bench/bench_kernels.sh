#!/bin/sh
# bench_kernels.sh runs the Sgemm benchmarks of internal/kernels on the
# ViT-B/16 shapes and prints, per shape, the GFLOP/s of each implementation
# and the ratio of ours to OpenBLAS (measured in the same run; install
# libopenblas0 for that column) and to gonum.
#
#	testdata/bench/bench_kernels.sh [-benchtime 2s] [-count 3]
set -eu
cd "$(dirname "$0")/../.."
go test -run '^$' -bench 'Sgemm' "$@" ./internal/kernels/ | tee /dev/stderr | awk '
/^BenchmarkSgemm\// {
	split($1, p, "/"); shape = p[2]; impl = p[3]; sub(/-[0-9]+$/, "", impl)
	for (i = 2; i < NF; i++) if ($(i+1) == "GFLOP/s") { g = $i }
	key = shape SUBSEP impl
	# Keep the best of -count runs.
	if (!(key in best) || g > best[key]) best[key] = g
	if (!(shape in seen)) { seen[shape] = 1; order[++n] = shape }
}
END {
	printf "\n%-10s %10s %10s %10s %12s %10s\n", "shape", "ours", "gonum", "openblas", "ours/openblas", "ours/gonum"
	for (i = 1; i <= n; i++) {
		s = order[i]; o = best[s, "ours"]; g = best[s, "gonum"]; b = best[s, "openblas"]
		printf "%-10s %10.1f %10.1f %10s %12s %10.1f\n", s, o, g, (b == "" ? "-" : sprintf("%.1f", b)), (b == "" ? "-" : sprintf("%.2f", o / b)), o / g
	}
}'
