#!/usr/bin/python3
"""Fixtures for spec/config_spec.lua and spec/json_spec.lua.

    /usr/bin/python3 scripts/make_fixtures_config.py      (needs numpy; h5py for the import below)

TensorFlow is not installed here, so the layer and model configs are written
by hand exactly as tf.keras 2.15 returns them (keras/src/layers/.../get_config,
keras/src/engine/base_layer.py Layer.get_config, functional.py
get_network_config, sequential.py get_config, saving/serialization_lib.py
serialize_keras_object).  Rules used:
  - every layer: name, trainable, dtype ("float32", policy.serialize of a plain
    dtype), batch_input_shape when built with input_shape=;
  - initializers / regularizers nested as {module, class_name, config,
    registered_name: null}; regularizer factors and ReLU/LeakyReLU parameters
    are float32 (backend.cast_to_floatx) written as float(...);
  - BatchNormalization / LayerNormalization resolve axis at build: a built
    layer writes the list of positive 0-based axes;
  - in a model: each layer as serialize_keras_object writes it (+ build_config
    {input_shape} once built), plus name and inbound_nodes in a functional
    model; nested Sequential: module "keras", build_config, and its calls
    numbered from 1 (_should_skip_first_node);
  - model.layers is in Keras's order: by decreasing depth, then traversal
    order (functional.py _map_graph_network, reimplemented below).

Makes spec/fixtures/config/:
  layers.json       [{id, class_name, config, input_shape}] one entry per case
                    spec/config_spec.lua builds the same layer in Lua
  functional.json   a functional model's to_json as tf.keras 2.15 writes it
                    (two inputs, two outputs, a shared layer called twice, a
                    nested Sequential, Add, Concatenate) and Keras's layer order
  sequential.json   scripts/make_fixtures_h5model.py's MODEL_CONFIG as to_json
  json_cases.json   [{id, text, dumps, indent}]: JSON texts and what Python's
                    json.dumps(json.loads(text), sort_keys=True[, indent=2])
                    writes for them
  floats.json       {values: [hex doubles], repr: [Python repr]} for float
                    spelling (json.dumps writes float.__repr__)
"""
import json
import math
import os
import random
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures_h5model import MODEL_CONFIG  # noqa: E402

OUT = os.path.join(HERE, "..", "spec", "fixtures", "config")


def f32(x):
    return float(np.float32(x))


def init(name, config=None):
    return {"module": "keras.initializers", "class_name": name, "config": config or {}, "registered_name": None}


def reg(name, config):
    return {"module": "keras.regularizers", "class_name": name, "config": config, "registered_name": None}


def base(name, batch_input_shape=None):
    c = {"name": name, "trainable": True, "dtype": "float32"}
    if batch_input_shape is not None:
        c["batch_input_shape"] = batch_input_shape
    return c


def merged(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


GLOROT = init("GlorotUniform", {"seed": None})
ZEROS = init("Zeros")
ONES = init("Ones")


def dense(name, units, activation="linear", use_bias=True, kernel_initializer=GLOROT, bias_initializer=ZEROS,
          kernel_regularizer=None, bias_regularizer=None, batch_input_shape=None):
    return merged(base(name, batch_input_shape), {
        "units": units, "activation": activation, "use_bias": use_bias,
        "kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer,
        "kernel_regularizer": kernel_regularizer, "bias_regularizer": bias_regularizer,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None})


def conv2d(name, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), groups=1, activation="linear", use_bias=True, kernel_initializer=GLOROT,
           bias_initializer=ZEROS, kernel_regularizer=None, batch_input_shape=None):
    return merged(base(name, batch_input_shape), {
        "filters": filters, "kernel_size": list(kernel_size), "strides": list(strides), "padding": padding,
        "data_format": data_format, "dilation_rate": list(dilation_rate), "groups": groups,
        "activation": activation, "use_bias": use_bias, "kernel_initializer": kernel_initializer,
        "bias_initializer": bias_initializer, "kernel_regularizer": kernel_regularizer, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None})


def batch_norm(name, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer=ZEROS,
               gamma_initializer=ONES, beta_regularizer=None, gamma_regularizer=None):
    return merged(base(name), {
        "axis": axis, "momentum": momentum, "epsilon": epsilon, "center": center, "scale": scale,
        "beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer,
        "moving_mean_initializer": ZEROS, "moving_variance_initializer": ONES,
        "beta_regularizer": beta_regularizer, "gamma_regularizer": gamma_regularizer,
        "beta_constraint": None, "gamma_constraint": None})


def layer_norm(name, axis=-1, epsilon=0.001, center=True, scale=True):
    return merged(base(name), {
        "axis": axis, "epsilon": epsilon, "center": center, "scale": scale,
        "beta_initializer": ZEROS, "gamma_initializer": ONES, "beta_regularizer": None,
        "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None})


def embedding(name, input_dim, output_dim, input_length=None, mask_zero=False):
    # Embedding.__init__ sets input_shape=(input_length,) or (None,)
    return merged(base(name, [None, input_length]), {
        "input_dim": input_dim, "output_dim": output_dim,
        "embeddings_initializer": init("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None}),
        "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
        "mask_zero": mask_zero, "input_length": input_length})


def pool(name, pool_size=(2, 2), strides=None, padding="valid"):
    return merged(base(name), {"pool_size": list(pool_size), "padding": padding,
                               "strides": list(strides or pool_size), "data_format": "channels_last"})


# Each case: the config tf.keras 2.15 writes, and an input shape (batch
# first) to run it on.  "built" cases are written after the layer was called
# on that input (spec/config_spec.lua builds them before get_config).
LAYERS = [
    ("dense", "Dense", dense("dense", 4), [2, 3]),
    ("dense_full", "Dense", dense(
        "dense_full", 3, activation="tanh", use_bias=False, kernel_initializer=init("HeNormal", {"seed": 7}),
        kernel_regularizer=reg("L2", {"l2": f32(0.01)}),
        bias_regularizer=reg("L1L2", {"l1": f32(0.001), "l2": f32(0.002)}),
        batch_input_shape=[None, 5]), [2, 5]),
    ("dense_initializers", "Dense", dense(
        "dense_initializers", 2, activation="sigmoid",
        kernel_initializer=init("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform",
                                                    "seed": 3}),
        bias_initializer=init("Constant", {"value": 0.5})), [3, 4]),
    ("dense_random", "Dense", dense(
        "dense_random", 2, kernel_initializer=init("RandomNormal", {"mean": 0.0, "stddev": 0.02, "seed": 1}),
        bias_initializer=init("RandomUniform", {"minval": -0.1, "maxval": 0.1, "seed": 2}),
        kernel_regularizer=reg("L1", {"l1": f32(0.05)})), [2, 3]),
    ("conv2d", "Conv2D", conv2d("conv2d", 2, (3, 3)), [2, 5, 5, 3]),
    ("conv2d_full", "Conv2D", conv2d(
        "conv2d_full", 4, (3, 2), strides=(2, 1), padding="same", activation="relu",
        kernel_initializer=init("TruncatedNormal", {"mean": 0.0, "stddev": 0.1, "seed": 5}),
        kernel_regularizer=reg("L2", {"l2": f32(0.0005)}), batch_input_shape=[None, 6, 5, 2]), [2, 6, 5, 2]),
    ("conv2d_dilated", "Conv2D", conv2d("conv2d_dilated", 2, (2, 2), dilation_rate=(2, 2), groups=2,
                                        kernel_initializer=init("HeUniform", {"seed": 11})), [1, 6, 6, 4]),
    ("batch_norm", "BatchNormalization", batch_norm("batch_norm"), [4, 3]),
    ("batch_norm_built", "BatchNormalization", batch_norm("batch_norm_built", axis=[3]), [2, 3, 3, 2]),
    ("batch_norm_args", "BatchNormalization", batch_norm(
        "batch_norm_args", axis=1, momentum=0.9, epsilon=1e-05, center=False,
        gamma_initializer=init("RandomNormal", {"mean": 1.0, "stddev": 0.05, "seed": 4}),
        gamma_regularizer=reg("L2", {"l2": f32(0.001)})), [3, 2, 4]),
    ("dropout", "Dropout", merged(base("dropout"), {"rate": 0.25, "noise_shape": None, "seed": 3}), [2, 6]),
    ("flatten", "Flatten", merged(base("flatten"), {"data_format": "channels_last"}), [2, 3, 2, 2]),
    ("reshape", "Reshape", merged(base("reshape"), {"target_shape": [2, -1]}), [2, 3, 4]),
    ("activation", "Activation", merged(base("activation"), {"activation": "softmax"}), [2, 5]),
    ("activation_gelu", "Activation", merged(base("activation_gelu"), {"activation": "gelu"}), [2, 5]),
    ("relu", "ReLU", merged(base("relu"), {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}), [2, 6]),
    ("relu_args", "ReLU", merged(base("relu_args"), {"max_value": 6.0, "negative_slope": f32(0.1),
                                                     "threshold": 0.5}), [2, 6]),
    ("leaky_relu", "LeakyReLU", merged(base("leaky_relu"), {"alpha": f32(0.3)}), [2, 6]),
    ("leaky_relu_args", "LeakyReLU", merged(base("leaky_relu_args"), {"alpha": f32(0.2)}), [2, 6]),
    ("softmax", "Softmax", merged(base("softmax"), {"axis": -1}), [2, 3, 4]),
    ("softmax_axis1", "Softmax", merged(base("softmax_axis1"), {"axis": 1}), [2, 3, 4]),
    ("embedding", "Embedding", embedding("embedding", 10, 4), [2, 5]),
    ("embedding_length", "Embedding", embedding("embedding_length", 12, 3, input_length=5), [2, 5]),
    ("layer_norm", "LayerNormalization", layer_norm("layer_norm"), [3, 5]),
    ("layer_norm_built", "LayerNormalization", layer_norm("layer_norm_built", axis=[1, 2], epsilon=1e-06),
     [2, 3, 4]),
    ("max_pool", "MaxPooling2D", pool("max_pool"), [2, 4, 4, 3]),
    ("max_pool_same", "MaxPooling2D", pool("max_pool_same", (3, 3), (1, 1), "same"), [2, 4, 5, 2]),
    ("avg_pool", "AveragePooling2D", pool("avg_pool", (2, 2), (1, 1)), [2, 4, 4, 3]),
    ("gap", "GlobalAveragePooling2D", merged(base("gap"), {"data_format": "channels_last", "keepdims": False}),
     [2, 3, 3, 4]),
    ("gmp_keepdims", "GlobalMaxPooling2D", merged(base("gmp_keepdims"),
                                                  {"data_format": "channels_last", "keepdims": True}), [2, 3, 3, 4]),
    ("concatenate", "Concatenate", merged(base("concatenate"), {"axis": -1}), [[2, 3], [2, 4]]),
    ("concatenate_axis1", "Concatenate", merged(base("concatenate_axis1"), {"axis": 1}), [[2, 3, 2], [2, 1, 2]]),
    ("add", "Add", base("add"), [[2, 3], [2, 3], [2, 3]]),
    ("subtract", "Subtract", base("subtract"), [[2, 3], [2, 3]]),
    ("multiply", "Multiply", base("multiply"), [[2, 3], [2, 3]]),
    ("average", "Average", base("average"), [[2, 3], [2, 3]]),
    ("maximum", "Maximum", base("maximum"), [[2, 3], [2, 3]]),
    ("minimum", "Minimum", base("minimum"), [[2, 3], [2, 3]]),
    ("input_layer", "InputLayer", {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                                   "ragged": False, "name": "input_layer"}, [2, 3]),
]


# ---------------------------------------------------------------- functional model

class Layer:
    def __init__(self, name, entry):
        self.name, self.entry, self.nodes = name, entry, []


class Node:
    def __init__(self, layer, parents):
        self.layer, self.parents = layer, parents  # parents: [(layer, node)]
        layer.nodes.append(self)


def keras_layer_order(outputs):
    """functional.py _build_map + _map_graph_network (depth, then traversal)."""
    finished, in_progress, order, layer_indices = set(), set(), [], {}

    def helper(node):
        if node in finished:
            return
        assert node not in in_progress
        if node.layer not in layer_indices:
            layer_indices[node.layer] = len(layer_indices)
        in_progress.add(node)
        for p in node.parents:
            helper(p)
        finished.add(node)
        in_progress.remove(node)
        order.append(node)

    for o in outputs:
        helper(o)
    nodes_depths, layers_depths = {}, {}
    for node in reversed(order):
        depth = nodes_depths.setdefault(node, 0)
        previous = layers_depths.get(node.layer, 0)
        depth = max(depth, previous)
        layers_depths[node.layer] = depth
        nodes_depths[node] = depth
        for p in node.parents:
            nodes_depths[p] = max(depth + 1, nodes_depths.get(p, 0))
    by_depth = {}
    for layer, d in layers_depths.items():
        by_depth.setdefault(d, []).append(layer)
    out = []
    for d in sorted(by_depth, reverse=True):
        out.extend(sorted(by_depth[d], key=lambda l: layer_indices[l]))
    return [l.name for l in out]


def entry(class_name, config, build_shape=None, module="keras.layers", registered_name=None):
    e = {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}
    if build_shape is not None:
        e["build_config"] = {"input_shape": build_shape}
    return e


def input_entry(name, shape):
    return entry("InputLayer", {"batch_input_shape": [None] + shape, "dtype": "float32", "sparse": False,
                                "ragged": False, "name": name})


def functional_model():
    """
    a = Input((4,), name="a"); b = Input((4,), name="b")
    shared = Dense(5, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    inner = Sequential([Dense(5, activation="relu", input_shape=(5,), name="inner_dense")], name="inner")
    s = Add(name="add")([ha, inner(hb)])
    c = Concatenate(name="cat")([ha, hb])
    o1 = Dense(2, name="o1")(s)
    o2 = Dense(3, activation="softmax", name="o2")(c)
    Model([a, b], [o1, o2], name="two_heads")
    """
    inner_cfg = {"name": "inner", "layers": [
        input_entry("inner_dense_input", [5]),
        entry("Dense", dense("inner_dense", 5, activation="relu", batch_input_shape=[None, 5]), [None, 5]),
    ]}
    L = {}
    L["a"] = Layer("a", input_entry("a", [4]))
    L["b"] = Layer("b", input_entry("b", [4]))
    L["shared"] = Layer("shared", entry("Dense", dense("shared", 5, activation="tanh"), [None, 4]))
    L["inner"] = Layer("inner", entry("Sequential", inner_cfg, [None, 5], module="keras"))
    L["add"] = Layer("add", entry("Add", base("add"), [[None, 5], [None, 5]]))
    L["cat"] = Layer("cat", entry("Concatenate", merged(base("cat"), {"axis": -1}), [[None, 5], [None, 5]]))
    L["o1"] = Layer("o1", entry("Dense", dense("o1", 2), [None, 5]))
    L["o2"] = Layer("o2", entry("Dense", dense("o2", 3, activation="softmax"), [None, 10]))
    na, nb = Node(L["a"], []), Node(L["b"], [])
    Node(L["inner"], [])  # the nested model's own node 0 (skipped in configs)
    ha, hb = Node(L["shared"], [na]), Node(L["shared"], [nb])
    ni = Node(L["inner"], [hb])
    ns = Node(L["add"], [ha, ni])
    nc = Node(L["cat"], [ha, hb])
    o1, o2 = Node(L["o1"], [ns]), Node(L["o2"], [nc])
    inbound = {
        "a": [], "b": [],
        "shared": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]],
        "inner": [[["shared", 1, 0, {}]]],
        "add": [[["shared", 0, 0, {}], ["inner", 1, 0, {}]]],
        "cat": [[["shared", 0, 0, {}], ["shared", 1, 0, {}]]],
        "o1": [[["add", 0, 0, {}]]],
        "o2": [[["cat", 0, 0, {}]]],
    }
    order = keras_layer_order([o1, o2])
    layers = []
    for name in order:
        e = dict(L[name].entry)
        e["name"] = name
        e["inbound_nodes"] = inbound[name]
        layers.append(e)
    config = {"name": "two_heads", "trainable": True, "layers": layers,
              "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["o1", 0, 0], ["o2", 0, 0]]}
    return {"class_name": "Functional", "config": config, "keras_version": "2.15.0", "backend": "tensorflow"}, order


# ---------------------------------------------------------------- JSON

def json_cases():
    cases = [
        ("integers", "[0, -1, 7, 9007199254740993, 9223372036854775807, -9223372036854775808]"),
        ("floats", "[1.0, -0.0, 0.0, 0.1, 1e-05, 0.0001, 2.5, 123456789.0, 1e16, 1e+22, 1.5e300, 5e-324, "
                   "0.30000000000000004, 3.141592653589793, 0.009999999776482582, 1e-07, -2.5E-3, 1E2]"),
        ("int_vs_float", '{"a": 1, "b": 1.0, "c": 10, "d": 1e1, "e": -0}'),
        ("nan_inf", "[NaN, Infinity, -Infinity]"),
        ("literals", "[true, false, null]"),
        ("empty", '{"list": [], "object": {}, "nested": [[], {}, [[]], [{}]]}'),
        ("strings", r'["", "a\"b\\c", "\n\t\r\b\f", "\u0000\u001f\u007f", "/\/", "plain ascii ~"]'),
        ("unicode_raw", '["é", "€", "😀", "日本語", "ü\u00fc"]'),
        ("unicode_escaped", r'["\u00e9", "\u20AC", "\ud83d\ude00", "\u65e5\u672c\u8a9e"]'),
        ("lone_surrogates", r'["\ud800", "\udfff", "x\ud83dy"]'),
        ("key_order", '{"b": 1, "a": 2, "B": 3, "_": 4, "é": 5, "aa": 6, "a b": 7, "": 8, "10": 9, "9": 10}'),
        ("whitespace", ' \n\t{ "a" :\r\n [ 1 , 2 ] , "b" : { } }\n '),
        ("mixed", '[1, 1.0, "1", true, null, [1, [2, [3, {"x": [4]}]]]]'),
        ("deep", "[" * 60 + "1" + "]" * 60),
        ("keras_config", json.dumps(MODEL_CONFIG)),
    ]
    out = []
    for cid, text in cases:
        value = json.loads(text)
        out.append({"id": cid, "text": text, "dumps": json.dumps(value, sort_keys=True),
                    "indent": json.dumps(value, sort_keys=True, indent=2)})
    return out


def float_cases():
    rng = random.Random(1234)
    values = [0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e-4, 9.999999999999999e-05, 1e15, 1e16 - 2, 123456789012345680.0,
              2.0 ** 63, 2.0 ** -1074, 2.2250738585072014e-308, 1.7976931348623157e308, 4.35, 0.1 + 0.7,
              5e-05, 1.23e-06, 100.0, 1234567.0, 0.001, 299792458.0, 6.02214076e23, 1.602176634e-19]
    for _ in range(1500):
        kind = rng.random()
        if kind < 0.4:  # any bit pattern
            bits = rng.getrandbits(64)
            x = struct.unpack("<d", struct.pack("<Q", bits))[0]
            if math.isnan(x) or math.isinf(x):
                continue
        elif kind < 0.7:  # float32 values, as Keras writes them
            x = float(np.float32(rng.uniform(-10, 10) * 10 ** rng.randint(-8, 8)))
        else:  # round decimals
            x = round(rng.uniform(-1000, 1000), rng.randint(0, 6)) * 10 ** rng.randint(-20, 20)
        values.append(x)
    return {"values": [x.hex() for x in values], "repr": [repr(x) for x in values]}


def write(name, obj, **kw):
    with open(os.path.join(OUT, name), "w") as fh:
        json.dump(obj, fh, **kw)
        fh.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("layers.json", [{"id": i, "class_name": c, "config": cfg, "input_shape": shape}
                          for i, c, cfg, shape in LAYERS], indent=1)
    doc, order = functional_model()
    write("functional.json", {"to_json": json.dumps(doc), "keras_layer_order": order}, indent=1)
    seq = {"class_name": "Sequential", "config": MODEL_CONFIG["config"], "keras_version": "2.15.0",
           "backend": "tensorflow"}
    write("sequential.json", {"to_json": json.dumps(seq)}, indent=1)
    write("json_cases.json", json_cases(), indent=1)
    write("floats.json", float_cases())


if __name__ == "__main__":
    main()
