#!/usr/bin/env bash
# Data-pipeline throughput against torchvision, measured in the same run:
# one epoch of JPEG decode + transform + batching, batch 64, 2 workers, over
# generated 500x375 JPEGs; eval transform (Resize 256 bicubic, CenterCrop
# 224, ToTensor, Normalize) and train transform (RandomResizedCrop 224
# bilinear, hflip, ColorJitter 0.4, ToTensor, Normalize); with the venv's
# timm (.venv/bin/python3), also the RandAugment recipe: timm's
# create_transform(auto_augment='rand-m9-mstd0.5-inc1', bilinear).
# Usage: bench_data.sh [BUILD_DIR]
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
for m in eval train; do
  "$bin" "$work/images" $batch $size "$workers" "$epochs" $m >"$work/czoo_$m.txt"
  /usr/bin/python3 "$here/bench_data_torch.py" "$work/images" $batch $size "$workers" \
    "$epochs" $m >"$work/torch_$m.txt"
done

venv_py="$here/../.venv/bin/python3"
if [[ -x "$venv_py" ]] && "$venv_py" -c "import timm" 2>/dev/null; then
  "$bin" "$work/images" $batch $size "$workers" "$epochs" randaug >"$work/czoo_randaug.txt"
  "$venv_py" "$here/bench_data_torch.py" "$work/images" $batch $size "$workers" "$epochs" \
    randaug >"$work/torch_randaug.txt"
fi

get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "data: $(get "$work/czoo_eval.txt" images) 500x375 JPEGs, ${size}x${size} RGB, batch $batch, $workers workers, best of $epochs epochs"
printf '  %-34s %12s %12s %8s\n' "" czoo torchvision ratio
row() { # label czoo-file key torch-file
  local a b
  a=$(get "$2" "$3")
  b=$(get "$4" images_per_s)
  printf '  %-34s %12s %12s %7sx\n' "$1" "$a" "$b" "$(ratio "$a" "$b")"
}
row "eval images_per_s" "$work/czoo_eval.txt" images_per_s "$work/torch_eval.txt"
row "eval images_per_s_full_decode" "$work/czoo_eval.txt" images_per_s_full_decode "$work/torch_eval.txt"
row "train images_per_s" "$work/czoo_train.txt" images_per_s "$work/torch_train.txt"
if [[ -f "$work/torch_randaug.txt" ]]; then
  row "randaug images_per_s (vs timm)" "$work/czoo_randaug.txt" images_per_s "$work/torch_randaug.txt"
fi
echo "  eval: JPEG DCT-scaled decode (never below the 256 resize); _full_decode: full size, as PIL"
echo "  train: full-size decode both sides; bilinear RandomResizedCrop both sides (timm's"
echo "  default 'random' would also draw bicubic)"
echo "  randaug: train with aa rand-m9-mstd0.5-inc1 (no ColorJitter, as timm), vs timm's"
echo "  create_transform in a torch DataLoader"
