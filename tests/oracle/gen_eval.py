#!/usr/bin/env python3
"""Oracle for the evaluation and prediction services: writes a small
ImageFolder test set of PNGs (6 classes, 7 images each, various sizes), a
prediction folder (3 images, one broken file, one non-image), torchvision's
MobileNetV2(width_mult=0.35, num_classes=6) weights as torch.save writes
them (BatchNorm statistics randomized), and expected.json with what PyTorch
computes on the same images through timm's eval transform (Resize(floor(64
/ 0.875)) bicubic, CenterCrop(64), ToTensor, Normalize(ImageNet)): the
logits, top-1, top-5, mean cross-entropy, confusion matrix, and softmax
probabilities of the prediction images. Also the smallest top-1/top-2 logit
margin, so the check knows the argmax is not decided by rounding.
Usage: gen_eval.py OUT_DIR"""
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(7)
rng = np.random.default_rng(7)
CLASSES = ["apple", "bus, red", "cat", "dog", "eel", "fig"]  # a comma to exercise CSV quoting
SIZE = 64


def make_image(label, i):
    w, h = int(rng.integers(40, 110)), int(rng.integers(40, 110))
    base = np.zeros((h, w, 3), np.float64)
    yy, xx = np.mgrid[0:h, 0:w]
    base[..., label % 3] = 120 + 100 * np.sin(xx / (3 + label) + i)
    base[..., (label + 1) % 3] = 80 + 60 * np.cos(yy / (2 + label))
    base += rng.normal(0, 25, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


test = os.path.join(out, "test")
paths = []
for c, name in enumerate(CLASSES):
    d = os.path.join(test, name)
    os.makedirs(d, exist_ok=True)
    for i in range(7):
        p = os.path.join(d, f"img{i}.png")
        make_image(c, i).save(p)
        paths.append((p, c))
pred = os.path.join(out, "predict")
os.makedirs(pred, exist_ok=True)
pred_files = []
for i in range(3):
    p = os.path.join(pred, f"p{i}.png")
    make_image(i * 2, 10 + i).save(p)
    pred_files.append(p)
with open(os.path.join(pred, "broken.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n not really a png")
with open(os.path.join(pred, "notes.txt"), "w") as f:
    f.write("not an image\n")
os.makedirs(os.path.join(out, "empty"), exist_ok=True)

model = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=len(CLASSES))
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
    model.classifier[1].weight.mul_(30)
model.eval()
torch.save(model.state_dict(), os.path.join(out, "mbv2_w035.pth"))

tf = transforms.Compose([
    transforms.Resize(math.floor(SIZE / 0.875), interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(SIZE), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])


def logits_of(files):
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in files]).double()
    with torch.no_grad():
        return model.double()(x).detach().clone()


y = torch.tensor([c for _, c in paths])


def features_of(files):
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in files]).double()
    with torch.no_grad():
        f = model.double().features(x)
        return torch.nn.functional.adaptive_avg_pool2d(f, 1).flatten(1)


# A random network's features barely depend on the image (so float32
# rounding would decide the argmax): set the BatchNorm statistics to the
# data's own (cumulative average over the set, in train mode), then
# standardize the pooled features in the classifier, so the logits differ
# by units between images and classes.
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.reset_running_stats()
        m.momentum = None
model.train()
with torch.no_grad():
    model.double()(torch.stack([tf(Image.open(p).convert("RGB")) for p, _ in paths]).double())
model.eval()
f = features_of([p for p, _ in paths])
mu, sd = f.mean(0), f.std(0) + 1e-6
# Nearest class mean in the standardized feature space: a model that is
# right on most images but not all, so the confusion matrix is not trivial.
fs = (f - mu) / sd
cm = torch.stack([fs[y == c].mean(0) for c in range(len(CLASSES))])
w = cm / math.sqrt(f.shape[1]) * 2 / sd
with torch.no_grad():
    model.classifier[1].weight.copy_(w.float())
    model.classifier[1].bias.copy_((-(w @ mu)).float())
model.float()
torch.save(model.state_dict(), os.path.join(out, "mbv2_w035.pth"))
model.double()
z = logits_of([p for p, _ in paths])
top = z.topk(5, dim=1).indices
top1 = (top[:, 0] == y).double().mean().item() * 100
top5 = (top == y[:, None]).any(1).double().mean().item() * 100
loss = torch.nn.functional.cross_entropy(z, y).item()
conf = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
for t, p in zip(y.tolist(), top[:, 0].tolist()):
    conf[t, p] += 1
# general.tta > 1: logits averaged with those of the mirrored images.
xf = torch.stack([tf(Image.open(p).convert("RGB")) for p, _ in paths]).double()
with torch.no_grad():
    zt = (model(xf) + model(xf.flip(3))) / 2
top1_tta = (zt.argmax(1) == y).double().mean().item() * 100
st = zt.sort(dim=1, descending=True).values
margin_tta = (st[:, 0] - st[:, 1]).min().item()
s = z.sort(dim=1, descending=True).values
margin = (s[:, 0] - s[:, 1]).min().item()
zp = logits_of(pred_files)
probs = torch.softmax(zp, 1)
expected = {
    "classes": CLASSES, "top1": top1, "top5": top5, "loss": loss,
    "confusion": conf.tolist(), "min_margin": margin,
    "top1_tta": top1_tta, "loss_tta": torch.nn.functional.cross_entropy(zt, y).item(),
    "min_margin_tta": margin_tta,
    "predictions": {os.path.basename(p): probs[i].tolist() for i, p in enumerate(pred_files)},
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print(f"top1 {top1:.2f} top5 {top5:.2f} loss {loss:.4f} min margin {margin:.3g}")
