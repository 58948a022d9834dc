"""What the Dask estimators share: input checks and the local-or-chunk-wise dispatch."""

from __future__ import annotations

import dask.array as da
import numpy as np

#: Default number of rows gathered to the client for the k-means / k-means++ initialisations.
INIT_SAMPLE_ROWS = 100_000


def _is_dask(X):
    return isinstance(X, da.Array)


#: dtype kinds that are not real numbers, as the errors name them.
_NOT_NUMBERS = {
    "U": "strings",
    "S": "bytes",
    "V": "a structured or void dtype",
    "M": "dates",
    "m": "time spans",
    "O": "Python objects",
}


def check_dtype(dtype, who):
    """Refuses a dtype that is not real numbers (bool, integers and floats are), as the
    in-memory estimators do, before any task runs: complex (its imaginary part would be lost),
    strings, structured dtypes, dates, and a Dask array of Python objects (which cannot be
    checked without computing it)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biuf":
        return
    if dtype.kind == "c":
        raise ValueError(
            f"{who}: Complex data not supported (X has dtype {dtype}); pass the real part "
            "(X.real) or the modulus (abs(X)) explicitly"
        )
    what = _NOT_NUMBERS.get(dtype.kind, "not numbers")
    raise ValueError(
        f"{who}: X has dtype {dtype} ({what}), which is not numeric; convert it to numbers "
        "first (e.g. X.astype(float))"
    )


def numeric(X, who):
    """``X`` checked to hold real numbers: a Dask array as it is (its dtype checked), anything
    else as a NumPy array (Python objects converted to float64, as scikit-learn does). Raises
    ValueError naming ``who`` for anything that is not an array of numbers."""
    if _is_dask(X):
        check_dtype(X.dtype, who)
        return X
    if X is None or isinstance(X, (dict, set, frozenset, str, bytes)):
        raise ValueError(
            f"{who}: X must be an array of numbers (a Dask array, a NumPy array or nested "
            f"lists), got {type(X).__name__}"
        )
    try:
        A = np.asarray(X)
        if A.dtype.kind == "O":
            A = A.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"{who}: X must be an array of numbers, got {type(X).__name__} ({e})"
        ) from None
    check_dtype(A.dtype, who)
    return A


def _rowwise(X, who):
    """A Dask array of whole rows of real numbers (float32 kept, other dtypes float64)."""
    check_dtype(X.dtype, who)
    if X.ndim != 2:
        raise ValueError(f"{who}: expected a 2-D array (n_samples, n_features), got {X.ndim}-D")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def _check_features(est, d):
    if d != est.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )


def _sample_size(est, k):
    return max(int(est.init_sample_size), int(k))


class _Applied:
    """What the Dask estimators share: the fitted check, and methods that run chunk-wise on the
    workers for a Dask array (``_dask_apply``, per estimator) and locally on ``model_`` else."""

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from .._compat import check_is_fitted

            check_is_fitted(self, "model_")

    def _who(self, method):
        return f"{type(self).__name__}.{method}"

    def _apply(self, X, what):
        self._check_fitted()
        X = numeric(X, self._who(what))
        if _is_dask(X):
            return self._dask_apply(X, what)
        return getattr(self.model_, what)(X)

    def to_sklearn(self):
        """scikit-learn's fitted estimator with this model (see the in-memory one)."""
        self._check_fitted()
        return self.model_.to_sklearn()

