"""onnxruntime's quantize_static (PyPI onnxruntime 1.20.1) on the float
models czoo exported (tests/unit/test_qdq.c, stage export): writes
<model>_qdq_<pc|pt>[_u8].onnx (QDQ format, int8 symmetric weights per
channel or per tensor, int8 or uint8 activations, MinMax calibration on
seeded random images) and beside each a CZT bundle with an input batch,
onnxruntime's outputs with graph optimizations off (the Q/DQ nodes run as
written) and the scale of the output's DequantizeLinear.
Usage: gen_qdq.py DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

MODELS = ["st_resnetpico_actrelu_pt", "mobilenetv2_w035_pt", "shufflenetv2_x050_pt"]


class Reader(CalibrationDataReader):
    def __init__(self, images):
        self.it = iter([{"input": x[None]} for x in images])

    def get_next(self):
        return next(self.it, None)


def output_scale(path):
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == m.graph.output[0].name:
            return numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
    raise SystemExit(f"{path}: the output is not made by a DequantizeLinear")


def main():
    d = sys.argv[1]
    rng = np.random.default_rng(2024)
    calib = rng.standard_normal((16, 3, 32, 32)).astype(np.float32)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    for name in MODELS:
        src = os.path.join(d, name + ".onnx")
        for pc in (True, False):
            for act, sfx in ((QuantType.QInt8, ""), (QuantType.QUInt8, "_u8")):
                stem = f"{name}_qdq_{'pc' if pc else 'pt'}{sfx}"
                out = os.path.join(d, stem + ".onnx")
                quantize_static(src, out, Reader(calib), quant_format=QuantFormat.QDQ,
                                per_channel=pc, activation_type=act, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax)
                so = ort.SessionOptions()
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
                sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
                y = sess.run(None, {"input": x})[0]
                czt.write(os.path.join(d, stem + ".czt"),
                          {"input": x, "ort_fakequant": y,
                           "output_scale": output_scale(out).reshape(())})
                print("wrote", out)


if __name__ == "__main__":
    main()
