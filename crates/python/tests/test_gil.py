"""Fits release the GIL: other Python threads run during a fit, and concurrent fits agree."""

import threading
import time
import warnings

import numpy as np
import pytest

from gaussmix import GaussianMixture, KMeans


def make_data():
    rng = np.random.RandomState(0)
    centers = rng.randn(8, 8) * 5
    X = centers[rng.randint(8, size=60_000)] + rng.randn(60_000, 8)
    return np.ascontiguousarray(X)


# warnings.catch_warnings is not thread-safe: the filter is the test's.
@pytest.mark.filterwarnings("ignore:Best performing initialization")
def test_two_threads_fit_concurrently():
    """Two threads fitting at once (the GIL released by both) get the models a lone fit gets."""
    X = make_data()

    def fit(max_iter):
        return GaussianMixture(
            8, tol=0.0, max_iter=max_iter, init_params="random_from_data",
            random_state=0, n_threads=1,
        ).fit(X)

    alone = fit(30)
    results = [None, None]
    started = threading.Barrier(3)

    def run(i):
        started.wait()
        results[i] = fit(30)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    started.wait()
    ticks = 0
    while any(t.is_alive() for t in threads):
        ticks += 1
    for t in threads:
        t.join()
    # The main thread kept running Python while both fits ran, and sharing the engine between
    # threads changed no bit of either fit.
    assert ticks > 1000
    for r in results:
        np.testing.assert_array_equal(r.means_, alone.means_)
        np.testing.assert_array_equal(r.covariances_, alone.covariances_)
        assert r.lower_bound_ == alone.lower_bound_
        assert r.n_iter_ == alone.n_iter_


def test_python_runs_during_a_fit():
    """While one thread fits, another keeps running Python code."""
    X = make_data()
    done = threading.Event()
    ticks = []

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            KMeans(8, n_init=3, tol=0.0, max_iter=100, random_state=0, n_threads=1).fit(X)
        done.set()

    t = threading.Thread(target=fit)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    t.join()
    # Holding the GIL for the fit would leave this loop stuck until the fit ends.
    assert len(ticks) > 1000
