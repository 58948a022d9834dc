"""``gaussmix.KMeans``: scikit-learn's ``KMeans`` (Lloyd) on the gaussmix engine."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from . import _core
from ._base import (
    FLOAT_DTYPES,
    MAX_COUNT,
    MAX_THREADS,
    check_sample_weight,
    engine_count,
    engine_real,
    unchanged_on_error,
    validate_params,
)
from ._compat import (
    HAVE_SKLEARN,
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    ConvergenceWarning,
    Interval,
    StrOptions,
    TransformerMixin,
    check_is_fitted,
    check_random_state,
    seed_from,
    validate_data,
)


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering (Lloyd's algorithm): scikit-learn's ``KMeans``, in Rust.

    The parameters, fitted attributes (``cluster_centers_``, ``labels_``, ``inertia_``,
    ``n_iter_``, ``n_features_in_``) and methods are scikit-learn's; from the same initial
    centres the result is scikit-learn's. The k-means++ and random initialisations draw
    different random numbers than scikit-learn's.

    Parameters beyond scikit-learn's
    --------------------------------
    n_threads : int or None, default=None
        Threads for fits and predictions; None uses all cores. Results are bit-identical for
        any number of threads.
    precision : {"auto", "f64"}, default="auto"
        The arithmetic of Lloyd's nearest-centre kernels. "auto" computes float32 input in
        float32 (as scikit-learn does; sixteen values per AVX-512 register instead of eight),
        with centres, counts and inertia summed in float64; "f64" computes every input in
        float64. The bounded passes the engine picks for 8 or more clusters below 24 features
        always compute in float64. ``predict`` and ``score`` use the fit's arithmetic.

    Differences
    -----------
    ``fit(X, sample_weight=w)`` is scikit-learn's weighted k-means (weighted centres and
    inertia, k-means++ drawing by ``w * D**2``, random rows drawn by ``w``; weights finite,
    non-negative, not all zero); ``algorithm``
    "elkan" runs Lloyd's algorithm, which reaches the same clustering; ``copy_x`` has no
    effect (X is never modified); sparse input is refused; ``cluster_centers_`` and
    ``transform`` are float64 for float32 input too; ``verbose`` prints a summary after the
    fit, not per iteration.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            "n_clusters": [Interval(Integral, 1, MAX_COUNT, closed="both")],
            "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
            "n_init": [StrOptions({"auto"}), Interval(Integral, 1, MAX_COUNT, closed="both")],
            "max_iter": [Interval(Integral, 1, None, closed="left")],
            "tol": [Interval(Real, 0, None, closed="left")],
            "verbose": ["verbose"],
            "random_state": ["random_state"],
            "copy_x": ["boolean"],
            "algorithm": [StrOptions({"lloyd", "elkan"})],
            "n_threads": [Interval(Integral, 1, MAX_THREADS, closed="both"), None],
            "precision": [StrOptions({"auto", "f64"})],
        }

    _rules = {
        "n_clusters": ("int>=", (1, MAX_COUNT)),
        "max_iter": ("int>=", 1),
        "tol": ("real>=", 0.0),
        "algorithm": ("str", {"lloyd", "elkan"}),
        "n_threads": ("int>=|none", (1, MAX_THREADS)),
        "precision": ("str", {"auto", "f64"}),
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        n_threads=None,
        precision="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_threads = n_threads
        self.precision = precision

    if HAVE_SKLEARN:

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.sparse = False
            tags.input_tags.allow_nan = False
            tags.transformer_tags.preserves_dtype = ["float64"]
            return tags

    def _threads(self):
        return None if self.n_threads is None else int(self.n_threads)

    def _fit_precision(self):
        """The arithmetic predictions use: the fit's (the parameter's for a model from centres)."""
        return getattr(self, "_precision", None) or str(self.precision)

    def _n_init_for(self, init):
        """scikit-learn's rule: "auto" is 1 for k-means++ and given centres, else 10."""
        if self.n_init == "auto":
            if isinstance(init, str):
                return 1 if init == "k-means++" else 10
            return 10 if callable(init) else 1
        if self.n_init is None or isinstance(self.n_init, str):
            raise ValueError(f"n_init must be 'auto' or an int >= 1, got {self.n_init!r}")
        n_init = int(self.n_init)
        if not 1 <= n_init <= MAX_COUNT:
            raise ValueError(
                f"n_init must be 'auto' or an int in the range [1, {MAX_COUNT}], got {n_init}"
            )
        if not isinstance(init, str) and not callable(init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            return 1
        return n_init

    def _centers(self, centers, X):
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of clusters {self.n_clusters}."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of features of the data {X.shape[1]}."
            )
        return centers

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering; returns self. ``sample_weight``: a number or one
        weight per row (scikit-learn's rules, and non-negative)."""
        with unchanged_on_error(self):
            return self._fit_checked(X, sample_weight)

    def _fit_checked(self, X, sample_weight):
        validate_params(self, self._rules)
        X = validate_data(self, X, dtype=list(FLOAT_DTYPES))
        sw = check_sample_weight(sample_weight, X)
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        init = self.init
        if not (isinstance(init, str) or callable(init)):
            init = self._centers(init, X)
        n_init = self._n_init_for(self.init)
        common = dict(
            n_clusters=int(self.n_clusters),
            max_iter=engine_count(self, "max_iter", clamp=True),
            tol=engine_real(self, "tol"),
            n_threads=self._threads(),
            sample_weight=sw,
            precision=str(self.precision),
        )
        if callable(init):
            # One engine run per call of the user's function, the lowest inertia kept.
            rs = check_random_state(self.random_state)
            best = None
            for _ in range(n_init):
                centers = self._centers(init(X, self.n_clusters, random_state=rs), X)
                res = _core.kmeans_fit(X, init=centers, n_init=1, seed=0, **common)
                if best is None or res["inertia"] < best["inertia"]:
                    best = res
            res = best
        else:
            res = _core.kmeans_fit(
                X, init=init, n_init=n_init, seed=seed_from(self.random_state), **common
            )
        self.cluster_centers_ = res["cluster_centers"]
        self.labels_ = res["labels"]
        self.inertia_ = float(res["inertia"])
        self.n_iter_ = int(res["n_iter"])
        self._converged = bool(res["converged"])
        self._precision = str(res["precision"])
        self._n_features_out = self.cluster_centers_.shape[0]
        if self.verbose:
            print("Initialization complete")
            how = "converged" if self._converged else "stopped at max_iter"
            print(f"Lloyd {how} after {self.n_iter_} iterations, inertia {self.inertia_}.")
        distinct = len(np.unique(self.labels_))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the cluster of each row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit and return the distances of each row to each centre."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=list(FLOAT_DTYPES))

    def predict(self, X):
        """Index of the nearest centre for each row, int64 ``(n_samples,)``."""
        X = self._check_X(X)
        return _core.kmeans_predict(
            self.cluster_centers_, X, self._threads(), self._fit_precision()
        )

    def transform(self, X):
        """Euclidean distance of each row to each centre, ``(n_samples, n_clusters)``."""
        X = self._check_X(X)
        return _core.kmeans_transform(
            self.cluster_centers_, X, self._threads(), self._fit_precision()
        )

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the k-means objective on X: minus the sum of the (weighted) squared
        distances of the rows to their nearest centres."""
        X = self._check_X(X)
        sw = check_sample_weight(sample_weight, X)
        return -float(
            _core.kmeans_inertia(
                self.cluster_centers_, X, self._threads(), sw, self._fit_precision()
            )
        )

    def to_sklearn(self):
        """A fitted ``sklearn.cluster.KMeans`` with this model's centres and fit results."""
        check_is_fitted(self)
        from sklearn.cluster import KMeans as SkKMeans
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        params = self.get_params()
        params.pop("n_threads")
        params.pop("precision", None)  # (the Dask estimator has none)
        sk = SkKMeans(**params)
        sk.cluster_centers_ = np.array(self.cluster_centers_, copy=True)
        if hasattr(self, "labels_"):
            sk.labels_ = np.array(self.labels_, copy=True)
        sk.inertia_ = self.inertia_
        sk.n_iter_ = self.n_iter_
        sk.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            sk.feature_names_in_ = self.feature_names_in_
        sk._n_features_out = self.cluster_centers_.shape[0]
        sk._n_threads = _openmp_effective_n_threads()
        return sk

    @classmethod
    def from_centers(cls, centers, *, inertia=float("nan"), n_iter=0, converged=False, **params):
        """A fitted estimator (without ``labels_``) from centres ``(n_clusters, n_features)``."""
        centers = np.array(centers, dtype=np.float64)
        if centers.ndim != 2 or min(centers.shape) < 1:
            raise ValueError(
                f"the centres have shape {centers.shape}, expected (n_clusters, n_features)"
            )
        if not np.isfinite(centers).all():
            raise ValueError("the centres contain NaN or infinity")
        est = cls(n_clusters=centers.shape[0], **params)
        est.cluster_centers_ = centers
        est.inertia_ = float(inertia)
        est.n_iter_ = int(n_iter)
        est._converged = bool(converged)
        est._n_features_out = centers.shape[0]
        est.n_features_in_ = centers.shape[1]
        return est
