#!/usr/bin/env bash
# Convolution kernels against PyTorch: every conv layer of torchvision
# mobilenet_v2(width_mult=0.35) at 128x128, forward and backward, our
# kernels (bench_conv) and PyTorch's (channels_last, oneDNN) in the same
# run, same batch and thread count. Prints per-layer medians (ms), the
# totals over the whole model (each layer times its count) and the ratio
# torch/ours (> 1: we are faster).
# Usage: bench_conv.sh [BENCH_CONV] [batch] [threads] [repetitions]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
bin="${1:-$repo/build/bench/bench_conv}"
batch="${2:-64}" threads="${3:-2}" reps="${4:-20}"
python=/usr/bin/python3

if [[ ! -x "$bin" ]]; then
  echo "bench_conv.sh: $bin: not an executable; build it first (cmake --build build --target bench_conv)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" "$batch" "$threads" "$reps" >"$work/ours.tsv"
"$python" "$here/bench_conv_torch.py" "$batch" "$threads" "$reps" >"$work/torch.tsv"
if ! cmp -s <(cut -f1,2 "$work/ours.tsv") <(cut -f1,2 "$work/torch.tsv"); then
  echo "bench_conv.sh: the two programs time different layers" >&2
  exit 1
fi
paste "$work/ours.tsv" "$work/torch.tsv" | awk -F'\t' '
  BEGIN { printf "%-22s %3s %17s %17s %13s\n", "layer", "n", "czoo fwd  bwd", "torch fwd  bwd", "torch/czoo" }
  {
    printf "%-22s %3d %8.3f %8.3f %8.3f %8.3f %6.2f %6.2f\n", $1, $2, $3, $4, $7, $8, $7 / $3, $8 / $4
    of += $2 * $3; ob += $2 * $4; tf += $2 * $7; tb += $2 * $8
  }
  END {
    printf "%-22s %3s %8.2f %8.2f %8.2f %8.2f %6.2f %6.2f\n", "model total (ms)", "", of, ob, tf, tb, tf / of, tb / ob
    printf "forward + backward: czoo %.2f ms, torch %.2f ms, torch/czoo %.2f\n", of + ob, tf + tb, (tf + tb) / (of + ob)
  }'
