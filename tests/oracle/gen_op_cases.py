#!/usr/bin/python3
"""PyTorch oracle for every op: writes one CZT1 bundle per case (inputs, a
random upstream gradient, expected outputs, gradients and updated buffers)
for tests/unit/test_ops_torch.c. Usage: gen_op_cases.py OUT_DIR.

Bundle contents (names are what the C test looks up):
  spec          text: "op=Conv; in=X:input:grad,W:param,B:param; out=1;
                training=0; attr kernel_shape=ints:3,3; ..." (input kinds:
                input[:grad], param, buffer, const; "-" is an absent
                optional input; attribute types int, float, ints, floats,
                string)
  <input name>  every present input, float32 or int64, logical row-major
  gy.<i>        upstream gradient of float output i
  y.<i>         expected output i
  g.<name>      expected gradient of each param and :grad input
  after.<name>  expected buffer after one training forward (BN running stats)
  tol           float32[1]: the bound on the max relative error
Reference values are computed in float64 from the float32 inputs (so they
carry no fp32 rounding of their own) and stored as float32. As a check on
the bounds, the same case is also run in float32 PyTorch and must land
within a tenth of its bound."""
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import czt  # noqa: E402

torch.set_num_threads(1)

# The bound on max|czoo - ref| / max|ref| per tensor, the same for every
# op: float32 PyTorch lands within 1e-6 of the float64 reference on all of
# these cases (write_case checks it stays within a tenth of the bound), so
# 1e-4 leaves room for another summation order, one-pass variances or a
# vectorized exp/erf/tanh approximation, while a wrong index, pad or
# divisor shows up as 1e-2 or more. No case needs more: the reductions
# (Conv K <= 75, BatchNorm N*H*W <= 75, LayerNorm D <= 16) are short.
TOL = 1e-4


class Case:
    def __init__(self, name, op, fn, out=1, training=False, tol=TOL):
        self.name, self.op, self.fn, self.out = name, op, fn, out
        self.training, self.tol = training, tol
        self.inputs = []  # (name, kind, grad, array or None)
        self.attrs = []   # (name, type, value)
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))

    # Inputs, in the op's ONNX input order.
    def add(self, name, kind, arr, grad=False):
        self.inputs.append((name, kind, grad, arr))
        return self

    def absent(self):
        self.inputs.append(("-", "absent", False, None))
        return self

    def attr(self, name, typ, value):
        self.attrs.append((name, typ, value))
        return self

    # Data helpers (float32 numpy).
    def randn(self, *shape, scale=1.0, offset=0.0):
        return np.asarray(self.rng.standard_normal(shape) * scale + offset, np.float32)

    def spec(self):
        ins = []
        for name, kind, grad, _ in self.inputs:
            ins.append("-" if kind == "absent" else name + ":" + kind + (":grad" if grad else ""))
        parts = ["op=" + self.op, "in=" + ",".join(ins), "out=%d" % self.out,
                 "training=%d" % int(self.training)]
        for name, typ, v in self.attrs:
            if typ == "ints":
                v = ",".join(str(int(x)) for x in v)
            elif typ == "floats":
                v = ",".join(repr(float(x)) for x in v)
            elif typ == "float":
                v = repr(float(v))
            parts.append("attr %s=%s:%s" % (name, typ, v))
        return "; ".join(parts)


def away(x, kinks, margin=0.05):
    """Moves values within `margin` of a kink (Relu at 0, Clip at its
    bounds) out to `margin`, where the derivative is well defined."""
    x = x.copy()
    for k in kinks:
        d = x - k
        near = np.abs(d) < margin
        x[near] = k + np.where(d[near] >= 0, margin, -margin)
    return x.astype(np.float32)


def distinct(c, *shape, step=0.02):
    """Values with no ties, at least `step` apart (MaxPool's argmax is then
    unique and PyTorch and czoo route the gradient to the same element)."""
    n = int(np.prod(shape))
    v = (c.rng.permutation(n) - n / 2) * step
    return v.reshape(shape).astype(np.float32)


def run_torch(case, dtype):
    """Forward, backward and updated buffers of one case at `dtype`."""
    t, wrt, bufs = {}, [], {}
    for name, kind, grad, arr in case.inputs:
        if kind == "absent":
            continue
        if arr.dtype == np.int64:
            t[name] = torch.from_numpy(arr)
            continue
        x = torch.tensor(arr, dtype=dtype)  # a copy: BatchNorm updates its buffers in place
        if kind == "param" or grad:
            x.requires_grad_(True)
            wrt.append(name)
        if kind == "buffer":
            bufs[name] = x
        t[name] = x
    outs = case.fn(t)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    assert len(outs) == case.out, case.name
    gys = [torch.from_numpy(gy).to(dtype) for gy in case.gy(outs)]
    grads = torch.autograd.grad(outs, [t[n] for n in wrt], gys) if wrt else []
    return ([o.detach() for o in outs], dict(zip(wrt, grads)),
            {n: b.detach() for n, b in bufs.items()})


def rel_err(a, ref):
    a, ref = a.double(), ref.double()
    return float((a - ref).abs().max() / max(float(ref.abs().max()), 1e-6)) if ref.numel() else 0.0


def write_case(case, out_dir):
    gy_cache = []

    def gy(outs):
        # One upstream gradient per float output, drawn once (the fp64 and
        # fp32 runs must see the same one).
        if not gy_cache:
            for o in outs:
                gy_cache.append(case.randn(*o.shape))
        return gy_cache

    case.gy = gy
    outs, grads, bufs = run_torch(case, torch.float64)
    o32, g32, b32 = run_torch(case, torch.float32)
    worst = max([rel_err(a, b) for a, b in zip(o32, outs)] +
                [rel_err(g32[n], grads[n]) for n in grads] +
                [rel_err(b32[n], bufs[n]) for n in bufs])
    assert worst < case.tol / 10, "%s: float32 PyTorch is %.3g off (bound %g)" % (
        case.name, worst, case.tol)
    b = {"spec": case.spec()}
    for name, kind, _, arr in case.inputs:
        if kind != "absent":
            b[name] = arr
    for i, o in enumerate(outs):
        b["gy.%d" % i] = gy_cache[i]
        b["y.%d" % i] = o.numpy().astype(np.float32)
    for n, gr in grads.items():
        b["g." + n] = gr.numpy().astype(np.float32)
    if case.training:
        for n, buf in bufs.items():
            b["after." + n] = buf.numpy().astype(np.float32)
    b["tol"] = np.array([case.tol], np.float32)
    czt.write(os.path.join(out_dir, case.name + ".czt"), b)
    return worst


# ---------------------------------------------------------------- cases

def onnx_pad_torch(pads):
    """ONNX pads [b0..b(r-1), e0..e(r-1)] to F.pad's (b_last, e_last, ...)."""
    r = len(pads) // 2
    out = []
    for a in reversed(range(r)):
        out += [pads[a], pads[a + r]]
    return out


def conv(name, n, c, h, w, m, k, stride=1, pads=None, dil=1, group=1, bias=True, kw=None):
    kh, kw = k, (kw or k)
    pads = pads if pads is not None else [0, 0, 0, 0]

    def fn(t):
        x = F.pad(t["X"], onnx_pad_torch([0, 0] + pads[:2] + [0, 0] + pads[2:]))
        return F.conv2d(x, t["W"], t.get("B"), stride=stride, dilation=dil, groups=group)

    cs = Case(name, "Conv", fn)
    cs.add("X", "input", cs.randn(n, c, h, w), grad=True)
    cs.add("W", "param", cs.randn(m, c // group, kh, kw, scale=0.5))
    if bias:
        cs.add("B", "param", cs.randn(m))
    st = stride if isinstance(stride, tuple) else (stride, stride)
    cs.attr("kernel_shape", "ints", [kh, kw]).attr("strides", "ints", st)
    cs.attr("pads", "ints", pads).attr("dilations", "ints", [dil, dil]).attr("group", "int", group)
    return cs


def conv_cases():
    return [
        conv("conv_1x1", 2, 4, 5, 5, 6, 1),
        conv("conv_3x3_s1_p1", 2, 3, 7, 7, 5, 3, pads=[1, 1, 1, 1]),
        conv("conv_3x3_s2_p1", 3, 4, 9, 8, 6, 3, stride=2, pads=[1, 1, 1, 1]),
        conv("conv_3x3_s2_p1_nobias", 2, 4, 8, 8, 6, 3, stride=2, pads=[1, 1, 1, 1], bias=False),
        conv("conv_5x5_p2", 2, 3, 8, 8, 4, 5, pads=[2, 2, 2, 2]),
        # pads (top, left, bottom, right) = (0, 0, 1, 1): TF-style "same" for
        # stride 2, i.e. F.pad(x, (0, 1, 0, 1)) then an unpadded conv.
        conv("conv_asym_pads", 2, 3, 8, 8, 4, 3, stride=2, pads=[0, 0, 1, 1]),
        conv("conv_dilation2", 2, 3, 9, 9, 4, 3, pads=[2, 2, 2, 2], dil=2),
        conv("conv_group2", 2, 4, 6, 6, 6, 3, pads=[1, 1, 1, 1], group=2),
        conv("conv_group4_s2_nobias", 2, 8, 7, 7, 8, 3, stride=2, pads=[1, 1, 1, 1], group=4,
             bias=False),
        conv("conv_dw_3x3_s1", 2, 6, 7, 7, 6, 3, pads=[1, 1, 1, 1], group=6),
        conv("conv_dw_3x3_s2_nobias", 3, 6, 8, 8, 6, 3, stride=2, pads=[1, 1, 1, 1], group=6,
             bias=False),
        conv("conv_1x3_s12", 2, 3, 5, 8, 4, 1, kw=3, stride=(1, 2), pads=[0, 1, 0, 1]),
    ]


def batchnorm(name, shape, training):
    c = shape[1]

    def fn(t):
        # PyTorch's momentum 0.1 is ONNX's 0.9 (the weight of the old
        # running value). In training the running variance is updated with
        # the unbiased batch variance, as PyTorch does.
        return F.batch_norm(t["X"], t["input_mean"], t["input_var"], t["scale"], t["B"],
                            training=training, momentum=0.1, eps=1e-5)

    cs = Case(name, "BatchNormalization", fn, training=training)
    cs.add("X", "input", cs.randn(*shape, scale=1.5, offset=0.7), grad=True)
    cs.add("scale", "param", cs.randn(c, scale=0.5, offset=1.0))
    cs.add("B", "param", cs.randn(c))
    cs.add("input_mean", "buffer", cs.randn(c, scale=0.3))
    cs.add("input_var", "buffer", (cs.rng.uniform(0.5, 2.0, c)).astype(np.float32))
    cs.attr("epsilon", "float", 1e-5).attr("momentum", "float", 0.9)
    return cs


def gemm_cases():
    out = []

    def gemm(name, a_shape, b_shape, c_shape, alpha=1.0, beta=1.0, ta=0, tb=0):
        def fn(t):
            a = t["A"].t() if ta else t["A"]
            b = t["B"].t() if tb else t["B"]
            y = alpha * (a @ b)
            return y + beta * t["C"] if "C" in t else y

        cs = Case(name, "Gemm", fn)
        cs.add("A", "input", cs.randn(*a_shape), grad=True)
        cs.add("B", "param", cs.randn(*b_shape, scale=0.5))
        if c_shape:
            cs.add("C", "param", cs.randn(*c_shape))
        if alpha != 1.0:
            cs.attr("alpha", "float", alpha)
        if beta != 1.0:
            cs.attr("beta", "float", beta)
        if ta:
            cs.attr("transA", "int", 1)
        if tb:
            cs.attr("transB", "int", 1)
        out.append(cs)

    gemm("gemm_linear", (4, 6), (5, 6), (5,), tb=1)  # nn.Linear
    gemm("gemm_linear_nobias", (3, 7), (4, 7), None, tb=1)
    gemm("gemm_transA", (6, 4), (6, 5), (5,), ta=1)
    gemm("gemm_alpha_beta", (4, 6), (6, 5), (4, 5), alpha=0.5, beta=2.0)
    return out


def matmul_cases():
    out = []
    for name, a, b in [("matmul_2d", (4, 6), (6, 5)),
                       ("matmul_3d", (2, 4, 6), (2, 6, 5)),
                       ("matmul_4d_bcast", (2, 3, 4, 6), (1, 3, 6, 5)),
                       ("matmul_4d_by_2d", (2, 3, 4, 6), (6, 5))]:
        cs = Case(name, "MatMul", lambda t: torch.matmul(t["A"], t["B"]))
        cs.add("A", "input", cs.randn(*a), grad=True).add("B", "input", cs.randn(*b), grad=True)
        out.append(cs)
    return out


def unary(name, op, fn, scale=1.0, kinks=(), shape=(2, 3, 4, 5), attrs=()):
    cs = Case(name, op, fn)
    cs.add("X", "input", away(cs.randn(*shape, scale=scale), kinks), grad=True)
    for a in attrs:
        cs.attr(*a)
    return cs


def activation_cases():
    out = [
        unary("relu", "Relu", lambda t: F.relu(t["X"]), kinks=(0,)),
        unary("relu_2d", "Relu", lambda t: F.relu(t["X"]), kinks=(0,), shape=(4, 7)),
        unary("hardswish", "HardSwish", lambda t: F.hardswish(t["X"]), 3.0, (-3, 3)),
        # ONNX HardSigmoid defaults to alpha 0.2; alpha 1/6 is PyTorch's.
        unary("hardsigmoid", "HardSigmoid", lambda t: F.hardsigmoid(t["X"]), 3.0, (-3, 3),
              attrs=[("alpha", "float", 1.0 / 6.0), ("beta", "float", 0.5)]),
        unary("sigmoid", "Sigmoid", lambda t: torch.sigmoid(t["X"]), 3.0),
        unary("silu", "Silu", lambda t: F.silu(t["X"]), 3.0),
        unary("tanh", "Tanh", lambda t: torch.tanh(t["X"]), 2.0),
        unary("gelu", "Gelu", lambda t: F.gelu(t["X"]), 2.0,
              attrs=[("approximate", "string", "none")]),
        unary("gelu_tanh", "Gelu", lambda t: F.gelu(t["X"], approximate="tanh"), 2.0,
              attrs=[("approximate", "string", "tanh")]),
        unary("leakyrelu", "LeakyRelu", lambda t: F.leaky_relu(t["X"], 0.1), kinks=(0,),
              attrs=[("alpha", "float", 0.1)]),
        unary("identity", "Identity", lambda t: t["X"] * 1.0),
        unary("dropout_eval", "Dropout", lambda t: F.dropout(t["X"], 0.5, training=False)),
        unary("droppath_eval", "DropPath", lambda t: t["X"] * 1.0),
    ]
    # ReLU6: Clip with min/max as (ONNX >= 11) constant inputs.
    cs = unary("clip_relu6", "Clip", lambda t: F.hardtanh(t["X"], 0.0, 6.0), 4.0, (0, 6))
    cs.add("min", "const", np.array(0.0, np.float32)).add("max", "const", np.array(6.0, np.float32))
    out.append(cs)
    # Dropout's ratio is an optional input since opset 12.
    cs = unary("dropout_eval_ratio", "Dropout", lambda t: F.dropout(t["X"], 0.3, training=False))
    cs.add("ratio", "const", np.array(0.3, np.float32))
    out.append(cs)
    return out


def pool(name, op, shape, k, stride, pads, ceil=0, cip=None):
    ph, pw = pads[0], pads[1]
    assert pads[:2] == pads[2:], "PyTorch pooling pads are symmetric"

    def fn(t):
        if op == "MaxPool":
            return F.max_pool2d(t["X"], k, stride, (ph, pw), ceil_mode=bool(ceil))
        return F.avg_pool2d(t["X"], k, stride, (ph, pw), ceil_mode=bool(ceil),
                            count_include_pad=bool(cip))

    cs = Case(name, op, fn)
    x = distinct(cs, *shape) if op == "MaxPool" else cs.randn(*shape)
    cs.add("X", "input", x, grad=True)
    cs.attr("kernel_shape", "ints", [k, k]).attr("strides", "ints", [stride, stride])
    cs.attr("pads", "ints", pads)
    if ceil:
        cs.attr("ceil_mode", "int", 1)
    if cip is not None:
        cs.attr("count_include_pad", "int", cip)
    return cs


def pool_cases():
    # Ceil mode only where every window starts inside the input, the case
    # where PyTorch and ONNX agree on output size and divisor.
    out = [
        pool("maxpool_3x3_s2_p1", "MaxPool", (2, 3, 9, 9), 3, 2, [1, 1, 1, 1]),
        pool("maxpool_2x2_s2", "MaxPool", (2, 3, 8, 8), 2, 2, [0, 0, 0, 0]),
        pool("maxpool_3x3_s2_ceil", "MaxPool", (2, 3, 8, 8), 3, 2, [0, 0, 0, 0], ceil=1),
        pool("maxpool_2x2_s2_ceil", "MaxPool", (2, 3, 7, 7), 2, 2, [0, 0, 0, 0], ceil=1),
        pool("avgpool_2x2_s2", "AveragePool", (2, 3, 8, 8), 2, 2, [0, 0, 0, 0]),
        pool("avgpool_3x3_s2_p1_excl", "AveragePool", (2, 3, 9, 9), 3, 2, [1, 1, 1, 1], cip=0),
        pool("avgpool_3x3_s2_p1_incl", "AveragePool", (2, 3, 8, 8), 3, 2, [1, 1, 1, 1], cip=1),
        pool("avgpool_3x3_s1_p1_incl", "AveragePool", (2, 4, 6, 6), 3, 1, [1, 1, 1, 1], cip=1),
        pool("avgpool_3x3_s2_ceil_excl", "AveragePool", (2, 3, 8, 8), 3, 2, [0, 0, 0, 0], ceil=1,
             cip=0),
    ]
    cs = Case("globalavgpool", "GlobalAveragePool",
              lambda t: t["X"].mean(dim=(2, 3), keepdim=True))
    cs.add("X", "input", cs.randn(2, 5, 6, 7), grad=True)
    out.append(cs)
    return out


def binary_cases():
    fns = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}
    out = []

    def binary(name, op, a, b, bkind="input", denom=False):
        cs = Case(name, op, lambda t: fns[op](t["A"], t["B"]))
        bv = cs.randn(*b)
        if denom:  # keep divisors away from 0
            bv = (np.sign(bv) * (np.abs(bv) + 0.5)).astype(np.float32)
        cs.add("A", "input", cs.randn(*a), grad=True)
        cs.add("B", bkind, bv, grad=bkind == "input")
        out.append(cs)

    binary("add_same", "Add", (2, 3, 4, 5), (2, 3, 4, 5))
    binary("add_bias_1c11", "Add", (2, 3, 4, 5), (1, 3, 1, 1), "param")
    binary("add_nc_c", "Add", (4, 6), (6,), "param")
    binary("add_3d_bcast", "Add", (2, 5, 6), (5, 1))
    binary("sub_same", "Sub", (2, 3, 4, 5), (2, 3, 4, 5))
    binary("sub_nc_1c", "Sub", (4, 6), (1, 6))
    binary("mul_se", "Mul", (2, 4, 5, 5), (2, 4, 1, 1))  # squeeze-and-excitation
    binary("mul_same", "Mul", (2, 3, 4, 5), (2, 3, 4, 5))
    binary("mul_const_1c11", "Mul", (2, 3, 4, 5), (1, 3, 1, 1), "const")
    binary("div_same", "Div", (2, 3, 4, 5), (2, 3, 4, 5), denom=True)
    binary("div_se", "Div", (2, 4, 5, 5), (2, 4, 1, 1), denom=True)
    return out


def i64(*v):
    return np.array(v, np.int64)


def shape_cases():
    out = []

    def case(name, op, fn, shapes, out_n=1, consts=(), attrs=()):
        cs = Case(name, op, fn, out=out_n)
        for i, s in enumerate(shapes):
            cs.add("X%d" % i if len(shapes) > 1 else "X", "input", cs.randn(*s), grad=True)
        for cname, v in consts:
            cs.add(cname, "const", v) if v is not None else cs.absent()
        for a in attrs:
            cs.attr(*a)
        out.append(cs)

    cat = lambda axis: lambda t: torch.cat([t[k] for k in sorted(t)], axis)  # noqa: E731
    case("concat_axis1", "Concat", cat(1), [(2, 3, 4, 5), (2, 2, 4, 5), (2, 4, 4, 5)],
         attrs=[("axis", "int", 1)])
    case("concat_axis2", "Concat", cat(2), [(2, 3, 2, 5), (2, 3, 4, 5)], attrs=[("axis", "int", 2)])
    case("concat_2d_neg_axis", "Concat", cat(-1), [(3, 4), (3, 2)], attrs=[("axis", "int", -1)])
    case("split_axis1", "Split", lambda t: torch.split(t["X"], [1, 3, 2], 1), [(2, 6, 4, 5)], 3,
         consts=[("split", i64(1, 3, 2))], attrs=[("axis", "int", 1)])
    case("split_equal", "Split", lambda t: torch.split(t["X"], 3, 1), [(2, 6, 4, 5)], 2,
         attrs=[("axis", "int", 1)])

    def slicer(starts, ends, axes=None, steps=None):
        def fn(t):
            x = t["X"]
            ax = axes if axes is not None else list(range(len(starts)))
            st = steps if steps is not None else [1] * len(starts)
            for s, e, a, p in zip(starts, ends, ax, st):
                # ONNX clamping: negative indices count from the end, then
                # [0, d] for positive steps and [-1, d-1] for negative ones.
                a = a + x.dim() if a < 0 else a
                d = x.shape[a]
                s, e = s + d if s < 0 else s, e + d if e < 0 else e
                if p > 0:
                    s, e = min(max(s, 0), d), min(max(e, 0), d)
                else:
                    s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
                x = x.index_select(a, torch.tensor(list(range(s, e, p)), dtype=torch.long))
            return x
        consts = [("starts", i64(*starts)), ("ends", i64(*ends))]
        if axes is not None or steps is not None:
            consts.append(("axes", i64(*axes) if axes is not None else None))
        if steps is not None:
            consts.append(("steps", i64(*steps)))
        return fn, consts

    fn, c = slicer([1], [5], [1])
    case("slice_channels", "Slice", fn, [(2, 6, 5, 5)], consts=c)
    fn, c = slicer([-5, 1], [-1, 1000], [2, -1], [1, 2])
    case("slice_negative", "Slice", fn, [(2, 4, 7, 8)], consts=c)
    fn, c = slicer([-1], [-1000], [3], [-2])
    case("slice_reverse_step", "Slice", fn, [(2, 4, 6, 6)], consts=c)
    fn, c = slicer([0, 1, 1, 0], [2, 3, 4, 5])
    case("slice_no_axes", "Slice", fn, [(2, 4, 5, 6)], consts=c)

    def reshaper(shape):
        def fn(t):
            x = t["X"]  # ONNX: 0 copies the input dimension, -1 is inferred
            return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)])
        return fn

    case("reshape_flatten", "Reshape", reshaper([2, -1]), [(2, 3, 4, 5)],
         consts=[("shape", i64(2, -1))])
    case("reshape_zero", "Reshape", reshaper([0, 3, 2, -1]), [(2, 6, 4, 5)],
         consts=[("shape", i64(0, 3, 2, -1))])
    # Channel shuffle (ShuffleNet), one node per case: [N,g*c,H,W] ->
    # [N,g,c,H,W] -> transpose(1,2) -> [N,c*g,H,W].
    case("shuffle_1_reshape", "Reshape", reshaper([2, 2, 3, 3, 3]), [(2, 6, 3, 3)],
         consts=[("shape", i64(2, 2, 3, 3, 3))])
    case("shuffle_2_transpose", "Transpose", lambda t: t["X"].permute(0, 2, 1, 3, 4),
         [(2, 2, 3, 3, 3)], attrs=[("perm", "ints", [0, 2, 1, 3, 4])])
    case("shuffle_3_reshape", "Reshape", reshaper([2, 6, 3, 3]), [(2, 3, 2, 3, 3)],
         consts=[("shape", i64(2, 6, 3, 3))])
    case("transpose_nchw_nhwc", "Transpose", lambda t: t["X"].permute(0, 2, 3, 1),
         [(2, 3, 4, 5)], attrs=[("perm", "ints", [0, 2, 3, 1])])
    case("transpose_2d_default", "Transpose", lambda t: t["X"].t(), [(4, 6)])
    case("flatten_axis1", "Flatten", lambda t: t["X"].reshape(2, -1), [(2, 3, 4, 5)])
    case("flatten_axis2", "Flatten", lambda t: t["X"].reshape(6, -1), [(2, 3, 4, 5)],
         attrs=[("axis", "int", 2)])

    def padder(pads, mode, value=0.0):
        tmode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[mode]
        if mode == "constant":
            return lambda t: F.pad(t["X"], onnx_pad_torch(pads), "constant", value)
        # PyTorch pads only the last two dims in these modes: drop the
        # (zero) pads of N and C.
        assert pads[:2] == [0, 0] and pads[4:6] == [0, 0]
        return lambda t: F.pad(t["X"], onnx_pad_torch(pads)[:4], tmode)

    hw = [0, 0, 1, 2, 0, 0, 2, 1]
    case("pad_constant", "Pad", padder(hw, "constant", 0.5), [(2, 3, 4, 5)],
         consts=[("pads", i64(*hw)), ("constant_value", np.array(0.5, np.float32))],
         attrs=[("mode", "string", "constant")])
    ch = [0, 1, 0, 0, 0, 2, 0, 0]
    case("pad_channels_zero", "Pad", padder(ch, "constant"), [(2, 3, 4, 5)],
         consts=[("pads", i64(*ch))])
    case("pad_reflect", "Pad", padder(hw, "reflect"), [(2, 3, 4, 5)],
         consts=[("pads", i64(*hw))], attrs=[("mode", "string", "reflect")])
    case("pad_edge", "Pad", padder(hw, "edge"), [(2, 3, 4, 5)],
         consts=[("pads", i64(*hw))], attrs=[("mode", "string", "edge")])
    return out


def norm_softmax_cases():
    out = []
    for name, shape, axis in [("softmax_last", (4, 10), -1), ("softmax_axis1", (2, 5, 3, 4), 1)]:
        cs = Case(name, "Softmax", lambda t, a=axis: F.softmax(t["X"], a))
        cs.add("X", "input", cs.randn(*shape, scale=2.0), grad=True).attr("axis", "int", axis)
        out.append(cs)
    for name, shape in [("layernorm_ntd", (2, 5, 8)), ("layernorm_nd", (4, 16))]:
        d = shape[-1]
        cs = Case(name, "LayerNormalization", lambda t, d=d: F.layer_norm(
            t["X"], (d,), t["Scale"], t["B"], 1e-5))
        cs.add("X", "input", cs.randn(*shape, scale=2.0, offset=1.0), grad=True)
        cs.add("Scale", "param", cs.randn(d, scale=0.5, offset=1.0)).add("B", "param", cs.randn(d))
        cs.attr("axis", "int", -1).attr("epsilon", "float", 1e-5)
        out.append(cs)
    return out


def loss_cases():
    out = []
    for name, ls in [("sce_loss", 0.0), ("sce_loss_smooth", 0.1)]:
        cs = Case(name, "SoftmaxCrossEntropyLoss", lambda t, ls=ls: F.cross_entropy(
            t["scores"], t["labels"], reduction="mean", label_smoothing=ls))
        cs.add("scores", "input", cs.randn(6, 10, scale=2.0), grad=True)
        cs.add("labels", "input", cs.rng.integers(0, 10, 6).astype(np.int64))
        cs.attr("reduction", "string", "mean")
        if ls:
            cs.attr("label_smoothing", "float", ls)  # czoo extension
        out.append(cs)
    # timm's SoftTargetCrossEntropy (mixup / cutmix targets).
    cs = Case("soft_target_ce", "SoftTargetCrossEntropy",
              lambda t: torch.sum(-t["target"] * F.log_softmax(t["x"], -1), -1).mean())
    cs.add("x", "input", cs.randn(6, 10, scale=2.0), grad=True)
    cs.add("target", "input", torch.softmax(torch.from_numpy(cs.randn(6, 10, scale=2.0)), -1)
           .numpy().astype(np.float32))
    out.append(cs)

    # timm's BinaryCrossEntropy: optional target_threshold binarizes targets,
    # then the mean of binary_cross_entropy_with_logits.
    def bce(t, thr=None):
        tg = t["target"] if thr is None else (t["target"] > thr).to(t["x"].dtype)
        return F.binary_cross_entropy_with_logits(t["x"], tg, reduction="mean")

    for name, thr in [("bce_logits", None), ("bce_logits_threshold", 0.2)]:
        cs = Case(name, "BCEWithLogits", lambda t, thr=thr: bce(t, thr))
        cs.add("x", "input", cs.randn(6, 5, scale=2.0), grad=True)
        tg = cs.rng.uniform(0, 1, (6, 5)).astype(np.float32)
        cs.add("target", "input", away(tg, (0.2,)) if thr else tg)
        if thr is not None:
            cs.attr("target_threshold", "float", thr)
        out.append(cs)
    return out


def large_cases():
    """A few cases over 32768 elements (CZ_PAR_MIN), where the fast kernels
    take their OpenMP paths, and with long reductions (BatchNorm over
    N*H*W = 2304, Conv weight gradients over 2592, Gemm over K = 256)."""
    big = (4, 16, 24, 24)
    out = [
        conv("conv_3x3_s1_p1_large", 2, 16, 36, 36, 16, 3, pads=[1, 1, 1, 1]),
        batchnorm("batchnorm_train_large", big, True),
        unary("relu_large", "Relu", lambda t: F.relu(t["X"]), kinks=(0,), shape=big),
        unary("hardswish_large", "HardSwish", lambda t: F.hardswish(t["X"]), 3.0, (-3, 3),
              shape=big),
        unary("sigmoid_large", "Sigmoid", lambda t: torch.sigmoid(t["X"]), 3.0, shape=big),
    ]
    for name, op, fn, b, kind in [
            ("add_bias_1c11_large", "Add", torch.add, (1, 16, 1, 1), "param"),
            ("mul_se_large", "Mul", torch.mul, (4, 16, 1, 1), "input")]:
        cs = Case(name, op, lambda t, fn=fn: fn(t["A"], t["B"]))
        cs.add("A", "input", cs.randn(*big), grad=True)
        out.append(cs.add("B", kind, cs.randn(*b), grad=kind == "input"))
    cs = pool("maxpool_3x3_s2_p1_large", "MaxPool", (2, 16, 36, 36), 3, 2, [1, 1, 1, 1])
    cs.inputs[0] = ("X", "input", True, distinct(cs, 2, 16, 36, 36, step=1e-3))
    out.append(cs)
    cs = Case("globalavgpool_large", "GlobalAveragePool",
              lambda t: t["X"].mean(dim=(2, 3), keepdim=True))
    out.append(cs.add("X", "input", cs.randn(*big), grad=True))
    cs = Case("softmax_axis1_large", "Softmax", lambda t: F.softmax(t["X"], 1))
    out.append(cs.add("X", "input", cs.randn(*big, scale=2.0), grad=True).attr("axis", "int", 1))
    cs = Case("gemm_linear_large", "Gemm", lambda t: F.linear(t["A"], t["B"], t["C"]))
    cs.add("A", "input", cs.randn(64, 256), grad=True)
    cs.add("B", "param", cs.randn(128, 256, scale=0.1)).add("C", "param", cs.randn(128))
    out.append(cs.attr("transB", "int", 1))
    return out


def all_cases():
    return (conv_cases() + [batchnorm("batchnorm_train", (3, 4, 5, 5), True),
                            batchnorm("batchnorm_train_nc", (8, 5), True),
                            batchnorm("batchnorm_eval", (2, 4, 5, 5), False)] +
            gemm_cases() + matmul_cases() + activation_cases() + pool_cases() +
            binary_cases() + shape_cases() + norm_softmax_cases() + loss_cases() +
            large_cases())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_op_cases.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):  # drop bundles of renamed or removed cases
        if f.endswith(".czt"):
            os.remove(os.path.join(out_dir, f))
    cases = all_cases()
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    worst = max(write_case(c, out_dir) for c in cases)
    print("wrote %d op cases to %s (float32 PyTorch vs float64 reference: max rel err %.2g)"
          % (len(cases), out_dir, worst))


if __name__ == "__main__":
    main()
