"""The interpreter never dies and Ctrl-C works: interrupts, sizes, thread pools, huge integers,
and predictions on extreme rows."""

import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture, KMeans, _core

from .conftest import dataset

# -- Ctrl-C -------------------------------------------------------------------------------------

# When the signal is sent, and how long KeyboardInterrupt may take after it: a fit checks
# between passes over the data, a few milliseconds each here; the bound is generous for a loaded
# machine, and far below the fit's own duration (FIT_SECONDS, set by timing a few iterations,
# so that a fit that cannot be interrupted fails the test in bounded time).
SIGNAL_AT = 0.3
PROMPT = 3.0
FIT_SECONDS = 20.0

# Each estimator for a given amount of work: EM iterations (tol=0 keeps EM going), k-means runs
# (each stops when no label changes).
ESTIMATORS = {
    "gmm-all-cores": lambda work: GaussianMixture(
        8, init_params="random_from_data", max_iter=work, tol=0.0, random_state=0),
    "gmm-2-threads": lambda work: GaussianMixture(
        8, covariance_type="diag", init_params="random_from_data", max_iter=work, tol=0.0,
        random_state=0, n_threads=2),
    "kmeans-1-thread": lambda work: KMeans(
        30, init="random", n_init=work, random_state=0, n_threads=1),
}


def _quiet_fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="Python runs signal handlers on the main thread only",
)
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_ctrl_c_stops_a_fit_promptly_and_leaves_it_unfitted(name):
    X = np.random.default_rng(0).normal(size=(100_000, 4))
    # The work of a fit of about FIT_SECONDS, from the time of a small one.
    small = 10 if name.startswith("gmm") else 1
    t0 = time.perf_counter()
    _quiet_fit(ESTIMATORS[name](small), X)
    per_unit = (time.perf_counter() - t0) / small
    est = ESTIMATORS[name](max(2 * small, int(FIT_SECONDS / per_unit)))
    timer = threading.Timer(SIGNAL_AT, os.kill, (os.getpid(), signal.SIGINT))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    t0 = time.perf_counter()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            _quiet_fit(est, X)
        elapsed = time.perf_counter() - t0
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert elapsed < SIGNAL_AT + PROMPT, f"KeyboardInterrupt came {elapsed:.2f} s after the start"
    # Nothing of the stopped fit is kept (scikit-learn's check_is_fitted agrees), and the
    # estimator still works.
    assert not [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    est.set_params(max_iter=3, n_init=1)
    _quiet_fit(est, X[:2000])
    assert est.n_iter_ <= 3


# -- sizes, thread pools, huge integers ---------------------------------------------------------


def test_sample_too_large_is_a_memory_error_naming_n_samples():
    gm = GaussianMixture(2, random_state=0).fit(dataset("blobs"))
    # More than the address space, and more than any machine's memory: refused before any
    # drawing (the engine reserves its output first), the interpreter alive.
    with pytest.raises(MemoryError, match=r"n_samples = 10{30} points of 2 features"):
        gm.sample(10**30)
    with pytest.raises(MemoryError, match=r"n_samples = 1000000000000 points .* cannot be"):
        gm.sample(10**12)
    with pytest.raises(ValueError, match="at least one sample"):
        gm.sample(0)
    assert gm.sample(5)[0].shape == (5, 2)


def _os_threads():
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_thread_pools_are_bounded_and_freed():
    X = dataset("blobs")
    KMeans(2, n_init=1, random_state=0).fit(X)  # rayon's global pool, started once
    before = _os_threads()
    for n in range(1, 41):  # 40 distinct pool sizes, 820 threads if all were kept
        KMeans(2, n_init=1, random_state=0, n_threads=n).fit(X)
    # Four small pools evict the large ones, whose threads exit (asynchronously: waited for).
    for n in (1, 2, 3, 4):
        GaussianMixture(2, random_state=0, n_threads=n).fit(X)
    deadline = time.time() + 10
    while _os_threads() > before + 1 + 2 + 3 + 4 and time.time() < deadline:
        time.sleep(0.05)
    assert _os_threads() <= before + 1 + 2 + 3 + 4
    assert _core._cached_pools() == _core.CACHED_POOLS == 4


def test_n_threads_is_capped_with_a_value_error_naming_it():
    X = dataset("blobs")
    for est in (GaussianMixture(2, n_threads=1025), KMeans(2, n_threads=1025)):
        with pytest.raises(ValueError, match="n_threads"):
            est.fit(X)
    assert _core.MAX_THREADS == 1024  # the documented cap
    assert KMeans(2, n_threads=1024, random_state=0).fit(X).n_iter_ >= 1
    gm = GaussianMixture(2, random_state=0).fit(X)
    # The private engine calls check it as well (gaussmix.dask's tasks pass it through).
    with pytest.raises(ValueError, match=r"n_threads: must be between 1 and 1024"):
        _core.gmm_predict(gm._model(), X, 10**9)
    with pytest.raises(ValueError, match="n_threads"):
        _core.kmeans_predict(gm.means_, X, 0)


@pytest.mark.parametrize(
    "cls, params, needle",
    [
        (GaussianMixture, {"n_init": 2**64}, "n_init"),
        (GaussianMixture, {"n_components": 2**64}, "n_components"),
        (GaussianMixture, {"n_threads": 2**64}, "n_threads"),
        (GaussianMixture, {"tol": 10**400}, "tol"),
        (GaussianMixture, {"reg_covar": 10**400}, "reg_covar"),
        (KMeans, {"n_init": 2**64}, "n_init"),
        (KMeans, {"n_clusters": 2**64}, "n_clusters"),
        (KMeans, {"tol": 10**400}, "tol"),
    ],
)
def test_integers_too_big_for_the_engine_are_value_errors_naming_the_parameter(
    cls, params, needle
):
    with pytest.raises(ValueError, match=needle):
        cls(**params).fit(dataset("blobs"))


def test_huge_max_iter_means_no_limit():
    X = dataset("blobs")
    gm = GaussianMixture(4, max_iter=10**30, random_state=0).fit(X)
    ref = GaussianMixture(4, random_state=0).fit(X)
    assert gm.converged_ and gm.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(gm.means_, ref.means_)
    km = KMeans(4, max_iter=10**30, random_state=0).fit(X)
    np.testing.assert_array_equal(km.cluster_centers_, KMeans(4, random_state=0).fit(X)
                                  .cluster_centers_)


# -- predictions on extreme rows ----------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_predict_proba_rows_sum_to_one_or_are_nan_as_scikit_learns(covariance_type):
    X = dataset("blobs")
    extreme = np.array([[-1e300, 1e300], [1e200, 0.0], [1e155, -3.0], [0.5, 4.0], [30.0, -30.0]])
    gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(X)
    with np.errstate(all="ignore"):
        p = gm.predict_proba(extreme)
    sums = p.sum(axis=1)
    assert np.all(np.isnan(sums) | (np.abs(sums - 1) < 1e-12)), p
    assert np.isnan(p[0]).all()  # zero likelihood under every component
    np.testing.assert_allclose(p[3:].sum(axis=1), 1.0, rtol=1e-12)
    pytest.importorskip("sklearn")
    sk = gm.to_sklearn()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = sk.predict_proba(extreme)
    np.testing.assert_array_equal(np.isnan(p), np.isnan(want))
    np.testing.assert_allclose(p[~np.isnan(p)], want[~np.isnan(want)], atol=1e-9)


def test_non_numeric_input_to_mixture_predictions_is_a_value_error():
    # scikit-learn's GaussianMixture checks predictions' input as numeric: a ValueError for
    # strings, structured arrays and objects that are not arrays, never a TypeError or a
    # silent conversion.
    gm = GaussianMixture(2, random_state=0).fit(dataset("blobs"))
    bad = [
        {"a": 1},
        np.zeros(3, dtype=[("a", float), ("b", float)]),
        np.zeros((3, 2), dtype=[("a", float), ("b", float)]),
        np.array([["1", "2"], ["3", "4"]]),
    ]
    for X in bad:
        for method in ("predict", "predict_proba", "score_samples", "score"):
            with pytest.raises(ValueError):
                getattr(gm, method)(X)
    assert gm.predict(np.array([[1, 2], [3, 4]], dtype=object)).shape == (2,)


def test_the_stand_ins_without_scikit_learn_check_the_same(tmp_path):
    # The parameter rules used without scikit-learn bound the same integers.
    code = """
import sys
sys.modules["sklearn"] = None
import numpy as np
import gaussmix
assert not gaussmix.HAVE_SKLEARN
X = np.random.default_rng(0).normal(size=(50, 2))
for est, name in [(gaussmix.GaussianMixture(2, n_init=2**64), "n_init"),
                  (gaussmix.GaussianMixture(2, n_threads=1025), "n_threads"),
                  (gaussmix.KMeans(n_clusters=2**64), "n_clusters"),
                  (gaussmix.KMeans(2, n_init=2**64), "n_init")]:
    try:
        est.fit(X)
    except ValueError as e:
        assert name in str(e), e
    else:
        raise AssertionError(name)
gm = gaussmix.GaussianMixture(2, random_state=0).fit(X)
try:
    gm.predict(np.array([["1", "2"]]))
except ValueError:
    pass
else:
    raise AssertionError("strings")
print("ok")
"""
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

