#!/usr/bin/python3
"""Keras .h5 fixtures for spec/h5model_spec.lua, written with h5py (not by us)
exactly as tf.keras 2.15 (keras/src/saving/legacy/hdf5_format.py) and Keras 3
(keras/src/legacy/saving/legacy_h5_format.py) write them.

    /usr/bin/python3 scripts/make_fixtures_h5model.py   (needs python3-h5py, numpy)

The architecture (a Sequential named "sequential"):
    Conv2D(3, 3x3, relu, input (4, 4, 2))  conv2d               kernel (3,3,2,3), bias (3,)
    BatchNormalization(epsilon=1e-3)        batch_normalization  gamma, beta, moving_mean, moving_variance (3,)
    Flatten                                 flatten
    Dense(2)                                dense                kernel (12,2), bias (2,)

Makes spec/fixtures/h5model/:
  tfkeras_weights.h5   model.save_weights as tf.keras 2.15: weight names "dense/kernel:0"
                       (nested as dense/dense/kernel:0), 'S' arrays, byte-string attributes,
                       an empty float64 weight_names for flatten, top_level_model_weights
  keras3_weights.h5    the same as Keras 3 writes it: variable paths without ":0"
                       ("sequential/dense/kernel", nested under the layer group), version 3.3.3
  vlen_weights.h5      the tf.keras layout with every name attribute as variable-length
                       UTF-8 strings (what h5py makes of Python str)
  chunked_weights.h5   layer_names split as layer_names0/layer_names1 (Keras does this past
                       the 64 KB object-header limit)
  tfkeras_model.h5     model.save as tf.keras 2.15 after 7 Adam steps: model_config,
                       training_config (loss "mse", metrics ["mae"]), model_weights,
                       optimizer_weights (iteration, then m and v of each variable)
  expected.json        the weight values, an input batch and the model's output for it
                       (numpy forward pass: conv, relu, batch norm in inference, flatten, dense)

The weights are small multiples of 1/16 (exact in float32): weight number w of the
model (1-based, in file order), element i (0-based, C order) is ((7*i + 5*w) % 23 - 11) / 16;
moving_variance is 1 + ((3*i + w) % 5) / 8 (positive).
"""
import json
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "h5model")

LAYERS = [  # (layer name, class, [(weight name, shape)])
    ("conv2d", "Conv2D", [("kernel", (3, 3, 2, 3)), ("bias", (3,))]),
    ("batch_normalization", "BatchNormalization",
     [("gamma", (3,)), ("beta", (3,)), ("moving_mean", (3,)), ("moving_variance", (3,))]),
    ("flatten", "Flatten", []),
    ("dense", "Dense", [("kernel", (12, 2)), ("bias", (2,))]),
]
TRAINABLE = {"kernel", "bias", "gamma", "beta"}


def values():
    out, w = {}, 0
    for layer, _, weights in LAYERS:
        for name, shape in weights:
            w += 1
            i = np.arange(int(np.prod(shape)))
            if name == "moving_variance":
                v = 1 + ((3 * i + w) % 5) / 8
            else:
                v = ((7 * i + 5 * w) % 23 - 11) / 16
            out[layer + "/" + name] = v.reshape(shape).astype(np.float32)
    return out


W = values()


def forward(x):
    k, b = W["conv2d/kernel"].astype(np.float64), W["conv2d/bias"].astype(np.float64)
    n, h, wd, _ = x.shape
    y = np.zeros((n, h - 2, wd - 2, 3))
    for i in range(h - 2):
        for j in range(wd - 2):
            patch = x[:, i:i + 3, j:j + 3, :]  # (n, 3, 3, 2)
            y[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2])) + b
    y = np.maximum(y, 0)
    g, be = W["batch_normalization/gamma"], W["batch_normalization/beta"]
    mm, mv = W["batch_normalization/moving_mean"], W["batch_normalization/moving_variance"]
    y = (y - mm) / np.sqrt(mv.astype(np.float64) + 1e-3) * g + be
    y = y.reshape(n, -1)
    return y @ W["dense/kernel"].astype(np.float64) + W["dense/bias"]


def path(name):
    return os.path.join(OUT, name)


def names_attr(names, vlen):
    if vlen:
        return np.array(names, dtype=h5py.string_dtype("utf-8"))
    return np.array([n.encode("utf8") for n in names])  # numpy 'S' array, as Keras's np.asarray


def weight_name(layer, name, style):
    if style == "keras3":
        return "sequential/%s/%s" % (layer, name)  # Keras 3: variable.path
    return "%s/%s:0" % (layer, name)  # tf.keras: variable.name


def save_weights_group(f, style="tfkeras", vlen=False, chunked=False):
    """hdf5_format.save_weights_to_hdf5_group (layers created in name order)."""
    names = [l[0] for l in LAYERS]
    if chunked:
        f.attrs["layer_names0"] = names_attr(names[:2], vlen)
        f.attrs["layer_names1"] = names_attr(names[2:], vlen)
    else:
        f.attrs["layer_names"] = names_attr(names, vlen)
    f.attrs["backend"] = "tensorflow".encode("utf8")
    f.attrs["keras_version"] = ("3.3.3" if style == "keras3" else "2.15.0").encode("utf8")
    for layer, _, weights in sorted(LAYERS, key=lambda l: l[0]):
        g = f.create_group(layer)
        order = [w for w in weights if w[0] in TRAINABLE] + [w for w in weights if w[0] not in TRAINABLE]
        wn = [weight_name(layer, n, style) for n, _ in order]
        g.attrs["weight_names"] = names_attr(wn, vlen) if wn else np.asarray([])
        for (n, _), dn in zip(order, wn):
            val = W[layer + "/" + n]
            d = g.create_dataset(dn, val.shape, dtype=val.dtype)
            d[:] = val
    top = f.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.asarray([])


def initializer(name, config=None):
    return {"module": "keras.initializers", "class_name": name, "config": config or {}, "registered_name": None}


MODEL_CONFIG = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 4, 4, 2], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "conv2d_input"}, "registered_name": None},
    {"module": "keras.layers", "class_name": "Conv2D", "config": {
        "name": "conv2d", "trainable": True, "dtype": "float32", "batch_input_shape": [None, 4, 4, 2],
        "filters": 3, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
        "use_bias": True, "kernel_initializer": initializer("GlorotUniform", {"seed": None}),
        "bias_initializer": initializer("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
     "registered_name": None, "build_config": {"input_shape": [None, 4, 4, 2]}},
    {"module": "keras.layers", "class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [3],
        "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
        "beta_initializer": initializer("Zeros"), "gamma_initializer": initializer("Ones"),
        "moving_mean_initializer": initializer("Zeros"), "moving_variance_initializer": initializer("Ones"),
        "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None},
     "registered_name": None, "build_config": {"input_shape": [None, 2, 2, 3]}},
    {"module": "keras.layers", "class_name": "Flatten", "config": {
        "name": "flatten", "trainable": True, "dtype": "float32", "data_format": "channels_last"},
     "registered_name": None, "build_config": {"input_shape": [None, 2, 2, 3]}},
    {"module": "keras.layers", "class_name": "Dense", "config": {
        "name": "dense", "trainable": True, "dtype": "float32", "units": 2, "activation": "linear",
        "use_bias": True, "kernel_initializer": initializer("GlorotUniform", {"seed": None}),
        "bias_initializer": initializer("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
     "registered_name": None, "build_config": {"input_shape": [None, 12]}},
]}}

TRAINING_CONFIG = {
    "loss": "mse",
    "metrics": [[{"module": "keras.metrics", "class_name": "MeanMetricWrapper",
                  "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"},
                  "registered_name": None}]],
    "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
        "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9,
        "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
}

ITERATIONS = 7


def slot_value(var_index, slot, shape):
    """Adam's m (slot 0, any sign) and v (slot 1, positive), multiples of 1/64."""
    i = np.arange(int(np.prod(shape)))
    if slot == 0:
        v = ((5 * i + 3 * var_index) % 17 - 8) / 64
    else:
        v = (1 + (3 * i + var_index) % 11) / 64
    return v.reshape(shape).astype(np.float32)


def optimizer_slots():
    """(name, value) in Keras 2.15's optimizer.variables() order."""
    out = [("iteration:0", np.int64(ITERATIONS))]
    k = 0
    for layer, _, weights in LAYERS:
        for n, shape in weights:
            if n not in TRAINABLE:
                continue
            k += 1
            for s, slot in enumerate(("m", "v")):
                out.append(("Adam/%s/%s/%s:0" % (slot, layer, n), slot_value(k, s, shape)))
    return out


def save_model():
    """hdf5_format.save_model_to_hdf5: metadata, model_weights, optimizer_weights."""
    with h5py.File(path("tfkeras_model.h5"), "w") as f:
        f.attrs["keras_version"] = "2.15.0"  # a Python str: vlen UTF-8
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(MODEL_CONFIG).encode("utf8")
        f.attrs["training_config"] = json.dumps(TRAINING_CONFIG).encode("utf8")
        save_weights_group(f.create_group("model_weights"))
        g = f.create_group("optimizer_weights")
        slots = optimizer_slots()
        g.attrs["weight_names"] = np.array([n.encode("utf8") for n, _ in slots])
        for n, val in slots:
            d = g.create_dataset(n, np.shape(val), dtype=val.dtype)
            if not np.shape(val):
                d[()] = val
            else:
                d[:] = val


def main():
    os.makedirs(OUT, exist_ok=True)
    with h5py.File(path("tfkeras_weights.h5"), "w") as f:
        save_weights_group(f)
    with h5py.File(path("keras3_weights.h5"), "w") as f:
        save_weights_group(f, style="keras3")
    with h5py.File(path("vlen_weights.h5"), "w") as f:
        save_weights_group(f, vlen=True)
    with h5py.File(path("chunked_weights.h5"), "w") as f:
        save_weights_group(f, chunked=True)
    save_model()
    # an input batch of multiples of 1/8 and the model's output for it
    n = 3
    x = (((np.arange(n * 4 * 4 * 2) * 5) % 13 - 6) / 8).reshape(n, 4, 4, 2)
    y = forward(x)
    expected = {
        "weights": {k: v.tolist() for k, v in W.items()},
        "input": x.tolist(),
        "output": y.tolist(),
        "iterations": ITERATIONS,
        "optimizer_slots": {n: np.asarray(v).tolist() for n, v in optimizer_slots()[1:]},
    }
    with open(path("expected.json"), "w") as fh:
        json.dump(expected, fh)


if __name__ == "__main__":
    main()
