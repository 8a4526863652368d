"""Writes the eval-transform test cases: PIL's Image.resize for every filter
and several sizes (down and up), and torchvision's eval transform (timm's
transforms_imagenet_eval: Resize(floor(S / 0.875), BICUBIC), CenterCrop,
ToTensor, Normalize) with its geometry. Usage: gen_tf_eval.py OUT_DIR.
Writes OUT_DIR/tf_eval.czt; its text tensor "cases" has one line per check:
  resize IMG FILTER W H        expected u8 [H, W, C] in "rs.IMG.FILTER.WxH"
  eval IMG C H W MEAN_N        expected f32 [H, W, C] in "ev.IMG.CxHxW.MEAN_N",
                               geometry i64 [rw, rh, x0, y0] in "geo.<same>"
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

FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR,
           "bicubic": Image.BICUBIC, "area": Image.BOX}
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def images():
    rng = np.random.default_rng(1234)
    ims = {}
    ims["rand500x375"] = rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)
    y, x = np.mgrid[0:500, 0:375]
    ims["grad375x500"] = np.stack([(x * 255 // 374), (y * 255 // 499),
                                   ((x + y) * 7) % 256], -1).astype(np.uint8)
    ims["rand64x48"] = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    ims["rand7x5"] = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    g = rng.integers(0, 256, (48, 64, 1), dtype=np.uint8)
    ims["gray64x48"] = g
    return ims


def pil(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ims = images()
    t = {}
    lines = []
    for name, a in ims.items():
        t["img." + name] = a
    sizes = {
        "rand500x375": [(224, 168), (37, 29), (640, 480), (500, 200), (256, 341)],
        "grad375x500": [(256, 341), (100, 100), (375, 700)],
        "rand64x48": [(224, 224), (31, 17), (64, 97)],
        "rand7x5": [(224, 224), (3, 2), (7, 11), (1, 1)],
        "gray64x48": [(40, 30), (100, 75)],
    }
    for name, sz in sizes.items():
        for f, fid in FILTERS.items():
            for (w, h) in sz:
                r = np.asarray(pil(ims[name]).resize((w, h), fid)).reshape(h, w, -1)
                key = "%s.%s.%dx%d" % (name, f, w, h)
                t["rs." + key] = np.ascontiguousarray(r)
                lines.append("resize %s %s %d %d" % (name, f, w, h))
    evals = [("rand500x375", 3, 224, 224, 3), ("grad375x500", 3, 224, 224, 3),
             ("rand64x48", 3, 32, 32, 3), ("rand7x5", 3, 5, 5, 3),
             ("rand500x375", 3, 96, 128, 3), ("grad375x500", 3, 160, 120, 1),
             ("gray64x48", 1, 24, 24, 1), ("rand64x48", 3, 33, 33, 3)]
    for name, c, h, w, mn in evals:
        mean = MEAN if mn == 3 else [0.5]
        std = STD if mn == 3 else [0.25]
        if h == w:
            size = math.floor(w / 0.875)  # timm passes an int: short side
        else:
            size = tuple(math.floor(x / 0.875) for x in (h, w))
        img = pil(ims[name])
        resized = TF.resize(img, size, interpolation=InterpolationMode.BICUBIC)
        rw, rh = resized.size
        geo = [rw, rh, int(round((rw - w) / 2.0)), int(round((rh - h) / 2.0))]
        tf = transforms.Compose([
            transforms.Resize(size, interpolation=InterpolationMode.BICUBIC),
            transforms.CenterCrop((h, w)), transforms.ToTensor(),
            transforms.Normalize(torch.tensor(mean * (c if mn == 1 else 1)),
                                 torch.tensor(std * (c if mn == 1 else 1)))])
        x = tf(img).permute(1, 2, 0).contiguous().numpy()
        key = "%s.%dx%dx%d.%d" % (name, c, h, w, mn)
        t["ev." + key] = x
        t["geo." + key] = np.array(geo, dtype=np.int64)
        lines.append("eval %s %d %d %d %d" % (name, c, h, w, mn))
    t["cases"] = "\n".join(lines) + "\n"
    czt.write(os.path.join(out, "tf_eval.czt"), t)


main()
