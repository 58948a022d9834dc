"""Helpers shared by the estimators: parameter checks without scikit-learn, array checks."""

from __future__ import annotations

import numbers

import numpy as np

from ._compat import HAVE_SKLEARN

FLOAT_DTYPES = (np.float64, np.float32)


def validate_params(estimator, rules):
    """Checks the constructor parameters.

    With scikit-learn, its constraint system does it (``_parameter_constraints``, raising its
    ``InvalidParameterError``, a ValueError). Without it, ``rules`` is used: a dict of
    name -> (kind, allowed) with kind "int>=" (an integer at least ``allowed``), "real>=" (a
    real at least ``allowed``), "str" (one of the strings in ``allowed``), "bool", or
    "int>=|none" (an integer at least ``allowed``, or None).
    """
    if HAVE_SKLEARN:
        estimator._validate_params()
        return
    for name, (kind, allowed) in rules.items():
        v = getattr(estimator, name)
        ok = True
        if kind == "int>=|none" and v is None:
            continue
        if kind in ("int>=", "int>=|none"):
            ok = (
                isinstance(v, numbers.Integral)
                and not isinstance(v, bool)
                and v >= allowed
            )
            want = f"an int in the range [{allowed}, inf)"
        elif kind == "real>=":
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= allowed
            want = f"a float in the range [{allowed}, inf)"
        elif kind == "str":
            ok = isinstance(v, str) and v in allowed
            want = "a str among " + ", ".join(repr(a) for a in sorted(allowed))
        elif kind == "bool":
            ok = isinstance(v, (bool, np.bool_))
            want = "a bool"
        if not ok:
            raise ValueError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {want}. "
                f"Got {v!r} instead."
            )


def float_array(value, name, shape):
    """``value`` as a float64 array of the given shape, or a ValueError naming it."""
    a = np.asarray(value, dtype=np.float64)
    if a.shape != tuple(shape):
        raise ValueError(
            f"The parameter {name!r} should have the shape of {tuple(shape)}, "
            f"but got {a.shape}"
        )
    return a
