#!/usr/bin/env python3
"""Generate the numpy-written fixtures that npz's reading tests use.

Run from this directory with a Python that has numpy (Debian: /usr/bin/python3):

    /usr/bin/python3 gen.py

It writes small .npy/.npz files covering what numpy can produce (each dtype,
both byte orders, Fortran order, format versions 1.0/2.0/3.0, scalars, empty
arrays, plain and compressed archives) plus files the reader must refuse
(object, complex, string, structured, float16), and expected.json describing
what each readable file must decode to, in C order. The tests need no numpy.
"""
import json

import numpy as np
from numpy.lib import format as npformat

expected = {}   # file -> {dtype, shape, fortran, values} (or {arrays: {...}} for .npz)
rejected = {}   # file -> substring the error must contain


def describe(a, fortran=None):
    c = np.ascontiguousarray(a)
    return {
        "dtype": a.dtype.newbyteorder("=").name if a.dtype.kind != "b" else "bool",
        "shape": list(a.shape),
        "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous) if fortran is None else fortran,
        # Every value is chosen exactly representable as float64 and JSON.
        "values": [float(v) for v in c.reshape(-1)],
    }


def save(name, a, version=None):
    with open(name, "wb") as f:
        npformat.write_array(f, a, version=version, allow_pickle=False)
    expected[name] = describe(a)


def seq(n, dtype, start=0):
    return (np.arange(n) + start).astype(dtype)


save("f4_c_2x3.npy", seq(6, "<f4").reshape(2, 3) / 4)
save("f8_fortran_2x3x4.npy", np.asfortranarray(seq(24, "<f8").reshape(2, 3, 4) - 7.5))
save("f8_be_3x2.npy", seq(6, ">f8").reshape(3, 2) * 0.5)
save("f4_be_fortran_3x4.npy", np.asfortranarray(seq(12, ">f4").reshape(3, 4)))
save("i4_be_fortran_3x4.npy", np.asfortranarray(seq(12, ">i4", -6).reshape(3, 4)))
save("i8_v2_5.npy", seq(5, "<i8", -3), version=(2, 0))
save("f4_v3_4.npy", seq(4, "<f4", 10), version=(3, 0))
save("i8_big.npy", np.array([-(2**53), 2**53, -1, 0], dtype="<i8"))
save("b1_5.npy", np.array([True, False, False, True, True]))
save("u1_4.npy", seq(4, "u1", 250))
save("i1_4.npy", seq(4, "i1", -2))
save("i2_be_3.npy", seq(3, ">i2", -300))
save("u2_3.npy", seq(3, "<u2", 65533))
save("u4_be_3.npy", seq(3, ">u4", 4294967293))
save("u8_3.npy", seq(3, "<u8", 2**40))
save("scalar_f8.npy", np.array(3.25))
save("scalar_b1.npy", np.array(True))
save("empty_f4_0.npy", np.zeros((0,), "<f4"))
save("empty_i8_2x0x3.npy", np.zeros((2, 0, 3), "<i8"))

arrays = {
    "weights": seq(6, "<f4").reshape(2, 3) - 2,
    "inputs": np.asfortranarray(seq(24, "<f8").reshape(2, 3, 4)),
    "mask": np.array([[True, False], [False, True]]),
    "steps": np.array(7, dtype="<i8"),
}
np.savez("arrays.npz", **arrays)
np.savez_compressed("arrays_compressed.npz", **arrays)
for name in ("arrays.npz", "arrays_compressed.npz"):
    expected[name] = {"arrays": {k: describe(v) for k, v in arrays.items()}}

with open("object.npy", "wb") as f:
    npformat.write_array(f, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
rejected["object.npy"] = "object dtype"
np.save("complex.npy", np.array([1 + 2j], dtype="<c8"))
rejected["complex.npy"] = "complex dtype"
np.save("unicode.npy", np.array(["abc"]))
rejected["unicode.npy"] = "string dtype"
np.save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")]))
rejected["structured.npy"] = "structured dtype"
np.save("f2.npy", np.zeros(2, dtype="<f2"))
rejected["f2.npy"] = "float dtype of this size"

with open("expected.json", "w") as f:
    json.dump({"numpy": np.__version__, "expected": expected, "rejected": rejected}, f, indent=1, sort_keys=True)
    f.write("\n")
