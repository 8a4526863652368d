"""Oracle for the zoo's timm and torchvision models: each reference model
(timm 1.0.31 from PyPI, torchvision from Debian) built with 10 classes and
a fixed seed, with every BatchNorm's affine parameters and running
statistics and every bias randomized (so loading each tensor matters),
in eval mode. For each model it writes <out>/<zoo name>.czt holding the
state_dict (prefix "sd/", num_batches_tracked included), an input
"x" (batch 2), the reference logits "ref" computed in float64 (the ground
truth) and "pt32" in float32 (PyTorch's own error, for context), the
parameter count "param_count", the input shape "shape" and, sampled
the train-mode float64 logits "train_ref" (dropout off) and running
statistics "train_stat/<name>" after that forward; from the freshly built
model, the standard deviation of each large
Conv/Linear weight ("init_std/<name>", the initialization law); and the
state_dict once more through torch.save as <out>/<zoo name>.pth (for the
PyTorch checkpoint reader). Usage: gen_zoo.py OUTDIR (needs the .venv
python: timm)."""
import copy
import os
import sys

import numpy as np
import timm
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

CLASSES = 10

# zoo name -> (constructor, input [C,H,W]); the last two are extra shapes
# of models already listed (non-square input, another width).
MODELS = [
    ("mobilenetv2_a050_pt", lambda: timm.create_model("mobilenetv2_050", num_classes=CLASSES), (3, 96, 96)),
    ("mobilenetv2_a100_pt", lambda: timm.create_model("mobilenetv2_100", num_classes=CLASSES), (3, 96, 96)),
    ("semnasnet100_pt", lambda: timm.create_model("semnasnet_100", num_classes=CLASSES), (3, 96, 96)),
    ("mobilenetv4small_pt", lambda: timm.create_model("mobilenetv4_conv_small", num_classes=CLASSES),
     (3, 96, 96)),
    ("mobilenetv2_w035_pt", lambda: torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=CLASSES),
     (3, 96, 96)),
    ("mnasnet_d050_pt", lambda: torchvision.models.mnasnet0_5(num_classes=CLASSES), (3, 96, 96)),
    ("shufflenetv2_x050_pt", lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=CLASSES),
     (3, 96, 96)),
    ("shufflenetv2_x100_pt", lambda: torchvision.models.shufflenet_v2_x1_0(num_classes=CLASSES),
     (3, 96, 96)),
]
EXTRA = [  # (file name, zoo name, input): non-square inputs
    ("semnasnet100_pt_80x112", "semnasnet100_pt", (3, 80, 112)),
    ("shufflenetv2_x050_pt_112x64", "shufflenetv2_x050_pt", (3, 112, 64)),
]


def randomize(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.copy_(1 + 0.2 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.copy_(0.2 * torch.randn(mod.bias.shape, generator=g))
                mod.running_mean.copy_(0.2 * torch.randn(mod.running_mean.shape, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g))
                mod.num_batches_tracked.fill_(7)
            elif isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)) and mod.bias is not None:
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))


def init_stds(m):
    """Standard deviation of each freshly initialized Conv/Linear weight of
    500 elements or more: the reference's initialization law, sampled."""
    return {"init_std/" + n + ".weight": np.array([mod.weight.detach().double().std().item()],
                                                  np.float32)
            for n, mod in m.named_modules()
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)) and mod.weight.numel() >= 500}


def train_forward(model, x):
    """One train-mode forward in float64 with dropout off: batch-statistic
    BatchNorm and the running statistics it leaves (each model's own
    momentum)."""
    m = copy.deepcopy(model).double().train()
    for mod in m.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    with torch.no_grad():
        logits = m(torch.from_numpy(x).double())
    stats = {"train_stat/" + k: v.float() for k, v in m.state_dict().items() if ".running_" in k}
    return logits.float(), stats


def write(out, fname, model, shape, seed, extra=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2,) + tuple(shape)).astype(np.float32)
    with torch.no_grad():
        ref = copy.deepcopy(model).double().eval()(torch.from_numpy(x).double())
        pt32 = model.eval()(torch.from_numpy(x))
    train_logits, train_stats = train_forward(model, x)
    t = {"sd/" + k: v for k, v in model.state_dict().items()}
    t["train_ref"] = train_logits
    t.update(train_stats)
    t["x"] = x
    t["ref"] = ref.float()
    t["pt32"] = pt32
    t["param_count"] = np.array([sum(p.numel() for p in model.parameters())], np.int64)
    t["shape"] = np.array(shape, np.int64)
    t.update(extra or {})
    czt.write(os.path.join(out, fname + ".czt"), t)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    built = {}
    for i, (name, make, shape) in enumerate(MODELS):
        torch.manual_seed(i)
        m = make()
        stds = init_stds(m)
        randomize(m, 100 + i)
        m.eval()
        built[name] = m
        write(out, name, m, shape, 200 + i, stds)
        tmp = os.path.join(out, name + ".pth.tmp")
        torch.save(m.state_dict(), tmp)
        os.replace(tmp, os.path.join(out, name + ".pth"))
    for i, (fname, name, shape) in enumerate(EXTRA):
        write(out, fname, built[name], shape, 300 + i)


if __name__ == "__main__":
    main()
