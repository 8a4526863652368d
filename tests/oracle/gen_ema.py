"""Oracle for the EMA of the weights (src/train/ema.c, loop_ema.c): timm
1.0.31's ModelEmaV3, built as timm's train.py builds it from --model-ema
and --model-ema-decay (use_warmup off: no model_ema_warmup key in the
config schema), on a tiny module (conv, BatchNorm, linear). Each case walks
the module's state_dict through a fixed pseudo-random sequence of weights
(parameters and BatchNorm running statistics) and calls
ema.update(model, step=s) with train.py's update count, recording every
float entry, concatenated in state_dict order, after each update, to
<out>/<case>.czt; <out>/index.czt lists the cases.
Usage: gen_ema.py <out_dir>   (needs timm: the project's .venv python)"""
import os
import sys

import torch
from timm.utils import ModelEmaV3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

STEPS = 12

# name -> (decay, the update count of the first update)
CASES = {
    "default": (0.9998, 1),   # the schema's default decay, a fresh run
    "decay09": (0.9, 1),
    "decay05": (0.5, 1),
    "resumed": (0.99, 31),    # a later update count: no copying first update
}


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 2)
        self.norm = torch.nn.BatchNorm2d(3)
        self.fc = torch.nn.Linear(4, 5)


def floats(module):
    return torch.cat([v.detach().reshape(-1).clone() for v in module.state_dict().values()
                      if v.is_floating_point()])


def run(case, out_dir):
    decay, first = CASES[case]
    torch.manual_seed(4321)
    m = Tiny()
    with torch.no_grad():
        for v in m.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.randn(v.shape))
    ema = ModelEmaV3(m, decay=decay, use_warmup=False)
    res = {"cfg": "decay=%r first=%d" % (decay, first), "init": floats(m)}
    g = torch.Generator().manual_seed(77)
    for s in range(STEPS):
        with torch.no_grad():  # the next weights: a random walk, as training moves them
            for v in m.state_dict().values():
                if v.is_floating_point():
                    v.add_(torch.randn(v.shape, generator=g) * 0.1)
        ema.update(m, step=first + s)
        res["model/%d" % s] = floats(m)
        res["ema/%d" % s] = floats(ema.module)
    czt.write(os.path.join(out_dir, case + ".czt"), res)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for case in CASES:
        run(case, out_dir)
    czt.write(os.path.join(out_dir, "index.czt"), {"cases": "\n".join(CASES)})


if __name__ == "__main__":
    main()
