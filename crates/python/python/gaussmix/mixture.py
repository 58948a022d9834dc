"""``gaussmix.GaussianMixture``: scikit-learn's ``GaussianMixture`` on the gaussmix engine."""

from __future__ import annotations

import math
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
    float_array,
    unchanged_on_error,
    validate_params,
)
from ._compat import (
    HAVE_SKLEARN,
    BaseEstimator,
    ConvergenceWarning,
    DensityMixin,
    Interval,
    StrOptions,
    check_is_fitted,
    seed_from,
    validate_data,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def covariances_shape(covariance_type, n_components, n_features):
    """The shape of ``covariances_`` (and ``precisions_``, ``precisions_cholesky_``)."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]

class _Mixture(DensityMixin, BaseEstimator):
    """What gaussmix's mixtures share: sample weights and initial labels on ``fit``, the
    checks of prediction input, the predictions (from ``_model()``, the engine's model dict),
    ``score``, ``sample``, and ``verbose``'s lines."""

    if HAVE_SKLEARN:

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.sparse = False
            tags.input_tags.allow_nan = False
            tags.array_api_support = False
            return tags

    # -- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None, *, init_labels=None):
        """Estimate the model parameters with EM; returns self.

        Runs ``n_init`` initialisations (one with ``warm_start`` after a first fit) of at most
        ``max_iter`` iterations and keeps the one with the highest lower bound. Warns with
        ``ConvergenceWarning`` when the kept run did not converge.

        ``sample_weight`` (a number or one per row; finite, non-negative, not all zero): a row
        of weight ``w`` counts as ``w`` copies of itself (see the package README).
        ``init_labels`` (one component index per row, in ``[0, n_components)``): every run
        starts from these labels' one-hot responsibilities instead of ``init_params``' choice
        (as scikit-learn's initialisation does after its k-means).
        """
        self._fit(X, sample_weight, init_labels, return_labels=False)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, *, init_labels=None):
        """Fit as ``fit`` does and return the label of each row under the fitted model."""
        return self._fit(X, sample_weight, init_labels, return_labels=True)

    def _fit(self, X, sample_weight, init_labels, return_labels):
        with unchanged_on_error(self):
            return self._fit_checked(X, sample_weight, init_labels, return_labels)

    def _check_data(self, X, sample_weight):
        """The training data and its weights, checked as scikit-learn checks them."""
        validate_params(self, self._rules)
        X = validate_data(self, X, dtype=list(FLOAT_DTYPES), ensure_min_samples=2)
        n_samples = X.shape[0]
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        return X, check_sample_weight(sample_weight, X)

    def _warn_if_not_converged(self, res):
        if res["convergence_warning"] is not None:
            warnings.warn(res["convergence_warning"], ConvergenceWarning, stacklevel=5)

    def _print_verbose(self, fresh):
        if not self.verbose:
            return
        # The kept run, replayed from its lower bounds (see the class docstring).
        print("Initialization 0")
        prev = -math.inf if fresh else None
        for i, lb in enumerate(self.lower_bounds_, start=1):
            change = lb - prev if prev is not None else math.nan
            prev = lb
            if i % self.verbose_interval == 0:
                if self.verbose == 1:
                    print("  Iteration %d" % i)
                else:
                    print("  Iteration %d\t ll change %.5f" % (i, change))
        if self.max_iter > 0:
            msg = "converged" if self.converged_ else "did not converge"
            if self.verbose == 1:
                print(f"Initialization {msg}.")
            else:
                print(f"Initialization {msg}.\t lower bound {self.lower_bound_:.5f}.")

    # -- the fitted model ----------------------------------------------------------------

    def _check_X(self, X):
        check_is_fitted(self)
        # scikit-learn's mixture takes numeric input here (a ValueError for strings, structured
        # arrays and other objects that are not arrays of numbers), then the engine's floats.
        X = validate_data(self, X, reset=False, dtype="numeric")
        if X.dtype not in FLOAT_DTYPES:
            X = X.astype(np.float64)
        return X

    def _threads(self):
        return None if self.n_threads is None else int(self.n_threads)

    def predict(self, X):
        """Label of the most probable component of each row, int64 ``(n_samples,)``."""
        X = self._check_X(X)
        return _core.gmm_predict(self._model(), X, self._threads())

    def predict_proba(self, X):
        """Posterior probability of each component, ``(n_samples, n_components)``."""
        X = self._check_X(X)
        return _core.gmm_predict_proba(self._model(), X, self._threads())

    def score_samples(self, X):
        """Log-likelihood of each row, ``log sum_k w_k N(x | mu_k, Sigma_k)``."""
        X = self._check_X(X)
        return _core.gmm_score_samples(self._model(), X, self._threads())

    def _score(self, X, sample_weight):
        """``(mean log-likelihood, n)`` of the rows of X, weighted by ``sample_weight`` (then
        ``n`` is their total weight)."""
        X = self._check_X(X)
        sw = check_sample_weight(sample_weight, X)
        return _core.gmm_score(self._model(), X, sw, self._threads())

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the rows of X (a float); with ``sample_weight``, the weighted
        mean ``sum_i w_i log p(x_i) / sum_i w_i``."""
        return float(self._score(X, sample_weight)[0])

    def sample(self, n_samples=1):
        """Draw ``n_samples`` points; returns ``(X, y)`` with y the component of each point.

        Points are grouped by component, as scikit-learn's. The draws come from the engine's
        generator seeded from ``random_state`` (an int gives the same draws every call). A
        size that cannot be allocated raises MemoryError naming ``n_samples`` before anything is
        drawn.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. It must be an integer >= 1."
            )
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling requires at "
                "least one sample."
            )
        X, y = _core.gmm_sample(
            self._model(covariances=True), int(n_samples), seed_from(self.random_state)
        )
        return X, y


class GaussianMixture(_Mixture):
    """Gaussian mixture model fitted by EM: scikit-learn's ``GaussianMixture``, in Rust.

    The parameters, fitted attributes and methods are scikit-learn's (see
    ``sklearn.mixture.GaussianMixture``); from the same initialisation (``weights_init``,
    ``means_init``, ``precisions_init``) the fitted parameters agree with scikit-learn's to
    rounding. The k-means and random initialisations draw different random numbers than
    scikit-learn's, so with those, components may come out in another order.

    Beyond scikit-learn's: ``fit(X, sample_weight=w)`` (a row of weight ``w`` counts as ``w``
    copies; ``score``, ``bic`` and ``aic`` take weights too) and ``fit(X, init_labels=labels)``
    (every run starts from the labels' one-hot responsibilities).

    Parameters beyond scikit-learn's
    --------------------------------
    n_threads : int or None, default=None
        Threads for fits and predictions; None uses all cores. Results are bit-identical for
        any number of threads.
    on_degenerate : {"error", "reseed"}, default="error"
        What to do when a component's covariance cannot be factorised during EM: "error"
        raises scikit-learn's ValueError; "reseed" re-initialises the component on the least
        likely row and goes on (recorded in ``reseeds_``).
    precision : {"auto", "f64"}, default="auto"
        The arithmetic within a block of rows for full covariances: "auto" computes float32
        input in float32 (the Mahalanobis terms and scatter sums of each block of 256 rows, as
        scikit-learn computes float32 input), with every sum across blocks, the
        log-sum-exp and the M-step in float64; "f64" computes in float64 for every input. A
        fit whose float32 covariance cannot be factorised is redone in float64. The other
        covariance types, predictions and scores always compute in float64.

    Differences
    -----------
    ``random_state`` is turned into the engine's seed (an int is used as it is); float32 data
    is read as float32, computed as ``precision`` says, and every fitted attribute is float64; ``verbose``
    prints the same lines as scikit-learn after the fit, from ``lower_bounds_`` (the engine
    does not call back into Python per iteration), and only for the kept initialisation.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            "n_components": [Interval(Integral, 1, MAX_COUNT, closed="both")],
            "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
            "tol": [Interval(Real, 0.0, None, closed="left")],
            "reg_covar": [Interval(Real, 0.0, None, closed="left")],
            "max_iter": [Interval(Integral, 0, None, closed="left")],
            "n_init": [Interval(Integral, 1, MAX_COUNT, closed="both")],
            "init_params": [
                StrOptions({"kmeans", "random", "random_from_data", "k-means++"})
            ],
            "weights_init": ["array-like", None],
            "means_init": ["array-like", None],
            "precisions_init": ["array-like", None],
            "random_state": ["random_state"],
            "warm_start": ["boolean"],
            "verbose": ["verbose"],
            "verbose_interval": [Interval(Integral, 1, None, closed="left")],
            "n_threads": [Interval(Integral, 1, MAX_THREADS, closed="both"), None],
            "on_degenerate": [StrOptions({"error", "reseed"})],
            "precision": [StrOptions({"auto", "f64"})],
        }

    _rules = {
        "n_components": ("int>=", (1, MAX_COUNT)),
        "covariance_type": ("str", set(COVARIANCE_TYPES)),
        "tol": ("real>=", 0.0),
        "reg_covar": ("real>=", 0.0),
        "max_iter": ("int>=", 0),
        "n_init": ("int>=", (1, MAX_COUNT)),
        "init_params": ("str", {"kmeans", "random", "random_from_data", "k-means++"}),
        "warm_start": ("bool", None),
        "verbose_interval": ("int>=", 1),
        "n_threads": ("int>=|none", (1, MAX_THREADS)),
        "on_degenerate": ("str", {"error", "reseed"}),
        "precision": ("str", {"auto", "f64"}),
    }

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
        precision="auto",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.on_degenerate = on_degenerate
        self.precision = precision

    # -- fitting (fit, fit_predict: see _Mixture) ---------------------------------------

    def _fit_checked(self, X, sample_weight, init_labels, return_labels):
        X, sw = self._check_data(X, sample_weight)
        n_features = X.shape[1]
        k, t = int(self.n_components), self.covariance_type
        inits = {}
        if self.weights_init is not None:
            inits["weights_init"] = float_array(self.weights_init, "weights", (k,))
        if self.means_init is not None:
            inits["means_init"] = float_array(self.means_init, "means", (k, n_features))
        if self.precisions_init is not None:
            inits["precisions_init"] = float_array(
                self.precisions_init,
                f"{t} precision",
                covariances_shape(t, k, n_features),
            )
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = self._model(fit_info=True)
        res = _core.gmm_fit(
            X,
            n_components=k,
            covariance_type=t,
            tol=engine_real(self, "tol"),
            reg_covar=engine_real(self, "reg_covar"),
            max_iter=engine_count(self, "max_iter", clamp=True),
            n_init=engine_count(self, "n_init"),
            init_params=self.init_params,
            warm_start=warm,
            seed=seed_from(self.random_state),
            n_threads=None if self.n_threads is None else int(self.n_threads),
            on_degenerate=self.on_degenerate,
            return_labels=return_labels,
            sample_weight=sw,
            init_labels=init_labels,
            precision=self.precision,
            **inits,
        )
        self._set_fitted(res)
        self._print_verbose(warm is None)
        self._warn_if_not_converged(res)
        return res.get("labels")

    def _set_fitted(self, res):
        self.weights_ = res["weights"]
        self.means_ = res["means"]
        self.covariances_ = res["covariances"]
        self.precisions_cholesky_ = res["precisions_cholesky"]
        self.precisions_ = res["precisions"]
        self.converged_ = bool(res["converged"])
        self.n_iter_ = int(res["n_iter"])
        self.lower_bound_ = float(res["lower_bound"])
        self.lower_bounds_ = [float(v) for v in res["lower_bounds"]]
        self.reseeds_ = [tuple(r) for r in res["reseeds"]]

    # -- the fitted model ----------------------------------------------------------------

    def _model(self, fit_info=False, covariances=False):
        m = {
            "covariance_type": self.covariance_type,
            "weights": self.weights_,
            "means": self.means_,
            "precisions_cholesky": self.precisions_cholesky_,
        }
        if covariances:
            m["covariances"] = self.covariances_
        if fit_info:
            m.update(
                converged=self.converged_,
                n_iter=self.n_iter_,
                lower_bound=self.lower_bound_,
                lower_bounds=np.asarray(self.lower_bounds_, dtype=np.float64),
            )
        return m

    def _n_parameters(self):
        """Number of free parameters of the model."""
        _, n_features = self.means_.shape
        return _core.gmm_n_parameters(
            self.covariance_type, self.means_.shape[0], n_features
        )

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion on X (the lower the better); with ``sample_weight``
        the number of rows is their total weight."""
        score, n = self._score(X, sample_weight)
        return -2 * score * n + self._n_parameters() * math.log(n)

    def aic(self, X, sample_weight=None):
        """Akaike information criterion on X (the lower the better); weights as ``bic``."""
        score, n = self._score(X, sample_weight)
        return -2 * score * n + 2 * self._n_parameters()

    # -- interoperability ----------------------------------------------------------------

    def to_sklearn(self):
        """A fitted ``sklearn.mixture.GaussianMixture`` with this model's parameters.

        Its constructor parameters are this estimator's (without ``n_threads``,
        ``on_degenerate`` and ``precision``), its fitted attributes copies of this one's.
        """
        check_is_fitted(self)
        from sklearn.mixture import GaussianMixture as SkGaussianMixture

        params = self.get_params()
        params.pop("n_threads")
        params.pop("on_degenerate")
        params.pop("precision", None)  # (the Dask estimator has none)
        sk = SkGaussianMixture(**params)
        for name in (
            "weights_",
            "means_",
            "covariances_",
            "precisions_cholesky_",
            "precisions_",
        ):
            setattr(sk, name, np.array(getattr(self, name), copy=True))
        sk.converged_ = self.converged_
        sk.n_iter_ = self.n_iter_
        sk.lower_bound_ = self.lower_bound_
        sk.lower_bounds_ = list(self.lower_bounds_)
        sk.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            sk.feature_names_in_ = self.feature_names_in_
        return sk

    @classmethod
    def from_params(cls, params, **estimator_params):
        """A fitted estimator from a model dict (``weights``, ``means``, ``covariances``
        and/or ``precisions_cholesky``, ``covariance_type``), e.g. the result of
        ``gaussmix.stats.m_step``; the model is checked first.
        """
        m = _core.gmm_check(dict(params))
        est = cls(
            n_components=int(m["n_components"]),
            covariance_type=m["covariance_type"],
            **estimator_params,
        )
        est._set_fitted(m)
        given = params.get("covariances")
        if given is not None and params.get("precisions_cholesky") is not None:
            # Both given (a model file holds both): keep both as they are once they are checked
            # to describe the same model (sampling uses the covariances, predictions the
            # precision Cholesky factors).
            check_consistent(params)
            est.covariances_ = np.array(given, dtype=np.float64)
        est.n_features_in_ = int(m["n_features"])
        return est


#: How far apart (relative, per component) the precision Cholesky factors given with a model
#: and those its covariances give may be: the two come from one fit to rounding (about 1e-15),
#: while factors of another model differ in the leading digits.
CONSISTENCY_RTOL = 1e-6


def check_consistent(params):
    """Checks that a model's ``covariances`` and ``precisions_cholesky`` describe the same
    mixture: the factors the covariances give (computed by the engine, which checks that they
    are positive definite) equal the given factors to ``CONSISTENCY_RTOL`` of each component's
    largest entry. Raises ValueError naming the first component that differs."""
    t = params["covariance_type"]
    derived = _core.gmm_check(
        {**dict(params), "precisions_cholesky": None}, prefer="covariances"
    )["precisions_cholesky"]
    given = np.asarray(params["precisions_cholesky"], dtype=np.float64)
    per = 1 if t == "tied" else derived.shape[0]
    a, b = given.reshape(per, -1), derived.reshape(per, -1)
    err = np.max(np.abs(a - b), axis=1)
    scale = np.max(np.abs(b), axis=1)
    bad = np.flatnonzero(~(err <= CONSISTENCY_RTOL * scale))
    if bad.size:
        c = int(bad[0])
        which = "the tied covariance" if t == "tied" else f"component {c}"
        raise ValueError(
            f"covariances and precisions_cholesky describe different models ({which}: the "
            f"precision Cholesky factor of its covariance differs from the given one by "
            f"{err[c] / scale[c]:.3g} relative, more than {CONSISTENCY_RTOL:g}); keep both "
            "from one fitted model, or give only one of them"
        )


def __getattr__(name):
    # ``gaussmix.mixture.BayesianGaussianMixture``, as ``sklearn.mixture`` has it (defined in
    # ``_bayesian``, which builds on this module).
    if name == "BayesianGaussianMixture":
        from ._bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
