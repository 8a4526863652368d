#!/usr/bin/env bash
# Training throughput against PyTorch, measured in the same run: one epoch
# of (1) a Fashion-MNIST subset (1x28x28, batch 128) and (2) a generated
# folder of 128x128 colour JPEGs (ImageFolder, batch 64), each with the
# same model (timm's mobilenetv2_050 = czoo's mobilenetv2_a050_pt, 10
# classes, fresh weights), the same recipe (AdamW lr 0.002 wd 0.05, timm's
# no-decay groups, label smoothing 0.1, RandomResizedCrop scale [0.8,1]
# bilinear + horizontal flip, timm's eval transform) and 2 threads: czoo's
# CLI (operation_mode training; images/s is its own per-epoch average over
# the training steps, batch loading included) beside PyTorch 1.13 + timm
# with torchvision's dataset classes and a 2-worker DataLoader
# (bench_train_torch.py, torch.set_num_threads(2)). Then both models' top-1
# on the test split (Fashion-MNIST: the official t10k set, 10,000 images).
# Usage: bench_train.sh [CZOO]
# BENCH_FMNIST_N (training images, default 20000 of the 60000),
# BENCH_JPEG_TRAIN / BENCH_JPEG_TEST (default 2000 / 500),
# BENCH_THREADS (2), BENCH_WORKERS (2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
czoo="${1:-$repo/build/czoo}"
[[ "$czoo" == /* ]] || czoo="$PWD/$czoo"
py="$repo/.venv/bin/python3"
fmnist_src=/usr/share/datasets/fashion-mnist
threads="${BENCH_THREADS:-2}" workers="${BENCH_WORKERS:-2}"
fm_n="${BENCH_FMNIST_N:-20000}" jp_train="${BENCH_JPEG_TRAIN:-2000}" jp_test="${BENCH_JPEG_TEST:-500}"
lr=0.002 wd=0.05 smooth=0.1 scale_min=0.8 seed=42
if [[ ! -x "$czoo" ]]; then
  echo "bench_train.sh: $czoo: not built (cmake --build build)" >&2
  exit 2
fi
if [[ ! -x "$py" ]] || ! "$py" -c "import timm, torch" 2>/dev/null; then
  echo "bench_train.sh: $py with timm and torch: missing (bash scripts/setup.sh --oracles)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

load0=$(cut -d' ' -f1 /proc/loadavg)
"$py" "$here/bench_train_torch.py" fmnist-subset "$fmnist_src" "$work/fm" "$fm_n" 0
"$py" "$here/bench_train_torch.py" fmnist-jpeg "$fmnist_src" "$work/jp" "$jp_train" "$jp_test" 128 0

# czoo's config: the same recipe in the model-zoo services' keys.
czoo_cfg() { # name C SIZE BATCH MEAN STD dataset-lines...
  local name=$1 c=$2 size=$3 batch=$4 mean=$5 std=$6
  shift 6
  local color=rgb
  [[ $c == 1 ]] && color=grayscale
  cat >"$work/$name.yaml" <<EOF
operation_mode: training
general: { project_name: bench_$name, seed: $seed, log_interval: 1000000, workers: $workers }
model: { model_name: mobilenetv2_a050_pt, pretrained: False, input_shape: [$c, $size, $size] }
dataset:
$(printf '  %s\n' "$@")
preprocessing:
  rescaling: { scale: 1/255.0, offset: 0 }
  color_mode: $color
  mean: [$mean]
  std: [$std]
data_augmentation:
  hflip: 0.5
  scale: [$scale_min, 1.0]
  train_interpolation: bilinear
  color_jitter: 0.0
  smoothing: $smooth
training:
  epochs: 1
  batch_size: $batch
  optimizer: { opt: adamw, weight_decay: $wd }
  lr_scheduler: { sched: cosine, lr: $lr, warmup_epochs: 0 }
hydra: { run: { dir: $work/run_$name } }
EOF
}
czoo_cfg fm 1 28 128 0.2860 0.3530 "dataset_name: fashion_mnist" "data_dir: $work/fm"
czoo_cfg jp 3 128 64 0.5 0.25 "training_path: $work/jp/train" "validation_path: $work/jp/val"

run_pair() { # name kind data C SIZE BATCH MEAN STD
  local name=$1
  if ! (cd "$work" && CZOO_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
        "$czoo" -c "$work/$name.yaml" >"$work/czoo_$name.log" 2>&1); then
    echo "bench_train.sh: czoo failed on $name:" >&2
    tail -n 20 "$work/czoo_$name.log" >&2
    exit 1
  fi
  "$py" "$here/bench_train_torch.py" run "$2" "$3" mobilenetv2_050 "$4" "$5" "$6" $lr $wd $smooth \
    $scale_min "$7" "$8" "$threads" "$workers" $seed >"$work/torch_$name.txt"
}
run_pair fm fmnist "$work/fm" 1 28 128 0.2860 0.3530
run_pair jp folder "$work/jp" 3 128 64 0.5 0.25

# czoo: the epoch's average rate from its last train line "(0.123s, 1040.00/s)",
# the accuracy from summary.csv (eval_top1, column 4).
czoo_rate() { sed -n 's/.*Train: .*(\s*[0-9.]*s,\s*\([0-9.]*\)\/s).*/\1/p' "$1" | tail -n 1; }
czoo_top1() { awk -F, 'NR == 2 { printf "%.2f", $4 }' "$1"/saved_models/summary.csv; }
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "training: one epoch, timm mobilenetv2_050 (czoo mobilenetv2_a050_pt), AdamW lr $lr,"
echo "  RandomResizedCrop [$scale_min,1] + hflip, smoothing $smooth, $threads threads, $workers loader workers"
printf '  %-34s %10s %10s %8s\n' "" czoo PyTorch ratio
row() { # title name
  local a b
  a=$(czoo_rate "$work/czoo_$2.log") b=$(get "$work/torch_$2.txt" images_per_s)
  echo "  $1"
  printf '  %-34s %10s %10s %7sx\n' "  training images/s" "$a" "$b" "$(ratio "$a" "$b")"
  printf '  %-34s %10s %10s\n' "  test top-1 after the epoch (%)" \
    "$(czoo_top1 "$work/run_$2")" "$(get "$work/torch_$2.txt" top1)"
}
row "Fashion-MNIST, ${fm_n} of 60000 images, 1x28x28, batch 128" fm
row "JPEG folder, ${jp_train} images, 3x128x128, batch 64" jp
echo "  Fashion-MNIST: a random ${fm_n}-image subset of the training set (BENCH_FMNIST_N),"
echo "  top-1 on the official t10k test set; JPEG: Fashion-MNIST items tinted on random"
echo "  backgrounds, ${jp_train} train / ${jp_test} test images. Different random streams"
echo "  on each side: one epoch's accuracies differ by chance too."
echo "  host load average (1 min) at the start: $load0, at the end: $(cut -d' ' -f1 /proc/loadavg)"
