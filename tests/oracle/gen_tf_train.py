"""Writes the train-transform test cases: torchvision's functional ops on
PIL images for explicit parameters (resized_crop, hflip, vflip,
adjust_brightness/contrast/saturation in a given order, ToTensor,
Normalize), and statistics of torchvision's RandomResizedCrop.get_params.
Usage: gen_tf_train.py OUT_DIR. Writes OUT_DIR/tf_train.czt; its text
tensor "cases" has one line per check:
  apply IMG C H W X Y CW CH INTERP HFLIP VFLIP O0 O1 O2 FB FC FS K
      expected f32 [H, W, C] in "ap.K" (O*: 0 brightness, 1 contrast,
      2 saturation; F*: the factors, exact float32 values)
  stats IW IH N      f64 [mean area fraction, its sd, mean log(w/h), its
      sd, frequency of the centre-fallback box] in "st.IWxIH" over N draws
      of get_params(scale=(0.08, 1), ratio=(3/4, 4/3))
"""
import math
import os
import sys

import numpy as np
from PIL import Image
import torch
from torchvision import transforms
from torchvision.transforms import InterpolationMode
import torchvision.transforms.functional as TF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
INTERP = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC,
          "nearest": InterpolationMode.NEAREST}
ADJ = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation]


def images():
    rng = np.random.default_rng(4321)
    ims = {}
    ims["rand120x90"] = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    y, x = np.mgrid[0:80, 0:60]
    ims["grad60x80"] = np.stack([(x * 255 // 59), (y * 255 // 79),
                                 ((x + y) * 7) % 256], -1).astype(np.uint8)
    ims["gray50x40"] = rng.integers(0, 256, (40, 50, 1), dtype=np.uint8)
    return ims


def pil(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def fallback_box(iw, ih, ratio):
    r = iw / ih
    if r < min(ratio):
        w, h = iw, int(round(iw / min(ratio)))
    elif r > max(ratio):
        h, w = ih, int(round(ih * max(ratio)))
    else:
        w, h = iw, ih
    return ((ih - h) // 2, (iw - w) // 2, h, w)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ims = images()
    t = {"img." + k: v for k, v in ims.items()}
    lines = []
    rs = np.random.default_rng(99)
    k = 0
    for name, a in ims.items():
        ih, iw, c = a.shape
        for rep in range(8):
            cw = int(rs.integers(1, iw + 1))
            ch = int(rs.integers(1, ih + 1))
            x = int(rs.integers(0, iw - cw + 1))
            y = int(rs.integers(0, ih - ch + 1))
            interp = ["bilinear", "bicubic", "nearest"][rep % 3]
            hf, vf = rep % 2, (rep // 2) % 2
            order = [int(v) for v in rs.permutation(3)]
            # Include extrapolation (> 1) and strong factors.
            fac = [float(np.float32(v)) for v in rs.uniform(0.3, 1.7, 3)]
            if rep == 0:
                fac = [1.0, 1.0, 1.0]
            H, W = (24, 32) if rep % 2 else (28, 28)
            mean = MEAN if c == 3 else [0.5]
            std = STD if c == 3 else [0.25]
            im = TF.resized_crop(pil(a), y, x, ch, cw, [H, W], interpolation=INTERP[interp])
            if hf:
                im = TF.hflip(im)
            if vf:
                im = TF.vflip(im)
            for o in order:
                im = ADJ[o](im, fac[o])
            v = TF.normalize(TF.to_tensor(im), mean, std)
            t["ap.%d" % k] = v.permute(1, 2, 0).contiguous().numpy()
            lines.append("apply %s %d %d %d %d %d %d %d %s %d %d %d %d %d %.9g %.9g %.9g %d" % (
                name, c, H, W, x, y, cw, ch, interp, hf, vf, *order, *fac, k))
            k += 1
    torch.manual_seed(7)
    scale, ratio = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)
    n = 20000
    for iw, ih in [(500, 375), (64, 48), (4, 3), (2, 9), (13, 1)]:
        img = Image.new("L", (iw, ih))
        fb = fallback_box(iw, ih, ratio)
        area, lr, nfb = [], [], 0
        for _ in range(n):
            i, j, h, w = transforms.RandomResizedCrop.get_params(img, scale, ratio)
            area.append(w * h / (iw * ih))
            lr.append(math.log(w / h))
            nfb += (i, j, h, w) == fb
        area, lr = np.array(area), np.array(lr)
        t["st.%dx%d" % (iw, ih)] = np.array([area.mean(), area.std(), lr.mean(), lr.std(),
                                             nfb / n], dtype=np.float64)
        lines.append("stats %d %d %d" % (iw, ih, n))
    t["cases"] = "\n".join(lines) + "\n"
    czt.write(os.path.join(out, "tf_train.czt"), t)


main()
