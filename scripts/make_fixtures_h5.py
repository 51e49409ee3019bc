#!/usr/bin/python3
"""HDF5 fixtures for spec/save_load_spec.lua, written with h5py (not by us).

    /usr/bin/python3 scripts/make_fixtures_h5.py   (needs python3-h5py)

Makes spec/fixtures/h5/:
  h5py_values.h5  a dnnlua value file written the way h5py writes things on
                  its own (vlen str attributes, numpy bool, int8, float16,
                  big-endian, gzip-chunked data): dnn.load must read it
  keras_like.h5   the attributes Keras puts in a model file ('S' arrays,
                  vlen str JSON, an empty float64 weight_names array)
  bad_*.h5        one defect each, for the bad-file cases (see BAD below)
Every file is a few KB; the spec states the values it expects itself.
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "h5")


def path(name):
    return os.path.join(OUT, name)


def dnnlua_root(f, kind="table"):
    f.attrs["dnnlua_format"] = np.bytes_("dnnlua.value")
    f.attrs["dnnlua_version"] = np.int64(1)
    f.attrs["dnnlua_type"] = np.bytes_(kind)


def h5py_values():
    with h5py.File(path("h5py_values.h5"), "w") as f:
        # h5py writes a Python str attribute as variable-length UTF-8
        f.attrs["dnnlua_format"] = "dnnlua.value"
        f.attrs["dnnlua_version"] = 1
        f.attrs["dnnlua_type"] = "table"
        f["i8"] = np.array([-128, 0, 127], dtype=np.int8)
        f["i16"] = np.array([[-32768, 1], [2, 32767]], dtype=np.int16)
        f["u16"] = np.array([0, 65535], dtype=np.uint16)
        f["u32"] = np.array([4294967295], dtype=np.uint32)
        f["f16"] = np.array([0.5, -2.0, 65504.0], dtype=np.float16)
        f["be"] = np.array([1.25, -3.5], dtype=">f8")
        f["npbool"] = np.array([True, False, True])
        f.create_dataset("gz", data=np.arange(1000, dtype=np.float32) / 8, chunks=(100,),
                         compression="gzip")
        s = f.create_dataset("vstr", data="héllo wörld")  # vlen UTF-8 str dataset
        s.attrs["dnnlua_type"] = "string"
        n = f.create_dataset("i32num", data=np.int32(-7))
        n.attrs["dnnlua_type"] = "integer"
        x = f.create_dataset("f32num", data=np.float32(0.25))
        x.attrs["dnnlua_type"] = "float"
        g = f.create_group("list")
        g.attrs["dnnlua_type"] = "table"
        g.attrs["dnnlua_int_keys"] = np.array([1, 2], dtype=np.int32)
        g["1"] = np.float64(1.5)
        g["1"].attrs["dnnlua_type"] = "float"
        g["2"] = np.bytes_(b"two")
        g["2"].attrs["dnnlua_type"] = "string"


def keras_like():
    with h5py.File(path("keras_like.h5"), "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": {"name": "s"}}'
        w = f.create_group("model_weights")
        w.attrs["layer_names"] = np.array([b"dense", b"dropout", b"dense_1"])
        d = w.create_group("dense")
        d.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        d.create_dataset("dense/kernel:0", data=np.arange(6, dtype=np.float32).reshape(2, 3))
        d.create_dataset("dense/bias:0", data=np.zeros(3, dtype=np.float32))
        w.create_group("dropout").attrs["weight_names"] = np.asarray([])  # float64, empty


def bad_files():
    def new(name, kind="table"):
        f = h5py.File(path("bad_" + name + ".h5"), "w")
        if kind:
            dnnlua_root(f, kind)
        return f

    with new("plain", kind=None) as f:
        f["x"] = np.arange(3)
    with new("wrong_format") as f:
        f.attrs["dnnlua_format"] = np.bytes_("keras")
    with new("newer_version") as f:
        f.attrs["dnnlua_version"] = np.int64(2)
    with new("version_string") as f:
        f.attrs["dnnlua_version"] = np.bytes_("one")
    with new("root_type", kind="list"):
        pass
    with new("unknown_type") as f:
        f["x"] = np.int64(1)
        f["x"].attrs["dnnlua_type"] = np.bytes_("pickle")
    with new("soft_link") as f:
        f["x"] = np.int64(1)
        f["s"] = h5py.SoftLink("/x")
    with new("external_link") as f:
        f["e"] = h5py.ExternalLink("other.h5", "/x")
    with new("named_type") as f:
        f["t"] = np.dtype("f4")
    with new("compound") as f:
        f["c"] = np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])
    with new("huge_contiguous") as f:  # never written: 4 TiB claimed, nothing stored
        f.create_dataset("big", shape=(2**40,), dtype="f4")
    with new("huge_chunked") as f:  # one 4 KiB chunk stored, 4 TiB claimed
        d = f.create_dataset("big", shape=(2**40,), dtype="f4", chunks=(1024,))
        d[:1024] = 1.0
    with new("nine_dims") as f:
        f["x"] = np.zeros((1,) * 9, dtype="f4")
    with new("uint64") as f:
        f["x"] = np.array([1, 2], dtype=np.uint64)
    with new("type_mismatch") as f:
        f["n"] = np.float64(2.5)
        f["n"].attrs["dnnlua_type"] = np.bytes_("integer")
    with new("bool_value") as f:
        f["b"] = np.uint8(7)
        f["b"].attrs["dnnlua_type"] = np.bytes_("boolean")
    with new("int_keys_missing") as f:
        f.attrs["dnnlua_int_keys"] = np.array([1, 2, 3])
        for k in ("1", "2"):
            f[k] = np.int64(0)
            f[k].attrs["dnnlua_type"] = np.bytes_("integer")
    with new("escape") as f:
        f["%a%zz"] = np.int64(0)
        f["%a%zz"].attrs["dnnlua_type"] = np.bytes_("integer")
    with new("group_type") as f:
        f.create_group("g").attrs["dnnlua_type"] = np.bytes_("string")
    with new("cycle") as f:
        g = f.create_group("a")
        g.attrs["dnnlua_type"] = np.bytes_("table")
        g["self"] = g  # a hard link back to the group itself
    with new("null_tensor") as f:
        f["x"] = h5py.Empty("f4")
    with new("deep") as f:
        g = f
        for _ in range(70):
            g = g.create_group("d")
    with new("dtype_attr") as f:
        f["x"] = np.zeros(2, dtype="f4")
        f["x"].attrs["dnnlua_dtype"] = np.bytes_("bool")
    with new("scalar_array") as f:
        f["n"] = np.arange(3)
        f["n"].attrs["dnnlua_type"] = np.bytes_("integer")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    h5py_values()
    keras_like()
    bad_files()
    print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
