#!/usr/bin/python3
"""Reference data for spec/nn_spec.lua, made with PyTorch (torch 1.13).

Run with /usr/bin/python3 (it has numpy and torch):
    /usr/bin/python3 scripts/make_fixtures_nn.py
Writes spec/fixtures/nn/*.lua, each `return {...}` with the inputs (so the
spec feeds dnnlua exactly the same float32 values) and PyTorch's outputs and
gradients.  Keras conventions are converted where PyTorch differs:
  - hard_sigmoid is Keras 2's clip(0.2 x + 0.5, 0, 1) (torch's differs);
  - leaky_relu's Keras default slope is 0.3;
  - batch norm momentum: Keras moving = moving*m + batch*(1-m) is torch's
    momentum 1-m; Keras updates the moving variance with the biased batch
    variance, torch with the unbiased one, so the moving statistics here are
    computed from the batch statistics directly.
"""
import os

import numpy as np
import torch
import torch.nn.functional as TF

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "nn")
rng = np.random.RandomState(20240601)


def lua(v, indent=""):
    """A Lua literal for nested lists / numbers / strings / dicts."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, dict):
        inner = indent + "  "
        items = [f"{inner}{k} = {lua(x, inner)}," for k, x in v.items()]
        return "{\n" + "\n".join(items) + "\n" + indent + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x, indent) for x in v) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(np.float32(v))) if np.isfinite(v) else ("1/0" if v > 0 else "-1/0")
    if isinstance(v, str):
        return '"' + v + '"'
    raise TypeError(type(v))


def write(name, data):
    with open(os.path.join(OUT, name + ".lua"), "w") as f:
        f.write(f"-- Made by scripts/make_fixtures_nn.py (PyTorch {torch.__version__}); do not edit.\n")
        f.write("return " + lua(data) + "\n")


def t32(shape, lo=-3.0, hi=3.0):
    return torch.tensor(rng.uniform(lo, hi, size=shape).astype(np.float32))


def grads(fn, inputs, g):
    """Outputs of fn and the gradients of sum(out * g) w.r.t. the inputs."""
    xs = [t.clone().requires_grad_(True) for t in inputs]
    y = fn(*xs)
    y.backward(g)
    return y.detach(), [t.grad for t in xs]


def activations():
    x = t32((4, 7))
    g = t32((4, 7), -1, 1)
    cases = {
        "relu": lambda t: TF.relu(t),
        "leaky_relu": lambda t: TF.leaky_relu(t, 0.3),
        "leaky_relu_01": lambda t: TF.leaky_relu(t, 0.1),
        "elu": lambda t: TF.elu(t, 1.0),
        "elu_05": lambda t: TF.elu(t, 0.5),
        "selu": lambda t: TF.selu(t),
        "gelu": lambda t: TF.gelu(t),
        "gelu_tanh": lambda t: TF.gelu(t, approximate="tanh"),
        "softplus": lambda t: TF.softplus(t),
        "swish": lambda t: TF.silu(t),
        "tanh": lambda t: torch.tanh(t),
        "sigmoid": lambda t: torch.sigmoid(t),
        "hard_sigmoid": lambda t: torch.clamp(0.2 * t + 0.5, 0, 1),
        "softsign": lambda t: TF.softsign(t),
        "exponential": lambda t: torch.exp(t),
    }
    out = {"x": x, "g": g}
    for name, fn in cases.items():
        y, (dx,) = grads(fn, [x], g)
        out[name] = {"y": y, "dx": dx}
    write("activations", out)


def softmax():
    out = {}
    for key, shape, dim in (("rows", (3, 5), 1), ("mid", (2, 4, 3), 1)):
        x = t32(shape, -4, 4)
        g = t32(shape, -1, 1)
        y, (dx,) = grads(lambda t: torch.softmax(t, dim), [x], g)
        ly, (ldx,) = grads(lambda t: torch.log_softmax(t, dim), [x], g)
        out[key] = {"x": x, "g": g, "axis": dim + 1, "y": y, "dx": dx, "log_y": ly, "log_dx": ldx}
    write("softmax", out)


def linear():
    out = {}
    acts = {"none": lambda t: t, "relu": TF.relu, "sigmoid": torch.sigmoid, "gelu": TF.gelu,
            "tanh": torch.tanh}
    for key, xshape in (("mat", (6, 5)), ("batch3", (2, 3, 5))):
        x = t32(xshape, -1, 1)
        w = t32((5, 4), -1, 1)
        b = t32((4,), -1, 1)
        g = t32(xshape[:-1] + (4,), -1, 1)
        case = {"x": x, "kernel": w, "bias": b, "g": g}
        for an, af in acts.items():
            y, (dx, dw, db) = grads(lambda a, k, c: af(a @ k + c), [x, w, b], g)
            case[an] = {"y": y, "dx": dx, "dkernel": dw, "dbias": db}
        out[key] = case
    write("linear", out)


def batch_norm():
    out = {}
    eps, m = 1e-3, 0.9
    # channels-last (N, C), training, then the moving statistics after steps
    x = t32((8, 3), -2, 2)
    gamma, beta = t32((3,), 0.5, 1.5), t32((3,), -0.5, 0.5)
    g = t32((8, 3), -1, 1)
    y, (dx, dgm, dbt) = grads(
        lambda a, gm, bt: TF.batch_norm(a, None, None, gm, bt, training=True, momentum=1 - m, eps=eps),
        [x, gamma, beta], g)
    steps = [t32((8, 3), -2, 2) + torch.tensor([0.0, 1.0, -1.0]) for _ in range(3)]
    mm, mv = torch.tensor([0.1, -0.2, 0.3]), torch.tensor([1.0, 2.0, 0.5])
    moving = {"mean0": mm.clone(), "var0": mv.clone(), "steps": steps, "momentum": m}
    for s in steps:
        mm = mm * m + s.mean(0) * (1 - m)
        mv = mv * m + s.var(0, unbiased=False) * (1 - m)
    moving["mean"], moving["var"] = mm, mv
    # inference with those statistics
    yi, (dxi, dgmi, dbti) = grads(
        lambda a, gm, bt: TF.batch_norm(a, mm, mv, gm, bt, training=False, eps=eps), [x, gamma, beta], g)
    out["last"] = {"x": x, "gamma": gamma, "beta": beta, "g": g, "epsilon": eps,
                   "train": {"y": y, "dx": dx, "dgamma": dgm, "dbeta": dbt},
                   "infer": {"y": yi, "dx": dxi, "dgamma": dgmi, "dbeta": dbti}}
    out["moving"] = moving
    # channels_first (N, C, H, W), axis = 2 (1-based)
    x4 = t32((4, 3, 2, 2), -2, 2)
    g4 = t32((4, 3, 2, 2), -1, 1)
    y4, (dx4, dg4, db4) = grads(
        lambda a, gm, bt: TF.batch_norm(a, None, None, gm, bt, training=True, eps=eps), [x4, gamma, beta], g4)
    out["nchw"] = {"x": x4, "g": g4, "y": y4, "dx": dx4, "dgamma": dg4, "dbeta": db4,
                   "batch_mean": x4.mean((0, 2, 3)), "batch_var": x4.var((0, 2, 3), unbiased=False)}
    # channels-last 4-d (N, H, W, C), the Keras default for images
    x5 = t32((2, 3, 2, 3), -2, 2)
    g5 = t32((2, 3, 2, 3), -1, 1)
    y5, (dx5, dg5, db5) = grads(
        lambda a, gm, bt: TF.batch_norm(a.permute(0, 3, 1, 2), None, None, gm, bt, training=True,
                                        eps=eps).permute(0, 2, 3, 1), [x5, gamma, beta], g5)
    out["nhwc"] = {"x": x5, "g": g5, "y": y5, "dx": dx5, "dgamma": dg5, "dbeta": db5}
    write("batch_norm", out)


def layer_norm():
    out = {}
    eps = 1e-3
    x = t32((4, 6), -2, 2)
    gm, bt, g = t32((6,), 0.5, 1.5), t32((6,), -0.5, 0.5), t32((4, 6), -1, 1)
    y, (dx, dg, db) = grads(lambda a, c, d: TF.layer_norm(a, (6,), c, d, eps), [x, gm, bt], g)
    out["last"] = {"x": x, "gamma": gm, "beta": bt, "g": g, "y": y, "dx": dx, "dgamma": dg, "dbeta": db}
    x3 = t32((2, 3, 4), -2, 2)
    gm3, bt3, g3 = t32((3, 4), 0.5, 1.5), t32((3, 4), -0.5, 0.5), t32((2, 3, 4), -1, 1)
    y, (dx, dg, db) = grads(lambda a, c, d: TF.layer_norm(a, (3, 4), c, d, eps), [x3, gm3, bt3], g3)
    out["two"] = {"x": x3, "gamma": gm3, "beta": bt3, "g": g3, "y": y, "dx": dx, "dgamma": dg, "dbeta": db}
    # a middle axis: Keras normalises over axis 2 (1-based) of (2, 3, 4)
    gm2, bt2 = t32((3,), 0.5, 1.5), t32((3,), -0.5, 0.5)
    y, (dx, dg, db) = grads(
        lambda a, c, d: TF.layer_norm(a.permute(0, 2, 1), (3,), c, d, eps).permute(0, 2, 1), [x3, gm2, bt2], g3)
    out["middle"] = {"x": x3, "gamma": gm2, "beta": bt2, "g": g3, "y": y, "dx": dx, "dgamma": dg, "dbeta": db}
    write("layer_norm", out)


def embedding():
    ids = torch.tensor([[0, 3, 3], [4, 1, 3]])
    w = t32((5, 4), -1, 1)
    g = t32((2, 3, 4), -1, 1)
    y, (dw,) = grads(lambda t: TF.embedding(ids, t), [w], g)
    write("embedding", {"ids": ids, "weight": w, "g": g, "y": y, "dweight": dw})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    activations()
    softmax()
    linear()
    batch_norm()
    layer_norm()
    embedding()
    print("wrote", sorted(os.listdir(OUT)))
