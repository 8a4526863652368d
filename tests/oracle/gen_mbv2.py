"""Oracle for the engine's model-level check: torchvision's
mobilenet_v2(width_mult=0.35, num_classes=10) with random weights, one
training-mode forward/backward, and 10 steps of SGD with momentum, computed
in float64 (the ground truth) and in float32 (PyTorch's own figures, to put
ours beside). Writes <out>/mbv2.czt. Usage: gen_mbv2.py OUTDIR"""
import copy
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

BATCH, SIZE, CLASSES, STEPS, LR, MOMENTUM = 4, 64, 10, 10, 0.05, 0.9


def make_model():
    torch.manual_seed(0)
    m = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=CLASSES, dropout=0.0)
    # Non-trivial BatchNorm state so both the affine parameters and the
    # running statistics are exercised.
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.copy_(1 + 0.1 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
                mod.running_mean.copy_(0.1 * torch.randn(mod.running_mean.shape, generator=g))
                mod.running_var.copy_(1 + 0.1 * torch.rand(mod.running_var.shape, generator=g))
            if isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(0.1 * torch.randn(mod.weight.shape, generator=g))
    return m


def run(model, dtype, xs, ys):
    """One step's logits, loss and gradients, then the loss trajectory of
    STEPS SGD steps (step i on batch i), then eval-mode logits."""
    m = copy.deepcopy(model).to(dtype).train()
    x0 = torch.from_numpy(xs[0]).to(dtype)
    logits = m(x0)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ys[0]))
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in m.named_parameters()}
    m = copy.deepcopy(model).to(dtype).train()
    opt = torch.optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM)
    losses = []
    for i in range(STEPS):
        opt.zero_grad()
        l = torch.nn.functional.cross_entropy(m(torch.from_numpy(xs[i]).to(dtype)),
                                              torch.from_numpy(ys[i]))
        l.backward()
        opt.step()
        losses.append(l.item())
    m.eval()
    with torch.no_grad():
        eval_logits = m(x0)
    return logits.detach(), loss.detach(), grads, np.array(losses), eval_logits


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    model = make_model()
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((STEPS, BATCH, 3, SIZE, SIZE)).astype(np.float32)
    ys = rng.integers(0, CLASSES, (STEPS, BATCH)).astype(np.int64)
    ref = run(model, torch.float64, xs, ys)
    f32 = run(model, torch.float32, xs, ys)
    t = {}
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            t["w." + k] = v.float()
    for i in range(STEPS):
        t["x.%d" % i] = xs[i]
        t["y.%d" % i] = ys[i]
    for name, r in (("ref", ref), ("pt32", f32)):
        logits, loss, grads, losses, eval_logits = r
        t[name + ".logits"] = logits.float()
        t[name + ".loss"] = loss.float().reshape(1)
        t[name + ".losses"] = losses.astype(np.float32)
        t[name + ".eval_logits"] = eval_logits.float()
        for k, g in grads.items():
            t[name + ".g." + k] = g.float()
    t["config"] = "batch=%d size=%d classes=%d steps=%d lr=%g momentum=%g" % (
        BATCH, SIZE, CLASSES, STEPS, LR, MOMENTUM)
    czt.write(os.path.join(out, "mbv2.czt"), t)


if __name__ == "__main__":
    main()
