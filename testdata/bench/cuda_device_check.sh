#!/usr/bin/env bash
# cuda_device_check.sh: the GPU checks of clip/cuda, run from the repository
# root on a machine with an NVIDIA GPU, its driver, CUDA libraries (system or
# pip's nvidia-* wheels) and PyTorch, but no Go toolchain.
#
# The Go test binary is built beforehand, where Go is:
#
#   CGO_ENABLED=1 go test -c -tags cuda -o .devbin/cuda.test ./clip/cuda
#   CGO_ENABLED=1 go test -c -tags cuda -o .devbin/lens_cuda.test ./lens   # for --lens
#
# Steps (logs in $OUT, default ./out): (1) GPU and library discovery,
# (2) the tests (GPU vs CPU parity), (3) the benchmarks, (4) PyTorch: the
# same random ViT-B/32 checked against ours, then its speed, and the ratios.
# Each step has its own timeout; the whole stays under 6 minutes.
#
#   testdata/bench/cuda_device_check.sh [--dry|--quick|--lens|--final|--forward]
#     --dry:   steps 1 and 2 only
#     --quick: the tests, then only the batch-64 B32/B16 forward and the B32
#              SecondOrder benchmarks and PyTorch on B32/B16 at batch 64
#              (under 2 minutes)
#     --lens:  step 1, then only the lens's GPU tests (Analyze and the batch
#              SecondOrder, device cuda against cpu) and BenchmarkAnalyzeCUDA
#              (ViT-B/32 layer 9, 256 images, against the forward pass
#              alone), from .devbin/lens_cuda.test, in one process (under
#              90 seconds); logs in $OUT/lens.txt
#     --final: needs both binaries; in about 4 minutes: the clip/cuda and
#              lens GPU tests with each attention path (NEURONLENS_CUDA_ATTN=
#              gemm, then fused), the batch-64 B32/B16/L14 forward and B32
#              SecondOrder benchmarks with each path, BenchmarkAnalyzeCUDA
#              (512 images) with each path, PyTorch at batch 64 on B32, B16
#              and L14, the ratio tables (one per path) with the lens
#              overheads, BenchmarkAnalyzeHostB32 (the host's share of
#              Analyze's phase 1, 512 images), and the reference's
#              second-order computation in PyTorch, checked against Go and
#              timed (torch_secondorder.py); logs in $OUT/final-*.txt and
#              $OUT/torch-so.txt
set -u
MODE=${1:-}
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
BIN=.devbin/cuda.test
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step "1. GPU and libraries" | tee "$OUT/summary.txt"
{
  nvidia-smi || echo "nvidia-smi failed"
  ldconfig -p | grep -E 'libcuda\.so|libcublas\.so|libnvrtc\.so' || true
} > "$OUT/gpu.txt" 2>&1
head -20 "$OUT/gpu.txt"
dirs=""
add() { case ":$dirs:" in *":$1:"*) ;; *) [ -d "$1" ] && dirs="${dirs:+$dirs:}$1" ;; esac; }
for py in python3 python; do
  if command -v $py >/dev/null; then
    for d in $($py - <<'PY' 2>/dev/null
import site, glob, os, sys
roots = set(site.getsitepackages() + [site.getusersitepackages()] + [p for p in sys.path if p.endswith("-packages")])
for r in roots:
    for lib in ("cublas", "cuda_nvrtc", "cuda_runtime"):
        for d in glob.glob(os.path.join(r, "nvidia", lib, "lib")):
            print(d)
PY
    ); do add "$d"; done
    break
  fi
done
for d in /usr/local/cuda/lib64 /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib; do add "$d"; done
export NEURONLENS_CUDA_LIBS="$dirs"
export LD_LIBRARY_PATH="${dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "NEURONLENS_CUDA_LIBS=$NEURONLENS_CUDA_LIBS" | tee -a "$OUT/summary.txt"
for d in ${dirs//:/ }; do ls "$d" | grep -E 'libcublas\.so|libnvrtc' | sed "s|^|  $d/|"; done | tee -a "$OUT/gpu.txt"

# torch_second_order GOBENCH: the reference's own second-order computation
# in PyTorch on this GPU (testdata/bench/torch_secondorder.py), checked
# against Go on every neuron of two images, then timed, then set against
# Analyze's phase 1 in GOBENCH (BenchmarkAnalyzeCUDA's output). Needs $LBIN.
torch_second_order() {
  step "5. the reference's second-order computation in PyTorch" | tee -a "$OUT/summary.txt"
  local exp
  exp=$(mktemp -d)
  NEURONLENS_EXPORT="$exp" timeout 40 "$LBIN" -test.run 'TestExportSecondOrderForTorch' -test.v > "$OUT/export-so.txt" 2>&1
  echo "export rc=$?" | tee -a "$OUT/summary.txt"
  timeout 90 python3 testdata/bench/torch_secondorder.py --export "$exp/secondorder" --neurons 3072 \
    --bench --batches 1,8 --seconds 3 --go-bench "$1" > "$OUT/torch-so.txt" 2>&1
  echo "torch second order rc=$?" | tee -a "$OUT/summary.txt"
  tail -8 "$OUT/torch-so.txt" | tee -a "$OUT/summary.txt"
}

if [ "$MODE" = "--final" ]; then
  LBIN=.devbin/lens_cuda.test
  for b in "$BIN" "$LBIN"; do
    if [ ! -x "$b" ]; then
      echo "missing $b: build both with CGO_ENABLED=1 go test -c -tags cuda -o .devbin/cuda.test ./clip/cuda and -o .devbin/lens_cuda.test ./lens" | tee -a "$OUT/summary.txt"
      exit 2
    fi
  done
  rc=0
  for attn in gemm fused; do
    step "2. tests, attention $attn: clip/cuda, then lens" | tee -a "$OUT/summary.txt"
    NEURONLENS_CUDA_ATTN=$attn timeout 40 "$BIN" -test.v -test.count=1 -test.timeout=38s -test.run 'Test' \
      > "$OUT/final-test-$attn.txt" 2>&1 || rc=1
    grep -E '^(--- |PASS|FAIL|ok|panic)|^ *--- FAIL|device:|Error|error' "$OUT/final-test-$attn.txt" | head -30 | tee -a "$OUT/summary.txt"
    NEURONLENS_CUDA_ATTN=$attn ANALYZE_IMAGES=512 timeout 40 "$LBIN" -test.v -test.count=1 -test.timeout=38s \
      -test.run 'CUDA' -test.bench 'AnalyzeCUDA' -test.benchtime=1x > "$OUT/final-lens-$attn.txt" 2>&1 || rc=1
    grep -E '^(--- |PASS|FAIL|ok|panic)|^ *--- FAIL|layer [0-9]+:|Benchmark|Error|error' "$OUT/final-lens-$attn.txt" \
      | grep -v '^ *--- PASS' | head -30 | tee -a "$OUT/summary.txt"
  done
  echo "tests rc=$rc" | tee -a "$OUT/summary.txt"
  for attn in gemm fused; do
    step "3. benchmarks, attention $attn" | tee -a "$OUT/summary.txt"
    NEURONLENS_CUDA_ATTN=$attn timeout 45 "$BIN" -test.run '^$' -test.bench '(Encode|SecondOrder)/(B32|B16|L14)/(batch64|layer9)' \
      -test.benchtime=1s -test.timeout=43s > "$OUT/final-bench-$attn.txt" 2>&1 || rc=1
    grep -E 'Benchmark|FAIL|panic' "$OUT/final-bench-$attn.txt" | tee -a "$OUT/summary.txt"
  done
  # Where the device's time goes, per kind of operation, ours (timing
  # events on the main stream) and PyTorch's kernels (torch.profiler).
  step "3b. profiles at batch 64" | tee -a "$OUT/summary.txt"
  timeout 60 "$BIN" -test.run '^$' -test.bench 'Profile' -test.benchtime=20x -test.timeout=58s \
    > "$OUT/final-profile.txt" 2>&1 || rc=1
  grep -E 'Benchmark|profile|FAIL|panic' "$OUT/final-profile.txt" | tee -a "$OUT/summary.txt"
  step "4. PyTorch at batch 64, then the ratios (one table per attention path)" | tee -a "$OUT/summary.txt"
  EXP=$(mktemp -d)
  timeout 20 env NEURONLENS_EXPORT="$EXP" "$BIN" -test.run 'TestExportForTorch' -test.v > "$OUT/export.txt" 2>&1
  echo "export rc=$?" | tee -a "$OUT/summary.txt"
  timeout 100 python3 testdata/bench/torch_bench.py --export "$EXP" --bench --seconds 1 \
    --sizes B32,B16,L14 --batches 64 --json "$OUT/torch.json" --profile B32,B16 \
    --go-bench "$OUT/final-bench-gemm.txt,$OUT/final-bench-fused.txt" > "$OUT/torch.txt" 2>&1
  echo "torch rc=$?" | tee -a "$OUT/summary.txt"
  grep -vE '^ +[0-9.]+ ms' "$OUT/torch.txt" | tail -40 | tee -a "$OUT/summary.txt"
  for attn in gemm fused; do
    grep -hE 'AnalyzeCUDA.*(images/s)' "$OUT/final-lens-$attn.txt" | sed "s/^/$attn: /" | tee -a "$OUT/summary.txt"
  done
  # The host's share of Analyze's phase 1 alone (a device that answers at
  # once): if its effects-images/s is well above AnalyzeCUDA's, the gap is
  # on the device side (transfers), not in preprocessing, records or cache.
  ANALYZE_IMAGES=512 timeout 50 "$LBIN" -test.run '^$' -test.bench 'AnalyzeHostB32' -test.benchtime=1x \
    > "$OUT/final-lens-host.txt" 2>&1
  grep -hE 'AnalyzeHostB32|FAIL|panic' "$OUT/final-lens-host.txt" | sed "s/^/host only: /" | tee -a "$OUT/summary.txt"
  torch_second_order "$OUT/final-lens-gemm.txt"
  echo "(Analyze: effects/encode = phase-1 rate over the forward-only rate, goal >= 0.9;" \
    "SecondOrder: lens overhead inside the forward pass, goal < 10%)" | tee -a "$OUT/summary.txt"
  step "done, rc=$rc" | tee -a "$OUT/summary.txt"
  exit $rc
fi

# --forward: the numbers of BENCHMARKS.md's fifth run, in about 3 minutes:
# the clip/cuda and lens GPU tests, the forward benchmarks (batch 1 and 64
# with pixels from host memory; at batch 64 also already on the device,
# many batches in one call, the in-projection's bias by its own pass), the
# staging benchmark, the B32 SecondOrder, AnalyzeCUDA on 2,048 images (with
# and without page-locked memory), the B16 profile, PyTorch at batch 1 and
# 64, and the reference's second-order computation in PyTorch.
if [ "$MODE" = "--forward" ]; then
  LBIN=.devbin/lens_cuda.test
  rc=0
  step "2. tests: clip/cuda, then lens" | tee -a "$OUT/summary.txt"
  timeout 60 "$BIN" -test.v -test.count=1 -test.timeout=58s -test.run 'Test' > "$OUT/fwd-test.txt" 2>&1 || rc=1
  grep -E '^(--- |PASS|FAIL|ok|panic)|^ *--- FAIL|device:|Error|error' "$OUT/fwd-test.txt" | head -30 | tee -a "$OUT/summary.txt"
  ANALYZE_IMAGES=2048 timeout 80 "$LBIN" -test.v -test.count=1 -test.timeout=78s \
    -test.run 'CUDA' -test.bench 'AnalyzeCUDA' -test.benchtime=1x > "$OUT/fwd-lens.txt" 2>&1 || rc=1
  grep -E '^(--- |PASS|FAIL|ok|panic)|^ *--- FAIL|Benchmark|Error|error' "$OUT/fwd-lens.txt" \
    | grep -v '^ *--- PASS' | head -30 | tee -a "$OUT/summary.txt"
  echo "tests rc=$rc" | tee -a "$OUT/summary.txt"
  step "3. benchmarks" | tee -a "$OUT/summary.txt"
  timeout 120 "$BIN" -test.run '^$' -test.benchtime=1s -test.timeout=118s \
    -test.bench 'Benchmark(Encode|EncodeResident|EncodeBiasPass|EncodeMany|Stage|SecondOrder)$' \
    > "$OUT/fwd-bench.txt" 2>&1 || rc=1
  grep -E 'Benchmark|FAIL|panic' "$OUT/fwd-bench.txt" | tee -a "$OUT/summary.txt"
  timeout 30 "$BIN" -test.run '^$' -test.bench 'Profile/B16' -test.benchtime=20x > "$OUT/fwd-profile.txt" 2>&1
  grep -E 'profile|^  ' "$OUT/fwd-profile.txt" | tee -a "$OUT/summary.txt"
  step "4. PyTorch at batch 1 and 64, then the ratios" | tee -a "$OUT/summary.txt"
  EXP=$(mktemp -d)
  timeout 20 env NEURONLENS_EXPORT="$EXP" "$BIN" -test.run 'TestExportForTorch' -test.v > "$OUT/export.txt" 2>&1
  timeout 120 python3 testdata/bench/torch_bench.py --export "$EXP" --bench --seconds 1 \
    --sizes B32,B16,L14 --batches 1,64 --json "$OUT/torch.json" --go-bench "$OUT/fwd-bench.txt" > "$OUT/torch.txt" 2>&1
  echo "torch rc=$?" | tee -a "$OUT/summary.txt"
  tail -40 "$OUT/torch.txt" | tee -a "$OUT/summary.txt"
  torch_second_order "$OUT/fwd-lens.txt"
  step "done, rc=$rc" | tee -a "$OUT/summary.txt"
  exit $rc
fi

if [ "$MODE" = "--lens" ]; then
  LBIN=.devbin/lens_cuda.test
  if [ ! -x "$LBIN" ]; then
    echo "missing $LBIN: build it with CGO_ENABLED=1 go test -c -tags cuda -o $LBIN ./lens" | tee -a "$OUT/summary.txt"
    exit 2
  fi
  step "2. lens on the GPU: tests, then BenchmarkAnalyzeCUDA" | tee -a "$OUT/summary.txt"
  timeout 85 "$LBIN" -test.v -test.count=1 -test.timeout=80s -test.run 'CUDA' \
    -test.bench 'AnalyzeCUDA' -test.benchtime=1x > "$OUT/lens.txt" 2>&1
  rc=$?
  grep -E '^(--- |PASS|FAIL|ok|panic)|^ *--- |device:|layer [0-9]+:|Benchmark|Error|error|skip|SKIP' "$OUT/lens.txt" \
    | head -80 | tee -a "$OUT/summary.txt"
  echo "lens rc=$rc" | tee -a "$OUT/summary.txt"
  step "done" | tee -a "$OUT/summary.txt"
  exit $rc
fi

if [ ! -x "$BIN" ]; then
  echo "missing $BIN: build it with CGO_ENABLED=1 go test -c -tags cuda -o $BIN ./clip/cuda" | tee -a "$OUT/summary.txt"
  exit 2
fi

step "2. tests: GPU against CPU" | tee -a "$OUT/summary.txt"
timeout 150 "$BIN" -test.v -test.count=1 -test.timeout=140s -test.run 'Test' > "$OUT/test.txt" 2>&1
rc=$?
grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|device:|TF32|Error|error|skip|SKIP' "$OUT/test.txt" | grep -v '=== RUN' | head -60 | tee -a "$OUT/summary.txt"
echo "tests rc=$rc" | tee -a "$OUT/summary.txt"
[ "$MODE" = "--dry" ] && exit $rc

step "3. benchmarks" | tee -a "$OUT/summary.txt"
if [ "$MODE" = "--quick" ]; then
  timeout 60 "$BIN" -test.run '^$' -test.bench '(Encode|SecondOrder)/(B32|B16)/(batch64|layer9)' \
    -test.benchtime=1s -test.timeout=55s > "$OUT/bench.txt" 2>&1
else
  timeout 150 "$BIN" -test.run '^$' -test.bench . -test.benchtime=1s -test.timeout=145s > "$OUT/bench.txt" 2>&1
fi
echo "bench rc=$?" | tee -a "$OUT/summary.txt"
grep -E 'Benchmark|FAIL|panic|skip' "$OUT/bench.txt" | tee -a "$OUT/summary.txt"

step "4. PyTorch: same weights, then speed" | tee -a "$OUT/summary.txt"
EXP=$(mktemp -d)
timeout 60 env NEURONLENS_EXPORT="$EXP" "$BIN" -test.run 'TestExportForTorch' -test.v > "$OUT/export.txt" 2>&1
echo "export rc=$?" | tee -a "$OUT/summary.txt"
left=$(( 340 - ($(date +%s) - start) ))
secs=2
[ $left -lt 120 ] && secs=1
TORCH_ARGS=""
if [ "$MODE" = "--quick" ]; then
  TORCH_ARGS="--sizes B32,B16 --batches 64"
  secs=1
  left=45
fi
timeout $(( left > 30 ? left : 30 )) python3 testdata/bench/torch_bench.py --export "$EXP" --bench --seconds $secs $TORCH_ARGS \
  --json "$OUT/torch.json" --go-bench "$OUT/bench.txt" > "$OUT/torch.txt" 2>&1
echo "torch rc=$?" | tee -a "$OUT/summary.txt"
cat "$OUT/torch.txt" | tail -30 | tee -a "$OUT/summary.txt"
rm -rf "$EXP"
step "done" | tee -a "$OUT/summary.txt"
