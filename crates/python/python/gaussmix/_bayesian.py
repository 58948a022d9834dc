"""``gaussmix.BayesianGaussianMixture``: scikit-learn's ``BayesianGaussianMixture`` on the
gaussmix engine."""

from __future__ import annotations

from numbers import Real

import numpy as np

from . import _core
from ._base import engine_count, engine_real, float_array
from ._compat import HAVE_SKLEARN, Interval, StrOptions, check_is_fitted, seed_from
from .mixture import GaussianMixture, _Mixture, check_consistent

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

#: The fitted attributes beyond a Gaussian mixture's, with scikit-learn's names.
BAYESIAN_ATTRIBUTES = (
    "weight_concentration_prior_",
    "weight_concentration_",
    "mean_precision_prior_",
    "mean_precision_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "degrees_of_freedom_",
    "covariance_prior_",
)


class BayesianGaussianMixture(_Mixture):
    """Variational Bayesian Gaussian mixture: scikit-learn's ``BayesianGaussianMixture``, in
    Rust.

    The parameters (a Dirichlet process or Dirichlet distribution prior on the weights, a
    Gaussian-Wishart prior on the components, each prior from the data unless given), the
    fitted attributes (``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``weight_concentration_`` (a pair of arrays for the Dirichlet
    process), ``mean_precision_``, ``degrees_of_freedom_``, the priors with a trailing
    underscore, ``converged_``, ``n_iter_``, ``lower_bound_`` (the evidence lower bound, a
    total), ``lower_bounds_``) and the methods are scikit-learn's; from the same initial
    responsibilities (``fit(X, init_labels=...)``, or scikit-learn's ``_initialize`` with
    the same labels) the fitted attributes agree with scikit-learn's to about 1e-11. The
    k-means and random initialisations draw other random numbers than scikit-learn's.

    ``predict``, ``predict_proba``, ``score_samples`` and ``score`` use the variational
    E-step (the expected log weights and the Wishart expectations), and ``sample`` draws from
    ``weights_``, ``means_`` and ``covariances_``, as scikit-learn's do.

    Parameters beyond scikit-learn's
    --------------------------------
    n_threads : int or None, default=None
        Threads for fits and predictions; None uses all cores. Results are bit-identical for
        any number of threads.

    ``fit`` takes ``sample_weight`` and ``init_labels`` (see ``GaussianMixture.fit``).
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **{
                k: v
                for k, v in GaussianMixture._parameter_constraints.items()
                if k
                not in ("weights_init", "means_init", "precisions_init", "on_degenerate", "precision")
            },
            "weight_concentration_prior_type": [StrOptions(set(PRIOR_TYPES))],
            "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
            "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
            "mean_prior": [None, "array-like"],
            "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
            "covariance_prior": [
                None,
                "array-like",
                Interval(Real, 0.0, None, closed="neither"),
            ],
        }

    _rules = {
        **{
            k: v
            for k, v in GaussianMixture._rules.items()
            if k not in ("on_degenerate", "precision")
        },
        "weight_concentration_prior_type": ("str", set(PRIOR_TYPES)),
        "weight_concentration_prior": ("real>|none", 0.0),
        "mean_precision_prior": ("real>|none", 0.0),
        "degrees_of_freedom_prior": ("real>|none", 0.0),
    }

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
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads

    # -- fitting (fit, fit_predict: see _Mixture) -----------------------------------------

    def _priors(self, n_features):
        """The given priors, checked with scikit-learn's messages, as the engine takes them
        (the others are computed from the data by the engine, as scikit-learn computes them)."""
        d, t = n_features, self.covariance_type
        out = {}
        for name in ("weight_concentration_prior", "mean_precision_prior"):
            v = getattr(self, name)
            out[name] = None if v is None else engine_real(self, name)
        if self.mean_prior is not None:
            out["mean_prior"] = float_array(self.mean_prior, "means", (d,))
        dof = self.degrees_of_freedom_prior
        if dof is not None:
            if not dof > d - 1.0:
                raise ValueError(
                    "The parameter 'degrees_of_freedom_prior' should be greater than "
                    f"{d - 1}, but got {dof:.3f}."
                )
            out["degrees_of_freedom_prior"] = engine_real(self, "degrees_of_freedom_prior")
        c = self.covariance_prior
        if c is not None:
            if t in ("full", "tied"):
                out["covariance_prior"] = float_array(c, f"{t} covariance_prior", (d, d))
            elif t == "diag":
                out["covariance_prior"] = float_array(c, f"{t} covariance_prior", (d,))
            else:
                a = np.asarray(c, dtype=np.float64)
                if a.size != 1:
                    raise ValueError(
                        "The parameter 'spherical covariance_prior' should be a number, but "
                        f"got an array of shape {a.shape}"
                    )
                out["covariance_prior"] = a.reshape(1)
        return out

    def _fit_checked(self, X, sample_weight, init_labels, return_labels):
        X, sw = self._check_data(X, sample_weight)
        priors = self._priors(X.shape[1])
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = self._bayes(fit_info=True)
        res = _core.bgmm_fit(
            X,
            n_components=int(self.n_components),
            covariance_type=self.covariance_type,
            tol=engine_real(self, "tol"),
            reg_covar=engine_real(self, "reg_covar"),
            max_iter=engine_count(self, "max_iter", clamp=True),
            n_init=engine_count(self, "n_init"),
            init_params=self.init_params,
            weight_concentration_prior_type=self.weight_concentration_prior_type,
            warm_start=warm,
            seed=seed_from(self.random_state),
            n_threads=self._threads(),
            return_labels=return_labels,
            sample_weight=sw,
            init_labels=init_labels,
            **priors,
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
        wc = res["weight_concentration"]
        self.weight_concentration_ = tuple(wc) if isinstance(wc, (tuple, list)) else wc
        self.mean_precision_ = res["mean_precision"]
        dof = res["degrees_of_freedom"]
        self.degrees_of_freedom_ = float(dof) if np.ndim(dof) == 0 else dof
        self.weight_concentration_prior_ = float(res["weight_concentration_prior"])
        self.mean_precision_prior_ = float(res["mean_precision_prior"])
        self.mean_prior_ = res["mean_prior"]
        self.degrees_of_freedom_prior_ = float(res["degrees_of_freedom_prior"])
        cp = res["covariance_prior"]
        self.covariance_prior_ = float(cp) if np.ndim(cp) == 0 else cp

    # -- the fitted model ----------------------------------------------------------------

    def _bayes(self, fit_info=False):
        """The engine's Bayesian model dict of the fitted attributes."""
        m = {
            "covariance_type": self.covariance_type,
            "weight_concentration_prior_type": self.weight_concentration_prior_type,
            "means": self.means_,
            "covariances": self.covariances_,
            "weight_concentration": self.weight_concentration_,
            "mean_precision": self.mean_precision_,
            "degrees_of_freedom": self.degrees_of_freedom_,
            "weight_concentration_prior": self.weight_concentration_prior_,
            "mean_precision_prior": self.mean_precision_prior_,
            "mean_prior": self.mean_prior_,
            "degrees_of_freedom_prior": self.degrees_of_freedom_prior_,
            "covariance_prior": self.covariance_prior_,
        }
        if fit_info:
            m.update(
                converged=self.converged_,
                n_iter=self.n_iter_,
                lower_bound=self.lower_bound_,
                lower_bounds=np.asarray(self.lower_bounds_, dtype=np.float64),
            )
        return m

    def _model(self, fit_info=False, covariances=False):
        """The mixture dict the predictions take: the Gaussian attributes and the variational
        E-step's constants, computed from the current posterior (``weight_concentration_``,
        ``degrees_of_freedom_``, ``mean_precision_``), as scikit-learn's predictions use it."""
        constants = _core.bgmm_check(self._bayes())["variational_constants"]
        m = {
            "covariance_type": self.covariance_type,
            "weights": self.weights_,
            "means": self.means_,
            "precisions_cholesky": self.precisions_cholesky_,
            "variational_constants": constants,
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

    def effective_components(self, threshold=1e-3):
        """The number of components whose weight is above ``threshold``: those the fit kept."""
        check_is_fitted(self)
        return int(np.count_nonzero(np.asarray(self.weights_) > threshold))

    # -- interoperability ----------------------------------------------------------------

    def to_sklearn(self):
        """A fitted ``sklearn.mixture.BayesianGaussianMixture`` with this model's parameters.

        Its constructor parameters are this estimator's (without ``n_threads``), its fitted
        attributes copies of this one's.
        """
        check_is_fitted(self)
        from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

        params = self.get_params()
        params.pop("n_threads")
        sk = SkBayesianGaussianMixture(**params)
        for name in (
            "weights_",
            "means_",
            "covariances_",
            "precisions_cholesky_",
            "precisions_",
            "mean_precision_",
            "mean_prior_",
        ):
            setattr(sk, name, np.array(getattr(self, name), copy=True))
        wc = self.weight_concentration_
        sk.weight_concentration_ = (
            tuple(np.array(a, copy=True) for a in wc)
            if isinstance(wc, tuple)
            else np.array(wc, copy=True)
        )
        dof = self.degrees_of_freedom_
        sk.degrees_of_freedom_ = dof if isinstance(dof, float) else np.array(dof, copy=True)
        cp = self.covariance_prior_
        sk.covariance_prior_ = cp if isinstance(cp, float) else np.array(cp, copy=True)
        sk.weight_concentration_prior_ = self.weight_concentration_prior_
        sk.mean_precision_prior_ = self.mean_precision_prior_
        sk.degrees_of_freedom_prior_ = self.degrees_of_freedom_prior_
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
        """A fitted estimator from a Bayesian model dict (the fitted attributes without their
        trailing underscore: ``covariance_type``, ``weight_concentration_prior_type``,
        ``means``, ``covariances``, ``weight_concentration``, ``mean_precision``,
        ``degrees_of_freedom``, the five priors, optionally the fit information and
        ``precisions_cholesky``), checked first. Its weights are those the concentrations
        give."""
        params = dict(params)
        m = _core.bgmm_check(params)
        est = cls(
            n_components=int(m["n_components"]),
            covariance_type=m["covariance_type"],
            weight_concentration_prior_type=m["weight_concentration_prior_type"],
            **estimator_params,
        )
        est._set_fitted(m)
        given = params.get("precisions_cholesky")
        if given is not None:
            # Both given (a model file holds both): keep the given factors (what predictions
            # use, bit for bit as fitted) once they are checked to describe the same model.
            check_consistent({**m, "precisions_cholesky": given})
            est.precisions_cholesky_ = np.array(given, dtype=np.float64)
        est.n_features_in_ = int(m["n_features"])
        return est


def is_bayesian(estimator):
    """Whether a fitted estimator (gaussmix's or scikit-learn's) is a variational Bayesian
    mixture."""
    return hasattr(estimator, "weight_concentration_") and hasattr(
        estimator, "precisions_cholesky_"
    )

