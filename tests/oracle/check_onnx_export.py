#!/usr/bin/env python3
"""Checks czoo's exported ONNX files (written by tests/unit/test_onnx_export.c:
every `<name>.onnx` beside `<name>.czt` holding the input, czoo's eval-mode
logits and the opset). For each file:
  - onnx.checker.check_model(full_check=True) (Debian's python3-onnx 1.12,
    which knows opsets up to 17: later opsets are checked by onnxruntime
    alone, and the script says so);
  - producer "czoo", the opset asked for, the IR version that goes with it,
    one input `input` float32 [batch, C, H, W] with dim_param "batch", one
    output `output`;
  - no BatchNormalization, Dropout or DropPath node, every node in the
    default domain, no initializer left with a "folded" name;
  - onnxruntime (PyPI) gives czoo's logits within 1e-4 relative
    (max|d| / max|ref|) at batch 2, and at batch 1 (the dynamic batch).
Usage: check_onnx_export.py DIR. Exits 1 on any failure."""
import glob
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

TOL = 1e-4
IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9}
CHECKER_MAX_OPSET = onnx.defs.onnx_opset_version()
FORBIDDEN = {"BatchNormalization", "Dropout", "DropPath"}


def rel_err(a, ref):
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-30))


def check(path):
    stem = path[:-len(".onnx")]
    b = czt.read(stem + ".czt")
    x, ref, opset = b["input"], b["logits"], int(b["opset"][0])
    m = onnx.load(path)
    errs = []
    if opset <= CHECKER_MAX_OPSET:
        try:
            onnx.checker.check_model(m, full_check=True)
            checked = "checker ok"
        except Exception as e:  # noqa: BLE001 -- report any checker failure
            errs.append(f"onnx.checker: {e}")
            checked = "checker FAILED"
    else:
        checked = f"checker skipped (onnx {onnx.__version__} knows opsets <= {CHECKER_MAX_OPSET})"
    ops = {o.domain: o.version for o in m.opset_import}
    if ops.get("", None) != opset:
        errs.append(f"opset {ops}, expected {opset}")
    if m.ir_version != IR_FOR_OPSET[opset]:
        errs.append(f"ir_version {m.ir_version}, expected {IR_FOR_OPSET[opset]}")
    if m.producer_name != "czoo":
        errs.append(f"producer_name {m.producer_name!r}")
    g = m.graph
    if [i.name for i in g.input] != ["input"] or [o.name for o in g.output] != ["output"]:
        errs.append(f"inputs {[i.name for i in g.input]}, outputs {[o.name for o in g.output]}")
    else:
        t = g.input[0].type.tensor_type
        dims = t.shape.dim
        if t.elem_type != onnx.TensorProto.FLOAT or len(dims) != 4 or dims[0].dim_param != "batch":
            errs.append(f"input type {t}, expected float32 [batch, C, H, W]")
        elif [d.dim_value for d in dims[1:]] != list(x.shape[1:]):
            errs.append(f"input dims {[d.dim_value for d in dims[1:]]}, expected {x.shape[1:]}")
    bad = [n.name for n in g.node if n.op_type in FORBIDDEN or n.domain not in ("", "ai.onnx")]
    if bad:
        errs.append(f"nodes that must not remain: {bad[:5]}")
    folded = [i.name for i in g.initializer if "folded" in i.name]
    if folded:
        errs.append(f"initializers with folded names: {folded[:3]}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y2 = s.run(["output"], {"input": x})[0]
    y1 = s.run(["output"], {"input": x[:1]})[0]
    e2, e1 = rel_err(y2, ref), rel_err(y1, ref[:1])
    if not (e2 <= TOL and e1 <= TOL):
        errs.append(f"onnxruntime vs czoo: {e2:.2g} (batch 2), {e1:.2g} (batch 1), bound {TOL}")
    name = os.path.basename(stem)
    print(f"{name:30s} opset {opset} {len(g.node):4d} nodes {len(g.initializer):4d} inits; "
          f"ort vs czoo max|d|/max|ref| {e2:.2g} (batch 2) {e1:.2g} (batch 1); {checked}")
    for e in errs:
        print(f"  FAIL {name}: {e}")
    return not errs


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_onnx_export.py DIR")
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx")))
    files = [f for f in files if not os.path.basename(f).startswith(".")]
    if not files:
        sys.exit(f"no .onnx files in {sys.argv[1]}")
    bad = [f for f in files if not check(f)]
    print(f"{len(files) - len(bad)}/{len(files)} ONNX files pass")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
