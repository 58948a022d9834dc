#!/usr/bin/env python3
"""Make the tiny .npy fixtures in this directory, and check files written by the Rust writers.

Generated with numpy 2.4.6 (Python 3.11). Re-run from this directory:

    python make_npy.py                # (re)write the fixtures next to this script
    python make_npy.py --check DIR    # np.load the files the Rust test suite wrote into DIR

The second form is a manual check (the Rust tests never run Python):

    GAUSSMIX_IO_WRITE_DIR=/tmp/npy-out cargo test -p gaussmix-io --test write
    python make_npy.py --check /tmp/npy-out

Values are small and exactly representable in every dtype used, so the Rust tests compare
them exactly. The base matrix M is 3 x 4 with M[i, j] = (4 i + j) / 2 - 2.
"""

import io
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

M = (np.arange(12, dtype=np.float64).reshape(3, 4) / 2.0) - 2.0
INTS = np.arange(12).reshape(3, 4) - 5


def save(name, arr, version=None, allow_pickle=False):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=allow_pickle)
    return path


def save_hand(name, arr, data_offset):
    """Write a v1.0 .npy whose data starts at exactly `data_offset` (numpy always pads the
    header to a multiple of 64, so unaligned and 16-aligned files must be written by hand)."""
    arr = np.ascontiguousarray(arr)
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (arr.dtype.str, arr.shape)
    header_len = data_offset - 10
    pad = header_len - len(d) - 1
    assert pad >= 0, "offset too small for the header"
    header = d + " " * pad + "\n"
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", header_len))
        f.write(header.encode("latin1"))
        f.write(arr.tobytes())


def data_offset(name):
    with open(os.path.join(HERE, name), "rb") as f:
        raw = f.read()
    major = raw[6]
    if major == 1:
        return 10 + struct.unpack("<H", raw[8:10])[0]
    return 12 + struct.unpack("<I", raw[8:12])[0]


def make():
    save("v1_f8_c.npy", M)
    save("v1_f4_c.npy", M.astype("<f4"))
    save("v2_f8_c.npy", M, version=(2, 0))
    save("v3_f4_c.npy", M.astype("<f4"), version=(3, 0))
    save("f8_fortran.npy", np.asfortranarray(M))
    save("f4_fortran.npy", np.asfortranarray(M.astype("<f4")))
    save("f8_bigendian.npy", M.astype(">f8"))
    save("f4_bigendian_fortran.npy", np.asfortranarray(M.astype(">f4")))
    save_hand("f8_unaligned.npy", M, 83)  # 83 is neither 4- nor 8-aligned
    save_hand("f4_align16.npy", M.astype("<f4"), 80)  # like old writers: 16-aligned, not 64
    save("i4.npy", INTS.astype("<i4"))
    save("i8.npy", INTS.astype("<i8"))
    save("u1.npy", (np.arange(12).reshape(3, 4) * 20).astype("|u1"))
    save("b1.npy", (np.arange(12).reshape(3, 4) % 3 == 0))
    save("f2.npy", M.astype("<f2"))
    save("oned_f8.npy", np.arange(5, dtype="<f8") * 1.5)
    save("zerod.npy", np.array(3.0))
    save("threed.npy", np.zeros((2, 3, 4)))
    save("structured.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    save("labels_i8.npy", np.array([0, 2, 1, 1, 0, -1], dtype="<i8"))
    save("labels_u8_overflow.npy", np.array([1, 2**63], dtype="<u8"))
    save("zero_rows.npy", np.zeros((0, 3)))

    # Sanity: numpy reads every numeric fixture back as written.
    assert data_offset("f8_unaligned.npy") == 83
    assert data_offset("f4_align16.npy") == 80
    assert data_offset("v1_f8_c.npy") % 64 == 0
    assert np.array_equal(np.load(os.path.join(HERE, "f8_unaligned.npy")), M)
    assert np.array_equal(np.load(os.path.join(HERE, "f4_align16.npy")), M.astype("<f4"))
    for name in ["v1_f8_c", "v2_f8_c", "f8_fortran", "f8_bigendian", "f2", "v3_f4_c"]:
        assert np.array_equal(np.load(os.path.join(HERE, name + ".npy")), M), name
    print("wrote fixtures with numpy", np.__version__)


def check(out_dir):
    """np.load the files written by the Rust test `write.rs` and compare exactly."""

    def load(name):
        return np.load(os.path.join(out_dir, name), allow_pickle=False)

    a = load("written_f64.npy")
    assert a.dtype == np.dtype("<f8") and a.shape == (4, 3), (a.dtype, a.shape)
    assert np.array_equal(a, np.arange(12, dtype=np.float64).reshape(4, 3) * 0.5 - 1.0 + 0.125)

    b = load("written_f32.npy")
    assert b.dtype == np.dtype("<f4") and b.shape == (2, 5), (b.dtype, b.shape)
    assert np.array_equal(b, (np.arange(10, dtype=np.float32) * 0.25).reshape(2, 5))

    c = load("written_labels.npy")
    assert c.dtype == np.dtype("<i8") and c.shape == (5,), (c.dtype, c.shape)
    assert c.tolist() == [0, -1, 5, 2**63 - 1, -(2**63)]

    d = load("written_1d.npy")
    assert d.dtype == np.dtype("<f8") and d.shape == (3,), (d.dtype, d.shape)
    assert d.tolist() == [1.5, -2.5, 1e300]

    for name in ["written_f64.npy", "written_f32.npy", "written_labels.npy", "written_1d.npy"]:
        with open(os.path.join(out_dir, name), "rb") as f:
            raw = f.read()
        assert raw[6:8] == b"\x01\x00" and (10 + struct.unpack("<H", raw[8:10])[0]) % 64 == 0, name
    print("numpy", np.__version__, "read all files in", out_dir, "exactly")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        make()
