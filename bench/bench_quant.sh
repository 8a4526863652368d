#!/usr/bin/env bash
# Quantization wall time against onnxruntime's quantize_static (PyPI, the
# venv), measured in the same run on the same float ONNX file and the same
# calibration images: the zoo's mobilenetv2_w035_pt (10 classes, 3x128x128)
# with fixed random weights, BENCH_QUANT_IMAGES (100) seeded images, per
# channel int8 QDQ with MinMax calibration, from file to file on both sides
# (czoo: import, calibration in batches of 32, rewrite, export; onnxruntime:
# quantize_static, one image per calibration run as the tool we replace
# feeds it; its calibration session takes onnxruntime's default thread
# count, all cores, which quantize_static does not let a caller change).
# czoo is timed at 1 and at BENCH_THREADS (2) threads. Best of
# BENCH_ROUNDS (3) alternating rounds; the scales of the two files must
# agree (printed).
# Usage: bench_quant.sh [BUILD_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
bin="$build/bench/czoo_bench_quant"
threads="${BENCH_THREADS:-2}" n="${BENCH_QUANT_IMAGES:-100}" rounds="${BENCH_ROUNDS:-3}"
py="$here/../.venv/bin/python3"
export PYTHONPATH="$here/../.venv/onnx-quant${PYTHONPATH:+:$PYTHONPATH}"
if [[ ! -x "$bin" ]]; then
  echo "bench_quant.sh: $bin: not built (cmake --build $build)" >&2
  exit 2
fi
if ! "$py" -c "import onnxruntime.quantization" 2>/dev/null; then
  echo "bench_quant.sh: $py cannot import onnxruntime.quantization (run scripts/setup.sh --oracles)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for r in $(seq 1 "$rounds"); do
  for t in 1 "$threads"; do
    OMP_NUM_THREADS=$t "$bin" --onnx "$work/float.onnx" --images "$n" --calib "$work/calib.bin" \
      --out "$work/czoo_qdq.onnx" --threads "$t" >"$work/czoo${t}_$r.txt"
  done
  OMP_NUM_THREADS=$threads "$py" "$here/bench_quant_ort.py" "$work/float.onnx" "$work/calib.bin" "$n" \
    "$work/ort_qdq.onnx" "$work/czoo_qdq.onnx" 2>/dev/null >"$work/ort_$r.txt"
done
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
best() { for f in "$work/$1"_*.txt; do get "$f" quant_s; done | sort -g | head -1; }
o=$(best ort)
echo "quantization: mobilenet_v2 width 0.35 (zoo mobilenetv2_w035_pt), 10 classes, 128x128,"
echo "  $n calibration images, per-channel int8 QDQ, MinMax, best of $rounds rounds"
printf '  %-34s %12s %12s %8s\n' "" czoo onnxruntime ratio
for t in 1 "$threads"; do
  c=$(best "czoo$t")
  printf '  %-34s %12s %12s %7sx\n' "wall s, file to file, czoo $t thr" "$c" "$o" \
    "$(awk -v a="$o" -v b="$c" 'BEGIN { printf "%.2f", a / b }')"
done
echo "  (ratio = onnxruntime / czoo: how many times faster czoo is)"
echo "  same Q/DQ nodes ($(get "$work/ort_1.txt" qdq_nodes)), largest scale difference $(get "$work/ort_1.txt" max_scale_rel) relative"
