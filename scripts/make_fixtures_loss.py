#!/usr/bin/python3
"""Reference numbers for spec/losses_spec.lua: spec/fixtures/loss/*.lua.

Every loss is transcribed from Keras 2.15 (tf.keras / keras/src/losses.py and
backend.py) twice: in numpy (values) and in torch (values and gradients by
autograd), both in float32 as Keras computes, so clipping bounds such as
1 - 1e-7 round the same way.  The two must agree, and where PyTorch has the
same loss (BCEWithLogits, CrossEntropy with soft targets / label smoothing /
ignore_index, NLL, MSE, L1, Huber, KLDiv, PoissonNLL, CosineSimilarity) its
native result must agree too, so each fixture is backed by independent
implementations.  Each case also carries Keras's reductions of the weighted
losses (none, sum, sum_over_batch_size; ignore_class masks as Keras does).

Run: /usr/bin/python3 scripts/make_fixtures_loss.py
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "loss")
EPS = np.float32(1e-7)
rng = np.random.RandomState(1234)


# ---------------------------------------------------------------- numpy (Keras formulas, float32)

def np_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    ls = np.float32(label_smoothing)
    t = t * (np.float32(1) - ls) + np.float32(0.5) * ls
    if from_logits:
        e = np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
    else:
        pc = np.clip(p, EPS, np.float32(1) - EPS)
        e = -(t * np.log(pc + EPS) + (1 - t) * np.log(1 - pc + EPS))
    return e.mean(axis=axis)


def np_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    ls = np.float32(label_smoothing)
    c = np.float32(t.shape[-1])
    t = t * (np.float32(1) - ls) + ls / c
    if from_logits:
        m = p.max(axis=axis, keepdims=True)
        logp = p - m - np.log(np.exp(p - m).sum(axis=axis, keepdims=True))
        return -(t * logp).sum(axis=axis)
    q = p / p.sum(axis=axis, keepdims=True)
    q = np.clip(q, EPS, np.float32(1) - EPS)
    return -(t * np.log(q)).sum(axis=axis)


def np_scce(y, p, from_logits=False, axis=-1, ignore_class=None):
    if not from_logits:
        p = np.log(np.clip(p, EPS, np.float32(1) - EPS))
    p = np.moveaxis(p, axis, -1)
    m = p.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(p - m).sum(axis=-1, keepdims=True)))[..., 0]
    y = y.reshape(lse.shape).astype(np.int64)
    valid = np.ones_like(y, dtype=bool) if ignore_class is None else (y != ignore_class)
    yy = np.where(valid, y, 0)
    picked = np.take_along_axis(p, yy[..., None], axis=-1)[..., 0]
    return np.where(valid, lse - picked, np.float32(0)).astype(np.float32)


def np_mse(t, p): return np.square(p - t).mean(-1)
def np_mae(t, p): return np.abs(p - t).mean(-1)
def np_mape(t, p): return np.float32(100) * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1)


def np_msle(t, p):
    return np.square(np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)).mean(-1)


def np_huber(t, p, delta=1.0):
    d = np.float32(delta)
    err = p - t
    a = np.abs(err)
    return np.where(a <= d, np.float32(0.5) * err * err, d * a - np.float32(0.5) * d * d).mean(-1)


def np_pm1(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_hinge(t, p): return np.maximum(1 - np_pm1(t) * p, 0).mean(-1)
def np_squared_hinge(t, p): return np.square(np.maximum(1 - np_pm1(t) * p, 0)).mean(-1)


def np_categorical_hinge(t, p):
    pos = (t * p).sum(-1)
    neg = ((1 - t) * p).max(-1)
    return np.maximum(neg - pos + 1, 0)


def np_kld(t, p):
    t = np.clip(t, EPS, 1)
    p = np.clip(p, EPS, 1)
    return (t * np.log(t / p)).sum(-1)


def np_poisson(t, p): return (p - t * np.log(p + EPS)).mean(-1)


def np_l2n(x, axis):
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), np.float32(1e-12)))


def np_cosine(t, p, axis=-1): return -(np_l2n(t, axis) * np_l2n(p, axis)).sum(axis=axis)


def np_log_cosh(t, p):
    x = p - t
    return (x + np.logaddexp(np.float32(0), -2 * x) - np.log(np.float32(2))).mean(-1)


# ---------------------------------------------------------------- torch (same formulas; autograd)

TEPS = 1e-7


def t_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        e = torch.relu(p) - p * t + torch.log1p(torch.exp(-p.abs()))
    else:
        pc = torch.clamp(p, float(EPS), float(np.float32(1) - EPS))
        e = -(t * torch.log(pc + TEPS) + (1 - t) * torch.log(1 - pc + TEPS))
    return e.mean(dim=axis)


def t_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    c = t.shape[-1]
    t = t * (1 - label_smoothing) + label_smoothing / c
    if from_logits:
        return -(t * torch.log_softmax(p, dim=axis)).sum(dim=axis)
    q = p / p.sum(dim=axis, keepdim=True)
    q = torch.clamp(q, float(EPS), float(np.float32(1) - EPS))
    return -(t * torch.log(q)).sum(dim=axis)


def t_scce(y, p, from_logits=False, axis=-1, ignore_class=None):
    if not from_logits:
        p = torch.log(torch.clamp(p, float(EPS), float(np.float32(1) - EPS)))
    p = torch.movedim(p, axis, -1)
    logp = torch.log_softmax(p, dim=-1)
    y = torch.as_tensor(y).reshape(logp.shape[:-1]).long()
    valid = torch.ones_like(y, dtype=torch.bool) if ignore_class is None else (y != ignore_class)
    yy = torch.where(valid, y, torch.zeros_like(y))
    picked = torch.gather(logp, -1, yy[..., None])[..., 0]
    return torch.where(valid, -picked, torch.zeros_like(picked))


def t_mse(t, p): return (p - t).square().mean(-1)
def t_mae(t, p): return (p - t).abs().mean(-1)
def t_mape(t, p): return 100 * ((t - p) / torch.clamp(t.abs(), min=TEPS)).abs().mean(-1)


def t_msle(t, p):
    return (torch.log(torch.clamp(p, min=TEPS) + 1) - torch.log(torch.clamp(t, min=TEPS) + 1)).square().mean(-1)


def t_huber(t, p, delta=1.0):
    err = p - t
    a = err.abs()
    return torch.where(a <= delta, 0.5 * err * err, delta * a - 0.5 * delta * delta).mean(-1)


def t_pm1(t):
    return 2 * t - 1 if bool(((t == 0) | (t == 1)).all()) else t


def t_hinge(t, p): return torch.relu(1 - t_pm1(t) * p).mean(-1)
def t_squared_hinge(t, p): return torch.relu(1 - t_pm1(t) * p).square().mean(-1)


def t_categorical_hinge(t, p):
    pos = (t * p).sum(-1)
    neg = ((1 - t) * p).amax(-1)
    return torch.relu(neg - pos + 1)


def t_kld(t, p):
    t = torch.clamp(t, TEPS, 1)
    p = torch.clamp(p, TEPS, 1)
    return (t * torch.log(t / p)).sum(-1)


def t_poisson(t, p): return (p - t * torch.log(p + TEPS)).mean(-1)


def t_l2n(x, axis):
    return x * torch.rsqrt(torch.clamp((x * x).sum(dim=axis, keepdim=True), min=1e-12))


def t_cosine(t, p, axis=-1): return -(t_l2n(t, axis) * t_l2n(p, axis)).sum(dim=axis)


def t_log_cosh(t, p):
    x = p - t
    return (x + F.softplus(-2 * x) - math.log(2)).mean(-1)


# ---------------------------------------------------------------- native PyTorch cross-checks

def native(name, t, p, o):
    """PyTorch's own loss where it computes the same thing, else None."""
    t64, p64 = torch.tensor(t, dtype=torch.float64), torch.tensor(p, dtype=torch.float64)
    if name == "binary_crossentropy" and o.get("from_logits"):
        ls = o.get("label_smoothing", 0.0)
        e = F.binary_cross_entropy_with_logits(p64, t64 * (1 - ls) + 0.5 * ls, reduction="none")
        return e.mean(dim=o.get("_np_axis", -1))
    if name == "categorical_crossentropy" and o.get("from_logits"):
        ax = o.get("_np_axis", -1)
        return F.cross_entropy(torch.movedim(p64, ax, 1), torch.movedim(t64, ax, 1),
                               label_smoothing=o.get("label_smoothing", 0.0), reduction="none")
    if name == "sparse_categorical_crossentropy":
        ax = o.get("_np_axis", -1)
        x = p64 if o.get("from_logits") else torch.log(torch.clamp(p64, float(EPS), float(np.float32(1) - EPS)))
        x = torch.movedim(x, ax, -1)
        y = torch.tensor(t).long().reshape(x.shape[:-1])
        ign = o.get("ignore_class")
        xm = torch.movedim(x, -1, 1)
        if o.get("from_logits"):
            return F.cross_entropy(xm, y, ignore_index=ign if ign is not None else -100, reduction="none")
        return F.nll_loss(torch.log_softmax(xm, 1), y, ignore_index=ign if ign is not None else -100,
                          reduction="none")
    if name == "mean_squared_error":
        return F.mse_loss(p64, t64, reduction="none").mean(-1)
    if name == "mean_absolute_error":
        return F.l1_loss(p64, t64, reduction="none").mean(-1)
    if name == "huber":
        return F.huber_loss(p64, t64, delta=o.get("delta", 1.0), reduction="none").mean(-1)
    if name == "kl_divergence":
        tc = torch.clamp(t64, 1e-7, 1)
        return F.kl_div(torch.log(torch.clamp(p64, 1e-7, 1)), tc, reduction="none").sum(-1)
    if name == "poisson":
        return F.poisson_nll_loss(p64, t64, log_input=False, full=False, eps=1e-7, reduction="none").mean(-1)
    if name == "cosine_similarity":
        return -F.cosine_similarity(t64, p64, dim=o.get("_np_axis", -1), eps=1e-12)
    return None


NP = {"binary_crossentropy": np_bce, "categorical_crossentropy": np_cce,
      "sparse_categorical_crossentropy": np_scce, "mean_squared_error": np_mse,
      "mean_absolute_error": np_mae, "mean_absolute_percentage_error": np_mape,
      "mean_squared_logarithmic_error": np_msle, "huber": np_huber, "hinge": np_hinge,
      "squared_hinge": np_squared_hinge, "categorical_hinge": np_categorical_hinge,
      "kl_divergence": np_kld, "poisson": np_poisson, "cosine_similarity": np_cosine,
      "log_cosh": np_log_cosh}
TORCH = {"binary_crossentropy": t_bce, "categorical_crossentropy": t_cce,
         "sparse_categorical_crossentropy": t_scce, "mean_squared_error": t_mse,
         "mean_absolute_error": t_mae, "mean_absolute_percentage_error": t_mape,
         "mean_squared_logarithmic_error": t_msle, "huber": t_huber, "hinge": t_hinge,
         "squared_hinge": t_squared_hinge, "categorical_hinge": t_categorical_hinge,
         "kl_divergence": t_kld, "poisson": t_poisson, "cosine_similarity": t_cosine,
         "log_cosh": t_log_cosh}
# Lua option names -> Python keyword names (axis is 1-based in Lua).
PY_KW = {"from_logits", "label_smoothing", "axis", "ignore_class", "delta"}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.abs(b).max() if b.size else 0
    num = np.abs(a - b).max() if b.size else 0
    return num / den if den > 0 else num


def make_case(title, name, y_true, y_pred, opts=None, grad_true=False, labels=False):
    opts = dict(opts or {})
    kw = {}
    for k, v in list(opts.items()):
        if k == "axis":
            kw["axis"] = v - 1 if v > 0 else v  # Lua 1-based -> numpy
            opts["_np_axis"] = kw["axis"]
        else:
            kw[k] = v
    y_pred = y_pred.astype(np.float32)
    y_true = y_true.astype(np.int64 if labels else np.float32)
    v_np = NP[name](y_true, y_pred, **kw)
    tp = torch.tensor(y_pred, requires_grad=True)
    tt = torch.tensor(y_true) if labels else torch.tensor(y_true, requires_grad=grad_true)
    v_t = TORCH[name](tt, tp, **kw)
    assert rel_err(v_t.detach().numpy(), v_np) < 2e-6, (title, rel_err(v_t.detach().numpy(), v_np))
    nat = native(name, y_true, y_pred, opts)
    if nat is not None:
        assert rel_err(nat.numpy(), v_np) < 1e-5, (title, "native", rel_err(nat.numpy(), v_np))
    g = rng.uniform(0.5, 1.5, size=v_t.shape).astype(np.float32)
    (v_t * torch.tensor(g)).sum().backward()
    # Keras's reductions of the weighted per-sample losses
    lshape = v_np.shape
    w = rng.uniform(0.1, 2.0, size=lshape[:1]).astype(np.float32) if lshape else np.float32(0.7)
    wl = w.reshape(w.shape + (1,) * (len(lshape) - 1)) if lshape else w
    weighted = v_np * wl
    red = {"sample_weight": w, "none": weighted, "sum": weighted.sum()}
    if opts.get("ignore_class") is not None:
        mask = (y_true.reshape(lshape) != opts["ignore_class"]).astype(np.float32)
        red["none"] = weighted * mask
        red["sum"] = (weighted * mask).sum()
        red["sum_over_batch_size"] = (weighted * mask).sum() / mask.sum()
    else:
        red["sum_over_batch_size"] = weighted.sum() / weighted.size
    red["unweighted_mean"] = v_np.mean()
    case = {"title": title, "name": name, "opts": {k: v for k, v in opts.items() if not k.startswith("_")},
            "y_true": y_true, "y_pred": y_pred, "loss": v_np, "upstream": g,
            "grad_pred": tp.grad.numpy(), "reductions": red}
    if grad_true:
        case["grad_true"] = tt.grad.numpy()
    return case


# ---------------------------------------------------------------- Lua output

def lua(v, indent=""):
    if isinstance(v, dict):
        inner = indent + "  "
        items = []
        for k in sorted(v):
            items.append(f"{inner}{k} = {lua(v[k], inner)},")
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x, indent) for x in v) + "}"
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return lua(v.item(), indent)
        return lua(v.tolist(), indent)
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        assert math.isfinite(x), x
        return repr(float(np.float32(x))) if isinstance(v, np.float32) else repr(x)
    if isinstance(v, str):
        return '"' + v + '"'
    raise TypeError(type(v))


def write(fname, cases):
    path = os.path.join(OUT, fname)
    with open(path, "w") as f:
        f.write("-- Generated by scripts/make_fixtures_loss.py; do not edit.\n")
        f.write("return {\n")
        for c in cases:
            f.write("  " + lua(c, "  ") + ",\n")
        f.write("}\n")
    print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


# ---------------------------------------------------------------- cases

def onehot(ids, c):
    return np.eye(c, dtype=np.float32)[ids]


def probs(shape):
    p = rng.uniform(0.02, 1.0, size=shape)
    return p / p.sum(-1, keepdims=True)


def xent_cases():
    cs = []
    # binary
    t = rng.randint(0, 2, size=(4, 3)).astype(np.float32)
    p = rng.uniform(0.01, 0.99, size=(4, 3)).astype(np.float32)
    p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 1.0  # clipped to [1e-7, 1 - 1e-7]
    t[0, 0], t[1, 1], t[2, 2] = 1.0, 0.0, 1.0
    cs.append(make_case("binary probabilities, clipped at 0 and 1", "binary_crossentropy", t, p, grad_true=True))
    cs.append(make_case("binary probabilities, label_smoothing 0.2", "binary_crossentropy", t, p,
                        {"label_smoothing": 0.2}))
    x = rng.normal(0, 3, size=(4, 3)).astype(np.float32)
    x[0, 0], x[3, 2] = 60.0, -75.0
    cs.append(make_case("binary logits, large logits", "binary_crossentropy", t, x, {"from_logits": True},
                        grad_true=True))
    cs.append(make_case("binary logits, label_smoothing 0.1", "binary_crossentropy", t, x,
                        {"from_logits": True, "label_smoothing": 0.1}, grad_true=True))
    t3 = rng.randint(0, 2, size=(2, 3, 4)).astype(np.float32)
    x3 = rng.normal(0, 2, size=(2, 3, 4)).astype(np.float32)
    cs.append(make_case("binary logits, axis 2 of [2,3,4]", "binary_crossentropy", t3, x3,
                        {"from_logits": True, "axis": 2}))
    # categorical
    ids = rng.randint(0, 5, size=4)
    pu = rng.uniform(0.05, 2.0, size=(4, 5)).astype(np.float32)  # not normalised: Keras divides by the sum
    pu[1, 3] = 0.0
    cs.append(make_case("categorical probabilities, unnormalised", "categorical_crossentropy", onehot(ids, 5), pu,
                        grad_true=True))
    soft = probs((4, 5)).astype(np.float32)
    cs.append(make_case("categorical probabilities, soft targets, label_smoothing 0.1", "categorical_crossentropy",
                        soft, pu, {"label_smoothing": 0.1}, grad_true=True))
    xl = rng.normal(0, 2, size=(4, 5)).astype(np.float32)
    xl[2] += 40.0
    cs.append(make_case("categorical logits, soft targets", "categorical_crossentropy", soft, xl,
                        {"from_logits": True}, grad_true=True))
    cs.append(make_case("categorical logits, label_smoothing 0.1", "categorical_crossentropy", onehot(ids, 5), xl,
                        {"from_logits": True, "label_smoothing": 0.1}, grad_true=True))
    tc = np.moveaxis(onehot(rng.randint(0, 3, size=(2, 4)), 3), -1, 1)
    xc = rng.normal(0, 2, size=(2, 3, 4)).astype(np.float32)
    cs.append(make_case("categorical logits, classes on axis 2 of [2,3,4]", "categorical_crossentropy", tc, xc,
                        {"from_logits": True, "axis": 2}))
    # sparse
    y = rng.randint(0, 5, size=6)
    xs = rng.normal(0, 2, size=(6, 5)).astype(np.float32)
    xs[0] *= 30
    cs.append(make_case("sparse logits", "sparse_categorical_crossentropy", y, xs, {"from_logits": True},
                        labels=True))
    ps = probs((6, 5)).astype(np.float32)
    ps[1, y[1]] = 0.0
    ps[2, (y[2] + 1) % 5] = 1.0
    cs.append(make_case("sparse probabilities, clipped", "sparse_categorical_crossentropy", y, ps, labels=True))
    yseg = rng.randint(0, 4, size=(2, 3))
    yseg[0, 1], yseg[1, 2] = -1, -1
    xseg = rng.normal(0, 2, size=(2, 3, 4)).astype(np.float32)
    cs.append(make_case("sparse logits, ignore_class -1, [2,3] labels", "sparse_categorical_crossentropy", yseg,
                        xseg, {"from_logits": True, "ignore_class": -1}, labels=True))
    ycf = rng.randint(0, 3, size=(2, 4))
    xcf = rng.normal(0, 2, size=(2, 3, 4)).astype(np.float32)
    cs.append(make_case("sparse logits, classes on axis 2 of [2,3,4]", "sparse_categorical_crossentropy", ycf, xcf,
                        {"from_logits": True, "axis": 2}, labels=True))
    return cs


def regression_cases():
    cs = []
    shape = (4, 3)
    t = rng.normal(0, 1, size=shape).astype(np.float32)
    p = rng.normal(0, 1, size=shape).astype(np.float32)
    cs.append(make_case("mean_squared_error", "mean_squared_error", t, p, grad_true=True))
    cs.append(make_case("mean_absolute_error", "mean_absolute_error", t, p, grad_true=True))
    tm = np.where(np.abs(t) < 0.2, 0.5, t).astype(np.float32)
    cs.append(make_case("mean_absolute_percentage_error", "mean_absolute_percentage_error", tm, p, grad_true=True))
    tpos = rng.uniform(0, 3, size=shape).astype(np.float32)
    ppos = rng.uniform(0.1, 3, size=shape).astype(np.float32)
    pneg = ppos.copy()
    pneg[0, 0] = -0.5  # clamped at eps: no gradient there
    cs.append(make_case("mean_squared_logarithmic_error", "mean_squared_logarithmic_error", tpos, pneg,
                        grad_true=True))
    cs.append(make_case("huber delta 1", "huber", t, p * 2, grad_true=True))
    cs.append(make_case("huber delta 0.5", "huber", t, p * 2, {"delta": 0.5}))
    t01 = rng.randint(0, 2, size=shape).astype(np.float32)
    cs.append(make_case("hinge, 0/1 labels", "hinge", t01, p))
    tpm = (2 * rng.randint(0, 2, size=shape) - 1).astype(np.float32)
    cs.append(make_case("hinge, -1/1 labels", "hinge", tpm, p, grad_true=True))
    cs.append(make_case("squared_hinge", "squared_hinge", t01, p))
    cs.append(make_case("categorical_hinge", "categorical_hinge", onehot(rng.randint(0, 3, size=4), 3), p,
                        grad_true=True))
    tk = probs(shape).astype(np.float32)
    tk[0, 1] = 0.0
    pk = probs(shape).astype(np.float32)
    cs.append(make_case("kl_divergence", "kl_divergence", tk, pk, grad_true=True))
    cs.append(make_case("poisson", "poisson", tpos, ppos, grad_true=True))
    cs.append(make_case("cosine_similarity", "cosine_similarity", t, p, grad_true=True))
    cs.append(make_case("cosine_similarity axis 1", "cosine_similarity", t, p, {"axis": 1}))
    pl = p.copy()
    pl[1, 1] = 40.0  # log(cosh(40)) overflows cosh but not the stable form
    cs.append(make_case("log_cosh", "log_cosh", t, pl, grad_true=True))
    return cs


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    write("xent.lua", xent_cases())
    write("regression.lua", regression_cases())
