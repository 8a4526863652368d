#!/usr/bin/env python3
"""Stage 1 of the int8 engine's Fashion-MNIST check (Debian torch): a
trained-enough float model and the data both engines will see.
The model: torchvision's MobileNetV2(width_mult=0.35, num_classes=10) (czoo's
mobilenetv2_w035_pt) on 1x32x32 gray images: BatchNorm statistics of 2,000
training images, a ridge-regression classifier on standardized pooled
features (right on most test images), and the first convolution's three
input channels summed into one (a gray image copied to RGB gives the same
sums). Written: <WORK>/fmnist_mbv2.pth (the state_dict), <WORK>/data.czt:
`test` [10000,1,32,32] float (timm's eval transform: Resize(36) bicubic,
CenterCrop(32), ToTensor, Normalize(0.2860, 0.3530)), `labels` int64,
`calib` [256,1,32,32] (a seeded subset of the training images after the
2,000). Usage: gen_int8_fmnist.py WORK_DIR"""
import gzip
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

WORK = os.path.abspath(sys.argv[1])
DATA = "/usr/share/datasets/fashion-mnist"
os.makedirs(WORK, exist_ok=True)
torch.manual_seed(11)


def idx(name, images):
    with gzip.open(os.path.join(DATA, name)) as f:
        b = f.read()
    return (np.frombuffer(b, np.uint8, offset=16).reshape(-1, 28, 28) if images
            else np.frombuffer(b, np.uint8, offset=8))


tf = transforms.Compose([
    transforms.Resize(36, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(32), transforms.ToTensor(), transforms.Normalize([0.2860], [0.3530])])


def batch(images):
    return torch.stack([tf(Image.fromarray(a, "L")) for a in images])


xtr_all, ytr_all = idx("train-images-idx3-ubyte.gz", True), idx("train-labels-idx1-ubyte.gz", False)
xtr, ytr = xtr_all[:2000], ytr_all[:2000]
xte, yte = idx("t10k-images-idx3-ubyte.gz", True), idx("t10k-labels-idx1-ubyte.gz", False)
model = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=10).double()
# One input channel: the stem's weights summed over RGB.
stem = model.features[0][0]
one = torch.nn.Conv2d(1, stem.out_channels, 3, 2, 1, bias=False).double()
with torch.no_grad():
    one.weight.copy_(stem.weight.sum(1, keepdim=True))
model.features[0][0] = one
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.reset_running_stats()
        m.momentum = None
xb = batch(xtr).double()
model.train()
with torch.no_grad():
    model(xb)
model.eval()
with torch.no_grad():
    f = torch.nn.functional.adaptive_avg_pool2d(model.features(xb), 1).flatten(1)
mu, sd = f.mean(0), f.std(0) + 1e-6
fs = (f - mu) / sd
onehot = torch.nn.functional.one_hot(torch.tensor(ytr.astype(np.int64)), 10).double()
a = torch.linalg.solve(fs.T @ fs + 100 * torch.eye(fs.shape[1], dtype=fs.dtype), fs.T @ onehot)
w = 10 * a.T / sd
with torch.no_grad():
    model.classifier[1].weight.copy_(w)
    model.classifier[1].bias.copy_(-(w @ mu))
model.float()
torch.save(model.state_dict(), os.path.join(WORK, "fmnist_mbv2.pth"))
rng = np.random.default_rng(5)
calib = batch(xtr_all[2000 + rng.choice(len(xtr_all) - 2000, 256, replace=False)])
test = batch(xte)
with torch.no_grad():
    top1 = (model(test).argmax(1).numpy() == yte).mean() * 100
print(f"float model (PyTorch float32): top-1 {top1:.2f} % on the 10,000 test images")
czt.write(os.path.join(WORK, "data.czt"), {"test": test, "labels": yte.astype(np.int64),
                                            "calib": calib})
