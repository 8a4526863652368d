"""Writer and reader of test tensor bundles ("CZT1"; the layout is described
in tests/support/tensor_file.h): how oracle scripts hand tensors to C."""
import struct

import numpy as np

_KINDS = {np.dtype(np.float32): 0, np.dtype(np.int64): 1, np.dtype(np.int32): 2,
          np.dtype(np.int8): 3, np.dtype(np.uint8): 4}
_DTYPES = {v: k for k, v in _KINDS.items()}


def write(path, tensors):
    """tensors: dict name -> numpy array (or torch tensor) or str (text)."""
    out = [b"CZT1", struct.pack("<I", len(tensors))]
    for name, value in tensors.items():
        nb = name.encode()
        if isinstance(value, str):
            data = value.encode()
            out += [struct.pack("<H", len(nb)), nb, struct.pack("<BB", 5, 1),
                    struct.pack("<q", len(data)), data]
            continue
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        a = np.require(value, requirements="C")  # keeps rank 0 (ascontiguousarray does not)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        out += [struct.pack("<H", len(nb)), nb, struct.pack("<BB", _KINDS[a.dtype], a.ndim)]
        out += [struct.pack("<q", d) for d in a.shape]
        out.append(a.tobytes())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"".join(out))
    import os
    os.replace(tmp, path)


def read(path):
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:4] == b"CZT1", path
    (count,), pos, res = struct.unpack_from("<I", buf, 4), 8, {}
    for _ in range(count):
        (ln,) = struct.unpack_from("<H", buf, pos); pos += 2
        name = buf[pos:pos + ln].decode(); pos += ln
        kind, rank = struct.unpack_from("<BB", buf, pos); pos += 2
        dims = struct.unpack_from("<%dq" % rank, buf, pos); pos += 8 * rank
        if kind == 5:
            res[name] = buf[pos:pos + dims[0]].decode(); pos += dims[0]
            continue
        dt = _DTYPES[kind]
        n = int(np.prod(dims)) if rank else 1
        res[name] = np.frombuffer(buf, dt, n, pos).reshape(dims).copy(); pos += n * dt.itemsize
    return res
