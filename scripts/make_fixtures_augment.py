#!/usr/bin/python3
"""Reference data for spec/image_data_generator_spec.lua: Keras's
ImageDataGenerator.apply_transform for fixed parameters, computed the way
keras-preprocessing / tf.keras 2.x do it on a channels-last image:

  matrix = rotation(theta) . shift(tx, ty) . shear . zoom(zx, zy)  (identity
           factors left out; no warp at all when every factor is the identity)
  centred with o = size/2 - 0.5 (transform_matrix_offset_center)
  each channel: scipy.ndimage.affine_transform(x_c, matrix[:2,:2], matrix[:2,2],
                order=1, mode=fill_mode, cval=cval)
  then channel shift (clip to the image's min/max), horizontal flip, vertical
  flip, brightness (PIL ImageEnhance.Brightness on the 8-bit image, mapped
  back to the original range when the image was outside 0..255).

Coordinates are (row, col) as scipy indexes the array, so tx moves rows: this
is the keras-preprocessing formula before its axis swap (tf.keras >= 2.9 swaps
x and y there, which makes height_shift_range shift horizontally,
tf-keras#310); dnnlua keeps the documented meaning.

Each case stores the input image, the parameters, the 2x3 sampling map and
the expected output; values are printed with 17 significant digits.

Run: /usr/bin/python3 scripts/make_fixtures_augment.py  (writes spec/fixtures/augment/)
"""
import math
import os

import numpy as np
import scipy
from PIL import Image, ImageEnhance
from scipy import ndimage

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "augment")
rng = np.random.RandomState(20240)


def lua(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(lua(e) for e in v) + "}"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, dict):
        return "{" + ",".join("%s=%s" % (k, lua(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def sampling_map(p, h, w):
    """Keras's composed and centred 3x3 matrix; None when there is no warp."""
    m = None

    def then(a, b):
        return b if a is None else np.dot(a, b)

    if p.get("theta", 0) != 0:
        t = np.deg2rad(p["theta"])
        m = then(m, np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if p.get("tx", 0) != 0 or p.get("ty", 0) != 0:
        m = then(m, np.array([[1, 0, p.get("tx", 0)], [0, 1, p.get("ty", 0)], [0, 0, 1]]))
    if p.get("shear", 0) != 0:
        s = np.deg2rad(p["shear"])
        m = then(m, np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if p.get("zx", 1) != 1 or p.get("zy", 1) != 1:
        m = then(m, np.array([[p.get("zx", 1), 0, 0], [0, p.get("zy", 1), 0], [0, 0, 1]]))
    if m is None:
        return None
    ox, oy = float(h) / 2 - 0.5, float(w) / 2 - 0.5
    offset = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]])
    reset = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return np.dot(np.dot(offset, m), reset)


def brightness_shift(x, b):
    """keras apply_brightness_shift(x, b, scale=False) through PIL."""
    x_min, x_max = np.min(x), np.max(x)
    local_scale = (x_min < 0) or (x_max > 255)
    a = np.asarray(x, dtype="float32")
    if local_scale:
        a = a - np.min(a)
        a_max = np.max(a)
        if a_max != 0:
            a /= a_max
        a *= 255
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[a.shape[2]]
    img = Image.fromarray(a.astype("uint8")[:, :, 0] if a.shape[2] == 1 else a.astype("uint8"), mode)
    img = ImageEnhance.Brightness(img).enhance(b)
    y = np.asarray(img, dtype="float32")
    if y.ndim == 2:
        y = y[:, :, None]
    if local_scale:
        y = y / 255 * (x_max - x_min) + x_min
    return y


def apply_transform(x, p, fill_mode, cval):
    h, w = x.shape[0], x.shape[1]
    m = sampling_map(p, h, w)
    if m is not None:
        chans = [ndimage.affine_transform(x[:, :, c], m[:2, :2], m[:2, 2], order=1, mode=fill_mode, cval=cval)
                 for c in range(x.shape[2])]
        x = np.stack(chans, axis=2)
    if p.get("channel_shift_intensity") is not None:
        lo, hi = np.min(x), np.max(x)
        x = np.stack([np.clip(x[:, :, c] + p["channel_shift_intensity"], lo, hi) for c in range(x.shape[2])], axis=2)
    if p.get("flip_horizontal"):
        x = x[:, ::-1, :]
    if p.get("flip_vertical"):
        x = x[::-1, :, :]
    if p.get("brightness") is not None:
        x = brightness_shift(x, p["brightness"])
    return x


def image(h, w, c, dtype):
    if dtype == "uint8":
        return rng.randint(0, 256, size=(h, w, c)).astype(np.uint8)
    # multiples of 1/64: exact in float32, so both sides start equal
    return (rng.randint(-640, 640, size=(h, w, c)) / 64.0).astype(dtype)


COMBOS = [
    ("rotation", dict(theta=33.3)),
    ("shift", dict(tx=1.7, ty=-2.3)),
    ("shift_int", dict(tx=2, ty=-3)),
    ("shear", dict(shear=25.0)),
    ("zoom", dict(zx=0.7, zy=1.3)),
    ("combined", dict(theta=-20.0, tx=-1.2, ty=2.6, shear=-12.0, zx=1.15, zy=0.85)),
    ("combined_flips", dict(theta=47.0, tx=0.6, ty=-0.9, shear=8.0, zx=0.9, zy=1.1,
                            flip_horizontal=True, flip_vertical=True)),
    ("far", dict(tx=11.5, ty=-14.2, theta=5.0)),
    ("zoom_out", dict(zx=1.9, zy=2.3, theta=-75.0)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for mode in ["nearest", "constant", "reflect", "wrap"]:
        for name, p in COMBOS:
            for dtype, shape in [("float64", (7, 9, 2)), ("float32", (8, 5, 3))]:
                x = image(*shape, dtype)
                cval = 0.75 if mode == "constant" else 0.0
                y = apply_transform(x, p, mode, cval)
                m = sampling_map(p, shape[0], shape[1])
                cases.append(dict(name="%s/%s/%s" % (mode, name, dtype), fill_mode=mode, cval=cval, params=p,
                                  dtype=dtype, shape=list(shape), x=x.ravel(), y=y.astype(dtype).ravel(),
                                  matrix=(m[:2, :].ravel() if m is not None else np.array([1.0, 0, 0, 0, 1, 0])),
                                  warp=m is not None))
        x = image(6, 6, 1, "uint8")
        p = dict(theta=21.0, tx=0.4, ty=-1.3, zx=0.8, zy=1.2)
        cval = 7.0 if mode == "constant" else 0.0
        y = apply_transform(x, p, mode, cval)
        m = sampling_map(p, 6, 6)
        cases.append(dict(name="%s/uint8" % mode, fill_mode=mode, cval=cval, params=p, dtype="uint8",
                          shape=[6, 6, 1], x=x.ravel(), y=y.ravel(), matrix=m[:2, :].ravel(), warp=True))
    # the steps after the warp: channel shift, flips alone (no warp), brightness
    for name, p, dtype, shape in [
        ("flips_only", dict(flip_horizontal=True, flip_vertical=True), "float32", (5, 7, 3)),
        ("flip_h_only", dict(flip_horizontal=True), "uint8", (4, 6, 1)),
        ("channel_shift", dict(theta=12.0, channel_shift_intensity=2.5), "float64", (6, 6, 3)),
        ("channel_shift_neg", dict(channel_shift_intensity=-4.0), "float32", (5, 5, 3)),
        ("brightness_0_255", dict(brightness=0.6), "uint8", (5, 6, 3)),
        ("brightness_up", dict(brightness=1.7, flip_horizontal=True), "uint8", (5, 6, 1)),
        ("brightness_rescaled", dict(brightness=1.3), "float32", (6, 5, 3)),
        ("brightness_rgba", dict(brightness=0.45, theta=30.0), "uint8", (5, 5, 4)),
    ]:
        x = image(*shape, dtype)
        y = apply_transform(x, p, "nearest", 0.0)
        m = sampling_map(p, shape[0], shape[1])
        cases.append(dict(name=name, fill_mode="nearest", cval=0.0, params=p, dtype=dtype, shape=list(shape),
                          x=x.ravel(), y=y.astype(dtype).ravel(),
                          matrix=(m[:2, :].ravel() if m is not None else np.array([1.0, 0, 0, 0, 1, 0])),
                          warp=m is not None))
    path = os.path.join(OUT, "apply_transform.lua")
    with open(path, "w") as f:
        f.write("-- generated by scripts/make_fixtures_augment.py (scipy %s, numpy %s, Pillow %s); do not edit\n"
                % (scipy.__version__, np.__version__, Image.__version__))
        f.write("return {\n")
        for c in cases:
            f.write("  " + lua(c) + ",\n")
        f.write("}\n")
    print(path, os.path.getsize(path), "bytes,", len(cases), "cases")


if __name__ == "__main__":
    main()
