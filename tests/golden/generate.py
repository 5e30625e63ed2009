#!/usr/bin/python3
"""Generates the PyTorch golden fixtures checked by tests/golden_test.ts.

Run with `/usr/bin/python3 tests/golden/generate.py` (PyTorch CPU; only torch, numpy, json and
the standard library). The output is deterministic: every case seeds torch itself.

Each fixture file is `{"family": str, "cases": [case, ...]}` where a case is

    {
      "name":    unique string,
      "op":      the TypeScript function name (mod.ts),
      "args":    non-tensor arguments, with the TypeScript option names,
      "inputs":  {name: {"shape", "data"}}   tensors that get requiresGrad (inputs are float32),
      "buffers": {name: {"shape", "data"}}   (optional) tensors passed without grad
                                              (batchNorm2d runningMean / runningVar),
      "output":  {"shape", "data"},
      "R":       {"shape", "data"},           random weights of the scalar loss sum(output * R),
      "grads":   {name: {"shape", "data"}}    d(sum(output * R)) / d(input),
      "extra":   {name: {"shape", "data"}}   (optional) buffers after the call
    }

Optional tensor inputs (bias, norm weights) appear in "inputs" only when used, and a flag in
"args" ("hasBias", "affine", "hasRunning") says whether they are.

Inputs are float32 values stored with their shortest round-trip decimal form; the expected values
are computed in float64 from those float32 inputs and stored rounded to 8 significant digits.
"""

import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------- helpers


def f32_list(t):
    """Float32 values as Python floats whose repr is the shortest float32 round-trip decimal."""
    arr = t.detach().to(torch.float32).contiguous().view(-1).numpy()
    return [float(np.format_float_positional(v, unique=True, trim="-")) if np.isfinite(v) else None
            for v in arr]


def rounded_list(t):
    """Float64 values rounded to float32 and then to 8 significant digits."""
    arr = t.detach().to(torch.float32).contiguous().view(-1).numpy().astype(np.float64)
    out = []
    for v in arr:
        if not np.isfinite(v):
            raise ValueError("non-finite expected value")
        r = float("%.8g" % v)
        out.append(0.0 if r == 0 else r)
    return out


def spec(t, exact=False):
    return {"shape": list(t.shape), "data": f32_list(t) if exact else rounded_list(t)}


def f32(t):
    """Rounds a tensor to float32 (the values the engine will see), as float64 for computing."""
    return t.to(torch.float32).to(torch.float64)


def randn(*shape):
    return f32(torch.randn(*shape))


def away_from_zero(t, gap=0.1, shift=0.3):
    """Moves values within `gap` of zero away from it (keeps relu/abs/l1 off their kinks)."""
    t = t.clone()
    small = t.abs() < gap
    t[small] = t[small] + torch.where(t[small] >= 0, shift, -shift).to(t.dtype)
    return f32(t)


def positive(*shape, low=0.2):
    """Positive values in a sane range for log / sqrt / div denominators."""
    return f32(torch.rand(*shape) * 2.0 + low)


def distinct(*shape, scale=4.0):
    """Values with no ties (max pooling): a random permutation of an evenly spaced grid."""
    n = int(np.prod(shape))
    grid = (torch.arange(n, dtype=torch.float64) / n - 0.5) * scale
    return f32(grid[torch.randperm(n)].view(*shape))


class Family:
    def __init__(self, name, tuning=None):
        self.name = name
        self.cases = []
        self.names = set()
        # Engine tuning overrides the cases run under (engine/tuning.ts TuningOverrides).
        self.tuning = tuning

    def add(self, name, op, args, inputs, fn, buffers=None):
        """Runs `fn(*inputs.values(), **buffers)` in float64 and records the case.

        `inputs` (dict of float64 tensors, already float32-rounded) get requires_grad; `buffers`
        are passed as copies and recorded before and after (as "extra").
        """
        assert name not in self.names, name
        self.names.add(name)
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        bufs = {k: v.clone() for k, v in (buffers or {}).items()}
        out = fn(*leaves.values(), **bufs)
        R = randn(*out.shape) if out.dim() > 0 else randn(1).view([])
        (out * R).sum().backward()
        case = {
            "name": name,
            "op": op,
            "args": args,
            "inputs": {k: spec(v, exact=True) for k, v in inputs.items()},
        }
        if buffers:
            case["buffers"] = {k: spec(v, exact=True) for k, v in buffers.items()}
        case["output"] = spec(out)
        case["R"] = spec(R, exact=True)
        grads = {}
        for k, v in leaves.items():
            g = v.grad if v.grad is not None else torch.zeros_like(v)
            grads[k] = spec(g)
        case["grads"] = grads
        if buffers:
            case["extra"] = {k: spec(v) for k, v in bufs.items()}
        self.cases.append(case)

    def write(self):
        path = os.path.join(HERE, self.name + ".json")
        with open(path, "w") as f:
            data = {"family": self.name, "cases": self.cases}
            if self.tuning:
                data["tuning"] = self.tuning
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        return path, len(self.cases)


def seeded(i):
    torch.manual_seed(1000 + i)


# ----------------------------------------------------------------------------- families


def elementwise():
    fam = Family("elementwise")
    k = 0
    binary = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
    }
    shape_pairs = [
        ([2, 3, 4], [2, 3, 4]),
        ([2, 3, 4], [3, 1]),
        ([2, 3, 4], [1, 4]),
        ([2, 3, 4], [2, 1, 4]),
        ([2, 3, 4], [1]),
        ([3, 1], [2, 3, 4]),
        ([1], [2, 3, 4]),
        ([2, 1, 4], [3, 1]),
    ]
    for op, fn in binary.items():
        for sa, sb in shape_pairs:
            seeded(k)
            k += 1
            a = randn(*sa)
            if op == "div":
                b = f32(torch.sign(torch.randn(*sb)) * (torch.rand(*sb) + 0.5))
            else:
                b = randn(*sb)
            name = "%s_%s_%s" % (op, "x".join(map(str, sa)), "x".join(map(str, sb)))
            fam.add(name, op, {}, {"a": a, "b": b}, fn)

    # Unary ops: (case name, op, args, input maker, torch fn)
    def gen(*s):
        return randn(*s)

    unary = [
        ("neg", "neg", {}, gen, lambda x: -x),
        ("scale", "scale", {"s": 2.5}, gen, lambda x: x * 2.5),
        ("scale_neg", "scale", {"s": -0.75}, gen, lambda x: x * -0.75),
        ("exp", "exp", {}, gen, torch.exp),
        ("log", "log", {}, positive, torch.log),
        ("sqrt", "sqrt", {}, positive, torch.sqrt),
        ("relu", "relu", {}, lambda *s: away_from_zero(torch.randn(*s)), F.relu),
        ("leakyRelu_default", "leakyRelu", {},
         lambda *s: away_from_zero(torch.randn(*s)), lambda x: F.leaky_relu(x, 0.01)),
        ("leakyRelu_0.2", "leakyRelu", {"slope": 0.2},
         lambda *s: away_from_zero(torch.randn(*s)), lambda x: F.leaky_relu(x, 0.2)),
        ("silu", "silu", {}, lambda *s: f32(torch.randn(*s) * 2), F.silu),
        ("gelu", "gelu", {}, lambda *s: f32(torch.randn(*s) * 2), F.gelu),
        ("sigmoid", "sigmoid", {}, lambda *s: f32(torch.randn(*s) * 2), torch.sigmoid),
        ("tanh", "tanh", {}, lambda *s: f32(torch.randn(*s) * 1.5), torch.tanh),
        ("abs", "abs", {}, lambda *s: away_from_zero(torch.randn(*s)), torch.abs),
        ("square", "square", {}, gen, torch.square),
        ("clampMin_0.3", "clampMin", {"min": 0.3},
         lambda *s: f32(0.3 + away_from_zero(torch.randn(*s))), lambda x: torch.clamp(x, min=0.3)),
        ("clampMin_neg", "clampMin", {"min": -0.5},
         lambda *s: f32(-0.5 + away_from_zero(torch.randn(*s))),
         lambda x: torch.clamp(x, min=-0.5)),
    ]
    for name, op, args, make, fn in unary:
        for shape in ([2, 3, 4], [5]):
            seeded(k)
            k += 1
            x = make(*shape)
            fam.add("%s_%s" % (name, "x".join(map(str, shape))), op, args, {"x": x}, fn)

    # dropout is random: only the identity cases (training false) are deterministic.
    for p in (0.0, 0.5):
        seeded(k)
        k += 1
        fam.add("dropout_eval_p%s" % p, "dropout", {"p": p, "training": False},
                {"x": randn(2, 3, 4)}, lambda x, p=p: F.dropout(x, p, training=False))
    seeded(k)
    k += 1
    fam.add("dropout_p0_train", "dropout", {"p": 0.0, "training": True},
            {"x": randn(2, 3, 4)}, lambda x: F.dropout(x, 0.0, training=True))

    # Fused ops: silu(a + b) (vec4 and scalar paths) and the squeeze-excitation gate
    # x * (0.5 + 0.5 sigmoid(s)) broadcast over the trailing dims (even and odd spatial sizes).
    for shape in ([2, 3, 4], [5], [3, 5, 3, 3]):
        seeded(k)
        k += 1
        a = f32(torch.randn(*shape) * 1.5)
        b = f32(torch.randn(*shape) * 1.5)
        fam.add("addSilu_%s" % "x".join(map(str, shape)), "addSilu", {}, {"a": a, "b": b},
                lambda a, b: F.silu(a + b))
    for shape in ([2, 3, 4, 4], [2, 5, 3, 3], [1, 6, 7], [3, 2, 5, 4]):
        seeded(k)
        k += 1
        x = randn(*shape)
        s = f32(torch.randn(*shape[:2]) * 2)
        fam.add("channelGate_%s" % "x".join(map(str, shape)), "channelGate", {}, {"x": x, "s": s},
                lambda x, s: x * (0.5 + 0.5 * torch.sigmoid(s)).view(
                    *s.shape, *([1] * (x.dim() - 2))))
    return fam


def reduce():
    fam = Family("reduce")
    k = 0
    cases = [
        ("all", None, False),
        ("all_keepdim", [0, 1, 2], True),
        ("axis0", 0, False),
        ("axis1", 1, False),
        ("axis2", 2, False),
        ("axis1_keepdim", 1, True),
        ("axisNeg1", -1, False),
        ("axisNeg1_keepdim", -1, True),
        ("axes02", [0, 2], False),
        ("axes02_keepdim", [0, 2], True),
        ("axesNeg1Neg2", [-1, -2], False),
        ("axes01_keepdim", [0, 1], True),
        ("axesList1", [1], False),
    ]
    for op, tfn in (("sum", torch.sum), ("mean", torch.mean)):
        for name, axes, keepdim in cases:
            seeded(k)
            k += 1
            x = randn(2, 3, 4)
            args = {"keepdim": keepdim}
            if axes is not None:
                args["axes"] = axes

            def fn(x, axes=axes, keepdim=keepdim, tfn=tfn):
                if axes is None:
                    return tfn(x)
                return tfn(x, dim=axes if isinstance(axes, int) else tuple(axes), keepdim=keepdim)

            fam.add("%s_%s" % (op, name), op, args, {"x": x}, fn)
        # a 4-D case and a 1-D case
        seeded(k)
        k += 1
        fam.add("%s_4d_axes13" % op, op, {"axes": [1, 3], "keepdim": False},
                {"x": randn(2, 3, 2, 5)}, lambda x, tfn=tfn: tfn(x, dim=(1, 3)))
        seeded(k)
        k += 1
        fam.add("%s_1d" % op, op, {"axes": 0, "keepdim": False},
                {"x": randn(7)}, lambda x, tfn=tfn: tfn(x, dim=0))
    return fam


def layout():
    fam = Family("layout")
    k = 0

    def nxt():
        nonlocal k
        seeded(k)
        k += 1

    nxt()
    fam.add("reshape_2x3x4_to_6x4", "reshape", {"shape": [6, 4]}, {"x": randn(2, 3, 4)},
            lambda x: x.reshape(6, 4))
    nxt()
    fam.add("reshape_minus1", "reshape", {"shape": [4, -1]}, {"x": randn(2, 3, 4)},
            lambda x: x.reshape(4, -1))
    nxt()
    fam.add("reshape_to_1d", "reshape", {"shape": [-1]}, {"x": randn(2, 3, 4)},
            lambda x: x.reshape(-1))
    nxt()
    fam.add("reshape_add_dims", "reshape", {"shape": [2, 1, 3, 4]}, {"x": randn(6, 4)},
            lambda x: x.reshape(2, 1, 3, 4))
    nxt()
    fam.add("flatten_all", "flatten", {}, {"x": randn(2, 3, 2, 2)}, lambda x: torch.flatten(x))
    nxt()
    fam.add("flatten_1", "flatten", {"startDim": 1}, {"x": randn(2, 3, 2, 2)},
            lambda x: torch.flatten(x, 1))
    nxt()
    fam.add("flatten_1_2", "flatten", {"startDim": 1, "endDim": 2}, {"x": randn(2, 3, 2, 2)},
            lambda x: torch.flatten(x, 1, 2))
    nxt()
    fam.add("flatten_neg", "flatten", {"startDim": -2, "endDim": -1}, {"x": randn(2, 3, 2, 2)},
            lambda x: torch.flatten(x, -2, -1))
    nxt()
    fam.add("transpose_2d", "transpose", {"dim0": 0, "dim1": 1}, {"x": randn(3, 5)},
            lambda x: x.transpose(0, 1))
    nxt()
    fam.add("transpose_0_2", "transpose", {"dim0": 0, "dim1": 2}, {"x": randn(2, 3, 4)},
            lambda x: x.transpose(0, 2))
    nxt()
    fam.add("transpose_neg", "transpose", {"dim0": -1, "dim1": -2}, {"x": randn(2, 3, 4)},
            lambda x: x.transpose(-1, -2))
    nxt()
    fam.add("transpose_4d_1_3", "transpose", {"dim0": 1, "dim1": 3}, {"x": randn(2, 3, 2, 4)},
            lambda x: x.transpose(1, 3))
    nxt()
    fam.add("permute_201", "permute", {"dims": [2, 0, 1]}, {"x": randn(2, 3, 4)},
            lambda x: x.permute(2, 0, 1))
    nxt()
    fam.add("permute_4d_nhwc", "permute", {"dims": [0, 2, 3, 1]}, {"x": randn(2, 3, 2, 4)},
            lambda x: x.permute(0, 2, 3, 1))
    nxt()
    fam.add("permute_4d_3102", "permute", {"dims": [3, 1, 0, 2]}, {"x": randn(2, 3, 2, 4)},
            lambda x: x.permute(3, 1, 0, 2))
    nxt()
    fam.add("concat_dim0", "concat", {"dim": 0},
            {"t0": randn(2, 3), "t1": randn(1, 3), "t2": randn(3, 3)},
            lambda t0, t1, t2: torch.cat([t0, t1, t2], 0))
    nxt()
    fam.add("concat_dim1", "concat", {"dim": 1},
            {"t0": randn(2, 3, 4), "t1": randn(2, 1, 4)},
            lambda t0, t1: torch.cat([t0, t1], 1))
    nxt()
    fam.add("concat_dim1_nchw", "concat", {"dim": 1},
            {"t0": randn(2, 2, 3, 3), "t1": randn(2, 3, 3, 3), "t2": randn(2, 1, 3, 3)},
            lambda t0, t1, t2: torch.cat([t0, t1, t2], 1))
    nxt()
    fam.add("concat_dim0_3d", "concat", {"dim": 0},
            {"t0": randn(1, 3, 4), "t1": randn(2, 3, 4)},
            lambda t0, t1: torch.cat([t0, t1], 0))
    nxt()
    fam.add("concat_dimNeg1", "concat", {"dim": -1},
            {"t0": randn(2, 3, 2), "t1": randn(2, 3, 3)},
            lambda t0, t1: torch.cat([t0, t1], -1))
    nxt()
    fam.add("slice_dim1", "slice", {"dim": 1, "start": 1, "end": 3}, {"x": randn(2, 4, 3)},
            lambda x: x.narrow(1, 1, 2))
    nxt()
    fam.add("slice_dim0", "slice", {"dim": 0, "start": 0, "end": 2}, {"x": randn(3, 4)},
            lambda x: x.narrow(0, 0, 2))
    nxt()
    fam.add("slice_last_dim", "slice", {"dim": 2, "start": 2, "end": 5}, {"x": randn(2, 3, 5)},
            lambda x: x.narrow(2, 2, 3))
    nxt()
    fam.add("slice_neg_start", "slice", {"dim": 1, "start": -3, "end": 4}, {"x": randn(2, 4, 3)},
            lambda x: x.narrow(1, 1, 3))
    nxt()
    fam.add("slice_nchw_channels", "slice", {"dim": 1, "start": 2, "end": 4},
            {"x": randn(2, 5, 2, 3)}, lambda x: x.narrow(1, 2, 2))
    return fam


def matmul():
    fam = Family("matmul")
    k = 0

    def nxt():
        nonlocal k
        seeded(k)
        k += 1

    pairs = [
        ("2d", [3, 4], [4, 5]),
        ("2d_vecout", [4, 7], [7, 1]),
        ("2d_big", [9, 17], [17, 11]),
        ("batched3d", [2, 3, 4], [2, 4, 5]),
        ("batched4d", [2, 2, 3, 4], [2, 2, 4, 3]),
        ("batched_x_2d", [2, 3, 4], [4, 5]),
        ("2d_x_batched", [3, 4], [2, 4, 5]),
    ]
    for name, sa, sb in pairs:
        nxt()
        fam.add("matmul_" + name, "matmul", {}, {"a": randn(*sa), "b": randn(*sb)}, torch.matmul)

    for name, sx, has_bias in (("2d_bias", [4, 5], True), ("2d_nobias", [4, 5], False),
                               ("3d_bias", [2, 3, 5], True), ("3d_nobias", [2, 3, 5], False)):
        nxt()
        inputs = {"x": randn(*sx), "weight": randn(3, 5)}
        if has_bias:
            inputs["bias"] = randn(3)
        fam.add("linear_" + name, "linear", {"hasBias": has_bias}, inputs,
                lambda x, weight, bias=None: F.linear(x, weight, bias))
    return fam


def conv2d():
    fam = Family("conv2d")
    # (name, x shape, w shape, stride, padding, dilation, groups, bias)
    cases = [
        ("k1", [2, 3, 5, 5], [4, 3, 1, 1], 1, 0, 1, 1, True),
        ("k1_nobias", [2, 3, 4, 4], [2, 3, 1, 1], 1, 0, 1, 1, False),
        ("k3_p0", [2, 2, 5, 5], [3, 2, 3, 3], 1, 0, 1, 1, True),
        ("k3_p1", [2, 3, 6, 6], [4, 3, 3, 3], 1, 1, 1, 1, True),
        ("k3_p1_nobias", [2, 3, 6, 6], [4, 3, 3, 3], 1, 1, 1, 1, False),
        ("k3_s2_p1", [2, 3, 7, 7], [4, 3, 3, 3], 2, 1, 1, 1, True),
        ("k3_s2_p1_even", [2, 2, 6, 6], [3, 2, 3, 3], 2, 1, 1, 1, False),
        ("k5_p2", [2, 2, 7, 7], [3, 2, 5, 5], 1, 2, 1, 1, True),
        ("k7_p3", [1, 2, 8, 8], [2, 2, 7, 7], 1, 3, 1, 1, True),
        ("k3_d2_p2", [2, 2, 7, 7], [3, 2, 3, 3], 1, 2, 2, 1, True),
        ("k3_d2_p0", [1, 2, 7, 7], [2, 2, 3, 3], 1, 0, 2, 1, False),
        ("k3_g2_p1", [2, 4, 5, 5], [6, 2, 3, 3], 1, 1, 1, 2, True),
        ("k3_depthwise", [2, 3, 5, 5], [3, 1, 3, 3], 1, 1, 1, 3, False),
        ("k2_s2", [2, 3, 6, 6], [4, 3, 2, 2], 2, 0, 1, 1, True),
        ("rect_s21_p12", [2, 2, 7, 6], [3, 2, 3, 3], [2, 1], [1, 2], 1, 1, True),
        ("rect_kernel_3x5", [1, 2, 6, 7], [3, 2, 3, 5], [1, 2], [1, 2], [2, 1], 1, True),
        ("k3_s2_p1_g2_d2", [2, 4, 7, 7], [4, 2, 3, 3], 2, 2, 2, 2, True),
        ("k1_s2", [2, 3, 5, 5], [2, 3, 1, 1], 2, 0, 1, 1, True),
    ]
    for i, (name, sx, sw, stride, padding, dilation, groups, has_bias) in enumerate(cases):
        seeded(i)
        x = randn(*sx)
        w = f32(torch.randn(*sw) * 0.5)
        inputs = {"x": x, "weight": w}
        if has_bias:
            inputs["bias"] = randn(sw[0])
        args = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
                "hasBias": has_bias}

        def fn(x, weight, bias=None, stride=stride, padding=padding, dilation=dilation,
               groups=groups):
            return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                            groups=groups)

        fam.add("conv2d_" + name, "conv2d", args, inputs, fn)
    return fam


def winograd(m=2):
    """conv2d cases run with every conv kernel forced to Winograd F(m x m, 3x3): stride-1 3x3
    layers with odd sizes, channel counts not divisible by 4, batch 1, padding 0, 1, 2; and a
    stride-2 layer that falls back to the implicit GEMM. Both variants are held to the default
    tolerances (F(4x4, 3x3) with the points 0, 1, -1, 2, -2 missed them by up to 4.7e-5 on
    p1_wide; shaders/winograd.wgsl uses 0, 1, -1, 1/2, -2)."""
    kind = {"kind": "winograd", "winograd": m}
    name = "winograd" if m == 2 else "winograd_f%d" % m
    fam = Family(name, {"conv": {"fwd": kind, "dx": kind, "dw": kind}})
    # (name, x shape, w shape, stride, padding, bias)
    cases = [
        ("p1_odd_batch1", [1, 5, 7, 9], [6, 5, 3, 3], 1, 1, True),
        ("p0", [2, 3, 6, 5], [4, 3, 3, 3], 1, 0, False),
        ("p2", [1, 6, 5, 7], [5, 6, 3, 3], 1, 2, True),
        ("p1_wide", [2, 9, 8, 8], [10, 9, 3, 3], 1, 1, True),
        ("p12_rect", [1, 4, 7, 6], [3, 4, 3, 3], 1, [1, 2], True),
        ("s2_fallback", [1, 4, 7, 7], [5, 4, 3, 3], 2, 1, True),
    ]
    for i, (name, sx, sw, stride, padding, has_bias) in enumerate(cases):
        seeded(100 + i)
        x = randn(*sx)
        w = f32(torch.randn(*sw) * 0.5)
        inputs = {"x": x, "weight": w}
        if has_bias:
            inputs["bias"] = randn(sw[0])
        args = {"stride": stride, "padding": padding, "hasBias": has_bias}

        def fn(x, weight, bias=None, stride=stride, padding=padding):
            return F.conv2d(x, weight, bias, stride=stride, padding=padding)

        fam.add(fam.name + "_" + name, "conv2d", args, inputs, fn)
    return fam


def norm():
    fam = Family("norm")
    k = 0

    def nxt():
        nonlocal k
        seeded(k)
        k += 1

    eps = 1e-5
    for groups in (1, 2, 4):
        for affine in (True, False):
            nxt()
            x = f32(torch.randn(2, 4, 3, 3) * 2 + 0.5)
            inputs = {"x": x}
            if affine:
                inputs["weight"] = f32(torch.randn(4) * 0.5 + 1)
                inputs["bias"] = randn(4)
            fam.add("groupNorm_g%d_%s" % (groups, "affine" if affine else "plain"), "groupNorm",
                    {"groups": groups, "eps": eps, "affine": affine}, inputs,
                    lambda x, weight=None, bias=None, groups=groups: F.group_norm(
                        x, groups, weight, bias, eps))
    nxt()
    fam.add("groupNorm_g2_3d_eps1e-3", "groupNorm", {"groups": 2, "eps": 1e-3, "affine": False},
            {"x": randn(2, 6, 5)}, lambda x: F.group_norm(x, 2, None, None, 1e-3))

    for name, sx, ns in (("last", [2, 3, 5], [5]), ("last2", [2, 3, 4], [3, 4]),
                         ("2d_last", [4, 6], [6]), ("4d_last", [2, 2, 3, 4], [4])):
        for affine in (True, False):
            nxt()
            x = f32(torch.randn(*sx) * 1.5 - 0.3)
            inputs = {"x": x}
            if affine:
                inputs["weight"] = f32(torch.randn(*ns) * 0.5 + 1)
                inputs["bias"] = randn(*ns)
            fam.add("layerNorm_%s_%s" % (name, "affine" if affine else "plain"), "layerNorm",
                    {"normalizedShape": ns, "eps": eps, "affine": affine}, inputs,
                    lambda x, weight=None, bias=None, ns=ns: F.layer_norm(x, ns, weight, bias, eps))

    # batchNorm2d
    for training in (True, False):
        for affine in (True, False):
            for momentum in ((0.1, 0.3) if training and affine else (0.1,)):
                nxt()
                C = 3
                x = f32(torch.randn(2, C, 3, 4) * 1.5 + 0.7)
                inputs = {"x": x}
                if affine:
                    inputs["weight"] = f32(torch.randn(C) * 0.5 + 1)
                    inputs["bias"] = randn(C)
                buffers = {"runningMean": f32(torch.randn(C) * 0.3),
                           "runningVar": f32(torch.rand(C) + 0.5)}
                name = "batchNorm2d_%s_%s%s" % ("train" if training else "eval",
                                                "affine" if affine else "plain",
                                                "" if momentum == 0.1 else "_m%s" % momentum)
                fam.add(name, "batchNorm2d",
                        {"training": training, "momentum": momentum, "eps": eps,
                         "affine": affine, "hasRunning": True},
                        inputs,
                        lambda x, weight=None, bias=None, runningMean=None, runningVar=None,
                        training=training, momentum=momentum: F.batch_norm(
                            x, runningMean, runningVar, weight, bias, training, momentum, eps),
                        buffers=buffers)
    nxt()
    fam.add("batchNorm2d_train_norunning", "batchNorm2d",
            {"training": True, "momentum": 0.1, "eps": eps, "affine": True, "hasRunning": False},
            {"x": f32(torch.randn(3, 2, 2, 3) - 0.4), "weight": f32(torch.rand(2) + 0.5),
             "bias": randn(2)},
            lambda x, weight, bias: F.batch_norm(x, None, None, weight, bias, True, 0.1, eps))

    # groupNorm with the fused SiLU: the fast path (contiguous groups of whole channels of a
    # multiple of 4 elements), odd spatial sizes and channels not divisible by 4 (generic path).
    for shape, groups, affine in (([2, 8, 4, 4], 4, True), ([2, 4, 3, 3], 2, True),
                                  ([2, 6, 5, 5], 3, True), ([2, 6, 5], 2, False),
                                  ([1, 12, 2, 6], 1, True)):
        nxt()
        x = f32(torch.randn(*shape) * 2 + 0.5)
        inputs = {"x": x}
        C = shape[1]
        if affine:
            inputs["weight"] = f32(torch.randn(C) * 0.5 + 1)
            inputs["bias"] = randn(C)
        fam.add("groupNormSilu_%s_g%d_%s" % ("x".join(map(str, shape)), groups,
                                             "affine" if affine else "plain"), "groupNorm",
                {"groups": groups, "eps": eps, "affine": affine, "activation": "silu"}, inputs,
                lambda x, weight=None, bias=None, groups=groups: F.silu(F.group_norm(
                    x, groups, weight, bias, eps)))
    return fam


def pool():
    fam = Family("pool")
    k = 0

    def nxt():
        nonlocal k
        seeded(k)
        k += 1

    nxt()
    fam.add("maxPool2d_k2_s2", "maxPool2d", {"kernelSize": 2, "stride": 2},
            {"x": distinct(2, 3, 6, 6)}, lambda x: F.max_pool2d(x, 2, 2))
    nxt()
    fam.add("maxPool2d_k2_default_stride", "maxPool2d", {"kernelSize": 2},
            {"x": distinct(1, 2, 5, 4)}, lambda x: F.max_pool2d(x, 2))
    nxt()
    fam.add("maxPool2d_k3_s2_p1", "maxPool2d", {"kernelSize": 3, "stride": 2, "padding": 1},
            {"x": distinct(2, 2, 7, 7)}, lambda x: F.max_pool2d(x, 3, 2, 1))
    nxt()
    fam.add("maxPool2d_k3_s2_p1_even", "maxPool2d", {"kernelSize": 3, "stride": 2, "padding": 1},
            {"x": distinct(2, 2, 6, 6)}, lambda x: F.max_pool2d(x, 3, 2, 1))
    nxt()
    fam.add("maxPool2d_k3_s1", "maxPool2d", {"kernelSize": 3, "stride": 1},
            {"x": distinct(1, 2, 5, 5)}, lambda x: F.max_pool2d(x, 3, 1))

    nxt()
    fam.add("avgPool2d_k2", "avgPool2d", {"kernelSize": 2}, {"x": randn(2, 3, 6, 6)},
            lambda x: F.avg_pool2d(x, 2))
    nxt()
    fam.add("avgPool2d_k2_odd", "avgPool2d", {"kernelSize": 2}, {"x": randn(1, 2, 5, 5)},
            lambda x: F.avg_pool2d(x, 2))
    for cip in (True, False):
        nxt()
        fam.add("avgPool2d_k3_s2_p1_cip_%s" % str(cip).lower(), "avgPool2d",
                {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": cip},
                {"x": randn(2, 2, 7, 7)},
                lambda x, cip=cip: F.avg_pool2d(x, 3, 2, 1, count_include_pad=cip))
    nxt()
    fam.add("avgPool2d_k3_s1_p1_cip_false", "avgPool2d",
            {"kernelSize": 3, "stride": 1, "padding": 1, "countIncludePad": False},
            {"x": randn(1, 2, 4, 5)},
            lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))

    for name, sx, size in (("size1", [2, 3, 4, 4], 1), ("size2x3_from5x7", [2, 2, 5, 7], [2, 3]),
                           ("size3_from7x7", [2, 2, 7, 7], 3), ("size3_from5x5", [1, 2, 5, 5], 3),
                           ("size1_from5x3", [2, 3, 5, 3], 1), ("identity_4x4", [1, 2, 4, 4], 4)):
        nxt()
        fam.add("adaptiveAvgPool2d_" + name, "adaptiveAvgPool2d", {"size": size},
                {"x": randn(*sx)}, lambda x, size=size: F.adaptive_avg_pool2d(x, size))
    return fam


def losses():
    fam = Family("losses")
    k = 0

    def nxt():
        nonlocal k
        seeded(k)
        k += 1

    for name, sa, dim in (("dim1", [4, 5], 1), ("dimNeg1", [2, 3, 4], -1),
                          ("dim1_nchw", [2, 3, 2, 2], 1), ("dim0", [3, 4], 0)):
        nxt()
        a = randn(*sa)
        b = f32(0.5 * a + torch.randn(*sa))
        args = {"dim": dim, "eps": 1e-8}
        fam.add("cosineSimilarity_" + name, "cosineSimilarity", args, {"a": a, "b": b},
                lambda a, b, dim=dim: F.cosine_similarity(a, b, dim=dim, eps=1e-8))

    def pair(*shape):
        a = randn(*shape)
        return a, f32(away_from_zero(torch.randn(*shape)) + a)

    for shape in ([3, 4], [2, 3, 2, 2]):
        sname = "x".join(map(str, shape))
        nxt()
        a, b = pair(*shape)
        fam.add("mseLoss_" + sname, "mseLoss", {}, {"a": a, "b": b}, F.mse_loss)
        nxt()
        a, b = pair(*shape)
        fam.add("l1Loss_" + sname, "l1Loss", {}, {"a": a, "b": b}, F.l1_loss)
        for beta in (1.0, 0.1):
            nxt()
            a = randn(*shape)
            b = f32(a + torch.randn(*shape) * (1.2 if beta == 1.0 else 0.2))
            b = f32(torch.where((a - b).abs() < 0.02, b + 0.05, b))
            fam.add("smoothL1Loss_beta%s_%s" % (beta, sname), "smoothL1Loss", {"beta": beta},
                    {"a": a, "b": b},
                    lambda a, b, beta=beta: F.smooth_l1_loss(a, b, beta=beta))
    nxt()
    a, b = pair(3, 4)
    fam.add("smoothL1Loss_default_3x4", "smoothL1Loss", {}, {"a": a, "b": b},
            lambda a, b: F.smooth_l1_loss(a, b))
    return fam


def main():
    torch.set_default_dtype(torch.float64)
    total = 0
    winograd4 = lambda: winograd(4)  # noqa: E731
    for make in (elementwise, reduce, layout, matmul, conv2d, winograd, winograd4, norm, pool,
                 losses):
        path, n = make().write()
        size = os.path.getsize(path)
        total += size
        print("%-40s %3d cases %8d bytes" % (os.path.relpath(path), n, size))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
