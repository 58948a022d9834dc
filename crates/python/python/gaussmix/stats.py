"""Sufficient statistics: EM in pieces, for data that is split in chunks (out of core, Dask).

One EM iteration over chunks ``X_1 .. X_m`` under a model ``params``::

    from gaussmix import stats
    parts = [stats.sufficient_statistics(params, X_i) for X_i in chunks]   # anywhere
    total = stats.merge_statistics(*parts)                                 # in a fixed order
    params = stats.m_step(total, reg_covar=1e-6)                           # the next model
    lower_bound = params["lower_bound"]            # the iteration's lower bound (mean log-lik.)

which is exactly what ``GaussianMixture.fit`` does in one pass per iteration (the results agree
to rounding: the chunks are summed in another order). Stop when the lower bound changes by less
than ``tol``, as ``fit`` does.

The two kinds of dict
---------------------
**Model parameters** ("params"): ``covariance_type`` (str), ``weights`` ``(K,)``, ``means``
``(K, d)``, ``precisions_cholesky`` and/or ``covariances`` (the shape of scikit-learn's
``covariances_`` for the type); ``m_step`` also returns ``precisions``, ``n_components``,
``n_features`` and ``lower_bound``. ``params_of(gmm)`` gives them for a fitted estimator
(gaussmix's or scikit-learn's); ``GaussianMixture.from_params(params)`` makes a fitted
estimator of them.

**Statistics** (a plain dict of NumPy float64 arrays, ints, floats and strings, so it pickles,
and ships between processes or Dask workers as it is):

================  =========================  ==============================================
key               value                      meaning
================  =========================  ==============================================
format            "gaussmix-sufficient-      tag
                  statistics"
version           1                          layout version
covariance_type   str                        of the model they were computed under
n_components      int K
n_features        int d
n_samples         int                        rows summarised
weight            float                      sum_i w_i, their total sample weight
                                             (n_samples without weights; optional on input)
log_likelihood    float                      sum_i w_i log p(x_i) under the model
entropy           float                      sum_i w_i sum_k r_ik log r_ik under a Bayesian
                                             (variational) model, else 0 (optional on input)
shift             (K, d)                     the model's means; statistics are centred on
                                             them so that nothing cancels
center            (d,)                       mean of ``shift`` (the tied scatter's centre)
nk                (K,)                       sum_i w_i r_ik (responsibility mass)
s1                (K, d)                     sum_i w_i r_ik (x_i - shift_k)
s2                full (K, d, d)             sum_i w_i r_ik (x_i - shift_k)(x_i - shift_k)^T
                                             (lower triangle filled)
                  tied (d, d)                sum_i w_i (x_i - center)(x_i - center)^T (lower)
                  diag, spherical (K, d)     sum_i w_i r_ik (x_i - shift_k)^2
t1                tied (d,), else (0,)       sum_i w_i (x_i - center)
================  =========================  ==============================================

Statistics merge only when computed under the same model (same ``shift``); merging is
elementwise addition, so any grouping gives the same result up to rounding, and a fixed order
gives the same bits every time.
"""

from __future__ import annotations

import numpy as np

from . import _core

__all__ = [
    "params_of",
    "sufficient_statistics",
    "merge_statistics",
    "m_step",
    "lower_bound",
]


def params_of(model) -> dict:
    """The parameters dict of a fitted GaussianMixture (gaussmix's or scikit-learn's), or a
    copy of a parameters dict. For a fitted gaussmix ``BayesianGaussianMixture`` it carries the
    variational E-step's constants (``variational_constants``): its statistics are the
    variational E-step's, with the responsibilities' entropy."""
    if isinstance(model, dict):
        return dict(model)
    if hasattr(model, "weight_concentration_") and hasattr(model, "_model"):
        return model._model()
    return {
        "covariance_type": model.covariance_type,
        "weights": np.asarray(model.weights_, dtype=np.float64),
        "means": np.asarray(model.means_, dtype=np.float64),
        "precisions_cholesky": np.asarray(model.precisions_cholesky_, dtype=np.float64),
    }


def sufficient_statistics(model, X, n_threads=None, sample_weight=None) -> dict:
    """One E-step's statistics of the rows of ``X`` under ``model`` (a parameters dict or a
    fitted GaussianMixture). ``X`` is float32 or float64, read in place when row-major. With
    ``sample_weight`` (one per row: finite, non-negative, not all zero) each row counts its
    weight times."""
    return _core.sufficient_statistics(params_of(model), X, n_threads, sample_weight)


def merge_statistics(*stats) -> dict:
    """The sum of statistics computed under one model, added left to right."""
    if not stats:
        raise ValueError("merge_statistics needs at least one set of statistics")
    total = stats[0]
    if len(stats) == 1:
        # Round-trips through the engine, which checks every array.
        return _core.merge_statistics(total, _empty_like(total))
    for s in stats[1:]:
        total = _core.merge_statistics(total, s)
    return total


def _empty_like(s):
    out = dict(s)
    out["n_samples"] = 0
    out["weight"] = 0.0
    out["log_likelihood"] = 0.0
    out["entropy"] = 0.0
    for key in ("nk", "s1", "s2", "t1"):
        out[key] = np.zeros_like(np.asarray(s[key], dtype=np.float64))
    return out


def m_step(stats, reg_covar=1e-6) -> dict:
    """The next model's parameters from (merged) statistics, as one EM iteration's M-step.

    The result's ``lower_bound`` is the statistics' mean log-likelihood: the lower bound of
    the iteration whose E-step produced them (scikit-learn's ``lower_bounds_`` entry).
    """
    return _core.m_step(stats, float(reg_covar))


def lower_bound(stats) -> float:
    """(Weighted) mean log-likelihood of the rows summarised by ``stats``."""
    weight = stats.get("weight", stats["n_samples"])
    return float(stats["log_likelihood"]) / float(weight)
