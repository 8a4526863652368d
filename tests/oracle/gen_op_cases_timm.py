#!/usr/bin/python3
"""Op cases whose reference is a timm 1.0.31 module rather than torch
itself (needs the .venv python): timm's JsdCrossEntropy (loss/jsd.py) for
the JsdCrossEntropy op, with the num_splits / alpha / smoothing that
timm's train.py passes, on labels and (smoothing 0, mixup's case) on
probability targets. Same bundle format, bound and float64 reference as
gen_op_cases.py, whose Case and write_case it uses; test_ops_torch reads
both folders. Usage: gen_op_cases_timm.py OUT_DIR."""
import os
import sys

import numpy as np
import torch
from timm.loss import JsdCrossEntropy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_op_cases import Case, write_case  # noqa: E402


def jsd_case(name, splits, n, c, smoothing, alpha=12.0, soft=False, scale=2.0):
    def fn(t):
        loss = JsdCrossEntropy(num_splits=splits, alpha=alpha, smoothing=smoothing)
        return loss(t["x"], t["target"])

    cs = Case(name, "JsdCrossEntropy", fn)
    cs.add("x", "input", cs.randn(splits * n, c, scale=scale), grad=True)
    if soft:  # a mixup-like target: rows of probabilities, repeated per split
        t = torch.softmax(torch.from_numpy(cs.randn(n, c, scale=2.0)), -1).numpy()
        cs.add("target", "input", np.tile(t, (splits, 1)).astype(np.float32))
    else:
        lab = cs.rng.integers(0, c, n).astype(np.int64)
        cs.add("target", "input", np.tile(lab, splits))
    cs.attr("num_splits", "int", splits).attr("alpha", "float", alpha)
    if smoothing:
        cs.attr("smoothing", "float", smoothing)
    return cs


def all_cases():
    return [
        jsd_case("jsd_s3_smooth", 3, 4, 10, 0.1),
        jsd_case("jsd_s2_plain", 2, 5, 7, 0.0),
        jsd_case("jsd_s4_alpha3", 4, 3, 6, 0.2, alpha=3.0),
        jsd_case("jsd_s3_soft", 3, 4, 10, 0.0, soft=True),
        # logits far apart: mixture probabilities below the 1e-7 clamp
        jsd_case("jsd_s3_clamped", 3, 3, 8, 0.1, scale=12.0),
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_op_cases_timm.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith(".czt"):
            os.remove(os.path.join(out_dir, f))
    cases = all_cases()
    worst = max(write_case(c, out_dir) for c in cases)
    print("wrote %d timm op cases to %s (float32 vs float64 reference: max rel err %.2g)"
          % (len(cases), out_dir, worst))


if __name__ == "__main__":
    main()
