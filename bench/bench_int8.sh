#!/usr/bin/env bash
# int8 inference throughput against onnxruntime (PyPI, the venv) on the
# same QDQ file: the zoo's mobilenetv2_w035_pt (1000 classes, 3x128x128,
# fixed random weights) exported by czoo (czoo_bench_infer --onnx), then
# onnxruntime's quantize_static (QDQ, per channel, int8 weights and
# activations, MinMax on 16 random images: the tool's default recipe).
# Batch 1 and 32, 2 threads each side (onnxruntime: intra-op 2, inter-op
# 1, sequential, all graph optimizations, so its QDQ pairs run as its
# integer kernels), median of the timed runs after a warm-up, best of
# BENCH_ROUNDS (10) rounds that alternate the two sides. Both sides' outputs
# are compared (share within one output quantization step, printed).
# Usage: bench_int8.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
bin="$build/bench/czoo_bench_int8" exporter="$build/bench/czoo_bench_infer"
threads="${BENCH_THREADS:-2}" warmup=5
runs1="${BENCH_RUNS1:-200}" runs32="${BENCH_RUNS32:-20}" rounds="${BENCH_ROUNDS:-10}"
py="$here/../.venv/bin/python3"
export PYTHONPATH="$here/../.venv/onnx-quant${PYTHONPATH:+:$PYTHONPATH}"
for b in "$bin" "$exporter"; do
  if [[ ! -x "$b" ]]; then
    echo "bench_int8.sh: $b: not built (cmake --build $build)" >&2
    exit 2
  fi
done
if ! "$py" -c "import onnxruntime.quantization" 2>/dev/null; then
  echo "bench_int8.sh: $py cannot import onnxruntime.quantization (run scripts/setup.sh --oracles)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

OMP_NUM_THREADS=1 "$exporter" --batch 1 --threads 1 --runs 1 --warmup 0 --onnx "$work/model.onnx" \
  --io "$work/f" >/dev/null
"$py" - "$work/model.onnx" "$work/model_qdq.onnx" <<'PY' >"$work/step.txt"
import sys
import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
rng = np.random.default_rng(3)
imgs = [{"input": rng.standard_normal((1, 3, 128, 128)).astype(np.float32)} for _ in range(16)]
class R(CalibrationDataReader):
    def __init__(self): self.it = iter(imgs)
    def get_next(self): return next(self.it, None)
quantize_static(sys.argv[1], sys.argv[2], R(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax)
m = onnx.load(sys.argv[2])
inits = {t.name: t for t in m.graph.initializer}
for n in m.graph.node:
    if n.op_type == "DequantizeLinear" and n.output[0] == m.graph.output[0].name:
        print(float(numpy_helper.to_array(inits[n.input[1]])))
PY
step="$(cat "$work/step.txt")"

for r in $(seq 1 "$rounds"); do
  for b in 1 32; do
    runs=$runs1
    [[ $b == 32 ]] && runs=$runs32
    OMP_NUM_THREADS=$threads "$bin" "$work/model_qdq.onnx" --batch $b --runs "$runs" \
      --warmup $warmup --io "$work/b$b" >"$work/czoo_${b}_$r.txt"
    OMP_NUM_THREADS=$threads "$py" "$here/bench_int8_ort.py" "$work/model_qdq.onnx" $b \
      "$threads" "$runs" $warmup "$work/b$b" "$step" >"$work/ort_${b}_$r.txt"
  done
done
best() { # side batch: the file of the best round
  for f in "$work/$1_$2"_*.txt; do echo "$(awk '$1 == "images_per_s" { print $2 }' "$f") $f"; done |
    sort -g | tail -1 | cut -d' ' -f2
}
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "int8 inference: mobilenet_v2 width 0.35 (zoo mobilenetv2_w035_pt) QDQ per channel int8,"
echo "  1000 classes, 128x128, $threads threads, same QDQ file ($(get "$(best ort 1)" onnxruntime | sed 's/^/onnxruntime /')),"
echo "  best of $rounds alternating rounds, each the median of its runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-22s %12s %12s %8s %16s\n' "" czoo onnxruntime ratio within_1_step_%
for b in 1 32; do
  c="$(get "$(best czoo $b)" images_per_s)" o="$(get "$(best ort $b)" images_per_s)"
  printf '  %-22s %12s %12s %7sx %16s\n' "batch $b, images/s" "$c" "$o" "$(ratio "$c" "$o")" \
    "$(get "$(best ort $b)" within_one_step)"
done
