"""``gaussmix.dask.GaussianMixture``: the in-memory estimator's parameters, fitted by EM over
the workers."""

from __future__ import annotations

import math
import uuid
import warnings
from numbers import Integral

import numpy as np
from dask import delayed

from .. import _core
from .._base import engine_real, validate_params
from .._compat import HAVE_SKLEARN, ConvergenceWarning, Interval, seed_from
from ..mixture import GaussianMixture as _GaussianMixture
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
from ._em import em
from ._init import given_inits, initialize
from ._tasks import _add_pairs, _gmm_loglik, _predict_block


class GaussianMixture(_Applied, _GaussianMixture):
    """``gaussmix.GaussianMixture`` fitted on a Dask cluster (see the module docstring).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well (``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``,
    ``n_features_in_``), and ``model_`` is the fitted in-memory ``gaussmix.GaussianMixture``.

    Initialisation (per ``n_init`` run, from ``random_state``):

    - ``weights_init`` / ``means_init`` / ``precisions_init``: taken exactly as the in-memory
      estimator takes them (with all three, nothing else is computed, and the fit equals the
      in-memory fit from them, to rounding);
    - ``init_params="kmeans"`` (default): k-means++ and Lloyd (in-memory ``gaussmix.KMeans``)
      on ``min(n, init_sample_size)`` rows drawn uniformly without replacement and gathered to
      the client, then Lloyd over all rows on the workers (as the in-memory initialisation's
      k-means runs over all rows: ``max_iter=300``, ``tol=1e-4``), then one pass: each row's
      responsibility is one-hot on its nearest centre, whose statistics give the initial
      parameters (weights ``N_k / n``, as scikit-learn's initialisation);
    - ``"k-means++"``: k-means++ seeding on the sample; each component starts from one chosen
      row;
    - ``"random_from_data"``: ``n_components`` distinct rows drawn from the sample;
    - ``"random"``: uniform random responsibilities per row, normalised, drawn on the workers
      from a stream per block of rows (independent of the chunking).

    Differences from the in-memory estimator: ``on_degenerate="reseed"`` is not supported
    (NotImplementedError); ``verbose`` prints as the fit goes (per iteration) rather than after
    it; the k-means and random initialisations draw other random numbers.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **_GaussianMixture._parameter_constraints,
            "init_sample_size": [Interval(Integral, 1, None, closed="left")],
        }

    _rules = {**_GaussianMixture._rules, "init_sample_size": ("int>=", 1)}

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        on_degenerate="error",
        init_sample_size=INIT_SAMPLE_ROWS,
    ):
        super().__init__(
            n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            n_threads=n_threads,
            on_degenerate=on_degenerate,
        )
        self.init_sample_size = init_sample_size

    # -- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit by distributed EM; returns self. ``X``: a Dask array, a NumPy array or a list of
        ``.npy`` file pieces (see the module docstring)."""
        self._fit_dask(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then the labels of ``X`` under the fitted model (a Dask array unless ``X`` is
        a NumPy array)."""
        data = self._fit_dask(X)
        if isinstance(X, np.ndarray):
            return self.model_.predict(X)
        return self.predict(data.as_array())

    def _fit_dask(self, X):
        validate_params(self, self._rules)
        if self.on_degenerate != "error":
            raise NotImplementedError(
                "gaussmix.dask.GaussianMixture supports on_degenerate='error' only"
            )
        data = _Data(X, self.n_threads, self._who("fit"))
        n, d = data.n, data.d
        if n < 2:
            raise ValueError(
                f"Found array with {n} sample(s) (shape=({n}, {d})) while a minimum of 2 is "
                "required by GaussianMixture."
            )
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {n}"
            )
        k = int(self.n_components)
        fixed = given_inits(self, k, d)
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            if self.means_.shape != (k, d):
                raise ValueError("the warm-start model does not match the data's shape")
            warm = (self._model(covariances=True), float(self.lower_bound_))
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        n_init = 1 if warm is not None else int(self.n_init)
        sample = None

        def start(init):
            nonlocal sample
            if warm is not None:
                return dict(warm[0]), warm[1]
            if sample is None and self.init_params != "random" and not (
                fixed is not None and len(fixed["given"]) == 3
            ):
                sample = data.sample(min(n, _sample_size(self, k)), rng)
            return initialize(self, data, rng, sample, fixed), -math.inf

        model = em(
            data, start, n_init, reg_covar=engine_real(self, "reg_covar"),
            max_iter=self.max_iter, tol=engine_real(self, "tol"), n_threads=self.n_threads,
            verbose=self.verbose, verbose_interval=self.verbose_interval,
        )
        converged = model["converged"]
        est_params = {
            key: v for key, v in self.get_params(deep=False).items() if key != "init_sample_size"
        }
        est_params.pop("n_components")
        est_params.pop("covariance_type")
        self.model_ = _GaussianMixture.from_params(model, **est_params)
        for name in (
            "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
            "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "reseeds_", "n_features_in_",
        ):
            setattr(self, name, getattr(self.model_, name))
        if not converged and self.max_iter > 0:
            warnings.warn(_core.CONVERGENCE_WARNING, ConvergenceWarning, stacklevel=3)
        return data

    # -- predictions ---------------------------------------------------------------------

    def _dask_apply(self, X, what):
        who = self._who(what)
        X = _rowwise(X, who)
        _check_features(self, X.shape[1])
        if X.shape[0] == 0:
            raise ValueError(f"{who}: the data has no rows; at least one row is needed")
        model = delayed(self.model_._model(), name=f"gaussmix-model-{uuid.uuid4().hex[:12]}")
        k, d = self.n_components, X.shape[1]
        args = (model, what, self.n_threads, k, d, who)
        if what == "predict_proba":
            return X.map_blocks(
                _predict_block, *args, dtype=np.float64, chunks=(X.chunks[0], (k,)),
            )
        return X.map_blocks(
            _predict_block, *args, drop_axis=1,
            dtype=np.int64 if what == "predict" else np.float64,
        )

    def predict(self, X):
        """Labels, int64: a Dask array for a Dask array (computed chunk-wise on the workers),
        else a NumPy array (computed locally)."""
        return self._apply(X, "predict")

    def predict_proba(self, X):
        """Posterior probabilities ``(n_samples, n_components)``, as ``predict`` returns."""
        return self._apply(X, "predict_proba")

    def score_samples(self, X):
        """Log-likelihood of each row, as ``predict`` returns."""
        return self._apply(X, "score_samples")

    def _log_likelihood(self, X, method):
        """``(total log-likelihood, rows)`` of a Dask array, computed on the workers (empty
        chunks skipped, the row count the chunks' own)."""
        who = self._who(method)
        X = _rowwise(numeric(X, who), who)
        _check_features(self, X.shape[1])
        data = _Data(X, self.n_threads, who)
        model = data.broadcast(self.model_._model(), "model")
        return data.reduce("loglik", _gmm_loglik, _add_pairs, model, self.n_threads)

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X (a float; computed on the workers for a Dask
        array)."""
        self._check_fitted()
        if _is_dask(X):
            total, n = self._log_likelihood(X, "score")
            return total / n
        return self.model_.score(numeric(X, self._who("score")))

    def bic(self, X):
        """Bayesian information criterion on X (computed on the workers for a Dask array, with
        the number of rows its chunks hold)."""
        self._check_fitted()
        if _is_dask(X):
            total, n = self._log_likelihood(X, "bic")
            return -2 * total + self.model_._n_parameters() * math.log(n)
        return self.model_.bic(numeric(X, self._who("bic")))

    def aic(self, X):
        """Akaike information criterion on X (computed on the workers for a Dask array)."""
        self._check_fitted()
        if _is_dask(X):
            total, _ = self._log_likelihood(X, "aic")
            return -2 * total + 2 * self.model_._n_parameters()
        return self.model_.aic(numeric(X, self._who("aic")))
