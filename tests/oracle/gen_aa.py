"""Writes the auto-augment test cases from timm 1.0.31 (run with the venv's
python): timm's op functions on PIL images for fixed arguments, its
level-to-arg functions, and the transforms its parsers build.
Usage: gen_aa.py OUT_DIR. Writes OUT_DIR/aa.czt: images "img.K" (u8 HWC)
and a text tensor "cases", one line per check:
  op K NAME ARG INTERP IMG    expected u8 in "op.K" (ARG: repr of the
                              float; INTERP 0 nearest, 1 bilinear, 2 bicubic)
  level NAME M NEG ARG        timm's level_to_arg(M) with the random sign
                              forced (NEG 1: negated); ARG repr
  augmix K IMG BLENDED M W1,..,Ww NAME:ARG:INTERP,...  AugMixAugment's
                              _apply_basic / _apply_blended with the given
                              float32 weights and m, each chain the listed
                              steps split evenly; expected u8 in "mix.K"
  parse STRING|KIND|N|OPS     the transform timm builds for STRING with
                              img_size 224, mean (0.485, 0.456, 0.406) and
                              interpolation 'random'; OPS: NAME:PROB:M:MSTD:MMAX
                              comma-separated (AutoAugment: the sub-policies
                              joined by ';'); N: RandAugment n / AugMix
                              w,d,alpha,blended; weights in "w.<STRING>"
"""
import math
import os
import sys

import numpy as np
from PIL import Image

from timm.data import auto_augment as A
from timm.data import create_transform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

RES = {0: Image.NEAREST, 1: Image.BILINEAR, 2: Image.BICUBIC}
FILL = (124, 116, 104)


def images():
    rng = np.random.default_rng(97)
    ims = []
    ims.append(rng.integers(0, 256, (29, 37, 3), dtype=np.uint8))          # noise
    y, x = np.mgrid[0:40, 0:48]
    ims.append(np.stack([x * 5, y * 6, ((x // 4 + y // 4) % 2) * 255], -1).astype(np.uint8))
    ims.append(rng.integers(0, 256, (31, 23, 1), dtype=np.uint8))          # gray noise
    low = rng.integers(60, 90, (24, 24, 3), dtype=np.uint8)                # narrow range
    low[..., 2] = 77                                                       # a constant band
    ims.append(low)
    ims.append(rng.integers(0, 256, (2, 5, 3), dtype=np.uint8))            # tiny
    return ims


def pil(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def arr(im):
    a = np.asarray(im)
    return a[:, :, None] if a.ndim == 2 else a


def op_cases():
    geo = [("ShearX", [0.3, -0.17, 0.05]), ("ShearY", [0.3, -0.22]),
           ("TranslateX", [7.0, -12.6, 0.5, 100.0]), ("TranslateY", [-9.0, 3.3]),
           ("TranslateXRel", [0.45, -0.2]), ("TranslateYRel", [-0.45, 0.13]),
           ("Rotate", [30.0, -17.5, 8.1, 0.0, 90.0, 180.0, -90.0, 400.0])]
    pt = [("AutoContrast", [0]), ("Equalize", [0]), ("Invert", [0]),
          ("Solarize", [0, 26, 128, 256]), ("SolarizeAdd", [0, 33, 110]),
          ("Posterize", [0, 1, 4, 7, 8]), ("Color", [0.1, 1.9, 0.55]),
          ("Contrast", [0.1, 1.9, 1.37]), ("Brightness", [0.1, 1.9, 0.8]),
          ("Sharpness", [0.1, 1.9, 0.5, 1.0]), ("Desaturate", [0.5, 0.75, 1.0, 0.3]),
          ("GaussianBlur", [0.1, 0.5, 1.0, 1.37, 2.0, 5.0, 30.0])]
    cases = []
    for name, args in geo:
        for a in args:
            for interp in (0, 1, 2):
                for k in range(5):
                    cases.append((name, a, interp, k))
    for name, args in pt:
        for a in args:
            for k in range(5):
                cases.append((name, a, 2, k))
    return cases


def run_op(name, arg, interp, im):
    fn = A.NAME_TO_OP[name]
    fill = FILL if im.mode == "RGB" else FILL[0]
    kw = dict(fillcolor=fill, resample=RES[interp])
    if name in ("AutoContrast", "Equalize", "Invert"):
        return fn(im, **kw)
    if name in ("Solarize", "SolarizeAdd", "Posterize"):
        return fn(im, int(arg), **kw)
    return fn(im, arg, **kw)


def level_cases():
    out = []
    hp = dict(translate_const=100, img_mean=FILL)
    for name, f in A.LEVEL_TO_ARG.items():
        if f is None:
            continue
        for m in (0.0, 1.0, 3.7, 5.0, 9.0, 10.0, 13.0):
            for neg in (0, 1):
                saved = A._randomly_negate
                A._randomly_negate = (lambda v: -v) if neg else (lambda v: v)
                try:
                    v = f(m, hp)[0]
                finally:
                    A._randomly_negate = saved
                out.append("level %s %r %d %r" % (name, m, neg, float(v)))
    return out


PARSE = ["rand-m9-mstd0.5-inc1", "rand-m9-mstd0.5", "rand-m7-n3-p0.8-mmax20",
         "rand-mstd101-n1", "rand-m9-mstd0.5-mstd3", "rand-tweights-n2",
         "rand", "original", "originalr", "v0", "v0r-mstd0.5", "original-mstd2",
         "augmix-m5-w4-d2", "augmix", "augmix-m3-w2-d1-a0.5-b1-mstd0.7",
         "3a", "3a-mstd1", "rand-m9-t3a", "rand-n3-m7-t3aw", "rand-m9-tweights-inc1"]


def op_desc(op):
    mmax = op.magnitude_max if op.magnitude_max is not None else 0
    return "%s:%r:%r:%r:%r" % (op.name, float(op.prob), float(op.magnitude),
                               float(op.magnitude_std), float(mmax))


def parse_cases(t):
    out = []
    for s in PARSE:
        tf = create_transform(224, is_training=True, auto_augment=s, interpolation="random",
                              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        aa = [x for x in tf.transforms if type(x).__name__ in
              ("RandAugment", "AutoAugment", "AugMixAugment")][0]
        jitter = any(type(x).__name__ == "ColorJitter" for x in tf.transforms)
        kind = type(aa).__name__
        if kind == "RandAugment":
            n = "%d" % aa.num_layers
            ops = ",".join(op_desc(o) for o in aa.ops)
            if aa.choice_weights is not None:
                t["w." + s] = np.asarray(aa.choice_weights, dtype=np.float64).astype(np.float32)
        elif kind == "AugMixAugment":
            n = "%d,%d,%r,%d" % (aa.width, aa.depth, float(aa.alpha), int(aa.blended))
            ops = ",".join(op_desc(o) for o in aa.ops)
        else:
            n = "%d" % len(aa.policy)
            ops = ";".join(",".join(op_desc(o) for o in sp) for sp in aa.policy)
        hp = aa.ops[0].hparams if kind != "AutoAugment" else aa.policy[0][0].hparams
        out.append("parse %s|%s|%s|%d|%d|%r|%s|%s" % (
            s, kind, n, int(jitter), hp["translate_const"], float(hp.get("translate_pct", 0.45)),
            ",".join(str(v) for v in hp["img_mean"]), ops))
    return out


class _Steps:
    """One 'op' for AugMixAugment that replays fixed steps in order."""

    def __init__(self, steps, fill):
        self.steps, self.fill = list(steps), fill

    def __call__(self, img):
        name, arg, interp = self.steps.pop(0)
        return run_op(name, arg, interp, img)


MIX = [
    (0, 0, [0.2, 0.5, 0.3], 0.7, [("Rotate", 12.5, 2), ("Equalize", 0, 2), ("ShearX", -0.1, 1),
                                  ("Sharpness", 1.6, 2), ("Solarize", 100, 2), ("TranslateYRel", 0.2, 1)]),
    (1, 1, [0.6, 0.4], 0.35, [("Posterize", 3, 2), ("Contrast", 0.4, 2),
                             ("Rotate", -20.0, 1), ("AutoContrast", 0, 2)]),
    (2, 0, [0.1, 0.2, 0.3, 0.4], 0.9, [("Brightness", 1.5, 2), ("ShearY", 0.2, 2),
                                       ("Color", 0.3, 2), ("Invert", 0, 2)]),
    (2, 1, [0.25, 0.25, 0.5], 0.5, [("Equalize", 0, 2), ("Rotate", 5.0, 2), ("Solarize", 50, 2)]),
]


def mix_cases(t, ims):
    lines = []
    for k, (im, blended, w, m, steps) in enumerate(MIX):
        w = np.asarray(w, dtype=np.float32)
        m = np.float32(m)
        depth = len(steps) // len(w)
        aug = A.AugMixAugment([_Steps(steps, FILL)], width=len(w), depth=depth, blended=bool(blended))
        img = pil(ims[im])
        out = aug._apply_blended(img, w, m) if blended else aug._apply_basic(img, w, m)
        t["mix.%d" % k] = arr(out)
        lines.append("augmix %d %d %d %r %s %s" % (
            k, im, blended, float(m), ",".join(repr(float(x)) for x in w),
            ",".join("%s:%r:%d" % (n, float(a), i) for n, a, i in steps)))
    return lines


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    t = {}
    ims = images()
    for k, a in enumerate(ims):
        t["img.%d" % k] = a
    lines = []
    for i, (name, a, interp, k) in enumerate(op_cases()):
        t["op.%d" % i] = arr(run_op(name, a, interp, pil(ims[k])))
        lines.append("op %d %s %r %d %d" % (i, name, float(a), interp, k))
    lines += mix_cases(t, ims)
    lines += level_cases()
    lines += parse_cases(t)
    t["cases"] = "\n".join(lines) + "\n"
    czt.write(os.path.join(out, "aa.czt"), t)


if __name__ == "__main__":
    main()
