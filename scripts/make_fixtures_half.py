#!/usr/bin/python3
"""Reference numbers for spec/half_spec.lua: spec/fixtures/half.lua.

float16 and bfloat16 results from PyTorch 1.13 (c10::Half / c10::BFloat16),
with numpy's float16 as a second, independent implementation of the float16
conversions (the two must agree bit for bit except for NaN payloads).

  conversions  float32 edge values (zeros, subnormals, the largest finite
               values, overflow to Inf, NaN, ties that round to even) and
               random values over many binades -> each half type and back;
               float64 -> float16 goes through float32 as c10 does (one
               case where that differs from numpy's direct rounding); half
               -> int32 truncation.
  promotion    torch.promote_types over the eight dtypes.
  ops          results on half tensors.  Where PyTorch 1.13 has a CPU half
               kernel (add, sub, mul, div, neg, abs, sum, mean, max, the
               bfloat16 matmul/exp...) its result is taken and checked
               against the float32-then-round reference; elsewhere (float16
               exp, matmul, ... are "not implemented for 'Half'" in 1.13) the
               reference is PyTorch's own rule for half ops: compute in
               float32 (opmath), round the result once.

Values are written as Lua hexadecimal floats, so they are exact.
Run: /usr/bin/python3 scripts/make_fixtures_half.py
"""
import math
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "half.lua")
rng = np.random.RandomState(20240607)

HALF = {"float16": torch.float16, "bfloat16": torch.bfloat16}
DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
    "uint8": torch.uint8, "bool": torch.bool, "float16": torch.float16, "bfloat16": torch.bfloat16,
}
TORCH_NAME = {v: k for k, v in DTYPES.items()}


def num(x):
    x = float(x)
    if math.isnan(x):
        return "0/0"
    if math.isinf(x):
        return "1/0" if x > 0 else "-1/0"
    return x.hex() if x != 0 or math.copysign(1, x) > 0 else "-0x0p+0"


def lua(v, indent=""):
    if isinstance(v, dict):
        inner = indent + "  "
        items = [f"{inner}{k} = {lua(v[k], inner)}," for k in sorted(v)]
        return "{\n" + "\n".join(items) + "\n" + indent + "}"
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], (list, tuple, dict)):
            inner = indent + "  "
            return "{\n" + "\n".join(inner + lua(x, inner) + "," for x in v) + "\n" + indent + "}"
        return "{" + ", ".join(lua(x, indent) for x in v) + "}"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return num(v)


def values(t):
    return [float(x) for x in t.float().reshape(-1).tolist()]


# ---------------------------------------------------------------- conversions

def f32(x):
    return float(np.float32(x))


EDGE = [
    0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 3.14159265,
    # float16: largest finite 65504, the last value that rounds to it, the tie at 65520 -> Inf
    65504.0, 65519.0, 65519.996, 65520.0, 65536.0, 1e5, -1e5,
    # float16 smallest normal 2^-14, subnormals down to 2^-24, the tie at 2^-25 -> 0
    2.0 ** -14, 2.0 ** -14 - 2.0 ** -24, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0000001, 3 * 2.0 ** -25,
    5 * 2.0 ** -25, 2.0 ** -26, 1e-8, -3 * 2.0 ** -25,
    # float16 ties to even at 1: 1 + 2^-11 -> 1, 1 + 3 2^-11 -> 1 + 2^-9, just past a tie rounds up
    1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -23, 2049.0, 2051.0, 4097.0,
    # bfloat16 ties at 1: 1 + 2^-8 -> 1, 1 + 3 2^-8 -> 1 + 2^-6; around its largest finite value
    1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -23, 257.0, 259.0,
    3.3895313892515355e38, 3.3961775292304683e38, 3.4028234663852886e38, -3.4028234663852886e38,
    # float32 subnormals (bfloat16 keeps them, float16 flushes them to zero)
    1e-40, -1e-40, 2.0 ** -149, 1.1754942e-38, 2.0 ** -126,
    math.inf, -math.inf, math.nan,
]


def conversions():
    rand = np.concatenate([
        rng.standard_normal(40),
        rng.standard_normal(40) * 10.0 ** rng.randint(-9, 6, 40),
        rng.uniform(-70000, 70000, 20),
    ])
    src = np.array([f32(x) for x in EDGE] + [f32(x) for x in rand], dtype=np.float32)
    t = torch.from_numpy(src.copy())
    out = {"input": [float(x) for x in src]}
    for name, dt in HALF.items():
        h = t.to(dt)
        out[name] = values(h)
        # back to float32 exactly, and re-rounding a half value is the identity
        assert torch.equal(h.float().to(dt).view(torch.int16), h.view(torch.int16))
    # numpy's float16 is an independent implementation: same bits except NaN payloads
    with np.errstate(over="ignore"):  # the values past 65504 overflow to Inf, as they should
        npv = src.astype(np.float16).astype(np.float32)
    tv = np.array(out["float16"], dtype=np.float32)
    same = (npv == tv) | (np.isnan(npv) & np.isnan(tv))
    assert same.all(), src[~same]
    assert all(math.copysign(1, a) == math.copysign(1, b) for a, b in zip(npv, tv) if a == 0)
    # float64 -> float16 rounds through float32 in c10 (numpy rounds once)
    d = [1 + 2.0 ** -11 + 2.0 ** -40, 0.1, 65519.99999, -(2.0 ** -25) * 1.5]
    out["f64_input"] = d
    out["f64_float16"] = values(torch.tensor(d, dtype=torch.float64).half())
    out["f64_bfloat16"] = values(torch.tensor(d, dtype=torch.float64).bfloat16())
    assert out["f64_float16"][0] == 1.0 and float(np.float16(d[0])) != 1.0
    # half -> int32 truncates toward zero
    ints = [-2.75, -0.5, 0.5, 2.75, 1000.5, -1000.5, 65504.0]
    out["int_input"] = ints
    for name, dt in HALF.items():
        out["int_" + name] = [int(x) for x in torch.tensor(ints).to(dt).to(torch.int32).tolist()]
    return out


# ---------------------------------------------------------------- promotion

def promotion():
    names = list(DTYPES)
    rows = []
    for a in names:
        for b in names:
            rows.append([a, b, TORCH_NAME[torch.promote_types(DTYPES[a], DTYPES[b])]])
    return rows


# ---------------------------------------------------------------- ops

def opmath(dt, fn, *xs):
    """PyTorch's rule for half ops: float32 in, one rounding out."""
    return fn(*[x.float() for x in xs]).to(dt)


def native_or_opmath(dt, fn, *xs, exact=True):
    ref = opmath(dt, fn, *xs)
    try:
        got = fn(*xs)
    except RuntimeError:  # "not implemented for 'Half'" in 1.13
        return ref
    assert got.dtype == dt, (got.dtype, dt)
    if exact:
        assert torch.equal(got.float().nan_to_num(7.0), ref.float().nan_to_num(7.0)), (fn, got, ref)
    else:
        assert (got.float() - ref.float()).abs().max() <= 2 * ref.float().abs().max() * 2.0 ** -7
    return got


def ops():
    out = {}
    for name, dt in HALF.items():
        a = torch.from_numpy(rng.standard_normal((3, 4)).astype(np.float32) * 3).to(dt)
        b = torch.from_numpy(rng.standard_normal((3, 4)).astype(np.float32) * 3).to(dt)
        m = torch.from_numpy(rng.standard_normal((4, 5)).astype(np.float32)).to(dt)
        pos = a.abs() + torch.tensor(0.25).to(dt)
        r = {"a": values(a), "b": values(b), "m": values(m)}
        # exact: one float32 op rounded once, the same in any implementation
        r["add"] = values(native_or_opmath(dt, torch.add, a, b))
        r["sub"] = values(native_or_opmath(dt, torch.sub, a, b))
        r["mul"] = values(native_or_opmath(dt, torch.mul, a, b))
        r["div"] = values(native_or_opmath(dt, torch.div, a, b))
        r["neg"] = values(native_or_opmath(dt, torch.neg, a))
        r["abs"] = values(native_or_opmath(dt, torch.abs, a))
        r["maximum"] = values(native_or_opmath(dt, torch.maximum, a, b))
        r["add_scalar"] = values(native_or_opmath(dt, lambda x: x + 0.1, a))
        r["mul_scalar"] = values(native_or_opmath(dt, lambda x: x * 3, a))
        r["sum"] = values(native_or_opmath(dt, lambda x: x.sum(), a, exact=False))
        r["sum_dim2"] = values(native_or_opmath(dt, lambda x: x.sum(1), a, exact=False))
        r["mean_dim1"] = values(native_or_opmath(dt, lambda x: x.mean(0), a, exact=False))
        r["max"] = values(native_or_opmath(dt, lambda x: x.max(), a))
        # transcendental: float32 libm results may differ in the last float32 bit
        r["exp"] = values(native_or_opmath(dt, torch.exp, a, exact=False))
        r["log"] = values(native_or_opmath(dt, torch.log, pos, exact=False))
        r["sqrt"] = values(native_or_opmath(dt, torch.sqrt, pos, exact=False))
        r["tanh"] = values(native_or_opmath(dt, torch.tanh, a, exact=False))
        r["sigmoid"] = values(native_or_opmath(dt, torch.sigmoid, a, exact=False))
        r["matmul"] = values(native_or_opmath(dt, torch.matmul, a, m, exact=False))
        r["softmax"] = values(native_or_opmath(dt, lambda x: torch.softmax(x, 1), a, exact=False))
        out[name] = r
    return out


def main():
    fix = {"conversions": conversions(), "promotion": promotion(), "ops": ops()}
    with open(OUT, "w") as f:
        f.write("-- Generated by scripts/make_fixtures_half.py; do not edit.\n")
        f.write("return " + lua(fix) + "\n")
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
