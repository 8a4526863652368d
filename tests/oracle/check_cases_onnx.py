#!/usr/bin/env python3
"""Checks the oracle itself: runs every case bundle written by
gen_op_cases.py as a one-node ONNX model in onnx's reference evaluator and
in onnxruntime, and compares their outputs with the PyTorch ones in the
bundle, so a wrong ONNX-to-PyTorch mapping (pads order, an attribute
default, a divisor) cannot hide in the expected values. Needs the onnx and
onnxruntime packages (not in scripts/setup.sh yet); not run by CTest.
Usage: check_cases_onnx.py OUT_DIR (of gen_op_cases.py)."""
import glob
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

# czoo extensions: no ONNX counterpart to check against.
EXTENSIONS = {"Silu", "SoftTargetCrossEntropy", "BCEWithLogits", "DropPath"}
# ONNX updates BatchNorm's running variance with the biased batch variance;
# czoo follows PyTorch (unbiased), so that one output differs by design.
BIASED_VAR = "after.input_var"


def parse(spec):
    d = {"attrs": []}
    for tok in spec.split(";"):
        tok = tok.strip()
        if tok.startswith("attr "):
            name, rest = tok[5:].split("=", 1)
            typ, val = rest.split(":", 1)
            d["attrs"].append((name, typ, val))
        elif tok:
            k, v = tok.split("=", 1)
            d[k] = v
    return d


def attr_value(typ, val):
    return {"int": int, "float": float, "string": str,
            "ints": lambda v: [int(x) for x in v.split(",")],
            "floats": lambda v: [float(x) for x in v.split(",")]}[typ](val)


def model(b, s):
    op, n_out = s["op"], int(s["out"])
    ins, inits = [], []
    for item in s["in"].split(","):
        name = "" if item == "-" else item.split(":")[0]
        ins.append(name)
        if name:
            inits.append(numpy_helper.from_array(b[name], name))
    attrs = {n: attr_value(t, v) for n, t, v in s["attrs"]}
    outs = ["y%d" % i for i in range(n_out)]
    extra = []
    if op == "BatchNormalization" and s["training"] == "1":
        attrs["training_mode"] = 1
        outs += ["running_mean", "running_var"]
        extra = ["after.input_mean", BIASED_VAR]
    node = helper.make_node(op, ins, outs, **attrs)
    vis = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    # Gelu is opset 20; Split without a split input means "equal parts" up
    # to opset 17 (later opsets want num_outputs).
    opset = 20 if op == "Gelu" else 13 if op == "Split" else 18
    g = helper.make_graph([node], s["op"], [], vis, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    return m, ["y.%d" % i for i in range(n_out)] + extra


def main():
    bad = 0
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.czt"))):
        b = czt.read(path)
        s = parse(b["spec"])
        name = os.path.basename(path)[:-4]
        if s["op"] in EXTENSIONS or any(a[0] == "label_smoothing" for a in s["attrs"]):
            print("%-28s skipped (czoo extension)" % name)
            continue
        m, keys = model(b, s)
        runs = {"onnx.reference": lambda: ReferenceEvaluator(m).run(None, {}),
                "onnxruntime": lambda: ort.InferenceSession(
                    m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {})}
        line = "%-28s" % name
        for who, run in runs.items():
            got = run()
            worst = 0.0
            for k, g in zip(keys, got):
                ref = b[k]
                g = np.asarray(g, np.float64)
                e = (np.inf if g.shape != ref.shape else
                     np.abs(g - ref).max() / max(np.abs(ref).max(), 1e-6))
                if k != BIASED_VAR:
                    worst = max(worst, e)
            line += "  %s %.1e" % (who, worst)
            bad += worst > 1e-5
        print(line)
    print("%d disagreements" % bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
