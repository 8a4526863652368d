"""Quantization benchmark, onnxruntime's side (bench/bench_quant.sh): times
onnxruntime 1.20.1's quantize_static (QDQ, per channel, int8 weights and
activations, MinMax, the extra options the tool we replace passes) on the
float ONNX file czoo_bench_quant wrote, with the same calibration images
fed one per run as that tool does, from file to file. Then compares the
result with czoo's QDQ file: the same Q/DQ nodes, and the largest relative
difference over every scale (the two must do the same work).
Usage: bench_quant_ort.py FLOAT.onnx CALIB N OUT.onnx CZOO_QDQ.onnx
Prints quant_s, max_scale_rel, qdq_nodes."""
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)


class Reader(CalibrationDataReader):
    def __init__(self, images):
        self.it = iter([{"input": x[None]} for x in images])

    def get_next(self):
        return next(self.it, None)


def main():
    src, calib, n, out, ours = sys.argv[1:6]
    images = np.fromfile(calib, dtype=np.float32).reshape(int(n), 3, 128, 128)
    extra = {"WeightSymmetric": True, "ActivationSymmetric": False, "CalibMovingAverage": False,
             "QuantizeBias": True, "SmoothQuant": False}
    t0 = time.perf_counter()
    quantize_static(src, out, Reader(images), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, extra_options=extra)
    t = time.perf_counter() - t0
    a, b = onnx.load(ours), onnx.load(out)
    ia = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
    ib = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}
    worst = 0.0
    for k, v in ib.items():
        if k.endswith("_scale"):
            if k not in ia:
                raise SystemExit(f"czoo's file lacks {k}")
            worst = max(worst, float(np.max(np.abs(ia[k] - v) / np.abs(v))))
    qa = sorted(n.name for n in a.graph.node if "Quantize" in n.op_type)
    qb = sorted(n.name for n in b.graph.node if "Quantize" in n.op_type)
    if qa != qb:
        raise SystemExit("the two files have different Q/DQ nodes")
    print(f"quant_s {t:.3f}\nmax_scale_rel {worst:.2e}\nqdq_nodes {len(qb)}")


if __name__ == "__main__":
    main()
