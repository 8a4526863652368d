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


def fmnist_jpeg(src, out, ntrain, ntest, size, seed):
    """Colour JPEGs a model must learn from: the item upscaled, tinted, on
    a random smooth background with noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, stem, n in (("train", "train", ntrain), ("val", "t10k", ntest)):
        x, y = read_idx(find(src, stem + "-images-idx3-ubyte")), read_idx(find(src, stem + "-labels-idx1-ubyte"))
        for i in range(n):
            item = np.asarray(Image.fromarray(x[i]).resize((size, size), Image.BILINEAR), np.float32) / 255
            bg = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize(
                (size, size), Image.BICUBIC), np.float32)
            fg = rng.integers(0, 256, 3).astype(np.float32)
            img = bg * (1 - item[..., None]) + fg * item[..., None] + rng.normal(0, 8, (size, size, 3))
            d = os.path.join(out, split, "c%d" % y[i])
            os.makedirs(d, exist_ok=True)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                os.path.join(d, "%s%05d.jpg" % (split, i)), "JPEG", quality=90)


def run(a):
    import timm
    import timm.optim
    import torch
    from torchvision import datasets, transforms

    (kind, data, model_name, chans, size, batch, lr, wd, smooth, scale_min, mean, std,
     threads, workers, seed) = a
    chans, size, batch, threads, workers, seed = map(int, (chans, size, batch, threads, workers, seed))
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
    model.train()
    seen, t0 = 0, time.perf_counter()
    for x, y in loader:
        loss = crit(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += x.shape[0]
    train_s = time.perf_counter() - t0
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(test, batch_size=batch, num_workers=workers):
            correct += (model(x).argmax(1) == y).sum().item()
            total += y.shape[0]
    print("images %d" % seen)
    print("train_s %.2f" % train_s)
    print("images_per_s %.1f" % (seen / train_s))
    print("last_loss %.4f" % loss.item())
    print("top1 %.2f" % (100.0 * correct / total))


def main():
    cmd = sys.argv[1]
    if cmd == "fmnist-subset":
        fmnist_subset(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "fmnist-jpeg":
        fmnist_jpeg(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:8]))
    elif cmd == "run":
        run(sys.argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
