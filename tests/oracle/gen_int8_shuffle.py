#!/usr/bin/env python3
"""The int8 engine's ShuffleNet and Softmax check, onnxruntime side (.venv
python with onnxruntime 1.20.1, onnx 1.17 from .venv/onnx-quant first on
PYTHONPATH). The float model: shufflenetv2_x050_pt (10 classes, 3x32x32)
as czoo exported it in test_qdq's export stage (BatchNorm statistics
randomized), and the same model with a Softmax over its logits appended
(`..._softmax`), so that a Softmax sits between DequantizeLinear and
QuantizeLinear. Inputs: Fashion-MNIST (Debian's dataset-fashion-mnist),
Resize(32) bicubic, ToTensor, Normalize(0.2860, 0.3530), the gray channel
repeated three times. Two stages:

  gen QDQ_DIR WORK   writes data.czt (`calib`: 256 seeded training images,
                     `test`: the first N_TEST test images, NCHW), the two
                     float models, and onnxruntime's quantize_static of each
                     (QDQ, per channel, int8, MinMax on `calib`):
                     <stem>_ort.onnx with <stem>_ort.czt;
  czoo WORK          for czoo's own QDQ files of the same models
                     (<stem>_czoo.onnx, written by test_int8_shuffle's
                     quant stage from the same `calib`), <stem>_czoo.czt.

Each .czt holds `ort` (onnxruntime's outputs on the test images with graph
optimizations off: every Q/DQ node as written, the file's exact meaning)
and `step` (the output DequantizeLinear's scale)."""
import gzip
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
N_TEST = 5000
STEMS = ("shufflenet", "shufflenet_softmax")


def idx(name, images):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    return (np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28) if images
            else np.frombuffer(b, np.uint8, offset=8))


def output_step(path):
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == m.graph.output[0].name:
            return float(numpy_helper.to_array(inits[n.input[1]]))
    raise SystemExit(f"{path}: the output is not made by a DequantizeLinear")


def run_ort(path, test, out):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    z = np.concatenate([sess.run(None, {name: test[i:i + 500]})[0]
                        for i in range(0, len(test), 500)])
    czt.write(out, {"ort": z.astype(np.float32), "step": np.float32(output_step(path))})
    print(f"{os.path.basename(path)}: onnxruntime outputs of {len(test)} images written")


def gen(qdq_dir, work):
    from PIL import Image
    from torchvision import transforms
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)
    tf = transforms.Compose([
        transforms.Resize(32, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.ToTensor(), transforms.Normalize([0.2860], [0.3530])])

    def batch(images):
        x = np.stack([tf(Image.fromarray(a, "L")).numpy() for a in images]).astype(np.float32)
        return np.ascontiguousarray(np.repeat(x, 3, axis=1))

    xtr = idx("train-images-idx3-ubyte.gz", True)
    rng = np.random.default_rng(8)
    calib = batch(xtr[rng.choice(len(xtr), 256, replace=False)])
    test = batch(idx("t10k-images-idx3-ubyte.gz", True)[:N_TEST])
    czt.write(os.path.join(work, "data.czt"), {"calib": calib, "test": test})
    m = onnx.load(os.path.join(qdq_dir, "shufflenetv2_x050_pt.onnx"))
    onnx.save(m, os.path.join(work, "shufflenet.onnx"))
    out = m.graph.output[0].name
    for n in m.graph.node:
        n.output[:] = [o + "_logits" if o == out else o for o in n.output]
    m.graph.node.append(helper.make_node("Softmax", [out + "_logits"], [out], axis=1,
                                         name="softmax"))
    onnx.save(m, os.path.join(work, "shufflenet_softmax.onnx"))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": x[None]} for x in calib])

        def get_next(self):
            return next(self.it, None)

    for stem in STEMS:
        q = os.path.join(work, stem + "_ort.onnx")
        quantize_static(os.path.join(work, stem + ".onnx"), q, Reader(),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        run_ort(q, test, os.path.join(work, stem + "_ort.czt"))


def main():
    if sys.argv[1] == "gen":
        work = os.path.abspath(sys.argv[3])
        os.makedirs(work, exist_ok=True)
        gen(os.path.abspath(sys.argv[2]), work)
    else:
        work = os.path.abspath(sys.argv[2])
        test = czt.read(os.path.join(work, "data.czt"))["test"]
        for stem in STEMS:
            run_ort(os.path.join(work, stem + "_czoo.onnx"), test,
                    os.path.join(work, stem + "_czoo.czt"))


if __name__ == "__main__":
    main()
