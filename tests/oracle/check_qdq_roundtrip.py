"""The QDQ files czoo imported and exported again (tests/unit/test_qdq.c,
stage check: <case>.rt.onnx beside <case>.onnx): onnx.checker (full
check) passes, the Q/DQ nodes and their int8/uint8/int32 initializers are
all there, and onnxruntime gives the same outputs for both files (graph
optimizations off; 0 difference allowed: the same nodes on the same
values). Usage: check_qdq_roundtrip.py DIR"""
import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def run(path, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def count(m, op):
    return sum(1 for n in m.graph.node if n.op_type == op)


def main():
    d = sys.argv[1]
    files = sorted(glob.glob(os.path.join(d, "*.rt.onnx")))
    if len(files) < 6:
        raise SystemExit(f"{d}: {len(files)} round-trip files, expected at least 6")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    for rt in files:
        orig = rt[:-len(".rt.onnx")] + ".onnx"
        m = onnx.load(rt)
        onnx.checker.check_model(m, full_check=True)
        o = onnx.load(orig)
        for op in ("QuantizeLinear", "DequantizeLinear"):
            if count(m, op) != count(o, op):
                raise SystemExit(f"{rt}: {count(m, op)} {op}, the original has {count(o, op)}")
        types = {t.data_type for t in m.graph.initializer}
        otypes = {t.data_type for t in o.graph.initializer}
        if types != otypes:
            raise SystemExit(f"{rt}: initializer types {sorted(types)}, original {sorted(otypes)}")
        a, b = run(orig, x), run(rt, x)
        if not np.array_equal(a, b):
            raise SystemExit(f"{rt}: outputs differ from the original by {np.abs(a - b).max()}")
        print(f"{os.path.basename(rt)}: checker ok, outputs equal")


if __name__ == "__main__":
    main()
