"""Writes ONNX files that torch.onnx.export makes of the zoo's torchvision
architectures (mobilenet_v2 width 0.35, mnasnet0_5, shufflenet_v2_x0_5 and
x1_0; 10 classes, random weights and BatchNorm statistics, eval mode) at
opsets 11, 13 and 17 with a dynamic batch dimension, each beside a CZT1
bundle with a [2,3,96,96] input and PyTorch's logits for it; with --timm,
timm's mobilenetv2_050 instead (needs the .venv). test_onnx_import imports
each file and compares.
Usage: gen_onnx_torch.py OUT_DIR [--timm]
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

OPSETS = (11, 13, 17)


def models(use_timm):
    if use_timm:
        import timm
        yield "timm_mobilenetv2_050", lambda: timm.create_model("mobilenetv2_050", num_classes=10)
        return
    import torchvision.models as tvm
    yield "tv_mobilenet_v2_035", lambda: tvm.mobilenet_v2(width_mult=0.35, num_classes=10)
    yield "tv_mnasnet0_5", lambda: tvm.mnasnet0_5(num_classes=10)
    yield "tv_shufflenet_v2_x0_5", lambda: tvm.shufflenet_v2_x0_5(num_classes=10)
    yield "tv_shufflenet_v2_x1_0", lambda: tvm.shufflenet_v2_x1_0(num_classes=10)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.rand(b.shape, generator=g) * 0.4 - 0.2)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.4 - 0.2)


def main():
    out = sys.argv[1]
    use_timm = "--timm" in sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    x = torch.rand(2, 3, 96, 96) * 2 - 1
    for k, (name, make) in enumerate(models(use_timm)):
        torch.manual_seed(100 + k)
        model = make()
        randomize(model, 200 + k)
        model.eval()
        with torch.no_grad():
            y = model(x)
        # opset 10 too where torch 1.13 can write it: Clip's bounds as attributes
        for opset in ((10,) if name == "tv_mobilenet_v2_035" else ()) + OPSETS:
            stem = os.path.join(out, f"{name}.opset{opset}")
            torch.onnx.export(model, x[:1], stem + ".onnx", opset_version=opset,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              do_constant_folding=False)
            czt.write(stem + ".czt", {"input": x, "logits": y})
            print(stem + ".onnx")
        if name == "tv_shufflenet_v2_x0_5":
            # torch.onnx.export's defaults: a fixed batch of 1 and constant
            # folding, so reshape targets are literal [1, ...]; czoo still
            # imports it with a free batch
            stem = os.path.join(out, f"{name}.fixed_batch")
            torch.onnx.export(model, x[:1], stem + ".onnx", opset_version=17)
            czt.write(stem + ".czt", {"input": x, "logits": y})
            print(stem + ".onnx")


if __name__ == "__main__":
    main()
