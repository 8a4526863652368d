"""Oracle for the optimizers (src/train/optim.c, clip_grad.c): for each case
(an optimizer name and options as timm 1.0.31's create_optimizer_v2 takes
them, and optionally a gradient clip as timm's dispatch_clip_grad) it sets
fixed parameters on a tiny module (a conv weight and bias, a 1-D norm
weight and bias, a linear weight and bias), applies 20 steps of fixed
pseudo-random gradients and writes the parameter trajectory to
<out>/<case>.czt; <out>/index.czt lists the cases.
Usage: gen_optim.py <out_dir>   (needs timm: the project's .venv python)"""
import os
import sys

import torch
from timm.optim import create_optimizer_v2
from timm.utils import dispatch_clip_grad

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

STEPS = 20

# name -> (opt, lr, weight_decay, momentum, eps or None, betas or None,
#          clip_grad or None, clip_mode)
CASES = {
    "sgd": ("sgd", 0.05, 1e-2, 0.9, None, None, None, "norm"),
    "sgd_nowd": ("sgd", 0.05, 0.0, 0.9, None, None, None, "norm"),
    "momentum": ("momentum", 0.05, 1e-2, 0.8, None, None, None, "norm"),
    "nesterov": ("nesterov", 0.05, 1e-2, 0.9, None, None, None, "norm"),
    "adam": ("adam", 1e-2, 1e-2, 0.9, None, None, None, "norm"),
    "adam_betas_eps": ("adam", 1e-2, 0.0, 0.9, 1e-3, (0.8, 0.99), None, "norm"),
    "adamw": ("adamw", 1e-2, 5e-2, 0.9, None, None, None, "norm"),
    "rmsprop": ("rmsprop", 1e-3, 1e-2, 0.9, None, None, None, "norm"),
    "rmsprop_nomom": ("rmsprop", 1e-3, 1e-2, 0.0, None, None, None, "norm"),
    "rmsproptf": ("rmsproptf", 1e-3, 1e-2, 0.9, None, None, None, "norm"),
    "rmsproptf_eps": ("rmsproptf", 1e-3, 0.0, 0.9, 1e-3, None, None, "norm"),
    "lamb": ("lamb", 1e-2, 1e-2, 0.9, None, None, None, "norm"),
    "lion": ("lion", 1e-3, 1e-2, 0.9, None, None, None, "norm"),
    "lion_betas": ("lion", 1e-3, 0.0, 0.9, None, (0.95, 0.98), None, "norm"),
    "adagrad": ("adagrad", 1e-2, 1e-2, 0.9, None, None, None, "norm"),
    "adadelta": ("adadelta", 1.0, 1e-2, 0.9, None, None, None, "norm"),
    "nadam": ("nadam", 2e-3, 1e-2, 0.9, None, None, None, "norm"),
    "radam": ("radam", 1e-2, 1e-2, 0.9, None, None, None, "norm"),
    "adamax": ("adamax", 2e-3, 1e-2, 0.9, None, None, None, "norm"),
    "lars": ("lars", 0.5, 1e-2, 0.9, None, None, None, "norm"),
    "lookahead_adam": ("lookahead_adam", 1e-2, 1e-2, 0.9, None, None, None, "norm"),
    "lookahead_sgd": ("lookahead_sgd", 0.05, 0.0, 0.9, None, None, None, "norm"),
    "sgd_clip_norm": ("sgd", 0.05, 1e-2, 0.9, None, None, 1.0, "norm"),
    "sgd_clip_value": ("sgd", 0.05, 1e-2, 0.9, None, None, 0.3, "value"),
    "adamw_clip_agc": ("adamw", 1e-2, 5e-2, 0.9, None, None, 0.05, "agc"),
}


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 2)
        self.norm = torch.nn.BatchNorm2d(3)
        self.fc = torch.nn.Linear(4, 5)


def run(case, out_dir):
    opt, lr, wd, mom, eps, betas, clip, mode = CASES[case]
    torch.manual_seed(1234)
    m = Tiny()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape))
        if mode == "agc":  # a zero tensor exercises agc's eps (1e-3) floor
            m.conv.bias.zero_()
    kw = {}
    if eps is not None:
        kw["eps"] = eps
    if betas is not None:
        kw["betas"] = betas
    o = create_optimizer_v2(m, opt=opt, lr=lr, weight_decay=wd, momentum=mom, **kw)
    named = list(m.named_parameters())
    res = {}
    cfg = "opt=%s lr=%r wd=%r momentum=%r eps=%s betas=%s clip=%s mode=%s" % (
        opt, lr, wd, mom, repr(eps) if eps is not None else "-",
        ("%r,%r" % betas) if betas is not None else "-",
        repr(clip) if clip is not None else "-", mode)
    res["cfg"] = cfg
    res["names"] = "\n".join(n for n, _ in named)
    for n, p in named:
        res["init/" + n] = p.detach().clone()
    g = torch.Generator().manual_seed(99)
    for s in range(STEPS):
        for n, p in named:
            p.grad = torch.randn(p.shape, generator=g) * 0.5
            res["grad/%d/%s" % (s, n)] = p.grad.clone()
        if clip is not None:
            dispatch_clip_grad(m.parameters(), clip, mode=mode)
        o.step()
        for n, p in named:
            res["param/%d/%s" % (s, n)] = p.detach().clone()
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
