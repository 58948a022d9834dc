"""``gaussmix.dask.KMeans``: the in-memory estimator's parameters, fitted by Lloyd's algorithm
over the workers."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from .._base import engine_real, validate_params
from .._compat import HAVE_SKLEARN, ConvergenceWarning, Interval, check_random_state, seed_from
from ..cluster import KMeans as _KMeans
from ._base import (
    INIT_SAMPLE_ROWS,
    _Applied,
    _check_features,
    _is_dask,
    _rowwise,
    _sample_size,
    numeric,
)
from ._data import _Data
from ._lloyd import _lloyd
from ._tasks import _add, _km_inertia, _predict_block


class KMeans(_Applied, _KMeans):
    """``gaussmix.KMeans`` (Lloyd) fitted on a Dask cluster (see the module docstring).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well (``cluster_centers_``, ``inertia_``, ``n_iter_``, ``n_features_in_``, and
    ``labels_``: a Dask array computed chunk-wise when used), and ``model_`` is the fitted
    in-memory ``gaussmix.KMeans``.

    Each Lloyd iteration is one pass over the data on the workers: under the broadcast centres,
    each chunk's per-cluster sums and counts (and inertia, and a fingerprint of its labels), in
    Rust, merged in a fixed tree. The in-memory estimator's rules are kept: the data are
    centred on their column means (one extra pass first, which also gives the variance ``tol``
    is relative to), an empty cluster takes the row farthest from its centre, the run stops
    when no label changes or the centres move less than ``tol``. From given centres the result
    is the in-memory one, to rounding.

    Initialisation: an array of centres as given; ``"k-means++"`` (default): k-means++ seeding
    and Lloyd (in-memory ``gaussmix.KMeans``) on ``min(n, init_sample_size)`` rows drawn
    uniformly without replacement and gathered to the client, whose centres start Lloyd over
    all rows; ``"random"``: ``n_clusters`` distinct rows of that sample; a callable is called
    on the sample. ``n_init`` as the in-memory estimator (``"auto"``: 1 for k-means++ and
    given centres, 10 otherwise); the run with the lowest inertia is kept.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **_KMeans._parameter_constraints,
            "init_sample_size": [Interval(Integral, 1, None, closed="left")],
        }

    _rules = {**_KMeans._rules, "init_sample_size": ("int>=", 1)}

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
        init_sample_size=INIT_SAMPLE_ROWS,
    ):
        super().__init__(
            n_clusters,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            verbose=verbose,
            random_state=random_state,
            copy_x=copy_x,
            algorithm=algorithm,
            n_threads=n_threads,
        )
        self.init_sample_size = init_sample_size

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering on the workers; returns self. ``X``: a Dask array, a
        NumPy array or a list of ``.npy`` file pieces; ``sample_weight``: one weight per row,
        a NumPy array, a 1-D Dask array or ``.npy`` file pieces (see the module docstring)."""
        self._fit_dask(X, sample_weight)
        return self

    def _fit_dask(self, X, sample_weight=None):
        validate_params(self, self._rules)
        data = _Data(X, self.n_threads, self._who("fit"), sample_weight)
        n, d, k = data.n, data.d, int(self.n_clusters)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        init = self.init
        if not (isinstance(init, str) or callable(init)):
            init = self._centers(init, np.empty((0, d)))
        n_init = self._n_init_for(self.init)
        tol = engine_real(self, "tol")
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        sample = sw = None
        best = None
        for _ in range(n_init):
            if isinstance(init, np.ndarray):
                c0 = init
            else:
                if sample is None:
                    _, sample, sw = data.sample(min(n, _sample_size(self, k)), rng)
                    sw = sw if data.weighted else None
                    if sw is not None and np.count_nonzero(sw) < k:
                        raise ValueError(
                            f"{data.who}: the {len(sw)} rows gathered for the initialisation "
                            f"hold {np.count_nonzero(sw)} of positive weight, fewer than "
                            f"n_clusters = {k}; raise init_sample_size or give the centres"
                        )
                if callable(init):
                    rs = check_random_state(int(rng.integers(np.iinfo(np.int32).max)))
                    c0 = self._centers(init(sample, k, random_state=rs), sample)
                elif init == "random":
                    p = None if sw is None else sw / sw.sum()
                    c0 = sample[np.sort(rng.choice(len(sample), size=k, replace=False, p=p))]
                else:
                    c0 = _KMeans(
                        k, init="k-means++", n_init=1, max_iter=self.max_iter, tol=tol,
                        random_state=int(rng.integers(np.iinfo(np.int32).max)),
                        n_threads=self.n_threads,
                    ).fit(sample, sample_weight=sw).cluster_centers_
            res = _lloyd(data, c0, self.max_iter, tol, self.n_threads, self.verbose)
            if best is None or res[1] < best[1]:
                best = res
        centers, inertia, n_iter, converged, counts = best
        params = {
            key: v for key, v in self.get_params(deep=False).items()
            if key not in ("init_sample_size", "n_clusters")
        }
        self.n_features_in_ = d
        self.model_ = _KMeans.from_centers(
            centers, inertia=inertia, n_iter=n_iter, converged=converged, **params
        )
        self.cluster_centers_ = self.model_.cluster_centers_
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self._converged = converged
        self._n_features_out = k
        self.labels_ = self.predict(data.as_array())
        if self.verbose:
            print("Initialization complete")
            how = "converged" if converged else "stopped at max_iter"
            print(f"Lloyd {how} after {n_iter} iterations, inertia {inertia}.")
        distinct = int(np.count_nonzero(counts))
        if distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return data

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_`` (a Dask array unless X is a NumPy array)."""
        self._fit_dask(X, sample_weight)
        if isinstance(X, np.ndarray):
            return self.model_.predict(X)
        return self.labels_

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit and return the distances of each row to each centre (as ``transform``)."""
        data = self._fit_dask(X, sample_weight)
        return self.transform(X if isinstance(X, np.ndarray) else data.as_array())

    def _dask_apply(self, X, what):
        who = self._who(what)
        X = _rowwise(X, who)
        _check_features(self, X.shape[1])
        if X.shape[0] == 0:
            raise ValueError(f"{who}: the data has no rows; at least one row is needed")
        c = self.cluster_centers_
        k, d = c.shape
        if what == "transform":
            return X.map_blocks(
                _predict_block, c, "transform", self.n_threads, k, d, who, dtype=np.float64,
                chunks=(X.chunks[0], (k,)),
            )
        return X.map_blocks(
            _predict_block, c, "km_predict", self.n_threads, k, d, who, drop_axis=1,
            dtype=np.int64,
        )

    def predict(self, X):
        """Nearest centre of each row: a Dask array for a Dask array, else NumPy."""
        return self._apply(X, "predict")

    def transform(self, X):
        """Distances to the centres, as ``predict`` returns."""
        return self._apply(X, "transform")

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the (weighted) inertia on X (computed on the workers for a Dask
        array)."""
        self._check_fitted()
        who = self._who("score")
        X = numeric(X, who)
        if _is_dask(X):
            X = _rowwise(X, who)
            _check_features(self, X.shape[1])
            data = _Data(X, self.n_threads, who, sample_weight)
            c = data.broadcast(self.cluster_centers_, "centers")
            return -float(
                data.reduce("inertia", _km_inertia, _add, c, self.n_threads, sides=("w",))
            )
        return self.model_.score(X, sample_weight=sample_weight)
