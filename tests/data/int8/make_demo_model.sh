#!/usr/bin/env bash
# Makes tests/data/int8/fmnist_demo.onnx, the float model bench/bench_int8_acc.sh
# quantizes: czoo's st_resnetpico_actrelu_pt (1x28x28, 10 classes) trained
# by czoo on Fashion-MNIST with the repository's user_config.yaml recipe
# (AdamW, cosine, label smoothing 0.1, hflip, seed 42) for EPOCHS epochs
# (default 12: the whole recipe, about 10 minutes on one thread, too long
# for `make bench`, so the file is committed), one compute thread (the
# figures in README were measured on the file this made), exported by czoo.
# Usage: make_demo_model.sh [BUILD_DIR] [EPOCHS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../../.."
build="${1:-$root/build}"
epochs="${2:-12}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && CZOO_NUM_THREADS=1 "$build/czoo" -c user_config.yaml operation_mode=training \
  training.epochs="$epochs" hydra.run.dir="$work/run")
src="$work/run/saved_models/st_resnetpico_actrelu_pt/st_resnetpico_actrelu_pt.onnx"
cp "$src" "$here/fmnist_demo.onnx"
echo "wrote $here/fmnist_demo.onnx from $src"
