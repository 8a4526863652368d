"""Writes the hue-jitter test cases: torchvision 0.14's adjust_hue on PIL
images (Pillow's HSV round trip) and a ColorJitter-style chain of the four
adjust_* ops in a given order.
Usage: gen_tf_hue.py OUT_DIR. Writes OUT_DIR/tf_hue.czt:
  img.NAME      u8 [H, W, C] the inputs ("colors": every (r, g, b) with
                components in {0, 5, ..., 255}; "rand": random RGB;
                "rgba": random RGBA)
  factors       f32 [K] the hue factors (exact float32 values)
  hue.NAME.K    u8 [H, W, C] adjust_hue(img, factors[K])
  chain.order   i64 [4] op order (0 brightness, 1 contrast, 2 saturation, 3 hue)
  chain.factor  f32 [4] the factors, per op
  chain.out     u8 [H, W, 3] the chain applied to img.rand
"""
import os
import sys

import numpy as np
from PIL import Image
import torchvision.transforms.functional as TF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(77)
    lv = np.arange(0, 256, 5, dtype=np.uint8)  # 52 levels, 0 and 255 included
    r, g, b = np.meshgrid(lv, lv, lv, indexing="ij")
    colors = np.stack([r.ravel(), g.ravel(), b.ravel()], -1).reshape(52 * 52, 52, 3)
    ims = {"colors": colors,
           "rand": rng.integers(0, 256, (37, 53, 3), dtype=np.uint8),
           "rgba": rng.integers(0, 256, (9, 11, 4), dtype=np.uint8)}
    factors = np.array([-0.5, -0.4999, -0.25, -0.1, -0.0019, 0.0, 0.001, 0.0039, 0.1, 0.3,
                        0.4567, 0.5], dtype=np.float32)
    t = {"img." + k: v for k, v in ims.items()}
    t["factors"] = factors
    for name, a in ims.items():
        mode = "RGBA" if a.shape[2] == 4 else "RGB"
        for k, f in enumerate(factors):
            im = TF.adjust_hue(Image.fromarray(a, mode), float(f))
            t["hue.%s.%d" % (name, k)] = np.asarray(im, dtype=np.uint8).copy()
    order = [3, 0, 2, 1]
    fac = np.array([1.3, 0.6, 1.7, -0.2], dtype=np.float32)
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    im = Image.fromarray(ims["rand"], "RGB")
    for o in order:
        im = ops[o](im, float(fac[o]))
    t["chain.order"] = np.array(order, dtype=np.int64)
    t["chain.factor"] = fac
    t["chain.out"] = np.asarray(im, dtype=np.uint8).copy()
    czt.write(os.path.join(out, "tf_hue.czt"), t)


main()
