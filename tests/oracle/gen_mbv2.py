"""Oracle for the engine's model-level check: torchvision's
mobilenet_v2(width_mult=0.35, num_classes=10) with random weights, one
training-mode forward/backward (batch statistics, running-statistics
update), and 10 steps of SGD with momentum, computed in float64 (the ground
truth) and in float32 (PyTorch's own figures, to put ours beside).

The 10 steps run twice: with BatchNorm frozen (running statistics, as when
fine-tuning) and with batch statistics. The second is chaotic at this size:
a few ReLU6 inputs within rounding of 0 flip between float32 and float64,
and BatchNorm over channels of near-zero variance amplifies the flip, so
PyTorch's own float32 run leaves the float64 one by percents within 10
steps. Only the frozen run is well-conditioned enough for a 1e-3 bound.
Writes <out>/mbv2.czt. Usage: gen_mbv2.py OUTDIR"""
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


def sgd_steps(model, dtype, xs, ys, batch_stats):
    m = copy.deepcopy(model).to(dtype).train(batch_stats)
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
        eval_logits = m(torch.from_numpy(xs[0]).to(dtype))
    return np.array(losses), eval_logits


def run(model, dtype, xs, ys):
    """One training step's logits, loss, gradients and updated running
    statistics; the frozen-BN and batch-statistics trajectories; eval-mode
    logits after the frozen run."""
    m = copy.deepcopy(model).to(dtype).train()
    logits = m(torch.from_numpy(xs[0]).to(dtype))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ys[0]))
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in m.named_parameters()}
    stats = {k: v.detach().clone() for k, v in m.state_dict().items() if "running_" in k}
    losses, eval_logits = sgd_steps(model, dtype, xs, ys, False)
    losses_bn, _ = sgd_steps(model, dtype, xs, ys, True)
    return logits.detach(), loss.detach(), grads, stats, losses, losses_bn, eval_logits


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
        logits, loss, grads, stats, losses, losses_bn, eval_logits = r
        t[name + ".logits"] = logits.float()
        t[name + ".loss"] = loss.float().reshape(1)
        t[name + ".losses"] = losses.astype(np.float32)
        t[name + ".losses_bn"] = losses_bn.astype(np.float32)
        t[name + ".eval_logits"] = eval_logits.float()
        for k, g in grads.items():
            t[name + ".g." + k] = g.float()
        for k, v in stats.items():
            t[name + ".s." + k] = v.float()
    t["config"] = "batch=%d size=%d classes=%d steps=%d lr=%g momentum=%g" % (
        BATCH, SIZE, CLASSES, STEPS, LR, MOMENTUM)
    czt.write(os.path.join(out, "mbv2.czt"), t)


if __name__ == "__main__":
    main()
