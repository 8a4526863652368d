"""PyTorch peer of bench_train.sh: one training epoch of timm's model with
torchvision's dataset classes and a DataLoader (WORKERS workers,
torch.set_num_threads(THREADS)), then top-1 on the test split. The recipe
is the one bench_train.sh gives czoo: RandomResizedCrop (bilinear) and
horizontal flip, Normalize; AdamW with timm's parameter groups (no weight
decay on biases and norms), constant lr for the one epoch (timm's cosine
schedule stepped per epoch), cross-entropy with label smoothing; batches
shuffled, the last short one dropped. Eval: timm's transform (resize to
size/0.875 bicubic, center crop). Prints key value lines.

Usage (the venv's python: timm):
  bench_train_torch.py run fmnist|folder DATA MODEL C SIZE BATCH LR WD SMOOTH
                       SCALE_MIN MEAN STD THREADS WORKERS SEED
  bench_train_torch.py fmnist-subset SRC_DIR OUT N SEED
      (OUT/FashionMNIST/raw: N training images drawn without replacement,
      the full t10k test set, uncompressed IDX)
  bench_train_torch.py fmnist-jpeg SRC_DIR OUT NTRAIN NTEST SIZE SEED
      (OUT/train, OUT/val: ImageFolder trees of SIZE x SIZE colour JPEGs
      made from Fashion-MNIST items on random backgrounds)."""
import gzip
import os
import sys
import time

import numpy as np


# The generated JPEG set (shapes-jpeg).
JPEG_CLASSES = 10
HUE_SD = 4.0
BG_SATURATION = 0.1
R_MIN, R_MAX = 0.3, 0.45


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(src, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(src, name)
        if os.path.exists(p):
            return p
    raise SystemExit("bench_train_torch.py: %s: no %s[.gz]" % (src, stem))


def write_idx(path, arr):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]))
        for d in arr.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(np.ascontiguousarray(arr, np.uint8).tobytes())


def fmnist_subset(src, out, n, seed):
    raw = os.path.join(out, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    x, y = read_idx(find(src, "train-images-idx3-ubyte")), read_idx(find(src, "train-labels-idx1-ubyte"))
    pick = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
    write_idx(os.path.join(raw, "train-images-idx3-ubyte"), x[pick])
    write_idx(os.path.join(raw, "train-labels-idx1-ubyte"), y[pick])
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(os.path.join(raw, stem), read_idx(find(src, stem)))


SHAPES = ("disc", "square", "triangle", "ring", "cross")


def shape_mask(kind, yy, xx, cy, cx, r, rot):
    """Pixels inside a shape of radius r centred at (cy, cx), rotated by rot."""
    import numpy as np

    dy, dx = yy - cy, xx - cx
    u, v = np.cos(rot) * dx + np.sin(rot) * dy, -np.sin(rot) * dx + np.cos(rot) * dy
    if kind == "disc":
        return dx * dx + dy * dy <= r * r
    if kind == "square":
        return (np.abs(u) <= 0.85 * r) & (np.abs(v) <= 0.85 * r)
    if kind == "ring":
        d2 = dx * dx + dy * dy
        return (d2 <= r * r) & (d2 >= (0.55 * r) ** 2)
    if kind == "cross":
        a, b = np.abs(u), np.abs(v)
        return ((a <= r) & (b <= 0.35 * r)) | ((b <= r) & (a <= 0.35 * r))
    inside = np.ones(u.shape, bool)  # triangle: three half-planes
    for k in range(3):
        t = rot + 2 * np.pi * k / 3
        inside &= np.cos(t) * dx + np.sin(t) * dy <= 0.5 * r
    return inside


def shapes_jpeg(out, ntrain, ntest, size, seed):
    """Colour JPEGs whose class is the hue of one object (10 hues 36 degrees
    apart, each image's hue drawn around its class's with HUE_SD degrees of
    Gaussian jitter, random saturation and brightness) of a random shape,
    size, angle and place on a random smooth greyish background with pixel
    noise. Neighbouring hues overlap, so a perfect classifier still errs on
    a few percent: learnable in a few hundred updates, not trivially."""
    import colorsys

    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    for split, n in (("train", ntrain), ("val", ntest)):
        labels = np.arange(n) % JPEG_CLASSES
        rng.shuffle(labels)
        for i, k in enumerate(labels):
            bg = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize(
                (size, size), Image.BICUBIC), np.float32)
            grey = bg.mean(2, keepdims=True)
            bg = grey + BG_SATURATION * (bg - grey)
            hue = (k / JPEG_CLASSES + rng.normal(0, HUE_SD / 360.0)) % 1.0
            fg = 255 * np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1), rng.uniform(0.6, 1)),
                                np.float32)
            r = rng.uniform(R_MIN, R_MAX) * size
            cy, cx = rng.uniform(0.35, 0.65, 2) * size
            inside = shape_mask(SHAPES[rng.integers(len(SHAPES))], yy, xx, cy, cx, r,
                                rng.uniform(0, 2 * np.pi))
            img = np.where(inside[..., None], fg, bg) + rng.normal(0, 10, (size, size, 3))
            d = os.path.join(out, split, "c%d" % k)
            os.makedirs(d, exist_ok=True)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                os.path.join(d, "%s%05d.jpg" % (split, i)), "JPEG", quality=90)


def run(a):
    import timm
    import timm.optim
    import timm.scheduler
    import torch
    from torchvision import datasets, transforms

    (kind, data, model_name, chans, size, batch, lr, wd, smooth, scale_min, mean, std,
     threads, workers, seed, epochs) = a
    chans, size, batch, threads, workers, seed, epochs = map(
        int, (chans, size, batch, threads, workers, seed, epochs))
    lr, wd, smooth, scale_min, mean, std = map(float, (lr, wd, smooth, scale_min, mean, std))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    norm = transforms.Normalize((mean,) * chans, (std,) * chans)
    train_tf = transforms.Compose([
        transforms.RandomResizedCrop(size, scale=(scale_min, 1.0),
                                     interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        norm,
    ])
    eval_tf = transforms.Compose([
        transforms.Resize(int(size / 0.875), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        norm,
    ])
    if kind == "fmnist":
        train = datasets.FashionMNIST(data, train=True, transform=train_tf)
        test = datasets.FashionMNIST(data, train=False, transform=eval_tf)
    else:
        train = datasets.ImageFolder(os.path.join(data, "train"), transform=train_tf)
        test = datasets.ImageFolder(os.path.join(data, "val"), transform=eval_tf)
    model = timm.create_model(model_name, num_classes=10, in_chans=chans)
    opt = timm.optim.create_optimizer_v2(model, "adamw", lr=lr, weight_decay=wd)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=smooth)
    loader = torch.utils.data.DataLoader(train, batch_size=batch, shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=False)
    # timm's train.py: cosine over the epochs, stepped after each one; the
    # other arguments are czoo's schema defaults (= timm's).
    sched = timm.scheduler.CosineLRScheduler(opt, t_initial=epochs, lr_min=0.0, warmup_t=0,
                                             warmup_lr_init=1e-5, cycle_decay=0.5, cycle_limit=1)

    def evaluate():
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in torch.utils.data.DataLoader(test, batch_size=batch, num_workers=workers):
                correct += (model(x).argmax(1) == y).sum().item()
                total += y.shape[0]
        return correct, total

    seen, train_s = 0, 0.0
    for epoch in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for x, y in loader:
            loss = crit(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += x.shape[0]
        train_s += time.perf_counter() - t0
        sched.step(epoch + 1)
        if os.environ.get("BENCH_EVAL_EVERY_EPOCH") and epoch + 1 < epochs:
            c, t = evaluate()
            print("epoch %d top1 %.2f loss %.4f" % (epoch, 100.0 * c / t, loss.item()), file=sys.stderr)
    correct, total = evaluate()
    print("images %d" % seen)
    print("train_s %.2f" % train_s)
    print("images_per_s %.1f" % (seen / train_s))
    print("last_loss %.4f" % loss.item())
    print("top1 %.2f" % (100.0 * correct / total))
    print("test_images %d" % total)


def main():
    cmd = sys.argv[1]
    if cmd == "fmnist-subset":
        fmnist_subset(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "shapes-jpeg":
        shapes_jpeg(sys.argv[2], *map(int, sys.argv[3:7]))
    elif cmd == "run":
        run(sys.argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
