#!/usr/bin/python3
"""Reference data for spec/io_spec.lua and spec/examples_spec.lua, computed
independently of dnnlua (gzip + numpy, not our IDX reader):

  spec/fixtures/fashion_mnist_stats.lua   shapes, known labels and pixels, and
                                          the statistics that
                                          examples/fashion_mnist_explore.lua prints
  spec/fixtures/idx/*                     small IDX files of every type code,
                                          plain and gzipped, written by numpy,
                                          with their values in values.lua

Run with the system Python (it has numpy):  /usr/bin/python3 scripts/make_fixtures_fmnist.py
Positions in the Lua output are 1-based; labels are the files' 0-based ids.
"""
import gzip
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FMNIST = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
FIXTURES = os.path.join(ROOT, "spec", "fixtures")
IDX_DIR = os.path.join(FIXTURES, "idx")


def read_idx_gz(path):
    """IDX reader written from the format description (big-endian header)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, path
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims)), path
    return data.reshape(dims)


def lua_num(v):
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def lua_list(vs):
    return "{" + ", ".join(lua_num(v) for v in vs) + "}"


def fmnist_stats():
    tx = read_idx_gz(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"))
    ty = read_idx_gz(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"))
    ex = read_idx_gz(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"))
    ey = read_idx_gz(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"))
    txf = tx.astype(np.float64)
    per_image = tx.reshape(len(tx), -1).sum(axis=1, dtype=np.int64)
    class_mean = [per_image[ty == c].sum() / ((ty == c).sum() * 784) for c in range(10)]

    # a few pixels to check the reader against: the brightest pixel of some images
    pixels = []
    for split, x in (("train", tx), ("test", ex)):
        for i in (0, 1, len(x) - 1):
            r, c = np.unravel_index(np.argmax(x[i]), x[i].shape)
            pixels.append((split, i + 1, r + 1, c + 1, x[i, r, c]))
            pixels.append((split, i + 1, 14, 14, x[i, 13, 13]))

    out = ["-- Made by scripts/make_fixtures_fmnist.py from %s with numpy %s;" % (FMNIST, np.__version__),
           "-- do not edit.  Positions are 1-based, labels are the files' 0-based ids.",
           "return {"]
    out.append("  train_shape = %s, test_shape = %s," % (lua_list(tx.shape), lua_list(ex.shape)))
    out.append("  train_first_labels = %s," % lua_list(ty[:10]))
    out.append("  test_first_labels = %s," % lua_list(ey[:10]))
    out.append("  train_last_label = %d, test_last_label = %d," % (ty[-1], ey[-1]))
    out.append("  pixels = {")
    for split, i, r, c, v in pixels:
        out.append("    {split = %r, i = %d, r = %d, c = %d, v = %d}," % (split, i, r, c, v))
    out.append("  },")
    out.append("  train_counts = %s," % lua_list(np.bincount(ty, minlength=10)))
    out.append("  test_counts = %s," % lua_list(np.bincount(ey, minlength=10)))
    out.append("  train_pixel_sum = %d, test_pixel_sum = %d," % (tx.sum(dtype=np.int64), ex.sum(dtype=np.int64)))
    out.append("  train_pixel_mean = %s," % lua_num(txf.mean()))
    out.append("  train_pixel_std = %s, -- ddof=1 (unbiased, torch's default)" % lua_num(txf.std(ddof=1)))
    out.append("  train_pixel_min = %d, train_pixel_max = %d," % (tx.min(), tx.max()))
    out.append("  train_zero_fraction = %s," % lua_num((tx == 0).mean()))
    out.append("  train_class_mean = %s," % lua_list(class_mean))
    out.append("  test_pixel_mean = %s," % lua_num(ex.astype(np.float64).mean()))
    out.append("  test_zero_fraction = %s," % lua_num((ex == 0).mean()))
    out.append("}")
    with open(os.path.join(FIXTURES, "fashion_mnist_stats.lua"), "w") as f:
        f.write("\n".join(out) + "\n")


# ---- small IDX files of every type code ----
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(a):
    code = IDX_CODES[a.dtype.type]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write(name, data, gz=False):
    path = os.path.join(IDX_DIR, name)
    if gz:
        with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def idx_fixtures():
    os.makedirs(IDX_DIR, exist_ok=True)
    cases = {
        "u8_2x3": np.array([[0, 1, 2], [127, 128, 255]], np.uint8),
        "i8_5": np.array([-128, -1, 0, 1, 127], np.int8),
        "i16_2x3": np.array([[-32768, -1, 0], [1, 258, 32767]], np.int16),
        "i32_4": np.array([-2147483648, -1, 16909060, 2147483647], np.int32),
        "f32_2x2": np.array([[-0.5, 1e-3], [3.25, 1e30]], np.float32),
        "f64_3": np.array([-1.0 / 3.0, 2.0 ** -40, 1e300], np.float64),
        "u8_2x1x2x1": np.arange(4, dtype=np.uint8).reshape(2, 1, 2, 1),
        "f32_0x3": np.zeros((0, 3), np.float32),
    }
    lines = ["-- Made by scripts/make_fixtures_fmnist.py (numpy %s); do not edit." % np.__version__,
             "-- name = {file type, dtype read_idx gives, shape, values flattened row-major}",
             "return {"]
    read_dtype = {np.uint8: "uint8", np.int8: "int32", np.int16: "int32", np.int32: "int32",
                  np.float32: "float32", np.float64: "float64"}
    for name, a in cases.items():
        data = idx_bytes(a)
        write(name + ".idx", data)
        vals = a.reshape(-1)
        if a.dtype == np.float32:
            vals = vals.astype(np.float64)  # the exact float32 values
        lines.append("  %s = {type = %r, dtype = %r, shape = %s, values = %s}," % (
            name, a.dtype.name, read_dtype[a.dtype.type], lua_list(a.shape), lua_list(vals)))
    # gzipped copies: one with the usual name, one whose name does not say gzip
    write("i16_2x3.idx.gz", idx_bytes(cases["i16_2x3"]), gz=True)
    write("f64_3.idx.gz", idx_bytes(cases["f64_3"]), gz=True)
    write("u8_2x3_gzipped.idx", idx_bytes(cases["u8_2x3"]), gz=True)
    lines.append("  gzipped = {['i16_2x3.idx.gz'] = 'i16_2x3', ['f64_3.idx.gz'] = 'f64_3',")
    lines.append("             ['u8_2x3_gzipped.idx'] = 'u8_2x3'},")
    lines.append("}")
    with open(os.path.join(IDX_DIR, "values.lua"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    idx_fixtures()
    fmnist_stats()
    print("wrote", os.path.join(FIXTURES, "fashion_mnist_stats.lua"), "and", IDX_DIR)
