"""What the Dask estimators share: input checks and the local-or-chunk-wise dispatch."""

from __future__ import annotations

import dask.array as da
import numpy as np

#: Default number of rows gathered to the client for the k-means / k-means++ initialisations.
INIT_SAMPLE_ROWS = 100_000


def _is_dask(X):
    return isinstance(X, da.Array)


def _rowwise(X):
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
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

    def _apply(self, X, what):
        self._check_fitted()
        if _is_dask(X):
            return self._dask_apply(X, what)
        return getattr(self.model_, what)(X)

    def to_sklearn(self):
        """scikit-learn's fitted estimator with this model (see the in-memory one)."""
        self._check_fitted()
        return self.model_.to_sklearn()

