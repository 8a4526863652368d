"""PyTorch peer of bench_conv.c: the conv layers of torchvision
mobilenet_v2(width_mult=0.35) at 128x128, channels_last (oneDNN), forward
and backward (dX and dW; no dX for the stem), medians in ms, one
tab-separated line per distinct layer in the same order and names.
Usage: bench_conv_torch.py [batch] [threads] [repetitions]"""
import sys
import time

import torch
import torch.nn.functional as F

LAYERS = [  # in, out, kernel, stride, pad, groups, input size, count
    (3, 16, 3, 2, 1, 1, 128, 1), (16, 16, 3, 1, 1, 16, 64, 1), (16, 8, 1, 1, 0, 1, 64, 1),
    (8, 48, 1, 1, 0, 1, 64, 1), (48, 48, 3, 2, 1, 48, 64, 1), (48, 8, 1, 1, 0, 1, 32, 2),
    (8, 48, 1, 1, 0, 1, 32, 2), (48, 48, 3, 1, 1, 48, 32, 1), (48, 48, 3, 2, 1, 48, 32, 1),
    (48, 16, 1, 1, 0, 1, 16, 1), (16, 96, 1, 1, 0, 1, 16, 3), (96, 96, 3, 1, 1, 96, 16, 2),
    (96, 16, 1, 1, 0, 1, 16, 2), (96, 96, 3, 2, 1, 96, 16, 1), (96, 24, 1, 1, 0, 1, 8, 1),
    (24, 144, 1, 1, 0, 1, 8, 4), (144, 144, 3, 1, 1, 144, 8, 4), (144, 24, 1, 1, 0, 1, 8, 3),
    (144, 32, 1, 1, 0, 1, 8, 1), (32, 192, 1, 1, 0, 1, 8, 3), (192, 192, 3, 1, 1, 192, 8, 2),
    (192, 32, 1, 1, 0, 1, 8, 2), (192, 192, 3, 2, 1, 192, 8, 1), (192, 56, 1, 1, 0, 1, 4, 1),
    (56, 336, 1, 1, 0, 1, 4, 3), (336, 336, 3, 1, 1, 336, 4, 3), (336, 56, 1, 1, 0, 1, 4, 2),
    (336, 112, 1, 1, 0, 1, 4, 1), (112, 1280, 1, 1, 0, 1, 4, 1),
]


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    torch.set_num_threads(threads)
    cl = torch.channels_last
    print(f"bench_conv_torch: batch {batch}, {threads} threads, {reps} repetitions, "
          f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}",
          file=sys.stderr)
    for i, (c, m, k, s, pad, groups, h, count) in enumerate(LAYERS):
        stem = i == 0
        x = torch.randn(batch, c, h, h).to(memory_format=cl).requires_grad_(not stem)
        w = torch.randn(m, c // groups, k, k).to(memory_format=cl).requires_grad_(True)
        ho = (h + 2 * pad - k) // s + 1
        gy = torch.randn(batch, m, ho, ho).to(memory_format=cl)
        wrt = (w,) if stem else (x, w)
        tf, tb = [], []
        for r in range(reps + 2):
            t0 = time.perf_counter()
            y = F.conv2d(x, w, None, s, pad, 1, groups)
            t1 = time.perf_counter()
            torch.autograd.grad(y, wrt, gy)
            t2 = time.perf_counter()
            if r >= 2:
                tf.append(t1 - t0)
                tb.append(t2 - t1)
        if groups == c and groups > 1:
            name = f"dw{k}x{k}/s{s} {c} @{h}"
        else:
            name = f"{k}x{k}/s{s} {c}->{m} @{h}"
        print(f"{name}\t{count}\t{1e3 * median(tf):.4f}\t{1e3 * median(tb):.4f}", flush=True)


if __name__ == "__main__":
    main()
