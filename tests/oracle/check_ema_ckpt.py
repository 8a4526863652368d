"""End-to-end oracle for the training loop's EMA: given two recovery
checkpoints czoo wrote at consecutive updates (k-1 and k), timm 1.0.31's
ModelEmaV3 (as train.py builds it: decay = training.model_ema_decay from
the checkpoint's args) started from the first one's state_dict_ema and
updated with the second one's state_dict at timm's update count k must
give the second one's state_dict_ema, every float within
|ours - ref| <= 4e-7 * |ref| + 1e-9 (the unit test's tolerance); integer
entries (num_batches_tracked) are copied. Prints the largest difference.
Usage: check_ema_ckpt.py PREV.pth.tar NEXT.pth.tar UPDATES_PER_EPOCH
(needs timm: the project's .venv python)."""
import sys

import torch
from timm.utils import ModelEmaV3


class Holder(torch.nn.Module):
    """A module whose state_dict is the given tensors, in order (floats as
    parameters, integers as buffers, one submodule each)."""

    def __init__(self, tensors):
        super().__init__()
        for i, t in enumerate(tensors):
            m = torch.nn.Module()
            if t.is_floating_point():
                m.v = torch.nn.Parameter(t.clone(), requires_grad=False)
            else:
                m.register_buffer("v", t.clone())
            self.add_module("t%d" % i, m)


def main():
    prev = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
    nxt = torch.load(sys.argv[2], map_location="cpu", weights_only=True)
    per_epoch = int(sys.argv[3])
    decay = float(nxt["args"]["training.model_ema_decay"])
    st = nxt["czoo_state"]
    step = st["epoch"] * per_epoch + st["step_in_epoch"]  # train.py's num_updates
    keys = list(nxt["state_dict"])
    ema = ModelEmaV3(Holder([prev["state_dict_ema"][k] for k in keys]), decay=decay)
    ema.update(Holder([nxt["state_dict"][k] for k in keys]), step=step)
    worst = 0.0
    for i, k in enumerate(keys):
        ref, ours = getattr(ema.module, "t%d" % i).v.detach(), nxt["state_dict_ema"][k]
        if not ref.is_floating_point():
            assert torch.equal(ref, ours), k
            continue
        d = (ours.double() - ref.double()).abs()
        worst = max(worst, float(d.max()) if d.numel() else 0.0)
        bad = d > 4e-7 * ref.double().abs() + 1e-9
        assert not bool(bad.any()), "%s: ours %r, timm %r" % (k, ours[bad][:3], ref[bad][:3])
    print("EMA update %d (decay %r) against ModelEmaV3: %d tensors, max abs diff %.3g"
          % (step, decay, len(keys), worst))


if __name__ == "__main__":
    main()
