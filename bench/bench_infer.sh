#!/usr/bin/env bash
# Float inference throughput against onnxruntime (PyPI, the venv), measured
# in the same run on the same ONNX file: the zoo's mobilenetv2_w035_pt
# (torchvision mobilenet_v2 width 0.35, 1000 classes, 3x128x128) with fixed
# random weights, batch 1 and batch 32, 2 threads each side (onnxruntime:
# intra-op 2, inter-op 1, sequential, all graph optimizations), median of
# the timed runs after a warm-up, best of BENCH_ROUNDS (10) rounds that
# alternate the two sides; the two sides' logits must agree to 1e-4
# relative. czoo_bench_infer writes the file once, then every run of
# either side loads it (czoo with cz_onnx_import, as the evaluation
# service does). BENCH_THREADS, BENCH_RUNS1, BENCH_RUNS32 and BENCH_ROUNDS
# change the defaults (2, 200, 20, 10: on this shared VM single rounds of either side vary by up to 1.8x).
# Usage: bench_infer.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
bin="$build/bench/czoo_bench_infer"
threads="${BENCH_THREADS:-2}" warmup=5
runs1="${BENCH_RUNS1:-200}" runs32="${BENCH_RUNS32:-20}" rounds="${BENCH_ROUNDS:-10}"
py="$here/../.venv/bin/python3"
if [[ ! -x "$bin" ]]; then
  echo "bench_infer.sh: $bin: not built (cmake --build $build)" >&2
  exit 2
fi
if ! "$py" -c "import onnxruntime" 2>/dev/null; then
  echo "bench_infer.sh: $py cannot import onnxruntime (run scripts/setup.sh --oracles)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Rounds alternate the two sides, and each side's figure is its best
# round's median: on a shared machine that is the least disturbed one.
for r in $(seq 1 "$rounds"); do
  for b in 1 32; do
    runs=$runs1
    [[ $b == 32 ]] && runs=$runs32
    # The file is written once (its batch dimension is symbolic).
    exp=(--model "$work/model.onnx")
    [[ $b == 1 && $r == 1 ]] && exp=(--onnx "$work/model.onnx")
    OMP_NUM_THREADS=$threads "$bin" --batch $b --threads "$threads" --runs "$runs" \
      --warmup $warmup "${exp[@]}" --io "$work/b$b" --profile >"$work/czoo_${b}_$r.txt"
    OMP_NUM_THREADS=$threads "$py" "$here/bench_infer_ort.py" "$work/model.onnx" $b "$threads" \
      "$runs" $warmup "$work/b$b" >"$work/ort_${b}_$r.txt"
  done
done
best() { # side batch: the file of the best round
  for f in "$work/$1_$2"_*.txt; do echo "$(awk '$1 == "images_per_s" { print $2 }' "$f") $f"; done |
    sort -g | tail -1 | cut -d' ' -f2
}
for b in 1 32; do
  cp "$(best czoo $b)" "$work/czoo_$b.txt"
  cp "$(best ort $b)" "$work/ort_$b.txt"
done

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "inference: mobilenet_v2 width 0.35 (zoo mobilenetv2_w035_pt), 1000 classes, 128x128,"
echo "  $threads threads, same ONNX file ($(get "$work/ort_1.txt" onnxruntime | sed 's/^/onnxruntime /')), best of $rounds alternating rounds, each the median of its runs"
printf '  %-28s %12s %12s %8s %10s\n' "" czoo onnxruntime ratio rel_err
for b in 1 32; do
  a=$(get "$work/czoo_$b.txt" images_per_s) o=$(get "$work/ort_$b.txt" images_per_s)
  printf '  %-28s %12s %12s %7sx %10s\n' "batch $b images_per_s" "$a" "$o" "$(ratio "$a" "$o")" \
    "$(get "$work/ort_$b.txt" rel_err)"
done
echo "  both sides load the same file; czoo folds BatchNorm (already folded by the"
echo "  export), fuses Conv+Clip and packs the weights once when it plans the executor"
for b in 1 32; do
  echo "  czoo per-op, batch $b:"
  sed -n '/^per-op/,$p' "$work/czoo_$b.txt" | tail -n +2 | sed 's/^/  /'
done
