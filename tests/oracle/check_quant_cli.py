#!/usr/bin/env python3
"""CLI check of `operation_mode: quantization` and the chains' quantization
step on gen_eval.py's data (torchvision's MobileNetV2 0.35 weights, 42
generated PNG images in 6 classes, 64x64):
- quantization_path: <run>/quantized_models/mbv2_w035_quant_qdq_pc.onnx
  written, onnx.checker passes, onnxruntime runs it on a batch, progress and
  the reference's log lines printed;
- per_tensor into a custom export_dir: <run>/<dir>/..._quant_qdq_pt.onnx;
- the quantization split of the training data (seeded): the same file
  twice; no calibration data at all: the seeded "fake dataset";
- an already quantized model is said so and no file is written;
- `czoo info` on the QDQ file counts its int8 weights and int32 biases;
- SmoothQuant and operating_mode full_auto: exit 2 with one line, before
  the run directory exists;
- chain_eqe: evaluation of the float model, quantization, evaluation of
  the QDQ file (the chain hands the file over).
Usage: check_quant_cli.py CZOO ORACLE_DIR  (run with .venv's python)"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import onnxruntime as ort

CZOO = os.path.abspath(sys.argv.pop(1))
DIR = os.path.abspath(sys.argv.pop(1))
WRAP = shlex.split(os.environ.get("CZOO_WRAPPER", ""))
NAMES = json.load(open(os.path.join(DIR, "expected.json")))["classes"]
QSECT = ["quantization:", "  quantizer: onnx_quantizer", "  quantization_type: PTQ",
         "  quantization_input_type: float", "  quantization_output_type: float"]


def config(mode, run_dir, model_path=None, dataset=(), quant=()):
    lines = [f"operation_mode: {mode}", "model:", "  model_name: mobilenetv2_w035_pt",
             f"  model_path: {model_path or DIR + '/mbv2_w035.pth'}", "  input_shape: [3, 64, 64]",
             "dataset:", "  class_names: [" + ", ".join(json.dumps(n) for n in NAMES) + "]"]
    lines += ["  " + d for d in dataset]
    lines += QSECT + ["  " + q for q in quant]
    lines += ["training:", "  batch_size: 16", "hydra:", "  run:", f"    dir: {run_dir}"]
    return "\n".join(lines) + "\n"


def run(text, tmp):
    path = os.path.join(tmp, "c.yaml")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run(WRAP + [CZOO, "-c", path], capture_output=True, text=True,
                          timeout=900, cwd=tmp)


def check_qdq(test, path):
    test.assertTrue(os.path.isfile(path), path)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = {n.op_type for n in m.graph.node}
    test.assertIn("QuantizeLinear", ops)
    test.assertIn("DequantizeLinear", ops)
    inits = {t.name: t for t in m.graph.initializer}
    w8 = b32 = 0
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            t = inits[n.input[0]]
            k = int(np.prod(t.dims)) if len(t.dims) else 1
            if t.data_type == onnx.TensorProto.INT32:
                b32 += k
            else:
                w8 += k
    info = subprocess.run(WRAP + [CZOO, "info", path], capture_output=True, text=True, timeout=300)
    test.assertEqual(info.returncode, 0, info.stderr)
    test.assertIn(f"quantized (QDQ): {w8} int8/uint8 weights, {b32} int32 biases", info.stdout)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = s.run(None, {"input": np.zeros((3, 3, 64, 64), np.float32)})[0]
    test.assertEqual(y.shape, (3, len(NAMES)))


class Quantization(unittest.TestCase):
    def test_quantization_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("quantization", run_dir, dataset=[f"quantization_path: {DIR}/test"]), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out = os.path.join(run_dir, "quantized_models", "mbv2_w035_quant_qdq_pc.onnx")
            check_qdq(self, out)
            self.assertIn("Quantizing the model mbv2_w035 ... This might take few minutes ...", r.stdout)
            self.assertIn(f"Calibrating on 42 images ({DIR}/test)", r.stdout)
            self.assertRegex(r.stdout, r"Calibrating: 42/42 img")
            self.assertIn(f"Quantized model path: {out}", r.stdout)
            self.assertIn("[INFO] : Quantization complete.", r.stdout)

    def test_per_tensor_export_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("quantization", run_dir, dataset=[f"quantization_path: {DIR}/test"],
                           quant=["granularity: per_tensor", "export_dir: qdq_here",
                                  "target_opset: 13"]), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out = os.path.join(run_dir, "qdq_here", "mbv2_w035_quant_qdq_pt.onnx")
            check_qdq(self, out)
            self.assertEqual(onnx.load(out).opset_import[0].version, 13)

    def test_split_seeded_and_fake(self):
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for k in range(2):
                run_dir = os.path.join(tmp, f"run{k}")
                r = run(config("quantization", run_dir,
                               dataset=[f"training_path: {DIR}/test", "quantization_split: 0.3",
                                        "seed: 5"]), tmp)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertRegex(r.stdout, r"Calibrating on \d+ images \(quantization split of "
                                 r"the training data\)")
                files.append(os.path.join(run_dir, "quantized_models", "mbv2_w035_quant_qdq_pc.onnx"))
            with open(files[0], "rb") as a, open(files[1], "rb") as b:
                self.assertEqual(a.read(), b.read(), "seeded calibration gives the same model")
            run_dir = os.path.join(tmp, "fake")
            r = run(config("quantization", run_dir), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("Quantizing by using fake dataset...", r.stdout)
            check_qdq(self, os.path.join(run_dir, "quantized_models", "mbv2_w035_quant_qdq_pc.onnx"))

    def test_already_quantized(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(config("quantization", os.path.join(tmp, "a"),
                           dataset=[f"quantization_path: {DIR}/test"]), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            q = os.path.join(tmp, "a", "quantized_models", "mbv2_w035_quant_qdq_pc.onnx")
            run_dir = os.path.join(tmp, "b")
            r = run(config("quantization", run_dir, model_path=q,
                           dataset=[f"quantization_path: {DIR}/test"]), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("The input ONNX model is already quantized! Returning the same model!",
                          r.stdout)
            self.assertFalse(os.path.exists(os.path.join(run_dir, "quantized_models")))

    def test_rejected_options(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(config("quantization", os.path.join(tmp, "r"),
                           quant=["onnx_extra_options:", "    SmoothQuant: True"]), tmp)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertRegex(r.stderr, r"c.yaml:\d+:\d+: quantization.onnx_extra_options."
                             r"SmoothQuant = 'True': SmoothQuant is not supported by czoo "
                             r"\(expected False\)")
            self.assertFalse(os.path.exists(os.path.join(tmp, "r")), "no run directory")
            r = run(config("quantization", os.path.join(tmp, "s"),
                           quant=["operating_mode: full_auto"]), tmp)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("quantization.operating_mode = 'full_auto': expected one of default",
                          r.stderr)

    def test_chain_eqe(self):
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            r = run(config("chain_eqe", run_dir, dataset=[f"quantization_path: {DIR}/test",
                                                          f"test_path: {DIR}/test"]), tmp)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("steps: evaluation -> quantization -> evaluation", r.stdout)
            check_qdq(self, os.path.join(run_dir, "quantized_models", "mbv2_w035_quant_qdq_pc.onnx"))
            self.assertIn("Evaluating the quantized model mbv2_w035_quant_qdq_pc", r.stdout)
            self.assertEqual(len(re.findall(r"Evaluation accuracy on test_set", r.stdout)), 2)
            # The int8 evaluation (czoo's int8 engine) beside the float one.
            self.assertRegex(r.stdout, r"Accuracy on test_set: float [\d.]+ %, int8 [\d.]+ %, "
                                       r"difference [+-][\d.]+ points")


if __name__ == "__main__":
    unittest.main(verbosity=2)
