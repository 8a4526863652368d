"""Writes the PyTorch checkpoint files that test_torch_file reads (torch
1.13's torch.save), each with a CZT1 bundle of the tensors it must yield,
and hostile files (hand-made pickles and archives) it must reject.
Usage: gen_ptio_torch.py OUTDIR"""
import argparse
import copy
import io
import os
import pickle
import struct
import sys
import types
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402


class TinyNet(torch.nn.Module):
    """Conv, BatchNorm (with its int64 num_batches_tracked), Linear."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.mean((2, 3)))


def tiny_model():
    torch.manual_seed(1)
    m = TinyNet()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.num_batches_tracked.fill_(17)
    return m


def expect(path, tensors):
    """The bundle of what reading `path` must give, float types as float32."""
    out = {}
    for k, v in tensors.items():
        v = v.detach().contiguous()
        if v.dtype in (torch.float16, torch.bfloat16, torch.float64):
            v = v.float()
        if v.dtype == torch.bool:
            v = v.to(torch.uint8)
        out[k] = v.numpy()
    czt.write(path, out)


def zip_with(path, records):
    """A torch-style archive holding `records` (name -> bytes), stored."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in records.items():
            z.writestr(name, data)


def pk_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def pk_int(i):
    return b"J" + struct.pack("<i", i)


def pk_tensor(storage_numel, offset, size, stride, key="0", stype="FloatStorage"):
    """_rebuild_tensor_v2 of a storage, written opcode by opcode."""
    out = b"ctorch._utils\n_rebuild_tensor_v2\n("
    out += b"(" + pk_str("storage") + b"ctorch\n" + stype.encode() + b"\n" + pk_str(key) + pk_str("cpu")
    out += pk_int(storage_numel) + b"tQ" + pk_int(offset)
    out += b"(" + b"".join(pk_int(s) for s in size) + b"t"
    out += b"(" + b"".join(pk_int(s) for s in stride) + b"t"
    out += b"\x89ccollections\nOrderedDict\n)Rt" + b"R"
    return out


def zip64_archive(records):
    """A stored archive with ZIP64 fields everywhere (PKWARE APPNOTE 4.3.9,
    4.5.3, 4.3.14-15), written by hand: Python's zipfile only uses them
    when needed."""
    import zlib
    out, central = bytearray(), bytearray()
    for name, data in records:
        nb, crc, off = name.encode(), zlib.crc32(data), len(out)
        x = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(nb), len(x)) + nb + x + data
        cx = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                               0xFFFFFFFF, len(nb), len(cx), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cx
    cd_off = len(out)
    out += central
    e64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(records), len(records), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, e64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def hostile(out):
    """Archives whose pickle or zip structure must be refused."""
    P = b"\x80\x02"
    storage4 = struct.pack("<4f", 1, 2, 3, 4)
    pickles = {
        "evil_global": P + b"cos\nsystem\nq\x00" + pk_str("ls") + b"\x85R.",
        "evil_eval": P + b"cbuiltins\neval\n" + pk_str("1") + b"\x85R.",
        "evil_reduce_storage": P + b"ctorch\nFloatStorage\n)R.",
        "evil_inst": b"(S'ls'\nios\nsystem\n.",
        "huge_string": P + b"X\xf0\xff\xff\xff" + b"a" * 16 + b".",
        "short_string": P + b"X\xe8\x03\x00\x00" + b"a" * 10 + b".",
        "deep": P + b"]" * 200 + b"a" * 199 + b".",
        "cycle": P + b"]q\x00h\x00a.",
        "memo_missing": P + b"h\x05.",
        "big_int": P + b"\x8a\x09" + b"\x01" * 9 + b".",
        "no_stop": P + b"}",
        "bad_view": P + b"}(" + pk_str("w") + pk_tensor(4, 2, [3], [1]) + b"u.",
        "neg_stride": P + b"}(" + pk_str("w") + pk_tensor(4, 0, [2], [-1]) + b"u.",
        "bad_storage_size": P + b"}(" + pk_str("w") + pk_tensor(5, 0, [5], [1]) + b"u.",
        "missing_storage": P + b"}(" + pk_str("w") + pk_tensor(4, 0, [4], [1], key="7") + b"u.",
        "rank7": P + b"}(" + pk_str("w") + pk_tensor(4, 0, [1] * 7, [1] * 7) + b"u.",
        "proto1": b"\x80\x01N.",
        "two_types": P + b"](" + pk_tensor(4, 0, [4], [1]) + pk_tensor(4, 0, [4], [1], stype="IntStorage") + b"e.",
        "bare_storage": P + b"(" + pk_str("storage") + b"ctorch\nFloatStorage\n" + pk_str("0") + pk_str("cpu")
        + pk_int(4) + b"tQ.",
        "dict_key_list": P + b"}]" + pk_int(1) + b"s.",
        "state_not_tensor": P + b"}(" + pk_str("state_dict") + b"}(" + pk_str("w") + pk_int(3) + b"uu.",
    }
    for name, pkl in pickles.items():
        zip_with(os.path.join(out, name + ".pt"),
                 {"archive/data.pkl": pkl, "archive/data/0": storage4, "archive/version": b"3\n"})
    zip_with(os.path.join(out, "big_endian.pt"),
             {"archive/data.pkl": pickles["bad_view"], "archive/byteorder": b"big", "archive/data/0": storage4})
    # Archive-level damage to a genuine file.
    good = open(os.path.join(out, "sd.pt"), "rb").read()
    with open(os.path.join(out, "zip_truncated.pt"), "wb") as f:
        f.write(good[: len(good) // 2])
    z = zipfile.ZipFile(io.BytesIO(good))
    info = z.getinfo(z.namelist()[1])  # a storage record
    crc = bytearray(good)
    at = info.header_offset
    data_at = at + 30 + struct.unpack_from("<H", good, at + 26)[0] + struct.unpack_from("<H", good, at + 28)[0]
    crc[data_at] ^= 0xFF
    with open(os.path.join(out, "zip_crc.pt"), "wb") as f:
        f.write(bytes(crc))
    # The first record's sizes grown (central directory only) to cover the next.
    ov = bytearray(good)
    cd = good.find(b"PK\x01\x02")
    first = z.infolist()[0]
    grow = first.compress_size + 64
    struct.pack_into("<II", ov, cd + 20, grow, grow)
    with open(os.path.join(out, "zip_overlap.pt"), "wb") as f:
        f.write(bytes(ov))
    # A deflated archive (torch never writes one; other zip tools may).
    with zipfile.ZipFile(os.path.join(out, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dz:
        for n in z.namelist():
            dz.writestr(n, z.read(n))
    # ZIP64 records throughout: every size and offset in ZIP64 extra fields
    # and the ZIP64 end records (torch.load reads it too: checked here).
    zip64_path = os.path.join(out, "zip64.pt")
    with open(zip64_path, "wb") as f:
        f.write(zip64_archive([(n, z.read(n)) for n in z.namelist()]))
    assert set(torch.load(zip64_path)) == set(torch.load(os.path.join(out, "sd.pt")))
    import warnings
    with warnings.catch_warnings():  # zipfile warns about the duplicate name
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(os.path.join(out, "zip_dupname.pt"), "w") as dz:
            dz.writestr("archive/data.pkl", pickles["no_stop"])
            dz.writestr("archive/data.pkl", pickles["no_stop"])
    with open(os.path.join(out, "not_weights.bin"), "wb") as f:
        f.write(b"hello, this is not a weights file\n" * 4)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    m = tiny_model()
    sd = copy.deepcopy(m.state_dict())  # the optimizer step below must not change it
    torch.save(sd, os.path.join(out, "sd.pt"))
    expect(os.path.join(out, "sd.czt"), sd)

    # A timm-style training checkpoint (timm/utils/checkpoint_saver.py):
    # optimizer state after one SGD step, argparse args, EMA weights.
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    m(torch.randn(2, 3, 6, 6)).sum().backward()
    opt.step()
    ema = {k: v.clone() * 0.5 if v.is_floating_point() else v.clone() for k, v in sd.items()}
    args = argparse.Namespace(model="tinynet", lr=0.1, epochs=3, smoothing=None, amp=False,
                              mean=(0.485, 0.456, 0.406), data_dir="/data/x", input_size=[3, 6, 6])
    ckpt = {"epoch": 7, "arch": "tinynet", "optimizer": opt.state_dict(), "version": 2,
            "args": args, "state_dict": sd, "state_dict_ema": ema, "metric": 0.75}
    torch.save(ckpt, os.path.join(out, "timm_ckpt.pth.tar"))
    expect(os.path.join(out, "timm_ckpt.czt"),
           {**{"sd/" + k: v for k, v in sd.items()}, **{"ema/" + k: v for k, v in ema.items()},
            **{"mom/%d" % i: s["momentum_buffer"] for i, s in opt.state_dict()["state"].items()}})
    # The tool we replace saves a SimpleNamespace as args and no optimizer.
    torch.save({"epoch": 1, "arch": "tinynet", "state_dict": sd, "version": 2,
                "args": types.SimpleNamespace(batch_size=8, name="x"), "metric": 12.5},
               os.path.join(out, "st_ckpt.pth.tar"))
    # DataParallel names, under "model".
    torch.save({"model": {"module." + k: v for k, v in sd.items()}}, os.path.join(out, "dp_model.pt"))

    # Views: one storage seen through non-contiguous, offset and expanded views.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {"base": base, "cols": base[:, 1:4], "t": base.t(), "off": base.view(-1)[5:9],
             "step": base[::2, ::3], "exp": base[1, :3].unsqueeze(0).expand(2, 3),
             "scalar": base[2, 2]}
    torch.save(views, os.path.join(out, "views.pt"))
    expect(os.path.join(out, "views.czt"), views)

    g = torch.Generator().manual_seed(3)
    r = torch.randn(2, 3, generator=g)
    dts = {"f16": (r * 100).half(), "bf16": (r * 1e5).bfloat16(), "f64": r.double() / 3,
           "i64": torch.tensor([-(2 ** 40), 7, 2 ** 62]), "i32": torch.tensor([[-5, 2 ** 30]], dtype=torch.int32),
           "i8": torch.tensor([-128, 127], dtype=torch.int8), "u8": torch.tensor([0, 255], dtype=torch.uint8),
           "bool": torch.tensor([True, False, True]), "empty": torch.zeros(0, 3),
           "f16_special": torch.tensor([65504.0, 6e-8, -0.0, float("inf")], dtype=torch.float16),
           "param": torch.nn.Parameter(r.clone())}
    torch.save(dts, os.path.join(out, "dtypes.pt"))
    expect(os.path.join(out, "dtypes.czt"), dts)
    torch.save(sd, os.path.join(out, "proto4.pt"), pickle_protocol=4)
    torch.save(sd, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    hostile(out)


if __name__ == "__main__":
    main()
