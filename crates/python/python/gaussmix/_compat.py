"""scikit-learn when it is installed, small stand-ins when it is not.

With scikit-learn importable, the estimators derive from its ``BaseEstimator`` and mixins,
validate their input with its ``validate_data`` and their parameters with its constraint
system, and warn with its ``ConvergenceWarning``. Without it, the stand-ins below give the
same interface (``get_params``/``set_params``, ``fit_predict``, input checks, warnings) with
numpy alone.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

try:  # pragma: no cover - which branch runs depends on the environment
    import sklearn  # noqa: F401
    from sklearn.base import (
        BaseEstimator,
        ClassNamePrefixFeaturesOutMixin,
        ClusterMixin,
        DensityMixin,
        TransformerMixin,
    )
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
    from sklearn.utils import check_random_state
    from sklearn.utils._param_validation import Interval, StrOptions
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted

    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6

        def validate_data(estimator, X, reset=True, **kwargs):
            return estimator._validate_data(X, reset=reset, **kwargs)

    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False
    Interval = StrOptions = None

    def _check_sample_weight(
        sample_weight, X, *, dtype=None, ensure_non_negative=False, **_ignored
    ):
        """scikit-learn's ``_check_sample_weight`` with numpy alone: a number or a 1-D array
        of one finite weight per row, not all zero (and non-negative when asked), with
        scikit-learn's messages."""
        n = X.shape[0]
        dtype = np.float64 if dtype is None else dtype
        if sample_weight is None:
            sw = np.ones(n, dtype=dtype)
        elif isinstance(sample_weight, numbers.Number):
            sw = np.full(n, sample_weight, dtype=dtype)
        else:
            sw = np.asarray(sample_weight)
            if sw.dtype.kind not in "biuf":
                if sw.dtype.kind == "O":
                    sw = sw.astype(np.float64)
                else:
                    raise ValueError(
                        f"sample_weight must hold numbers, got an array of dtype {sw.dtype}"
                    )
            sw = np.ascontiguousarray(sw, dtype=dtype)
            if sw.ndim != 1:
                raise ValueError(
                    f"Sample weights must be 1D array or scalar, got {sw.ndim}D array. "
                    f"Expected either a scalar value or a 1D array of length {n}."
                )
            if sw.shape != (n,):
                raise ValueError(
                    f"sample_weight.shape == {sw.shape}, expected {(n,)}!"
                )
            if not np.isfinite(sw).all():
                raise ValueError("Input sample_weight contains NaN or infinity.")
        if np.all(sw == 0):
            raise ValueError("Sample weights must contain at least one non-zero number.")
        if ensure_non_negative and np.any(sw < 0):
            raise ValueError("Negative values in data passed to `sample_weight`")
        return sw

    class ConvergenceWarning(UserWarning):
        """Warns that a fit did not converge (scikit-learn's, when it is installed)."""

    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before it is fitted."""

    def check_random_state(seed):
        """numpy's RandomState for None (the global one), an int, or a RandomState."""
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral):
            return np.random.RandomState(seed)
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(
            f"{seed!r} cannot be used to seed a numpy.random.RandomState instance"
        )

    def check_is_fitted(estimator, attributes=None):
        fitted = [
            v for v in vars(estimator) if v.endswith("_") and not v.startswith("__")
        ]
        if not fitted:
            raise NotFittedError(
                f"This {type(estimator).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def validate_data(
        estimator, X, reset=True, dtype=None, ensure_min_samples=1, **_ignored
    ):
        """Takes X as a 2-D float array (float32 kept, anything else as float64); with
        ``dtype="numeric"``, as scikit-learn, strings and structured arrays are refused."""
        X = np.asarray(X)
        if dtype == "numeric" and X.dtype.kind in "USV":
            raise ValueError(
                "dtype='numeric' is not compatible with arrays of bytes/strings."
                "Convert your data to numeric values explicitly instead."
            )
        if dtype == "numeric" and X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead.")
        if X.dtype not in (np.float32, np.float64):
            if np.iscomplexobj(X):
                raise ValueError("Complex data not supported")
            X = X.astype(np.float64)
        if X.ndim != 2:
            raise ValueError(
                f"Expected 2D array, got {X.ndim}D array instead. Reshape your data "
                "either using array.reshape(-1, 1) if your data has a single feature "
                "or array.reshape(1, -1) if it contains a single sample."
            )
        n, d = X.shape
        if n < ensure_min_samples:
            raise ValueError(
                f"Found array with {n} sample(s) (shape={X.shape}) while a minimum "
                f"of {ensure_min_samples} is required."
            )
        if d < 1:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                "of 1 is required."
            )
        if not np.isfinite(X).all():
            raise ValueError("Input X contains NaN or infinity.")
        if reset:
            estimator.n_features_in_ = d
        elif d != estimator.n_features_in_:
            raise ValueError(
                f"X has {d} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        return X

    class BaseEstimator:
        """get_params / set_params / repr from the constructor's signature."""

        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(
                p.name
                for p in sig.parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD
            )

        def get_params(self, deep=True):
            return {k: getattr(self, k) for k in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(
                        f"Invalid parameter {k!r} for estimator {self}. Valid "
                        f"parameters are: {valid!r}."
                    )
                setattr(self, k, v)
            return self

        def __repr__(self):
            defaults = {
                p.name: p.default
                for p in inspect.signature(type(self).__init__).parameters.values()
            }
            changed = []
            for k, v in self.get_params().items():
                d = defaults.get(k, inspect.Parameter.empty)
                same = v is d
                if not same:
                    try:
                        same = isinstance(v, (str, int, float, bool, type(None))) and (
                            v == d
                        )
                    except Exception:
                        same = False
                if not same:
                    changed.append(f"{k}={v!r}")
            return f"{type(self).__name__}({', '.join(changed)})"

    class ClusterMixin:
        def fit_predict(self, X, y=None, **kwargs):
            self.fit(X, **kwargs)
            return self.labels_

    class DensityMixin:
        def score(self, X, y=None):
            raise NotImplementedError

    class TransformerMixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, **fit_params).transform(X)

    class ClassNamePrefixFeaturesOutMixin:
        def get_feature_names_out(self, input_features=None):
            check_is_fitted(self, "_n_features_out")
            prefix = type(self).__name__.lower()
            return np.asarray(
                [f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object
            )


def seed_from(random_state) -> int:
    """The engine's u64 seed for a ``random_state``.

    An int is the seed itself (so ``random_state=42`` here is ``--seed 42`` on the command
    line); a ``RandomState`` draws one, ``randint(np.iinfo(np.int32).max)``, advancing it as
    scikit-learn's use would; None draws one from numpy's global RandomState (fresh randomness
    unless ``np.random.seed`` was called), as scikit-learn's ``check_random_state(None)`` does.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, (bool, np.bool_)
    ):
        seed = int(random_state)
        if not 0 <= seed <= 2**32 - 1:
            raise ValueError(f"random_state must be between 0 and 2**32 - 1, got {seed}")
        return seed
    rs = check_random_state(random_state)
    return int(rs.randint(np.iinfo(np.int32).max))
