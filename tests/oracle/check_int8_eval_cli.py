#!/usr/bin/env python3
"""Evaluation of a QDQ model through czoo's command line (int8 engine):
the file made by gen_int8_fmnist.py (onnxruntime's quantize_static of the
committed czoo-trained demo model) is evaluated on Fashion-MNIST's test
set. Checks: exit 0, the model is reported and its outputs are named as
quantized (`quantized_<stem>_validation_set_...`), the log's "quantized
model" line, and the int8 top-1 within 0.2 points of onnxruntime's on the
same file (the C test compares image by image; czoo's eval transform is
PIL-exact, so the inputs are the same). Usage: check_int8_eval_cli.py CZOO
FIXTURE_DIR WORK_DIR"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

CZOO, FIX, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
os.makedirs(WORK, exist_ok=True)
stem = "fmnist_resnetpico_qdq_pc"
ort_top1 = float(czt.read(os.path.join(FIX, stem + ".czt"))["ort_top1"])
cfg = os.path.join(WORK, "c.yaml")
with open(cfg, "w") as f:
    f.write(f"""operation_mode: evaluation
model:
  model_path: {FIX}/{stem}.onnx
dataset:
  dataset_name: fashion_mnist
preprocessing:
  color_mode: grayscale
  mean: [0.2860]
  std: [0.3530]
training:
  batch_size: 64
hydra:
  run:
    dir: {WORK}/run
""")
r = subprocess.run([CZOO, "-c", cfg], capture_output=True, text=True, timeout=1200, cwd=WORK)
print(r.stdout[-1500:], r.stderr[-1500:])
assert r.returncode == 0, r.returncode
assert f"Evaluating the quantized model {stem}" in r.stdout, "not evaluated as a quantized model"
m = re.search(r"Evaluation accuracy on validation_set: ([\d.]+) %", r.stdout)
assert m, "no accuracy line"
ours = float(m.group(1))
files = glob.glob(os.path.join(WORK, "run", f"quantized_{stem}_validation_set_*"))
assert files, "no quantized_... output files"
log = open(os.path.join(WORK, "run", "stm32ai_main.log")).read()
assert f"quantized model {stem}" in log, "the log lacks the quantized model line"
print(f"czoo int8 top-1 {ours:.2f} %, onnxruntime on the same QDQ file {ort_top1:.2f} %, "
      f"difference {ours - ort_top1:+.2f} points (bound 0.2); files: {len(files)}")
assert abs(ours - ort_top1) <= 0.2 + 1e-9
