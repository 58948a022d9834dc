"""Helpers shared by the estimators: parameter checks without scikit-learn, array checks."""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from . import _core
from ._compat import HAVE_SKLEARN, _check_sample_weight

FLOAT_DTYPES = (np.float64, np.float32)

#: The largest count the engine takes (``n_components``, ``n_init``, ``max_iter``, ...).
MAX_COUNT = _core.MAX_COUNT
#: The largest ``n_threads`` (a pool's threads are all started when it is made).
MAX_THREADS = _core.MAX_THREADS


def validate_params(estimator, rules):
    """Checks the constructor parameters.

    With scikit-learn, its constraint system does it (``_parameter_constraints``, raising its
    ``InvalidParameterError``, a ValueError). Without it, ``rules`` is used: a dict of
    name -> (kind, allowed) with kind "int>=" (an integer at least ``allowed``, or in the
    closed range ``allowed`` when it is a pair), "real>=" (a real at least ``allowed``), "str"
    (one of the strings in ``allowed``), "bool", "int>=|none" (as "int>=", or None) or
    "real>|none" (a real above ``allowed``, or None).
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
            lo, hi = allowed if isinstance(allowed, tuple) else (allowed, None)
            ok = (
                isinstance(v, numbers.Integral)
                and not isinstance(v, bool)
                and v >= lo
                and (hi is None or v <= hi)
            )
            want = f"an int in the range [{lo}, {'inf)' if hi is None else f'{hi}]'}"
        elif kind == "real>=":
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= allowed
            want = f"a float in the range [{allowed}, inf)"
        elif kind == "real>|none":
            if v is None:
                continue
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v > allowed
            want = f"a float in the range ({allowed}, inf) or None"
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


def check_sample_weight(sample_weight, X):
    """``sample_weight`` checked by scikit-learn's ``_check_sample_weight`` rules (a number or a
    1-D array of one weight per row of X, finite, non-negative, not all zero) as float64, or
    None when none is given (the engine's unweighted fit)."""
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
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


def engine_count(estimator, name, clamp=False):
    """The integer parameter ``name`` as the engine takes it: at most ``MAX_COUNT``, larger
    values clamped (``clamp``, for ``max_iter``, whose meaning survives) or refused naming it
    (the constraints refuse them first; this is the last line)."""
    v = int(getattr(estimator, name))
    if v > MAX_COUNT:
        if clamp:
            return MAX_COUNT
        raise ValueError(
            f"The {name!r} parameter of {type(estimator).__name__} must be an int in the "
            f"range [1, {MAX_COUNT}]. Got {v!r} instead."
        )
    return v


def engine_real(estimator, name):
    """The real parameter ``name`` as a float, or a ValueError naming it when it is an integer
    too large for one (``tol=10**400``)."""
    v = getattr(estimator, name)
    try:
        return float(v)
    except OverflowError:
        raise ValueError(
            f"The {name!r} parameter of {type(estimator).__name__} must be a float. Got an "
            f"integer too large for one ({v!r}) instead."
        ) from None


@contextlib.contextmanager
def unchanged_on_error(estimator, names=("n_features_in_", "feature_names_in_")):
    """Undoes what a fit set before it failed (the input checks set ``n_features_in_`` first):
    a fit that raises, or that Ctrl-C stops, leaves the estimator as it was (unfitted, or with
    its previous model)."""
    before = {k: vars(estimator)[k] for k in names if k in vars(estimator)}
    try:
        yield
    except BaseException:
        for k in names:
            vars(estimator).pop(k, None)
        vars(estimator).update(before)
        raise
