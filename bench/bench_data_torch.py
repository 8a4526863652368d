"""torchvision peer of bench_data.c: ImageFolder + DataLoader with the eval
or train transform, best images/s of EPOCHS timed epochs after one warm-up.
Usage: bench_data_torch.py DIR BATCH SIZE WORKERS EPOCHS eval|train|randaug
   or: bench_data_torch.py --generate DIR N CLASSES (writes the JPEGs)."""
import os
import sys
import time


def generate(root, n, classes):
    # Smooth random content: a few random pixels upsampled bicubically, so
    # JPEG sizes and decode costs resemble photos more than noise would.
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        d = os.path.join(root, "class%02d" % (i % classes))
        os.makedirs(d, exist_ok=True)
        small = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
        img = Image.fromarray(small, "RGB").resize((500, 375), Image.BICUBIC)
        img.save(os.path.join(d, "img%04d.jpg" % i), "JPEG", quality=90)


def main():
    if sys.argv[1] == "--generate":
        generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    import torch
    from torchvision import datasets, transforms

    root = sys.argv[1]
    batch, size, workers, epochs = (int(a) for a in sys.argv[2:6])
    torch.set_num_threads(1)  # the workers are the parallelism, as in czoo
    mode = sys.argv[6]
    norm = transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    if mode == "randaug":
        # timm's own RandAugment recipe (needs timm: run with the venv's python).
        from timm.data import create_transform
        tf = create_transform(size, is_training=True, interpolation="bilinear",
                              auto_augment="rand-m9-mstd0.5-inc1")
    elif mode == "train":
        # timm's default recipe; bilinear only (timm's 'random' also draws
        # bicubic), matching bench_data.c.
        tf = transforms.Compose([
            transforms.RandomResizedCrop(size, interpolation=transforms.InterpolationMode.BILINEAR),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(0.4, 0.4, 0.4),
            transforms.ToTensor(),
            norm,
        ])
    else:
        tf = transforms.Compose([
            transforms.Resize(int(size / 0.875),
                              interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            norm,
        ])
    ds = datasets.ImageFolder(root, transform=tf)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers)
    best = 0.0
    for e in range(epochs + 1):
        t0 = time.perf_counter()
        n = 0
        for x, _ in dl:
            n += x.shape[0]
        rate = n / (time.perf_counter() - t0)
        if e > 0:
            best = max(best, rate)
    print("images %d" % len(ds))
    print("images_per_s %.1f" % best)


if __name__ == "__main__":
    main()
