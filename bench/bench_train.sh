#!/usr/bin/env bash
# Training throughput against PyTorch, measured in the same run: (1) one
# epoch of a Fashion-MNIST subset (1x28x28, batch 128, AdamW lr 0.002) and
# (2) two epochs of a generated folder of 128x128 colour JPEGs (ImageFolder,
# batch 16, AdamW lr 0.005; classes a model learns in a few hundred
# updates: bench_train_torch.py shapes-jpeg), each with the same model on
# both sides (timm's mobilenetv2_050 = czoo's mobilenetv2_a050_pt, 10
# classes, fresh weights), the same recipe (AdamW wd 0.05, timm's no-decay
# groups, cosine schedule stepped per epoch, label smoothing 0.1,
# RandomResizedCrop scale [0.8,1] bilinear + horizontal flip, timm's eval
# transform) and 2 threads: czoo's CLI (operation_mode training; images/s
# from its own per-epoch averages over the training steps, batch loading
# included) beside PyTorch 1.13 + timm with torchvision's dataset classes
# and a 2-worker DataLoader (bench_train_torch.py,
# torch.set_num_threads(2)). Then both models' top-1 on the test split
# (Fashion-MNIST: the official t10k set, 10,000 images; JPEG: a generated
# held-out set).
# Usage: bench_train.sh [CZOO]
# BENCH_FMNIST_N (training images, default 20000 of the 60000),
# BENCH_JPEG_TRAIN / BENCH_JPEG_TEST / BENCH_JPEG_EPOCHS (1600 / 2000 / 2),
# BENCH_ROWS ("fm jp": which rows to run), BENCH_THREADS (2),
# BENCH_WORKERS (2), BENCH_SEED (42: both sides' training seed),
# BENCH_DATA_SEED (0: the Fashion-MNIST subset and the generated JPEGs),
# BENCH_KEEP_LOGS (a folder for the logs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
czoo="${1:-$repo/build/czoo}"
[[ "$czoo" == /* ]] || czoo="$PWD/$czoo"
py="$repo/.venv/bin/python3"
fmnist_src=/usr/share/datasets/fashion-mnist
threads="${BENCH_THREADS:-2}" workers="${BENCH_WORKERS:-2}"
fm_n="${BENCH_FMNIST_N:-20000}" jp_train="${BENCH_JPEG_TRAIN:-1600}" jp_test="${BENCH_JPEG_TEST:-2000}"
jp_epochs="${BENCH_JPEG_EPOCHS:-2}" rows="${BENCH_ROWS:-fm jp}"
wd=0.05 smooth=0.1 scale_min=0.8 seed="${BENCH_SEED:-42}" data_seed="${BENCH_DATA_SEED:-0}"
fm_lr=0.002 fm_batch=128 jp_lr=0.005 jp_batch=16
if [[ ! -x "$czoo" ]]; then
  echo "bench_train.sh: $czoo: not built (cmake --build build)" >&2
  exit 2
fi
if [[ ! -x "$py" ]] || ! "$py" -c "import timm, torch" 2>/dev/null; then
  echo "bench_train.sh: $py with timm and torch: missing (bash scripts/setup.sh --oracles)" >&2
  exit 2
fi
work="$(mktemp -d)"
# BENCH_KEEP_LOGS=DIR: copy both sides' logs and czoo's summaries there at the end.
keep_logs() {
  if [[ -n "${BENCH_KEEP_LOGS:-}" ]]; then
    mkdir -p "$BENCH_KEEP_LOGS"
    cp "$work"/*.log "$work"/*.txt "$work"/*.yaml "$BENCH_KEEP_LOGS"/ 2>/dev/null || true
    for r in "$work"/run_*; do
      [[ -f "$r/saved_models/summary.csv" ]] && cp "$r/saved_models/summary.csv" "$BENCH_KEEP_LOGS/summary_${r##*/run_}.csv"
    done
  fi
  rm -rf "$work"
}
trap keep_logs EXIT

load0=$(cut -d' ' -f1 /proc/loadavg)
has_row() { [[ " $rows " == *" $1 "* ]]; }
has_row fm && "$py" "$here/bench_train_torch.py" fmnist-subset "$fmnist_src" "$work/fm" "$fm_n" "$data_seed"
has_row jp && "$py" "$here/bench_train_torch.py" shapes-jpeg "$work/jp" "$jp_train" "$jp_test" 128 "$data_seed"

# czoo's config: the same recipe in the model-zoo services' keys.
czoo_cfg() { # name C SIZE BATCH LR EPOCHS MEAN STD dataset-lines...
  local name=$1 c=$2 size=$3 batch=$4 lr=$5 epochs=$6 mean=$7 std=$8
  shift 8
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
  epochs: $epochs
  batch_size: $batch
  optimizer: { opt: adamw, weight_decay: $wd }
  lr_scheduler: { sched: cosine, lr: $lr, warmup_epochs: 0 }
hydra: { run: { dir: $work/run_$name } }
EOF
}
czoo_cfg fm 1 28 $fm_batch $fm_lr 1 0.2860 0.3530 "dataset_name: fashion_mnist" "data_dir: $work/fm"
czoo_cfg jp 3 128 $jp_batch $jp_lr "$jp_epochs" 0.5 0.25 "training_path: $work/jp/train" \
  "validation_path: $work/jp/val"

run_pair() { # name kind data C SIZE BATCH LR EPOCHS MEAN STD
  local name=$1
  if ! (cd "$work" && CZOO_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
        "$czoo" -c "$work/$name.yaml" >"$work/czoo_$name.log" 2>&1); then
    echo "bench_train.sh: czoo failed on $name:" >&2
    tail -n 20 "$work/czoo_$name.log" >&2
    exit 1
  fi
  "$py" "$here/bench_train_torch.py" run "$2" "$3" mobilenetv2_050 "$4" "$5" "$6" "$7" $wd $smooth \
    $scale_min "$9" "${10}" "$threads" "$workers" $seed "$8" >"$work/torch_$name.txt"
}
has_row fm && run_pair fm fmnist "$work/fm" 1 28 $fm_batch $fm_lr 1 0.2860 0.3530
has_row jp && run_pair jp folder "$work/jp" 3 128 $jp_batch $jp_lr "$jp_epochs" 0.5 0.25

# czoo: each epoch's average rate from its last train line "Train: E [...]
# ... (0.123s, 1040.00/s)"; every epoch has as many images, so the run's rate
# is their harmonic mean. The accuracy: summary.csv's last row (eval_top1,
# column 4), the final weights'.
czoo_rate() {
  sed -n 's/.*Train: \([0-9]*\) .*(\s*[0-9.]*s,\s*\([0-9.]*\)\/s).*/\1 \2/p' "$1" |
    awk '{ r[$1] = $2 } END { for (e in r) { n++; s += 1 / r[e] } printf "%.1f", n / s }'
}
czoo_top1() { awk -F, 'NR > 1 { t = $4 } END { printf "%.2f", t }' "$1"/saved_models/summary.csv; }
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "training: timm mobilenetv2_050 (czoo mobilenetv2_a050_pt), AdamW wd $wd, cosine per epoch,"
echo "  RandomResizedCrop [$scale_min,1] + hflip, smoothing $smooth, $threads threads, $workers loader workers"
printf '  %-34s %10s %10s %8s\n' "" czoo PyTorch ratio
row() { # title name
  local a b
  a=$(czoo_rate "$work/czoo_$2.log") b=$(get "$work/torch_$2.txt" images_per_s)
  echo "  $1"
  printf '  %-34s %10s %10s %7sx\n' "  training images/s" "$a" "$b" "$(ratio "$a" "$b")"
  printf '  %-34s %10s %10s\n' "  test top-1 after training (%)" \
    "$(czoo_top1 "$work/run_$2")" "$(get "$work/torch_$2.txt" top1)"
}
has_row fm && row "Fashion-MNIST, 1 epoch of ${fm_n} of 60000 images, 1x28x28, batch $fm_batch, lr $fm_lr" fm
has_row jp && row "JPEG folder, $jp_epochs epochs of ${jp_train} images, 3x128x128, batch $jp_batch, lr $jp_lr" jp
has_row fm && echo "  Fashion-MNIST: a random ${fm_n}-image subset of the training set (BENCH_FMNIST_N), top-1 on the official t10k test set (10000 images)."
has_row jp && echo "  JPEG: generated objects whose hue is the class, ${jp_train} train / $(get "$work/torch_jp.txt" test_images) held-out test images."
echo "  Different random streams on each side: accuracies differ by chance too."
echo "  host load average (1 min) at the start: $load0, at the end: $(cut -d' ' -f1 /proc/loadavg)"
