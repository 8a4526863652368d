"""Writes the safetensors files that test_safetensors_file reads (the
safetensors package from PyPI, in .venv), a CZT1 bundle of the tensors each
must yield, and broken files it must reject.
Usage: gen_ptio_safetensors.py OUTDIR"""
import json
import os
import struct
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402


def raw(path, header, data, pad=True):
    """A file with this header (dict, or bytes taken as is) and data."""
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-(8 + len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(5)
    r = torch.randn(3, 4, generator=g)
    t = {"f32": r, "f16": (r * 10).half(), "bf16": (r * 1e4).bfloat16(), "f64": r.double() / 7,
         "i64": torch.tensor([-(2 ** 50), 0, 2 ** 60]), "i32": torch.tensor([7, -7], dtype=torch.int32),
         "i8": torch.tensor([[-128], [127]], dtype=torch.int8), "u8": torch.tensor([0, 200], dtype=torch.uint8),
         "bool": torch.tensor([True, False]), "scalar": torch.tensor(2.5), "empty": torch.zeros(2, 0),
         "name with \"quotes\" and \u00e9": torch.ones(1)}
    save_file(t, os.path.join(out, "good.safetensors"), metadata={"format": "pt", "note": "test"})
    exp = {}
    for k, v in t.items():
        if v.dtype in (torch.float16, torch.bfloat16, torch.float64):
            v = v.float()
        if v.dtype == torch.bool:
            v = v.to(torch.uint8)
        exp[k] = v.numpy()
    czt.write(os.path.join(out, "good.czt"), exp)

    d8 = struct.pack("<2f", 1.5, -2.0)
    ok = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    raw(os.path.join(out, "min.safetensors"), ok, d8)
    bad = {
        "bad_len": (None, None),  # written below
        "not_json": (b"{not json}", d8),
        "not_object": (b"[1,2]", d8),
        "trailing": (json.dumps(ok).encode() + b" x", d8),
        "out_of_range": ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, d8),
        "shape_mismatch": ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, d8),
        "gap": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, d8),
        "overlap": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, d8),
        "uncovered": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, d8),
        "bad_dtype": ({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, d8),
        "no_offsets": ({"a": {"dtype": "F32", "shape": [2]}}, d8),
        "neg_dim": ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, d8),
        "frac_offset": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8.5]}}, d8),
        "huge_dim": ({"a": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 8]}}, d8),
        "rank7": ({"a": {"dtype": "U8", "shape": [1] * 7, "data_offsets": [0, 1]}}, b"\x01"),
        "duplicate": (b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                      b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d8),
        "bad_metadata": ({"__metadata__": {"x": 1}, **ok}, d8),
    }
    for name, (h, data) in bad.items():
        if h is not None:
            raw(os.path.join(out, name + ".safetensors"), h, data)
    with open(os.path.join(out, "bad_len.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 2 ** 40) + b"{}")


if __name__ == "__main__":
    main()
