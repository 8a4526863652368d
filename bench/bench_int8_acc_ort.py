"""int8 accuracy benchmark, the data and onnxruntime's side
(bench/bench_int8_acc.sh).

  data OUT.czt             Fashion-MNIST (Debian's dataset-fashion-mnist) as
                           the demo config preprocesses it (x / 255, mean
                           0.2860, std 0.3530, 28x28 as is): `calib`, N_CAL
                           seeded training images (1 %, the demo's
                           quantization_split), `test`, the 10,000 test
                           images, `labels`; float32 NCHW.
  ort FLOAT.onnx DATA.czt OUT.onnx
                           onnxruntime 1.20.1's quantize_static on the same
                           float model and the same calibration images, with
                           the same settings as czoo's side (QDQ, per channel,
                           int8 weights and activations, MinMax, the extra
                           options the tool we replace passes), then top-1 on
                           the test images: float (onnxruntime), the QDQ file
                           with graph optimizations off (each Q/DQ as
                           written: the file's exact meaning) and with the
                           default optimizations (onnxruntime's integer
                           kernels). Prints ort_float_top1, ort_int8_top1,
                           ort_int8_opt_top1, quant_s."""
import gzip
import os
import sys
import time

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"
N_CAL = 600


def idx(name, images):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    return (np.frombuffer(b, np.uint8, offset=16).reshape(-1, 1, 28, 28) if images
            else np.frombuffer(b, np.uint8, offset=8))


def prep(u8):
    x = u8.astype(np.float32) * np.float32(1 / 255.0)
    return ((x - np.float32(0.2860)) / np.float32(0.3530)).astype(np.float32)


def top1(sess, test, labels):
    name = sess.get_inputs()[0].name
    z = np.concatenate([sess.run(None, {name: test[i:i + 500]})[0] for i in range(0, len(test), 500)])
    return (z.argmax(1) == labels).mean() * 100


def main():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
    import czt
    if sys.argv[1] == "data":
        xtr = idx("train-images-idx3-ubyte.gz", True)
        rng = np.random.default_rng(42)
        calib = prep(xtr[np.sort(rng.choice(len(xtr), N_CAL, replace=False))])
        czt.write(sys.argv[2], {"calib": calib, "test": prep(idx("t10k-images-idx3-ubyte.gz", True)),
                                "labels": idx("t10k-labels-idx1-ubyte.gz", False).astype(np.int64)})
        return
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    src, data, out = sys.argv[2:5]
    d = czt.read(data)
    calib, test, labels = d["calib"], d["test"], d["labels"]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input": x[None]} for x in calib])

        def get_next(self):
            return next(self.it, None)

    extra = {"WeightSymmetric": True, "ActivationSymmetric": False, "CalibMovingAverage": False,
             "QuantizeBias": True, "SmoothQuant": False}
    t0 = time.perf_counter()
    quantize_static(src, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, extra_options=extra)
    t = time.perf_counter() - t0
    res = {"ort_float_top1": top1(ort.InferenceSession(src, providers=["CPUExecutionProvider"]), test, labels)}
    for key, level in (("ort_int8_top1", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                       ("ort_int8_opt_top1", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        res[key] = top1(ort.InferenceSession(out, so, providers=["CPUExecutionProvider"]), test, labels)
    for k, v in res.items():
        print(f"{k} {v:.2f}")
    print(f"quant_s {t:.3f}")


if __name__ == "__main__":
    main()
