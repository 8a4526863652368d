#!/usr/bin/env bash
# Data-pipeline throughput against torchvision, measured in the same run:
# one epoch of JPEG decode + eval transform (Resize 256 bicubic, CenterCrop
# 224, ToTensor, Normalize) + batching, batch 64, 2 workers, over generated
# 500x375 JPEGs. Usage: bench_data.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
bin="$build/bench/czoo_bench_data"
batch=64 size=224 workers="${BENCH_WORKERS:-2}" epochs="${BENCH_EPOCHS:-2}"
images="${BENCH_IMAGES:-300}" classes=10
if [[ ! -x "$bin" ]]; then
  echo "bench_data.sh: $bin: not built (cmake --build $build)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/bench_data_torch.py" --generate "$work/images" "$images" $classes
"$bin" "$work/images" $batch $size "$workers" "$epochs" >"$work/czoo.txt"
/usr/bin/python3 "$here/bench_data_torch.py" "$work/images" $batch $size "$workers" "$epochs" \
  >"$work/torch.txt"

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "data: $(get "$work/czoo.txt" images) 500x375 JPEGs, ${size}x${size} RGB, batch $batch, $workers workers, best of $epochs epochs"
echo "  eval transform for now: the training recipe's augmentation replaces it once it lands"
printf '  %-34s %12s %12s %8s\n' "" czoo torchvision ratio
b=$(get "$work/torch.txt" images_per_s)
for k in images_per_s images_per_s_full_decode; do
  a=$(get "$work/czoo.txt" $k)
  printf '  %-34s %12s %12s %7sx\n' "$k" "$a" "$b" "$(ratio "$a" "$b")"
done
echo "  images_per_s: JPEG DCT-scaled decode (never below the 256 resize); _full_decode: full size, as PIL"
