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
from .._base import engine_count, engine_real, float_array, validate_params
from .._bayesian import BAYESIAN_ATTRIBUTES
from .._bayesian import BayesianGaussianMixture as _BayesianGaussianMixture
from .._compat import HAVE_SKLEARN, ConvergenceWarning, Interval, seed_from
from ..mixture import GaussianMixture as _GaussianMixture
from ..mixture import covariances_shape
from ._base import (
    INIT_SAMPLE_ROWS,
    _Applied,
    _check_features,
    _is_dask,
    _rowwise,
    numeric,
)
from ._data import _Data
from ._em import Progress, data_statistics, e_step
from ._init import Initializer
from ._tasks import _add_pairs, _gmm_loglik, _predict_block


class _DaskMixture(_Applied):
    """What the Dask mixtures share: the fit over the workers through the engine's driver, and
    the predictions of Dask arrays."""

    def fit(self, X, y=None, sample_weight=None, *, init_labels=None):
        """Fit by distributed EM through the engine's driver; returns self. ``X``: a Dask
        array, a NumPy array or a list of ``.npy`` file pieces; ``sample_weight`` and
        ``init_labels`` (one value per row): a NumPy array, a 1-D Dask array (rechunked to
        ``X``'s chunks) or ``.npy`` file pieces of 1-D arrays whose rows, in order, are the
        data's rows in order (see the module docstring)."""
        self._fit_dask(X, sample_weight, init_labels)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, *, init_labels=None):
        """Fit, then the labels of ``X`` under the fitted model (a Dask array unless ``X`` is
        a NumPy array)."""
        data = self._fit_dask(X, sample_weight, init_labels)
        if isinstance(X, np.ndarray):
            return self.model_.predict(X)
        return self.predict(data.as_array())

    def _check_supported(self):
        """Refuses what a distributed fit cannot do, before any task runs."""

    def _fit_dask(self, X, sample_weight, init_labels):
        validate_params(self, self._rules)
        self._check_supported()
        data = _Data(X, self.n_threads, self._who("fit"), sample_weight, init_labels)
        n, d = data.n, data.d
        if n < 2:
            raise ValueError(
                f"Found array with {n} sample(s) (shape=({n}, {d})) while a minimum of 2 is "
                f"required by {type(self).__name__}."
            )
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {n}"
            )
        rng = np.random.default_rng(seed_from(self.random_state))
        progress = Progress(self.verbose, self.verbose_interval, engine_real(self, "tol"))
        initializer = Initializer(self, data, rng, labels=init_labels is not None)
        res = self._fit_source(data, initializer, progress)
        progress.finish()
        self._from_result(res)
        if res["convergence_warning"] is not None:
            warnings.warn(res["convergence_warning"], ConvergenceWarning, stacklevel=3)
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

    def _log_likelihood(self, X, method, sample_weight=None):
        """``(total (weighted) log-likelihood, rows or their total weight)`` of a Dask array,
        computed on the workers (empty chunks skipped, the row count the chunks' own)."""
        who = self._who(method)
        X = _rowwise(numeric(X, who), who)
        _check_features(self, X.shape[1])
        data = _Data(X, self.n_threads, who, sample_weight)
        model = data.broadcast(self.model_._model(), "model")
        return data.reduce(
            "loglik", _gmm_loglik, _add_pairs, model, self.n_threads, sides=("w",)
        )

    def score(self, X, y=None, sample_weight=None):
        """Mean (weighted) log-likelihood of the rows of X (a float; computed on the workers
        for a Dask array)."""
        self._check_fitted()
        if _is_dask(X):
            total, n = self._log_likelihood(X, "score", sample_weight)
            return total / n
        return self.model_.score(numeric(X, self._who("score")), sample_weight=sample_weight)


class GaussianMixture(_DaskMixture, _GaussianMixture):
    """``gaussmix.GaussianMixture`` fitted on a Dask cluster (see the module docstring).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well (``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``,
    ``n_features_in_``), and ``model_`` is the fitted in-memory ``gaussmix.GaussianMixture``.

    Initialisation (per ``n_init`` run, from ``random_state``):

    - ``weights_init`` / ``means_init`` / ``precisions_init``: taken exactly as the in-memory
      estimator takes them (with all three, nothing else is computed, and the fit equals the
      in-memory fit from them, to rounding);
    - ``fit(X, init_labels=labels)``: every run starts from the labels' one-hot
      responsibilities (two passes, as in memory: the means, then the statistics about them);
      the fit equals the in-memory fit from the same labels, to rounding;
    - ``init_params="kmeans"`` (default): k-means++ and Lloyd (in-memory ``gaussmix.KMeans``)
      on ``min(n, init_sample_size)`` rows drawn uniformly without replacement and gathered to
      the client (with their weights), then Lloyd over all rows on the workers (as the
      in-memory initialisation's k-means runs over all rows: ``max_iter=300``, ``tol=1e-4``),
      then one pass: each row's responsibility is one-hot on its nearest centre, whose
      statistics give the engine's driver the initial parameters (weights ``N_k / sum w``, as
      scikit-learn's initialisation);
    - ``"k-means++"``: k-means++ seeding on the sample; each component starts from one chosen
      row;
    - ``"random_from_data"``: ``n_components`` distinct rows drawn from the sample (by weight);
    - ``"random"``: uniform random responsibilities per row, normalised, drawn on the workers
      from a stream per block of rows (independent of the chunking).

    Differences from the in-memory estimator: ``on_degenerate="reseed"`` is not supported
    (NotImplementedError); every chunk's statistics are computed in float64 (the in-memory
    estimator's ``precision="f64"``: there is no ``precision`` parameter); ``verbose`` prints as the fit goes (per iteration) rather than after
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
        # The per-chunk statistics compute in float64: no precision parameter here.
        del self.precision
        self.init_sample_size = init_sample_size

    # -- fitting -------------------------------------------------------------------------

    def _check_supported(self):
        if self.on_degenerate != "error":
            raise NotImplementedError(
                "gaussmix.dask.GaussianMixture supports on_degenerate='error' only"
            )

    def _fit_source(self, data, initial, progress):
        k, d, t = int(self.n_components), data.d, self.covariance_type
        inits = {}
        if self.weights_init is not None:
            inits["weights_init"] = float_array(self.weights_init, "weights", (k,))
        if self.means_init is not None:
            inits["means_init"] = float_array(self.means_init, "means", (k, d))
        if self.precisions_init is not None:
            inits["precisions_init"] = float_array(
                self.precisions_init, f"{t} precision", covariances_shape(t, k, d)
            )
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            if self.means_.shape != (k, d):
                raise ValueError("the warm-start model does not match the data's shape")
            warm = self._model(fit_info=True)
        return _core.gmm_fit_source(
            d, initial, e_step(data, self.n_threads), n_components=k, covariance_type=t,
            tol=engine_real(self, "tol"), reg_covar=engine_real(self, "reg_covar"),
            max_iter=engine_count(self, "max_iter", clamp=True),
            n_init=engine_count(self, "n_init"), init_params=self.init_params,
            warm_start=warm, progress=progress, phase=progress.phase, **inits,
        )

    def _from_result(self, res):
        """The fitted in-memory estimator of the driver's result, and this one's attributes."""
        est_params = {
            key: v for key, v in self.get_params(deep=False).items() if key != "init_sample_size"
        }
        est_params.pop("n_components")
        est_params.pop("covariance_type")
        self.model_ = _GaussianMixture.from_params(res, **est_params)
        for name in (
            "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
            "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "reseeds_", "n_features_in_",
        ):
            setattr(self, name, getattr(self.model_, name))

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion on X (computed on the workers for a Dask array, with
        the number of rows its chunks hold, or their total weight)."""
        self._check_fitted()
        if _is_dask(X):
            total, n = self._log_likelihood(X, "bic", sample_weight)
            return -2 * total + self.model_._n_parameters() * math.log(n)
        return self.model_.bic(numeric(X, self._who("bic")), sample_weight=sample_weight)

    def aic(self, X, sample_weight=None):
        """Akaike information criterion on X (computed on the workers for a Dask array)."""
        self._check_fitted()
        if _is_dask(X):
            total, _ = self._log_likelihood(X, "aic", sample_weight)
            return -2 * total + 2 * self.model_._n_parameters()
        return self.model_.aic(numeric(X, self._who("aic")), sample_weight=sample_weight)


class BayesianGaussianMixture(_DaskMixture, _BayesianGaussianMixture):
    """``gaussmix.BayesianGaussianMixture`` fitted on a Dask cluster (see the module
    docstring), through the engine's driver over the same per-chunk statistics as
    ``GaussianMixture`` (computed under the variational E-step's constants).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well, and ``model_`` is the fitted in-memory ``gaussmix.BayesianGaussianMixture``.
    The default priors (the data's mean and covariance) take one pass over the data each, on
    the workers; the initialisations are ``GaussianMixture``'s. From the same ``init_labels``
    the fit equals the in-memory fit, to rounding.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **_BayesianGaussianMixture._parameter_constraints,
            "init_sample_size": [Interval(Integral, 1, None, closed="left")],
        }

    _rules = {**_BayesianGaussianMixture._rules, "init_sample_size": ("int>=", 1)}

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        init_sample_size=INIT_SAMPLE_ROWS,
    ):
        super().__init__(
            n_components=n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weight_concentration_prior_type=weight_concentration_prior_type,
            weight_concentration_prior=weight_concentration_prior,
            mean_precision_prior=mean_precision_prior,
            mean_prior=mean_prior,
            degrees_of_freedom_prior=degrees_of_freedom_prior,
            covariance_prior=covariance_prior,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            n_threads=n_threads,
        )
        self.init_sample_size = init_sample_size

    def _fit_source(self, data, initial, progress):
        k, d = int(self.n_components), data.d
        priors = self._priors(d)
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            if self.means_.shape != (k, d):
                raise ValueError("the warm-start model does not match the data's shape")
            warm = self._bayes(fit_info=True)
        return _core.bgmm_fit_source(
            d, initial, e_step(data, self.n_threads), data_statistics(data, self.n_threads),
            n_components=k, covariance_type=self.covariance_type,
            tol=engine_real(self, "tol"), reg_covar=engine_real(self, "reg_covar"),
            max_iter=engine_count(self, "max_iter", clamp=True),
            n_init=engine_count(self, "n_init"), init_params=self.init_params,
            weight_concentration_prior_type=self.weight_concentration_prior_type,
            warm_start=warm, progress=progress, phase=progress.phase, **priors,
        )

    def _from_result(self, res):
        est_params = {
            key: v for key, v in self.get_params(deep=False).items()
            if key not in ("init_sample_size", "n_components", "covariance_type",
                           "weight_concentration_prior_type")
        }
        self.model_ = _BayesianGaussianMixture.from_params(res, **est_params)
        for name in (
            "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
            "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
            *BAYESIAN_ATTRIBUTES,
        ):
            setattr(self, name, getattr(self.model_, name))
