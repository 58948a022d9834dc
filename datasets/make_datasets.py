#!/usr/bin/env python
"""Regenerate the built-in demo dataset of gaussmix (the lesson's blobs).

Usage (from the project root or anywhere):

    /path/to/venv/bin/python datasets/make_datasets.py

Requires scikit-learn (1.9.1 was used) and numpy (2.4.x was used).
Writes, next to this script:

    blobs400.npy         float64, C order, shape (400, 2)   (np.save)
    blobs400_labels.npy  int64, shape (400,)                (np.save)
    blobs400.csv         header "x0,x1", one row per sample, repr() floats
    stretched400.npy     float64, (400, 2): the blobs times RandomState(13).randn(2, 2)
    moons200.npy         float64, (200, 2): make_moons(200, noise=0.05, random_state=0)

The output is deterministic: re-running reproduces the files byte for byte.
"""

import os

import numpy as np
import sklearn
from sklearn.datasets import make_blobs, make_moons

HERE = os.path.dirname(os.path.abspath(__file__))


def make_blobs400():
    """The lesson's data: 4 blobs, 400 points, columns swapped."""
    X, y_true = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    X = X[:, ::-1]  # swap the two columns, as in the lesson
    X = np.ascontiguousarray(X, dtype=np.float64)
    y_true = np.ascontiguousarray(y_true, dtype=np.int64)
    return X, y_true


def make_stretched(X):
    """The lesson's stretched blobs: X times a random 2 x 2 matrix."""
    rng = np.random.RandomState(13)
    return np.ascontiguousarray(np.dot(X, rng.randn(2, 2)), dtype=np.float64)


def make_moons200():
    """The lesson's two moons."""
    Xm, _ = make_moons(200, noise=0.05, random_state=0)
    return np.ascontiguousarray(Xm, dtype=np.float64)


def main():
    X, y_true = make_blobs400()
    np.save(os.path.join(HERE, "stretched400.npy"), make_stretched(X))
    np.save(os.path.join(HERE, "moons200.npy"), make_moons200())
    assert X.shape == (400, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y_true.shape == (400,) and y_true.dtype == np.int64

    np.save(os.path.join(HERE, "blobs400.npy"), X)
    np.save(os.path.join(HERE, "blobs400_labels.npy"), y_true)

    # repr() of a Python float is the shortest string that round-trips exactly.
    with open(os.path.join(HERE, "blobs400.csv"), "w", newline="\n") as f:
        f.write("x0,x1\n")
        for a, b in X.tolist():
            f.write(f"{a!r},{b!r}\n")

    # Self-check: every file reads back to exactly the same numbers.
    X_npy = np.load(os.path.join(HERE, "blobs400.npy"))
    y_npy = np.load(os.path.join(HERE, "blobs400_labels.npy"))
    X_csv = np.loadtxt(os.path.join(HERE, "blobs400.csv"), delimiter=",", skiprows=1)
    assert np.array_equal(X_npy, X) and X_npy.dtype == np.float64
    assert np.array_equal(y_npy, y_true) and y_npy.dtype == np.int64
    assert np.array_equal(X_csv, X)

    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print(f"blobs400: X {X.shape} {X.dtype}, labels {y_true.shape} {y_true.dtype}, "
          f"counts per label {np.bincount(y_true).tolist()}")


if __name__ == "__main__":
    main()
