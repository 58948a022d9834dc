"""Fits release the GIL: two Python threads fitting at once take about as long as one."""

import math
import threading
import time
import warnings

import numpy as np

from gaussmix import GaussianMixture, KMeans


def make_data():
    rng = np.random.RandomState(0)
    centers = rng.randn(8, 8) * 5
    X = centers[rng.randint(8, size=60_000)] + rng.randn(60_000, 8)
    return np.ascontiguousarray(X)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_two_threads_fit_concurrently():
    X = make_data()

    def fit(max_iter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GaussianMixture(
                8, tol=0.0, max_iter=max_iter, init_params="random_from_data",
                random_state=0, n_threads=1,
            ).fit(X)

    # Calibrate: about 0.5 s per fit.
    fit(2)
    per_iter = timed(lambda: fit(10)) / 10
    max_iter = max(5, math.ceil(0.5 / per_iter))

    def concurrent():
        threads = [threading.Thread(target=fit, args=(max_iter,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # Best of five tries: the ratio is a wall-clock measurement, and a busy machine (another
    # process on the second core) can spoil some of them. Holding the GIL would give a ratio of
    # about 1 every time; releasing it gives about 0.5 on two free cores.
    tries = []
    for _ in range(5):
        sequential = timed(lambda: (fit(max_iter), fit(max_iter)))
        both = timed(concurrent)
        tries.append((both, sequential))
        if both < 0.8 * sequential:
            break
    both, sequential = min(tries, key=lambda t: t[0] / t[1])
    assert both < 0.8 * sequential, (
        f"2 concurrent fits took {both:.3f} s, 2 sequential fits {sequential:.3f} s "
        f"(tries: {tries})"
    )


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
