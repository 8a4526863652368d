#!/usr/bin/python3
"""Oracle for layer-wise lr decay (src/train/layer_decay.c and the
optimizer's param groups): timm 1.0.31's create_optimizer_v2 with
layer_decay on each zoo model that has an installable reference (timm and
torchvision models as gen_zoo.py builds them, pytorchcv models as
gen_zoo_pytorchcv.py does, 10 classes), passed straight as an nn.Module as
the tool we replace does. Writes <out>/groups.czt: per model a text
"<zoo>" listing each parameter (named_parameters order) as
"name lr_scale weight_decay group" (group = index of its param group),
then "groups <count> mean_lr <repr>" (the mean of the groups' lrs after
the scheduler's update_groups, what train.py logs). And <out>/steps.czt:
3 steps of adamw, sgd and lamb with layer_decay 0.75 on timm's
mobilenetv2_050 (fixed random gradients, a cosine schedule stepping the
groups' lr between steps): initial parameters p/<name>, gradients
g<k>/<name>, the base lr of each step ("lrs" text) and the final
parameters <opt>/<name>. Usage: gen_layer_decay.py OUT_DIR (the .venv
python: timm, pytorchcv)."""
import logging
import os
import sys

import torch
import timm
from timm.optim import create_optimizer_v2
from timm.scheduler import CosineLRScheduler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402
import gen_zoo  # noqa: E402
import gen_zoo_pytorchcv  # noqa: E402

LR, WD, LD = 0.01, 0.05, 0.75
# timm warns once per model without a group_matcher (the one-layer fallback)
logging.getLogger("timm").setLevel(logging.ERROR)
STEPS = 3


def models():
    for zoo, ctor, _ in gen_zoo.MODELS:
        yield zoo, ctor
    for zoo, ref, _ in gen_zoo_pytorchcv.MODELS:
        yield zoo, (lambda ref=ref: gen_zoo_pytorchcv.get_model(ref, pretrained=False,
                                                                 num_classes=10))


def describe(model):
    opt = create_optimizer_v2(model, "adamw", lr=LR, weight_decay=WD, layer_decay=LD)
    CosineLRScheduler(opt, t_initial=10)  # update_groups: lr = lr * lr_scale
    where = {}
    for gi, g in enumerate(opt.param_groups):
        for p in g["params"]:
            where[id(p)] = (g.get("lr_scale", 1.0), g["weight_decay"], gi)
    lines = []
    for name, p in model.named_parameters():
        s, wd, gi = where[id(p)]
        lines.append("%s %r %r %d" % (name, float(s), float(wd), gi))
    lrs = [g["lr"] for g in opt.param_groups]
    lines.append("groups %d mean_lr %r" % (len(lrs), sum(lrs) / len(lrs)))
    return "\n".join(lines) + "\n"


def steps():
    torch.manual_seed(0)
    model = timm.create_model("mobilenetv2_050", num_classes=10)
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    g = torch.Generator().manual_seed(1)
    grads = [{n: torch.randn(p.shape, generator=g) * 0.1 for n, p in init.items()}
             for _ in range(STEPS)]
    out = {"p/" + n: v for n, v in init.items()}
    for k in range(STEPS):
        out.update({"g%d/%s" % (k, n): v for n, v in grads[k].items()})
    lrs = None
    for opt_name in ["adamw", "sgd", "lamb"]:
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(init[n])
        opt = create_optimizer_v2(model, opt_name, lr=LR, weight_decay=WD, layer_decay=LD)
        sched = CosineLRScheduler(opt, t_initial=STEPS + 1)
        base = [LR]
        for k in range(STEPS):
            for n, p in model.named_parameters():
                p.grad = grads[k][n].clone()
            opt.step()
            sched.step(k + 1)
            base.append(sched._get_lr(k + 1)[0])
        lrs = base[:STEPS]
        out.update({opt_name + "/" + n: p.detach().clone() for n, p in model.named_parameters()})
    out["lrs"] = " ".join(repr(float(v)) for v in lrs)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_layer_decay.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    groups = {zoo: describe(ctor()) for zoo, ctor in models()}
    czt.write(os.path.join(sys.argv[1], "groups.czt"), groups)
    czt.write(os.path.join(sys.argv[1], "steps.czt"), steps())
    print("layer decay oracle: %d models, %d optimizer steps x 3 optimizers"
          % (len(groups), STEPS))


if __name__ == "__main__":
    main()
