"""The mixture's initialisations on the workers (see ``GaussianMixture``'s docstring)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._base import float_array
from ..cluster import KMeans as _KMeans
from ..mixture import GaussianMixture as _GaussianMixture
from ..mixture import covariances_shape
from ._lloyd import _lloyd
from ._tasks import _init_stats, _merge_stats

_EPS10 = 10.0 * np.finfo(np.float64).eps


def _identity_precisions(t, k, d):
    return {
        "full": np.repeat(np.eye(d)[None], k, axis=0),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[t]


def given_inits(est, k, d):
    """The user's weights_init / means_init / precisions_init as the engine takes them
    (checked, precisions factorised), or None when none is given. With some missing, the
    others are returned with placeholders the caller replaces."""
    t = est.covariance_type
    given = {}
    if est.weights_init is not None:
        given["weights_init"] = float_array(est.weights_init, "weights", (k,))
    if est.means_init is not None:
        given["means_init"] = float_array(est.means_init, "means", (k, d))
    if est.precisions_init is not None:
        given["precisions_init"] = float_array(
            est.precisions_init, f"{t} precision", covariances_shape(t, k, d)
        )
    if not given:
        return None
    # The engine's own treatment of the given values (its checks, the precision Cholesky
    # factors): an initialisation-only fit of placeholder rows with every value given.
    full = {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": np.zeros((k, d)),
        "precisions_init": _identity_precisions(t, k, d),
        **given,
    }
    r = _core.gmm_fit(
        np.zeros((max(k, 2), d)),
        n_components=k,
        covariance_type=t,
        reg_covar=float(est.reg_covar),
        max_iter=0,
        **full,
    )
    return {
        "given": set(given),
        "weights": r["weights"],
        "means": r["means"],
        "precisions_cholesky": r["precisions_cholesky"],
        "covariances": r["covariances"],
    }


def initialize(est, data, rng, sample, fixed):
    """The initial parameters of one run: the given ones, or those of ``est.init_params``
    (one pass over the data) with the given ones put in."""
    t = est.covariance_type
    if fixed is not None and len(fixed["given"]) == 3:
        keys = ("weights", "means", "precisions_cholesky", "covariances")
        return {"covariance_type": t, **{key: fixed[key] for key in keys}}
    stats = _initial_stats(est, data, rng, sample)
    precisions_given = fixed is not None and "precisions_init" in fixed["given"]
    try:
        step = _core.m_step(stats, float(est.reg_covar))
    except ValueError:
        if not precisions_given:
            raise
        step = None  # the engine does not factorise covariances it replaces
    nk = stats["nk"] + _EPS10
    shift = stats["shift"]
    if step is None:
        means = shift + (stats["s1"] - _EPS10 * shift) / nk[:, None]
    else:
        means = step["means"]
    params = {
        "covariance_type": t,
        # scikit-learn's initialisation divides by n_samples, not by the sum of N_k (at most
        # 1: with one component and few rows, N_k + 10 eps over n rounds above 1, which the
        # engine would refuse as a weight).
        "weights": np.minimum(nk / int(stats["n_samples"]), 1.0),
        "means": means,
        "precisions_cholesky": None if step is None else step["precisions_cholesky"],
        "covariances": None if step is None else step["covariances"],
    }
    if fixed is not None:
        if "weights_init" in fixed["given"]:
            params["weights"] = fixed["weights"]
        if "means_init" in fixed["given"]:
            params["means"] = fixed["means"]
        if precisions_given:
            params["precisions_cholesky"] = fixed["precisions_cholesky"]
            params["covariances"] = fixed["covariances"]
    return params


def _initial_stats(est, data, rng, sample):
    """One pass: the statistics of all rows under the initial responsibilities of
    ``est.init_params`` (see ``GaussianMixture``)."""
    k, t = int(est.n_components), est.covariance_type
    how = est.init_params
    if how == "random":
        sample_mean = None
        # The shift only has to be near the data for accuracy: the mean of a small sample.
        idx, rows = data.sample(min(data.n, 1000), rng)
        sample_mean = rows.mean(axis=0)
        shift = np.repeat(sample_mean[None], k, axis=0)
        payload = int(rng.integers(2**63 - 1))
        kind = "random"
    else:
        idx, rows = sample
        sub_seed = int(rng.integers(np.iinfo(np.int32).max))
        if how == "kmeans":
            c0 = _KMeans(
                k, init="k-means++", n_init=1, random_state=sub_seed, n_threads=est.n_threads
            ).fit(rows).cluster_centers_
            centers = _lloyd(data, c0, 300, 1e-4, est.n_threads, what="init k-means")[0]
            shift, payload, kind = centers, centers, "nearest"
        elif how == "k-means++":
            # The engine's k-means++ seeding on the sample: an initialisation-only in-memory
            # fit, whose means are the chosen rows (to rounding); each is mapped back to its row.
            g = _GaussianMixture(
                k, covariance_type="diag", init_params="k-means++", max_iter=0,
                random_state=sub_seed, n_threads=est.n_threads,
            ).fit(rows)
            chosen = np.array([np.argmin(((rows - m) ** 2).sum(axis=1)) for m in g.means_])
            shift, payload, kind = rows[chosen], idx[chosen], "rows"
        else:  # random_from_data
            chosen = rng.choice(len(rows), size=k, replace=False)
            shift, payload, kind = rows[chosen], idx[chosen], "rows"
    return data.reduce(
        "init",
        _init_stats,
        _merge_stats,
        data.broadcast(np.ascontiguousarray(shift, dtype=np.float64), "shift"),
        t,
        kind,
        data.broadcast(payload, "init"),
        est.n_threads,
        per_part=list(data.starts),
    )
