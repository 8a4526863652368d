#!/usr/bin/env bash
# Engine throughput against PyTorch, measured in the same run on the same
# machine: mobilenet_v2 width 0.35, 128x128, batch 64, 2 threads, training
# (forward + backward + SGD step) and inference, and the memory a training
# step adds to the process (peak RSS growth). Usage: bench_engine.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
bin="$build/bench/czoo_bench_engine"
batch=64 size=128 threads="${BENCH_THREADS:-2}" steps="${BENCH_STEPS:-10}" warmup=2
if [[ ! -x "$bin" ]]; then
  echo "bench_engine.sh: $bin: not built (cmake --build $build)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Each side runs in its own process so peak RSS is its own; OpenMP and
# PyTorch get the same thread count.
OMP_NUM_THREADS=$threads "$bin" --batch $batch --size $size --threads "$threads" \
  --steps "$steps" --warmup $warmup --profile >"$work/czoo.txt"
/usr/bin/python3 "$here/bench_engine_torch.py" $batch $size "$threads" "$steps" $warmup \
  >"$work/torch.txt"

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "engine: mobilenet_v2 width 0.35, ${size}x${size}, batch $batch, $threads threads"
printf '  %-28s %12s %12s %8s\n' "" czoo PyTorch ratio
for k in train_images_per_s infer_images_per_s; do
  a=$(get "$work/czoo.txt" $k) b=$(get "$work/torch.txt" $k)
  printf '  %-28s %12s %12s %7sx\n' "$k" "$a" "$b" "$(ratio "$a" "$b")"
done
a=$(get "$work/czoo.txt" train_peak_rss_delta_mib) b=$(get "$work/torch.txt" train_peak_rss_delta_mib)
printf '  %-28s %12s %12s %7sx (PyTorch / czoo)\n' "train step memory (MiB)" "$a" "$b" "$(ratio "$b" "$a")"
echo "  czoo step arena $(get "$work/czoo.txt" train_arena_mib) MiB + parameter gradients $(get "$work/czoo.txt" train_grad_mib) MiB"
sed -n '/^per-op/,$p' "$work/czoo.txt" | sed 's/^/  /'
