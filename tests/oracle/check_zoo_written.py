#!/usr/bin/env python3
"""The reverse direction of the zoo's weight interop: every <model>.pth that
czoo wrote (test_zoo_pth, from the reference's weights) is read with
torch.load(weights_only=True) and loaded with load_state_dict(strict=True)
into a fresh reference model, which must then give the bundle's logits on
the bundle's input (max|d| / max|ref| <= 1e-5: same weights, same code).
Usage: check_zoo_written.py WRITTEN_DIR ORACLE_DIR[:ORACLE_DIR...]
The model is built from the bundle's "reference" text ("<pytorchcv|timm|
torchvision> <name> num_classes=<n>", gen_zoo_pytorchcv.py), else from
gen_zoo.py's MODELS table; input and logits are "input"/"logits" or
"x"/"pt32" (PyTorch's float32 logits)."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import czt  # noqa: E402


def build(reference):
    source, name, classes = reference.split()[:3]
    n = int(classes.split("=")[1])
    if source == "pytorchcv":
        from pytorchcv.model_provider import get_model
        return get_model(name, pretrained=False, num_classes=n)
    if source == "timm":
        import timm
        return timm.create_model(name, pretrained=False, num_classes=n)
    if source == "torchvision":
        import torchvision
        return getattr(torchvision.models, name)(num_classes=n)
    raise SystemExit("unknown reference source in %r" % reference)


def build_for(name, bundle):
    if "reference" in bundle:
        return build(bundle["reference"])
    import gen_zoo
    for zoo, make, _ in gen_zoo.MODELS:
        if zoo == name:
            return make()
    raise SystemExit("%s: no way to build the reference model" % name)


def main():
    written, dirs = sys.argv[1], sys.argv[2].split(":")
    files = sorted(f for f in os.listdir(written) if f.endswith(".pth"))
    if not files:
        raise SystemExit("no .pth written by czoo in %s" % written)
    worst = 0.0
    for f in files:
        name = f[:-4]
        bundle = next((os.path.join(d, name + ".czt") for d in dirs
                       if os.path.exists(os.path.join(d, name + ".czt"))), None)
        if bundle is None:
            raise SystemExit("%s: no oracle bundle for it in %s" % (f, dirs))
        b = czt.read(bundle)
        m = build_for(name, b)
        sd = torch.load(os.path.join(written, f), weights_only=True)
        m.load_state_dict(sd, strict=True)
        m.eval()
        with torch.no_grad():
            y = m(torch.from_numpy(b["input"] if "input" in b else b["x"])).numpy()
        ref = b["logits"] if "logits" in b else b["pt32"]
        rel = float(np.abs(y - ref).max() / np.abs(ref).max())
        worst = max(worst, rel)
        print("%-26s strict load ok, logits max|d|/max|ref| %.2g" % (name, rel))
        if rel > 1e-5:
            raise SystemExit("%s: logits differ by %.3g (bound 1e-5)" % (name, rel))
    print("%d czoo-written files load strictly into the reference; worst %.2g" % (len(files), worst))


if __name__ == "__main__":
    main()
