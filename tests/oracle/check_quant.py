"""czoo's quantizer against onnxruntime 1.20.1's quantize_static: for each
<model>__<setting>.czoo.onnx that tests/unit/test_quant.c wrote in DIR,
quantize_static runs on <model>.onnx (the same float file) with the same
calibration images (quant_calib.czt, one image per run as the tool we
replace feeds them) and the same settings, giving
<model>__<setting>.ort.onnx. Then:
  - czoo's file passes onnx.checker (full check) and runs in onnxruntime;
  - the two files have the same QuantizeLinear / DequantizeLinear nodes
    (by name) and the same scale / zero-point initializers (by name);
  - every scale within 1e-4 relative, every zero point equal, every
    quantized weight and bias equal (off by one allowed where a weight's
    scale differs in the last bits);
  - informative: how often the two models' top-1 agree on random inputs.
Usage: check_quant.py DIR"""
import glob
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

ST_EXTRA = {"WeightSymmetric": True, "ActivationSymmetric": False, "CalibMovingAverage": False,
            "QuantizeBias": True, "SmoothQuant": False}

SETTINGS = {
    "pc": dict(per_channel=True),
    "pt": dict(per_channel=False),
    "pc_u8act": dict(per_channel=True, activation_type=QuantType.QUInt8),
    "pt_u8u8": dict(per_channel=False, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QUInt8),
    "pc_entropy": dict(per_channel=True, calibrate_method=CalibrationMethod.Entropy),
    "pc_percentile": dict(per_channel=True, calibrate_method=CalibrationMethod.Percentile),
    "pc_movavg": dict(per_channel=True, extra={"CalibMovingAverage": True}),
    "pt_actsym_wasym": dict(per_channel=False,
                            extra={"ActivationSymmetric": True, "WeightSymmetric": False}),
    "pc_nobias": dict(per_channel=True, extra={"QuantizeBias": False}),
}


class Reader(CalibrationDataReader):
    def __init__(self, images):
        self.it = iter([{"input": x[None]} for x in images])

    def get_next(self):
        return next(self.it, None)


def ort_quantize(src, dst, images, s):
    extra = dict(ST_EXTRA)
    extra.update(s.get("extra", {}))
    quantize_static(src, dst, Reader(images), quant_format=QuantFormat.QDQ,
                    per_channel=s["per_channel"],
                    activation_type=s.get("activation_type", QuantType.QInt8),
                    weight_type=s.get("weight_type", QuantType.QInt8),
                    calibrate_method=s.get("calibrate_method", CalibrationMethod.MinMax),
                    extra_options=extra)


def inits(m):
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def qdq_nodes(m):
    return {n.name for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}


def compare(ours_path, ort_path):
    a, b = onnx.load(ours_path), onnx.load(ort_path)
    onnx.checker.check_model(a, full_check=True)
    na, nb = qdq_nodes(a), qdq_nodes(b)
    errs = []
    if na != nb:
        errs.append(f"Q/DQ nodes differ: only czoo {sorted(na - nb)[:6]}, only onnxruntime "
                    f"{sorted(nb - na)[:6]}")
    ia, ib = inits(a), inits(b)
    worst, nscale = 0.0, 0
    for name, vb in ib.items():
        if not (name.endswith("_scale") or name.endswith("_zero_point") or
                name.endswith("_quantized")):
            continue
        if name not in ia:
            errs.append(f"initializer {name} missing")
            continue
        va = ia[name]
        if va.shape != vb.shape or va.dtype != vb.dtype:
            errs.append(f"{name}: {va.dtype}{va.shape} vs onnxruntime {vb.dtype}{vb.shape}")
            continue
        if name.endswith("_scale"):
            rel = float(np.max(np.abs(va.astype(np.float64) - vb) / np.maximum(np.abs(vb), 1e-30)))
            worst = max(worst, rel)
            nscale += 1
            if rel > 1e-4:
                errs.append(f"{name}: scale {va.ravel()[:4]} vs {vb.ravel()[:4]} (rel {rel:.2e})")
        elif name.endswith("_zero_point"):
            if not np.array_equal(va, vb):
                errs.append(f"{name}: zero point {va.ravel()[:4]} vs {vb.ravel()[:4]}")
        else:
            d = np.abs(va.astype(np.int64) - vb.astype(np.int64))
            if d.max() > 1:
                errs.append(f"{name}: quantized values differ by up to {d.max()}")
    extra = sorted(k for k in ia if k.endswith("_scale") and k not in ib)
    if extra:
        errs.append(f"czoo has scales onnxruntime has not: {extra[:6]}")
    return errs, worst, nscale


def top1_agreement(pa, pb):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 3, 32, 32)).astype(np.float32)
    sa = ort.InferenceSession(pa, providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(pb, providers=["CPUExecutionProvider"])
    ya = sa.run(None, {"input": x})[0]
    yb = sb.run(None, {"input": x})[0]
    return float(np.mean(ya.argmax(1) == yb.argmax(1)))


def main():
    d = sys.argv[1]
    images = czt.read(os.path.join(d, "quant_calib.czt"))["images"]
    files = sorted(glob.glob(os.path.join(d, "*__*.czoo.onnx")))
    if len(files) < 12:
        raise SystemExit(f"{d}: {len(files)} czoo QDQ files, expected at least 12")
    failed = 0
    for ours in files:
        stem = os.path.basename(ours)[:-len(".czoo.onnx")]
        model, setting = stem.split("__")
        theirs = os.path.join(d, stem + ".ort.onnx")
        ort_quantize(os.path.join(d, model + ".onnx"), theirs, images, SETTINGS[setting])
        errs, worst, n = compare(ours, theirs)
        agree = top1_agreement(ours, theirs)
        status = "ok" if not errs else "FAILED"
        print(f"{stem:45s} {status}: {n} scales, worst rel {worst:.2e}; top-1 agreement "
              f"{100 * agree:.1f}%")
        for e in errs[:12]:
            print("   ", e)
        failed += bool(errs)
    if failed:
        raise SystemExit(f"{failed} of {len(files)} files differ from onnxruntime's")


if __name__ == "__main__":
    main()
