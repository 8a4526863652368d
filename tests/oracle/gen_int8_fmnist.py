#!/usr/bin/env python3
"""The int8 engine's Fashion-MNIST check, fixture side (.venv python with
onnxruntime 1.20.1, onnx 1.17 from .venv/onnx-quant first on PYTHONPATH).
The float model: tests/data/int8/fmnist_resnetpico.onnx, czoo's
st_resnetpico_actrelu_pt (the demo model, 1x28x28) trained by czoo on
Fashion-MNIST and exported by czoo (see tests/data/int8/README). Data:
Debian's dataset-fashion-mnist, timm's eval transform as czoo applies it
(Resize(32) bicubic, CenterCrop(28), ToTensor, Normalize(0.2860, 0.3530)).
onnxruntime's quantize_static (QDQ, MinMax, 256 seeded training images)
writes two QDQ files: per channel with int8 activations (the tool's
default), per tensor with uint8 activations, and per channel with
reduce_range (7-bit weights, onnxruntime's advice for AVX2 machines); onnxruntime runs each on
the 10,000 test images twice: with graph optimizations off (`ort`: every
QuantizeLinear / DequantizeLinear runs as written around a float op, the
file's exact meaning, the reference the int8 engine is held to) and with
the default ones (`ort_opt`: Q/DQ pairs fused into onnxruntime's integer
kernels, whose AVX2 u8s8 path can saturate int16 sums: onnxruntime's own
quantization guide warns of it; reported beside). Written to WORK:
<stem>.onnx and <stem>.czt (`ort`, `ort_opt`, `step` the output
DequantizeLinear's scale, `ort_top1`, `ort_opt_top1`), data.czt (`test`
NCHW, `labels`). Usage: gen_int8_fmnist.py MODEL.onnx WORK_DIR"""
import gzip
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

SRC, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
DATA = "/usr/share/datasets/fashion-mnist"
os.makedirs(WORK, exist_ok=True)


def idx(name, images):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    return (np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28) if images
            else np.frombuffer(b, np.uint8, offset=8))


tf = transforms.Compose([
    transforms.Resize(32, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(28), transforms.ToTensor(), transforms.Normalize([0.2860], [0.3530])])


def batch(images):
    return np.stack([tf(Image.fromarray(a, "L")).numpy() for a in images]).astype(np.float32)


class Reader(CalibrationDataReader):
    def __init__(self, images):
        self.it = iter([{"input": x[None]} for x in images])

    def get_next(self):
        return next(self.it, None)


def output_step(path):
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == m.graph.output[0].name:
            return float(numpy_helper.to_array(inits[n.input[1]]))
    raise SystemExit(f"{path}: the output is not made by a DequantizeLinear")


xtr = idx("train-images-idx3-ubyte.gz", True)
rng = np.random.default_rng(8)
calib = batch(xtr[rng.choice(len(xtr), 256, replace=False)])
test = batch(idx("t10k-images-idx3-ubyte.gz", True))
labels = idx("t10k-labels-idx1-ubyte.gz", False).astype(np.int64)
czt.write(os.path.join(WORK, "data.czt"), {"test": test, "labels": labels})
fl = ort.InferenceSession(SRC, providers=["CPUExecutionProvider"])
zf = np.concatenate([fl.run(None, {"input": test[i:i + 500]})[0] for i in range(0, len(test), 500)])
print(f"float model (onnxruntime): top-1 {(zf.argmax(1) == labels).mean() * 100:.2f} %")
for stem, pc, act, rr in (("fmnist_resnetpico_qdq_pc", True, QuantType.QInt8, False),
                          ("fmnist_resnetpico_qdq_pt_u8", False, QuantType.QUInt8, False),
                          ("fmnist_resnetpico_qdq_pc_rr", True, QuantType.QInt8, True)):
    out = os.path.join(WORK, stem + ".onnx")
    quantize_static(SRC, out, Reader(calib), quant_format=QuantFormat.QDQ, per_channel=pc,
                    reduce_range=rr, activation_type=act, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    res = {}
    for key, level in (("ort", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                       ("ort_opt", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
        z = np.concatenate([sess.run(None, {"input": test[i:i + 500]})[0]
                            for i in range(0, len(test), 500)])
        res[key] = z
        res[key + "_top1"] = np.float32((z.argmax(1) == labels).mean() * 100)
        print(f"{stem}: onnxruntime ({key}) top-1 {res[key + '_top1']:.2f} %")
    res["step"] = np.float32(output_step(out))
    czt.write(os.path.join(WORK, stem + ".czt"), res)
