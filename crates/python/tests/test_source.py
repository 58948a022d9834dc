"""The engine's driver over Python callables (``_core.gmm_fit_source`` /
``bgmm_fit_source``, what ``gaussmix.dask`` runs): over chunks in memory it is the in-memory
fit; a callback's exception (KeyboardInterrupt too) stops the fit and is raised as it is."""

import warnings

import numpy as np
import pytest

from gaussmix import BayesianGaussianMixture, ConvergenceWarning, GaussianMixture, KMeans, _core

from .conftest import dataset

TYPES = ["full", "tied", "diag", "spherical"]


def chunked(X, w, labels, size=97):
    """Callbacks computing every statistic over chunks of X, merged in order."""
    cuts = list(range(0, len(X), size)) + [len(X)]
    parts = [(X[a:b], w[a:b], labels[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    calls = {"initial": 0, "e_step": 0, "data": 0}

    def merge(stats):
        total = stats[0]
        for s in stats[1:]:
            total = _core.merge_statistics(total, s)
        return total

    def resp(shift, t):
        return merge([_core.responsibility_statistics(x, shift, t, labels=lab, sample_weight=ww)
                      for x, ww, lab in parts])

    def initial(t, k, d):
        def run(init):
            calls["initial"] += 1
            first = resp(np.zeros((k, d)), t)
            return resp(first["s1"] / (first["nk"] + 10 * np.finfo(float).eps)[:, None], t)
        return run

    def e_step(model):
        calls["e_step"] += 1
        return merge([_core.sufficient_statistics(model, x, None, ww) for x, ww, _ in parts])

    def data_statistics(t, shift):
        calls["data"] += 1
        return merge([_core.responsibility_statistics(
            x, shift[None], t, labels=np.zeros(len(x), dtype=np.int64), sample_weight=ww)
            for x, ww, _ in parts])

    return initial, e_step, data_statistics, calls


@pytest.mark.parametrize("t", TYPES)
def test_driver_over_chunks_is_the_in_memory_fit(t):
    X = dataset("stretched")
    w = np.random.RandomState(2).uniform(0, 3, size=len(X))
    labels = KMeans(4, random_state=0).fit(X).labels_
    initial, e_step, data_statistics, calls = chunked(X, w, labels)
    k, d = 4, X.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = GaussianMixture(k, covariance_type=t, max_iter=30, tol=1e-8).fit(
            X, sample_weight=w, init_labels=labels)
        bref = BayesianGaussianMixture(n_components=k, covariance_type=t, max_iter=30,
                                       tol=1e-8).fit(X, sample_weight=w, init_labels=labels)
    g = _core.gmm_fit_source(d, initial(t, k, d), e_step, n_components=k, covariance_type=t,
                             max_iter=30, tol=1e-8)
    assert g["n_iter"] == ref.n_iter_ and g["converged"] == ref.converged_
    for name in ("weights", "means", "covariances", "lower_bounds"):
        np.testing.assert_allclose(g[name], getattr(ref, name + "_"), rtol=1e-10, atol=1e-12)
    assert calls["initial"] == 1 and calls["e_step"] == g["n_iter"]
    b = _core.bgmm_fit_source(d, initial(t, k, d), e_step, data_statistics, n_components=k,
                              covariance_type=t, max_iter=30, tol=1e-8)
    assert b["n_iter"] == bref.n_iter_
    for name in ("weights", "means", "covariances", "mean_precision", "mean_prior",
                 "covariance_prior", "lower_bounds"):
        np.testing.assert_allclose(b[name], getattr(bref, name + "_"), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(b["weight_concentration"], bref.weight_concentration_, rtol=1e-10)
    assert calls["data"] == 2  # the data's mean, then its covariance about it


def test_callback_exceptions_are_raised_as_they_are():
    X = dataset("blobs")
    labels = KMeans(3, random_state=0).fit(X).labels_
    initial, e_step, _, calls = chunked(X, np.ones(len(X)), labels)
    init = initial("full", 3, 2)

    class Stop(Exception):
        pass

    def failing(after, exc):
        def run(model):
            if calls["e_step"] >= after:
                raise exc
            return e_step(model)
        return run

    with pytest.raises(Stop, match="from the callback"):
        _core.gmm_fit_source(2, init, failing(2, Stop("from the callback")), n_components=3)
    with pytest.raises(KeyboardInterrupt):
        _core.gmm_fit_source(2, init, failing(1, KeyboardInterrupt()), n_components=3)
    seen = []

    def progress(init_, iteration, lower_bound, change):
        seen.append(iteration)
        if iteration == 3:
            raise Stop("progress")

    calls["e_step"] = 0
    with pytest.raises(Stop, match="progress"):
        _core.gmm_fit_source(2, init, e_step, n_components=3, tol=0, progress=progress)
    assert seen == [1, 2, 3] and calls["e_step"] == 3  # stopped before the next E-step
    with pytest.raises(TypeError, match="statistics dict"):
        _core.gmm_fit_source(2, lambda i: 42, e_step, n_components=3)
    # Statistics of another model than the one asked for are refused by the driver.
    with pytest.raises(ValueError, match="not computed under the model"):
        _core.gmm_fit_source(2, init, lambda m: init(0), n_components=3)
    # The phases: each run's initialisation, then its iterations.
    phases = []
    _core.gmm_fit_source(2, init, e_step, n_components=3, n_init=2, max_iter=2,
                         phase=lambda what, run: phases.append((what, run)))
    assert phases == [("initializing", 0), ("iterating", 0), ("initializing", 1),
                      ("iterating", 1)]
    # Without data_statistics, a Bayesian fit needs its priors given.
    with pytest.raises(ValueError, match="mean_prior"):
        _core.bgmm_fit_source(2, init, e_step, n_components=3)
