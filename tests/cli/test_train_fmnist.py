#!/usr/bin/env python3
"""A short end-to-end training run on real data: a subset of Debian's
Fashion-MNIST (the first 6,000 training and 2,000 t10k images, written as
IDX files the way the dataset ships) trains st_resnetpico with the demo's
recipe for 2 epochs, then the chain evaluates the exported model. Checks
the progress lines (step, loss, images/s, ETA), the two summary.csv rows,
and that the model learned: top-1 on the 2,000 test images at least 65%
(measured 72.50% with AVX2 kernels; chance is 10%, and a broken gradient,
optimizer or loader stays far below). Under the sanitizers: 1 epoch on
2,000 images, at least 30%. Usage: test_train_fmnist.py PATH_TO_CZOO."""
import gzip
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

CZOO = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/czoo"
FMNIST = "/usr/share/datasets/fashion-mnist"
SANITIZED = os.environ.get("CZOO_SANITIZE", "0") not in ("0", "", "FALSE", "OFF")

CONFIG = """\
operation_mode: training
general:
  seed: 42
  log_interval: 20
model:
  model_name: st_resnetpico_actrelu_pt
  input_shape: [1, 28, 28]
dataset:
  dataset_name: fashion_mnist
  data_dir: data
preprocessing:
  rescaling: {scale: 1/255.0, offset: 0}
  color_mode: grayscale
  mean: [0.2860]
  std: [0.3530]
  resizing: {mode: config}
data_augmentation:
  hflip: 0.5
  scale: [1.0, 1.0]
  ratio: [1.0, 1.0]
  color_jitter: 0.0
  smoothing: 0.1
training:
  epochs: %d
  batch_size: 64
  optimizer:
    opt: adamw
    weight_decay: 0.05
  lr_scheduler:
    sched: cosine
    lr: 0.004
    warmup_epochs: 0
"""


def write_subset(src_prefix, dst_dir, n):
    """The first n items of one split, as gzip IDX files (the layout the
    dataset ships in)."""
    with gzip.open(os.path.join(FMNIST, src_prefix + "-images-idx3-ubyte.gz")) as f:
        magic, total, h, w = struct.unpack(">IIII", f.read(16))
        images = f.read(n * h * w)
    with gzip.open(os.path.join(FMNIST, src_prefix + "-labels-idx1-ubyte.gz")) as f:
        f.read(8)
        labels = f.read(n)
    assert magic == 0x803 and total >= n and len(images) == n * h * w and len(labels) == n
    with gzip.open(os.path.join(dst_dir, src_prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, h, w) + images)
    with gzip.open(os.path.join(dst_dir, src_prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels)


class TrainFashionMnist(unittest.TestCase):
    def test_learns(self):
        if not os.path.isdir(FMNIST):
            self.fail(FMNIST + " is missing: scripts/setup.sh installs dataset-fashion-mnist")
        n_train, n_test, epochs, floor = (2000, 500, 1, 30.0) if SANITIZED else \
                                         (6000, 2000, 2, 65.0)
        d = tempfile.mkdtemp(prefix="czoo_train_fmnist_")
        try:
            os.makedirs(os.path.join(d, "data"))
            write_subset("train", os.path.join(d, "data"), n_train)
            write_subset("t10k", os.path.join(d, "data"), n_test)
            with open(os.path.join(d, "c.yaml"), "w") as f:
                f.write(CONFIG % epochs)
            r = subprocess.run([CZOO, "-c", "c.yaml", "hydra.run.dir=run"], cwd=d,
                               env=dict(os.environ, CZOO_NUM_THREADS="2"),
                               capture_output=True, text=True, timeout=1200)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, out[-3000:])
            self.assertRegex(out, r"Train: 0 \[ *\d+/\d+ .*Loss: .*/s.*ETA: ")
            with open(os.path.join(d, "run", "saved_models", "summary.csv")) as f:
                rows = f.read().splitlines()
            self.assertEqual(len(rows), 1 + epochs, rows)
            acc = float(re.findall(r"Evaluation accuracy on \w+: ([0-9.]+) %", out)[-1])
            print("top-1 on %d Fashion-MNIST test images after %d epoch(s) on %d: %.2f %%"
                  % (n_test, epochs, n_train, acc))
            self.assertGreaterEqual(acc, floor, out[-3000:])
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
