"""The reverse direction: what czoo wrote (test_torch_file and
test_safetensors_file write it into <dir>/written) read by torch 1.13 and
the safetensors package, compared exactly with what it was made from.
Usage: check_ptio_written.py TORCH_DIR SAFETENSORS_DIR"""
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402
from gen_ptio_torch import TinyNet  # noqa: E402


def same(a, b, what):
    assert list(a) == list(b), "%s: keys %s != %s" % (what, list(a), list(b))
    for k in a:
        x, y = a[k], b[k]
        assert x.dtype == y.dtype and x.shape == y.shape, "%s: %s: %s%s != %s%s" % (
            what, k, x.dtype, tuple(x.shape), y.dtype, tuple(y.shape))
        assert torch.equal(x, y), "%s: %s values differ" % (what, k)  # tolerance: exact


def main():
    tdir, sdir = sys.argv[1], sys.argv[2]
    ref = torch.load(os.path.join(tdir, "sd.pt"))
    w = os.path.join(tdir, "written")
    got = torch.load(os.path.join(w, "sd.pt"), weights_only=True)
    same(got, ref, "written/sd.pt")
    TinyNet().load_state_dict(got, strict=True)

    ck = torch.load(os.path.join(w, "ckpt_nofloat.pth.tar"), weights_only=True)
    assert ck["epoch"] == 12 and ck["arch"] == "tinynet" and ck["version"] == 2, ck
    same(ck["state_dict"], ref, "ckpt_nofloat state_dict")
    assert ck["args"] == {"model": "tinynet \"q\" \u00e9", "big": -(2 ** 62) - 3, "mid": 70000, "neg": -129,
                          "none": None, "input_shape": (3, 128, 128)}, ck["args"]
    assert ck["optimizer"]["param_groups"] == [{"params": [0, 1, 2, 3, 4, 5], "nesterov": True}]
    assert torch.equal(ck["optimizer"]["state"][0]["momentum_buffer"], ref["conv.weight"])
    TinyNet().load_state_dict(ck["state_dict"], strict=True)
    sh = ck["shared"]  # memo references (BINGET, LONG_BINGET): the same objects
    assert len(sh) == 602 and sh[0] is sh[1] and torch.equal(sh[0], ref["bn.weight"])
    assert sh[600] is sh[601] and sh[601] == "k299" and sh[2:602:2] == ["k%d" % i for i in range(300)]
    # Floats are BINFLOAT, which torch 1.13's weights_only unpickler lacks
    # (torch >= 2.0 has it): the full unpickler here, on a file with no
    # global outside that unpickler's allow-list.
    wo = torch.__version__ >= "2"
    ck = torch.load(os.path.join(w, "ckpt.pth.tar"), weights_only=wo)
    assert ck["metric"] == -1.5e-300 and ck["optimizer"]["param_groups"][0]["lr"] == 0.025, ck
    same(ck["state_dict"], ref, "ckpt state_dict")

    want = {k: torch.from_numpy(v) for k, v in czt.read(os.path.join(sdir, "good.czt")).items()}
    got = load_file(os.path.join(sdir, "written", "good.safetensors"))
    same({k: got[k] for k in want}, want, "written/good.safetensors")
    assert set(got) == set(want)
    print("czoo-written files read back by torch %s and safetensors: identical" % torch.__version__)


if __name__ == "__main__":
    main()
