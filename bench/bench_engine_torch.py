"""PyTorch peer of bench_engine.c: torchvision mobilenet_v2(width_mult=0.35)
in channels_last, same batch, size and thread count, training steps (forward,
backward, SGD with momentum) and eval-mode inference. Prints key value lines.
Usage: bench_engine_torch.py BATCH SIZE THREADS STEPS WARMUP"""
import resource
import sys
import time

import torch
import torchvision


def maxrss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    batch, size, threads, steps, warmup = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(width_mult=0.35).to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, size, size).to(memory_format=torch.channels_last)
    y = torch.arange(batch) % 1000
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    rss0 = maxrss_kib()
    for s in range(warmup + steps):
        if s == warmup:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    rss1 = maxrss_kib()
    print("train_images_per_s %.1f" % (steps * batch / train_s))
    print("train_step_ms %.1f" % (1e3 * train_s / steps))
    print("train_peak_rss_delta_mib %.1f" % ((rss1 - rss0) / 1024.0))
    model.eval()
    isteps = steps * 3
    with torch.no_grad():
        for s in range(warmup + isteps):
            if s == warmup:
                t0 = time.perf_counter()
            model(x)
    print("infer_images_per_s %.1f" % (isteps * batch / (time.perf_counter() - t0)))


if __name__ == "__main__":
    main()
