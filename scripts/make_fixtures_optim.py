#!/usr/bin/python3
"""Reference trajectories for spec/optimizers_spec.lua.

Writes spec/fixtures/optim/*.lua: for each optimizer a few configurations run
for 50 steps on a small fixed problem, by
  * a NumPy transcription of Keras 3's update rules (keras/src/optimizers/*.py:
    clipping, decoupled weight decay, update_step, Nadam's u_product, the
    learning-rate schedules), in float64;
  * torch.optim (float64), for the configurations where PyTorch computes the
    same thing (epsilon 0 where the two place it differently; no Nadam, Ftrl
    or Lion: PyTorch 1.13's NAdam uses another momentum schedule and has no
    Ftrl or Lion).
The problem: two variables w (3, 4) and b (5,), starting from fixed values;
gradients either a fixed random sequence ("fixed") or a * (x - c) + noise_t
("quadratic", computed from the current values in both worlds).  Every input
is rounded to float32 first, so the Lua side starts from the same numbers.

Run: /usr/bin/python3 scripts/make_fixtures_optim.py
"""
import math
import os

import numpy as np
import torch

STEPS = 50
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "optim")


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


rng = np.random.default_rng(20240611)
W0 = f32(rng.standard_normal((3, 4)))
B0 = f32(rng.standard_normal(5))
SCALES = rng.uniform(0.2, 3.0, STEPS)
GRADS = [(f32(rng.standard_normal((3, 4)) * s), f32(rng.standard_normal(5) * s)) for s in SCALES]
QA = (f32(rng.uniform(0.5, 2.0, (3, 4))), f32(rng.uniform(0.5, 2.0, 5)))
QC = (f32(rng.standard_normal((3, 4))), f32(rng.standard_normal(5)))
QN = [(f32(0.1 * rng.standard_normal((3, 4))), f32(0.1 * rng.standard_normal(5))) for _ in range(STEPS)]


def skipped(case, t):
    """Steps (1-based) where b gets no gradient."""
    return case.get("skip") and t % 3 == 0


def gradients(case, t, values):
    if case["problem"] == "fixed":
        gw, gb = GRADS[t - 1]
    else:
        gw = QA[0] * (values[0] - QC[0]) + QN[t - 1][0]
        gb = QA[1] * (values[1] - QC[1]) + QN[t - 1][1]
    return [gw.copy(), None if skipped(case, t) else gb.copy()]


# ---------------------------------------------------------------- schedules

def schedule_value(s, step):
    name, c = s["class_name"], s["config"]
    if name == "ExponentialDecay":
        p = step / c["decay_steps"]
        if c.get("staircase"):
            p = math.floor(p)
        return c["initial_learning_rate"] * c["decay_rate"] ** p
    if name == "PiecewiseConstantDecay":
        b, v = c["boundaries"], c["values"]
        for i, x in enumerate(b):
            if step <= x:
                return v[i]
        return v[-1]
    if name == "PolynomialDecay":
        ds = c["decay_steps"]
        end, power = c.get("end_learning_rate", 0.0001), c.get("power", 1.0)
        if c.get("cycle"):
            ds = ds * (1.0 if step == 0 else math.ceil(step / c["decay_steps"]))
        else:
            step = min(step, ds)
        p = step / ds
        return (c["initial_learning_rate"] - end) * (1 - p) ** power + end
    if name == "InverseTimeDecay":
        p = step / c["decay_steps"]
        if c.get("staircase"):
            p = math.floor(p)
        return c["initial_learning_rate"] / (1 + c["decay_rate"] * p)
    if name == "CosineDecay":
        alpha, ds = c.get("alpha", 0.0), c["decay_steps"]

        def decay(s_, frm):
            cos = 0.5 * (1.0 + math.cos(math.pi * s_ / ds))
            return frm * ((1 - alpha) * cos + alpha)

        if c.get("warmup_target") is None:
            return decay(min(step, ds), c["initial_learning_rate"])
        ws, wt = c.get("warmup_steps", 0), c["warmup_target"]
        step = min(step, ds + ws)
        if step < ws:
            return (wt - c["initial_learning_rate"]) * (step / ws) + c["initial_learning_rate"]
        return decay(step - ws, wt)
    if name == "CosineDecayRestarts":
        t_mul, m_mul, alpha = c.get("t_mul", 2.0), c.get("m_mul", 1.0), c.get("alpha", 0.0)
        frac = step / c["first_decay_steps"]
        if t_mul == 1.0:
            i = math.floor(frac)
            frac -= i
        else:
            i = math.floor(math.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i) / (1.0 - t_mul)
            frac = (frac - sum_r) / t_mul ** i
        cos = 0.5 * m_mul ** i * (1.0 + math.cos(math.pi * frac))
        return c["initial_learning_rate"] * ((1 - alpha) * cos + alpha)
    raise ValueError(name)


# ------------------------------------------------------- Keras, in NumPy

DEFAULTS = {
    "SGD": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "RMSprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "Adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "AdamW": dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                  amsgrad=False),
    "Adadelta": dict(learning_rate=0.001, rho=0.95, epsilon=1e-7),
    "Adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
    "Adamax": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "Nadam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "Ftrl": dict(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0),
    "Lion": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.99),
}


class KerasOptimizer:
    def __init__(self, cls, config, exclude=()):
        self.cls = cls
        self.c = dict(DEFAULTS[cls])
        self.c.update(config)
        self.exclude = set(exclude)
        self.iterations = 0
        self.slots = {}
        self.u_product = 1.0

    def learning_rate(self):
        lr = self.c["learning_rate"]
        return schedule_value(lr, self.iterations) if isinstance(lr, dict) else lr

    def new_slots(self, var):
        c, z = self.c, (lambda: np.zeros_like(var))
        k = self.cls
        if k == "SGD":
            return {"m": z()} if c["momentum"] != 0 else {}
        if k == "RMSprop":
            return {"velocity": z(), "momentum": z(), "average_gradient": z()}
        if k in ("Adam", "AdamW", "Nadam"):
            return {"m": z(), "v": z(), "v_hat": z()}
        if k == "Adadelta":
            return {"accumulated_grad": z(), "accumulated_delta_var": z()}
        if k == "Adagrad":
            return {"accumulator": np.full_like(var, c["initial_accumulator_value"])}
        if k == "Adamax":
            return {"m": z(), "u": z()}
        if k == "Ftrl":
            return {"accumulator": np.full_like(var, c["initial_accumulator_value"]), "linear": z()}
        if k == "Lion":
            return {"m": z()}
        raise ValueError(k)

    def apply(self, grads, variables):
        idx = [i for i, g in enumerate(grads) if g is not None]
        gs = [grads[i] for i in idx]
        c = self.c
        lr = self.learning_rate()
        # _clip_gradients
        if c.get("clipnorm"):
            out = []
            for g in gs:
                l2sum = np.sum(g * g)
                l2norm = math.sqrt(l2sum) if l2sum > 0 else l2sum
                out.append(g * c["clipnorm"] / max(l2norm, c["clipnorm"]))
            gs = out
        elif c.get("global_clipnorm"):
            norm = math.sqrt(sum(np.sum(g * g) for g in gs))
            cn = c["global_clipnorm"]
            scale = cn * min(1.0 / norm, 1.0 / cn)
            gs = [g * scale for g in gs]
        elif c.get("clipvalue"):
            gs = [np.clip(g, -c["clipvalue"], c["clipvalue"]) for g in gs]
        # _apply_weight_decay
        if c.get("weight_decay"):
            for i in idx:
                if i not in self.exclude:
                    variables[i][...] = variables[i] - variables[i] * c["weight_decay"] * lr
        if self.cls == "Nadam":
            self.u_product = self.u_product * c["beta_1"] * (1.0 - 0.5 * 0.96 ** (self.iterations + 1))
        for i, g in zip(idx, gs):
            if i not in self.slots:
                self.slots[i] = self.new_slots(variables[i])
            self.update_step(g, variables[i], self.slots[i], lr)
        self.iterations += 1

    def update_step(self, g, var, s, lr):
        c, k = self.c, self.cls
        t = self.iterations + 1
        if k == "SGD":
            if c["momentum"] != 0:
                m = s["m"]
                m[...] = m * c["momentum"] - g * lr
                if c["nesterov"]:
                    var += m * c["momentum"] - g * lr
                else:
                    var += m
            else:
                var -= g * lr
        elif k == "RMSprop":
            rho = c["rho"]
            v = s["velocity"]
            v[...] = rho * v + (1 - rho) * g * g
            if c["centered"]:
                a = s["average_gradient"]
                a[...] = rho * a + (1 - rho) * g
                den = v - a * a + c["epsilon"]
            else:
                den = v + c["epsilon"]
            inc = lr * g / np.sqrt(den)
            if c["momentum"] > 0:
                mo = s["momentum"]
                mo[...] = c["momentum"] * mo + inc
                var -= mo
            else:
                var -= inc
        elif k in ("Adam", "AdamW"):
            b1, b2 = c["beta_1"], c["beta_2"]
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            m, v = s["m"], s["v"]
            m += (g - m) * (1 - b1)
            v += (g * g - v) * (1 - b2)
            vv = v
            if c["amsgrad"]:
                s["v_hat"][...] = np.maximum(s["v_hat"], v)
                vv = s["v_hat"]
            var -= m * alpha / (np.sqrt(vv) + c["epsilon"])
        elif k == "Adadelta":
            rho, eps = c["rho"], c["epsilon"]
            ag, ad = s["accumulated_grad"], s["accumulated_delta_var"]
            ag[...] = rho * ag + (1 - rho) * g * g
            delta = -(np.sqrt(ad + eps) * g) / np.sqrt(ag + eps)
            ad[...] = rho * ad + (1 - rho) * delta * delta
            var += lr * delta
        elif k == "Adagrad":
            acc = s["accumulator"]
            acc += g * g
            var -= lr * g / np.sqrt(acc + c["epsilon"])
        elif k == "Adamax":
            b1, b2 = c["beta_1"], c["beta_2"]
            m, u = s["m"], s["u"]
            m += (g - m) * (1 - b1)
            u[...] = np.maximum(b2 * u, np.abs(g))
            var -= lr * m / ((1 - b1 ** t) * (u + c["epsilon"]))
        elif k == "Nadam":
            b1, b2 = c["beta_1"], c["beta_2"]
            u_t = b1 * (1.0 - 0.5 * 0.96 ** t)
            u_t_1 = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
            up_t = self.u_product
            up_t_1 = up_t * u_t_1
            m, v = s["m"], s["v"]
            m += (g - m) * (1 - b1)
            v += (g * g - v) * (1 - b2)
            m_hat = u_t_1 * m / (1 - up_t_1) + (1 - u_t) * g / (1 - up_t)
            v_hat = v / (1 - b2 ** t)
            var -= m_hat * lr / (np.sqrt(v_hat) + c["epsilon"])
        elif k == "Ftrl":
            acc, lin = s["accumulator"], s["linear"]
            p = c["learning_rate_power"]
            l2 = c["l2_regularization_strength"] + c["beta"] / (2.0 * lr)
            g2 = g + 2 * c["l2_shrinkage_regularization_strength"] * var
            new_acc = acc + g * g
            lin += g2 - (new_acc ** -p - acc ** -p) / lr * var
            quad = new_acc ** -p / lr + 2 * l2
            l1 = c["l1_regularization_strength"]
            var[...] = (np.clip(lin, -l1, l1) - lin) / quad
            acc[...] = new_acc
        elif k == "Lion":
            b1, b2 = c["beta_1"], c["beta_2"]
            m = s["m"]
            var -= lr * np.sign(m * b1 + g * (1 - b1))
            m[...] = m * b2 + g * (1 - b2)
        else:
            raise ValueError(k)


def keras_trajectory(case):
    values = [W0.copy(), B0.copy()]
    opt = KerasOptimizer(case["class"], case["config"], case.get("exclude", ()))
    out = []
    for t in range(1, STEPS + 1):
        opt.apply(gradients(case, t, values), values)
        out.append(np.concatenate([values[0].ravel(), values[1].ravel()]))
    return out


# ------------------------------------------------------- torch.optim

def torch_trajectory(case):
    c = dict(DEFAULTS[case["class"]])
    c.update(case["config"])
    params = [torch.tensor(W0.copy(), requires_grad=True), torch.tensor(B0.copy(), requires_grad=True)]
    k = case["class"]
    if k == "SGD":
        opt = torch.optim.SGD(params, lr=c["learning_rate"], momentum=c["momentum"], nesterov=c["nesterov"])
    elif k == "RMSprop":
        opt = torch.optim.RMSprop(params, lr=c["learning_rate"], alpha=c["rho"], eps=c["epsilon"],
                                  momentum=c["momentum"], centered=c["centered"])
    elif k == "Adam":
        opt = torch.optim.Adam(params, lr=c["learning_rate"], betas=(c["beta_1"], c["beta_2"]),
                               eps=c["epsilon"], amsgrad=c["amsgrad"])
    elif k == "AdamW":
        opt = torch.optim.AdamW(params, lr=c["learning_rate"], betas=(c["beta_1"], c["beta_2"]),
                                eps=c["epsilon"], amsgrad=c["amsgrad"], weight_decay=c["weight_decay"])
    elif k == "Adadelta":
        opt = torch.optim.Adadelta(params, lr=c["learning_rate"], rho=c["rho"], eps=c["epsilon"])
    elif k == "Adagrad":
        opt = torch.optim.Adagrad(params, lr=c["learning_rate"], eps=c["epsilon"],
                                  initial_accumulator_value=c["initial_accumulator_value"])
    elif k == "Adamax":
        opt = torch.optim.Adamax(params, lr=c["learning_rate"], betas=(c["beta_1"], c["beta_2"]),
                                 eps=c["epsilon"])
    else:
        raise ValueError(k)
    out = []
    for t in range(1, STEPS + 1):
        values = [p.detach().numpy() for p in params]
        gs = gradients(case, t, values)
        for p, g in zip(params, gs):
            p.grad = None if g is None else torch.tensor(g)
        if c.get("clipvalue"):
            torch.nn.utils.clip_grad_value_(params, c["clipvalue"])
        if c.get("global_clipnorm"):
            torch.nn.utils.clip_grad_norm_(params, c["global_clipnorm"])
        opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    return out


# ------------------------------------------------------- the cases

def sched(name, **config):
    return {"class_name": name, "config": config}


FIXED, QUAD = "fixed", "quadratic"
CASES = {
    "sgd": [
        dict(name="plain", class_="SGD", config=dict(learning_rate=0.05), torch=True),
        dict(name="momentum", class_="SGD", config=dict(learning_rate=0.05, momentum=0.9), torch=True),
        dict(name="nesterov", class_="SGD", config=dict(learning_rate=0.05, momentum=0.9, nesterov=True),
             torch=True),
        dict(name="weight_decay", class_="SGD", config=dict(learning_rate=0.05, momentum=0.5, weight_decay=0.01)),
        dict(name="clipnorm", class_="SGD", config=dict(learning_rate=0.05, clipnorm=1.0)),
        dict(name="clipvalue", class_="SGD", config=dict(learning_rate=0.05, clipvalue=0.5), torch=True),
        dict(name="global_clipnorm", class_="SGD",
             config=dict(learning_rate=0.05, momentum=0.9, global_clipnorm=2.0), torch=True),
        dict(name="exponential_decay", class_="SGD",
             config=dict(learning_rate=sched("ExponentialDecay", initial_learning_rate=0.1, decay_steps=10,
                                             decay_rate=0.5, staircase=True), momentum=0.9)),
        dict(name="nil_grads", class_="SGD", config=dict(learning_rate=0.05, momentum=0.9), skip=True,
             torch=True),
        dict(name="quadratic", class_="SGD", config=dict(learning_rate=0.1, momentum=0.9), problem=QUAD,
             torch=True),
    ],
    "rmsprop": [
        dict(name="default_eps", class_="RMSprop", config=dict(learning_rate=0.01)),
        dict(name="eps0", class_="RMSprop", config=dict(learning_rate=0.01, epsilon=0.0), torch=True),
        dict(name="momentum", class_="RMSprop", config=dict(learning_rate=0.01, momentum=0.9, epsilon=0.0),
             torch=True),
        dict(name="centered", class_="RMSprop", config=dict(learning_rate=0.01, centered=True, epsilon=0.0),
             torch=True),
        dict(name="centered_momentum", class_="RMSprop",
             config=dict(learning_rate=0.01, momentum=0.5, centered=True, rho=0.8)),
        dict(name="weight_decay_clipnorm", class_="RMSprop",
             config=dict(learning_rate=0.01, weight_decay=0.1, clipnorm=1.0)),
        dict(name="piecewise", class_="RMSprop",
             config=dict(learning_rate=sched("PiecewiseConstantDecay", boundaries=[10, 30],
                                             values=[0.02, 0.01, 0.005]))),
        dict(name="quadratic", class_="RMSprop", config=dict(learning_rate=0.01, centered=True), problem=QUAD),
    ],
    "adam": [
        dict(name="default_eps", class_="Adam", config=dict(learning_rate=0.01)),
        dict(name="eps0", class_="Adam", config=dict(learning_rate=0.01, epsilon=0.0), torch=True),
        dict(name="amsgrad", class_="Adam", config=dict(learning_rate=0.01, amsgrad=True, epsilon=0.0),
             torch=True),
        dict(name="clipnorm", class_="Adam", config=dict(learning_rate=0.01, clipnorm=0.5)),
        dict(name="global_clipnorm", class_="Adam", config=dict(learning_rate=0.01, global_clipnorm=1.5)),
        dict(name="cosine_warmup", class_="Adam",
             config=dict(learning_rate=sched("CosineDecay", initial_learning_rate=0.001, decay_steps=30,
                                             alpha=0.1, warmup_target=0.02, warmup_steps=10))),
        dict(name="nil_grads", class_="Adam", config=dict(learning_rate=0.01, epsilon=0.0), skip=True),
        dict(name="quadratic", class_="Adam", config=dict(learning_rate=0.05, epsilon=0.0), problem=QUAD,
             torch=True),
    ],
    "adamw": [
        dict(name="default", class_="AdamW", config=dict(learning_rate=0.01)),
        dict(name="eps0", class_="AdamW", config=dict(learning_rate=0.01, weight_decay=0.1, epsilon=0.0),
             torch=True),
        dict(name="amsgrad_clipvalue", class_="AdamW",
             config=dict(learning_rate=0.01, weight_decay=0.05, amsgrad=True, clipvalue=0.8)),
        dict(name="exclude_b", class_="AdamW", config=dict(learning_rate=0.01, weight_decay=0.5), exclude=[1]),
    ],
    "adadelta": [
        dict(name="default", class_="Adadelta", config=dict()),
        dict(name="lr1", class_="Adadelta", config=dict(learning_rate=1.0, rho=0.9, epsilon=1e-6), torch=True),
        dict(name="weight_decay_global_clipnorm", class_="Adadelta",
             config=dict(learning_rate=1.0, weight_decay=0.01, global_clipnorm=1.0)),
    ],
    "adagrad": [
        dict(name="default_eps", class_="Adagrad", config=dict(learning_rate=0.1)),
        dict(name="eps0", class_="Adagrad", config=dict(learning_rate=0.1, epsilon=0.0), torch=True),
        dict(name="zero_accumulator_clipvalue", class_="Adagrad",
             config=dict(learning_rate=0.1, initial_accumulator_value=0.0, clipvalue=1.0)),
        dict(name="polynomial", class_="Adagrad",
             config=dict(learning_rate=sched("PolynomialDecay", initial_learning_rate=0.2, decay_steps=40,
                                             end_learning_rate=0.01, power=0.5))),
    ],
    "adamax": [
        dict(name="default_eps", class_="Adamax", config=dict(learning_rate=0.01)),
        dict(name="eps0", class_="Adamax", config=dict(learning_rate=0.01, epsilon=0.0), torch=True),
        dict(name="inverse_time_weight_decay", class_="Adamax",
             config=dict(learning_rate=sched("InverseTimeDecay", initial_learning_rate=0.02, decay_steps=5,
                                             decay_rate=0.5), weight_decay=0.01)),
    ],
    "nadam": [
        dict(name="default", class_="Nadam", config=dict(learning_rate=0.01)),
        dict(name="clipnorm_nil_grads", class_="Nadam", config=dict(learning_rate=0.01, clipnorm=1.0),
             skip=True),
        dict(name="quadratic", class_="Nadam", config=dict(learning_rate=0.05), problem=QUAD),
    ],
    "ftrl": [
        dict(name="default", class_="Ftrl", config=dict(learning_rate=0.1)),
        dict(name="l1_l2_beta", class_="Ftrl",
             config=dict(learning_rate=0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.01,
                         beta=0.1)),
        dict(name="power_shrinkage", class_="Ftrl",
             config=dict(learning_rate=0.1, learning_rate_power=-0.7, l2_shrinkage_regularization_strength=0.05,
                         initial_accumulator_value=0.5)),
        dict(name="quadratic_l1", class_="Ftrl", config=dict(learning_rate=0.5, l1_regularization_strength=0.05),
             problem=QUAD),
    ],
    "lion": [
        dict(name="default", class_="Lion", config=dict(learning_rate=0.01)),
        dict(name="weight_decay_betas", class_="Lion",
             config=dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.95, beta_2=0.98)),
        dict(name="cosine_restarts", class_="Lion",
             config=dict(learning_rate=sched("CosineDecayRestarts", initial_learning_rate=0.02,
                                             first_decay_steps=8, t_mul=2.0, m_mul=0.8, alpha=0.05))),
    ],
}

SCHEDULES = [
    sched("ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
    sched("ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True),
    sched("PiecewiseConstantDecay", boundaries=[10, 30], values=[0.02, 0.01, 0.005]),
    sched("PolynomialDecay", initial_learning_rate=0.2, decay_steps=40, end_learning_rate=0.01, power=0.5),
    sched("PolynomialDecay", initial_learning_rate=0.2, decay_steps=40, end_learning_rate=0.01, power=2.0,
          cycle=True),
    sched("InverseTimeDecay", initial_learning_rate=0.02, decay_steps=5, decay_rate=0.5),
    sched("InverseTimeDecay", initial_learning_rate=0.02, decay_steps=5, decay_rate=0.5, staircase=True),
    sched("CosineDecay", initial_learning_rate=0.1, decay_steps=40, alpha=0.1),
    sched("CosineDecay", initial_learning_rate=0.001, decay_steps=30, alpha=0.1, warmup_target=0.02,
          warmup_steps=10),
    sched("CosineDecayRestarts", initial_learning_rate=0.02, first_decay_steps=8, t_mul=2.0, m_mul=0.8,
          alpha=0.05),
    sched("CosineDecayRestarts", initial_learning_rate=0.02, first_decay_steps=8, t_mul=1.0),
]
SCHEDULE_STEPS = [0, 1, 2, 3, 5, 8, 9, 10, 11, 15, 20, 24, 29, 30, 31, 39, 40, 41, 45, 60, 100, 250]


# ------------------------------------------------------- Lua output

def lua(v, indent=""):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))  # the shortest text that reads back as the same double
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, np.ndarray):
        return lua(v.tolist())
    if isinstance(v, dict):
        items = ", ".join("%s = %s" % (k, lua(v[k])) for k in sorted(v))
        return "{ %s }" % items
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(lua(x) for x in v) + " }"
    raise TypeError(type(v))


def trajectory_lua(traj):
    rows = ["    { " + ", ".join("%.13g" % x for x in row) + " }," for row in traj]
    return "{\n" + "\n".join(rows) + "\n  }"


def write(name, text):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)


def main():
    os.makedirs(OUT, exist_ok=True)
    header = "-- Made by scripts/make_fixtures_optim.py; do not edit.\n"
    common = [header, "return {\n", "  steps = %d,\n" % STEPS,
              "  w0 = %s,\n" % lua(W0), "  b0 = %s,\n" % lua(B0),
              "  grads = {\n"]
    for gw, gb in GRADS:
        common.append("    { w = %s, b = %s },\n" % (lua(gw), lua(gb)))
    common.append("  },\n")
    common.append("  quadratic = { a = { %s, %s }, c = { %s, %s }, noise = {\n" %
                  (lua(QA[0]), lua(QA[1]), lua(QC[0]), lua(QC[1])))
    for nw, nb in QN:
        common.append("    { w = %s, b = %s },\n" % (lua(nw), lua(nb)))
    common.append("  } },\n}\n")
    write("problem.lua", "".join(common))

    for group, cases in CASES.items():
        parts = [header, "return {\n"]
        for case in cases:
            case = dict(case)
            case["class"] = case.pop("class_")
            case.setdefault("problem", FIXED)
            parts.append("  {\n    name = %s, class = %s, problem = %s,\n" %
                         (lua(group + "_" + case["name"]), lua(case["class"]), lua(case["problem"])))
            parts.append("    config = %s,\n" % lua(case["config"]))
            if case.get("skip"):
                parts.append("    skip = true,\n")
            if case.get("exclude"):
                parts.append("    exclude = %s,\n" % lua([i + 1 for i in case["exclude"]]))
            parts.append("    keras = %s,\n" % trajectory_lua(keras_trajectory(case)).replace("\n", "\n  "))
            if case.get("torch"):
                parts.append("    torch = %s,\n" % trajectory_lua(torch_trajectory(case)).replace("\n", "\n  "))
            parts.append("  },\n")
        parts.append("}\n")
        write(group + ".lua", "".join(parts))

    parts = [header, "return {\n", "  steps = %s,\n" % lua(SCHEDULE_STEPS), "  schedules = {\n"]
    for s in SCHEDULES:
        values = [schedule_value(s, st) for st in SCHEDULE_STEPS]
        parts.append("    { class_name = %s, config = %s,\n      values = %s },\n" %
                     (lua(s["class_name"]), lua(s["config"]), lua(values)))
    parts.append("  },\n}\n")
    write("schedules.lua", "".join(parts))


if __name__ == "__main__":
    main()
