"""Oracle for the zoo's pytorchcv models (tests/unit/test_zoo_pytorchcv.c).

For each model: pytorchcv's own builder (pretrained=False, num_classes=10)
with a fixed seed, BatchNorm affine parameters and running statistics
randomized (so that a mix-up of any two tensors shows), eval mode, one
batch of 2 at the smallest input size the model accepts; and, with batch 1,
which input sizes around the accepted range give [1, 10] logits (pytorchcv
ends with a fixed AvgPool2d, see src/zoo/zoo_pytorchcv.c).

Writes <out>/<zoo name>.czt holding `sd/<key>` (the state_dict, every
entry in order, num_batches_tracked included), `input`, `logits`,
`params` (sum of p.numel()), `sizes` and `size_ok`; and <out>/<zoo
name>.pth (torch.save of the state_dict) for the checkpoint reader's
tests. Usage: gen_zoo_pytorchcv.py OUTDIR"""
import os
import sys

import numpy as np
import torch
from pytorchcv.model_provider import get_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

CLASSES = 10
STRIDE32 = (193, [192, 193, 224, 225, 256])  # smallest size, sizes probed
SQUEEZE = (213, [212, 213, 228, 229, 256])
MODELS = [
    ("mobilenet_a025_pt", "mobilenet_wd4", STRIDE32),
    ("mobilenet_a050_pt", "mobilenet_wd2", STRIDE32),
    ("mobilenet_a075_pt", "mobilenet_w3d4", STRIDE32),
    ("fdmobilenet_a025_pt", "fdmobilenet_wd4", STRIDE32),
    ("fdmobilenet_a050_pt", "fdmobilenet_wd2", STRIDE32),
    ("fdmobilenet_a075_pt", "fdmobilenet_w3d4", STRIDE32),
    ("mobilenetv2_a025_pt", "mobilenetv2_wd4", STRIDE32),
    ("mobilenetv2_a075_pt", "mobilenetv2_w3d4", STRIDE32),
    ("squeezenetv10_pt", "squeezenet_v1_0", SQUEEZE),
    ("resnet18wd4_pt", "resnet18_wd4", STRIDE32),
]


def make(ref, seed):
    torch.manual_seed(seed)
    m = get_model(ref, pretrained=False, num_classes=CLASSES)
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                mod.bias.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))
                mod.num_batches_tracked.fill_(seed + 7)
            elif isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)) and mod.bias is not None:
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
    return m.eval()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for i, (zoo, ref, (size, probe)) in enumerate(MODELS):
        m = make(ref, 100 + i)
        rng = np.random.default_rng(i)
        x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
        with torch.no_grad():
            logits = m(torch.from_numpy(x))
            ok = []
            for s in probe:
                try:
                    y = m(torch.zeros(1, 3, s, s))
                    ok.append(int(tuple(y.shape) == (1, CLASSES)))
                except RuntimeError:
                    ok.append(0)
        sd = m.state_dict()
        t = {"sd/" + k: v for k, v in sd.items()}
        t["input"] = x
        t["logits"] = logits
        t["params"] = np.array([sum(p.numel() for p in m.parameters())], dtype=np.int64)
        t["sizes"] = np.array(probe, dtype=np.int64)
        t["size_ok"] = np.array(ok, dtype=np.int64)
        t["reference"] = "pytorchcv %s num_classes=%d" % (ref, CLASSES)
        czt.write(os.path.join(out, zoo + ".czt"), t)
        torch.save(sd, os.path.join(out, zoo + ".pth"))


if __name__ == "__main__":
    main()
