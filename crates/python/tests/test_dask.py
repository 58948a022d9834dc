"""gaussmix.dask: distributed fits on a LocalCluster equal the in-memory fits.

Skipped as a whole when Dask (dask[array] and distributed) is not installed; CI installs it.
"""

import logging
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import gaussmix  # noqa: E402
from gaussmix import ConvergenceWarning  # noqa: E402
from gaussmix import dask as gd  # noqa: E402

pytestmark = pytest.mark.dask

TYPES = ["full", "tied", "diag", "spherical"]
K, D = 3, 4
N = 3001
CHUNK = 407  # 8 chunks, the last one short: where the merge tree is the point
FEW = 1100  # 3 chunks, the last one short: elsewhere (each task costs a few ms of latency)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(K, D)) * 4
    X = np.concatenate(
        [rng.normal(size=(N // K + (i < N % K), D)) @ rng.normal(size=(D, D)) + centres[i]
         for i in range(K)]
    )
    return np.ascontiguousarray(X[rng.permutation(len(X))])


def inits(X, covariance_type):
    """A start both fits take: means and precisions of an initialisation-only fit."""
    m0 = gaussmix.GaussianMixture(
        K, covariance_type=covariance_type, max_iter=0, init_params="random_from_data",
        random_state=3,
    ).fit(X)
    return dict(weights_init=np.full(K, 1.0 / K), means_init=m0.means_,
                precisions_init=m0.precisions_)


def assert_close(a, b, rtol=1e-10, err_msg=""):
    a, b = np.asarray(a), np.asarray(b)
    scale = np.max(np.abs(b)) if b.size else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=err_msg)


def assert_same_fit(g, ref, rtol=1e-10):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_close(getattr(g, name), getattr(ref, name), rtol, err_msg=name)
    assert g.n_iter_ == ref.n_iter_
    assert g.converged_ == ref.converged_
    assert_close(g.lower_bounds_, ref.lower_bounds_, rtol, err_msg="lower_bounds_")
    assert_close(g.lower_bound_, ref.lower_bound_, rtol, err_msg="lower_bound_")


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fit_equals_in_memory_fit_from_the_same_start(client, data, covariance_type):
    X = data
    start = inits(X, covariance_type)
    params = dict(covariance_type=covariance_type, max_iter=100, tol=1e-6, **start)
    ref = gaussmix.GaussianMixture(K, **params).fit(X)
    assert 3 <= ref.n_iter_ < 100 and ref.converged_
    Xd = da.from_array(X, chunks=(CHUNK, -1))
    g = gd.GaussianMixture(K, **params).fit(Xd)
    assert_same_fit(g, ref)
    assert g.n_features_in_ == D
    # The fitted model is an ordinary in-memory estimator too.
    assert type(g.model_) is gaussmix.GaussianMixture
    assert_same_fit(g.model_, ref)
    np.testing.assert_array_equal(g.predict(X), ref.predict(X))
    np.testing.assert_array_equal(g.model_.predict(X), ref.predict(X))


def test_float32_chunks_fit_as_the_float32_array(client, data):
    X32 = data.astype(np.float32)
    params = dict(max_iter=6, tol=0.0, **inits(data, "full"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The chunks' statistics compute in float64: the in-memory fit in float64 arithmetic.
        ref = gaussmix.GaussianMixture(K, precision="f64", **params).fit(X32)
        g = gd.GaussianMixture(K, **params).fit(da.from_array(X32, chunks=(1000, -1)))
    assert_same_fit(g, ref)


def test_fit_is_deterministic_and_columns_chunks_are_merged(client, data):
    start = inits(data, "full")
    a = gd.GaussianMixture(K, max_iter=8, tol=0, **start)
    b = gd.GaussianMixture(K, max_iter=8, tol=0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(da.from_array(data, chunks=(CHUNK, -1)))
        b.fit(da.from_array(data, chunks=(CHUNK, 2)))  # rechunked to whole rows
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.fixture(scope="module")
def npy_files(data, tmp_path_factory):
    d = tmp_path_factory.mktemp("npy")
    cuts = [0, 1100, 2300, N]
    paths = []
    for i in range(3):
        p = d / f"part{i}.npy"
        np.save(p, data[cuts[i]:cuts[i + 1]])
        paths.append(str(p))
    return paths


def test_file_pieces_equal_the_dask_array_fit(client, data, npy_files):
    start = inits(data, "full")
    params = dict(covariance_type="full", max_iter=100, tol=1e-4, **start)
    ref = gd.GaussianMixture(K, **params).fit(da.from_array(data, chunks=(FEW, -1)))
    a, b, c = npy_files
    pieces = [
        a,                          # a whole file
        (b, (0, 500)),              # (path, (start, stop))
        (b, range(500, 1200)),      # (path, range)
        (c, (0, 701)),
    ]
    g = gd.GaussianMixture(K, **params).fit(pieces)
    assert_same_fit(g, ref, rtol=1e-12)
    # npy_pieces / from_npy: the same pieces as a Dask array whose tasks load their rows.
    assert gd.npy_pieces([b], rows_per_piece=500) == [(b, (0, 500)), (b, (500, 1000)),
                                                      (b, (1000, 1200))]
    Xf = gd.from_npy(npy_files, rows_per_chunk=600)
    assert Xf.shape == data.shape and Xf.chunks[0][:2] == (600, 500)
    np.testing.assert_array_equal(Xf.compute(), data)
    assert_same_fit(gd.GaussianMixture(K, **params).fit(Xf), ref, rtol=1e-12)
    np.testing.assert_array_equal(g.fit_predict(pieces).compute(), ref.predict(data))
    # k-means from the files, too.
    km_ref = gd.KMeans(K, init=data[:K], n_init=1).fit(da.from_array(data, chunks=(FEW, -1)))
    km = gd.KMeans(K, init=data[:K], n_init=1).fit(pieces)
    assert_close(km.cluster_centers_, km_ref.cluster_centers_, 1e-12)
    np.testing.assert_array_equal(km.labels_.compute(), km_ref.labels_.compute())


def test_file_piece_errors(client, npy_files, tmp_path):
    with pytest.raises(ValueError, match="not within"):
        gd.GaussianMixture(K).fit([(npy_files[0], (0, 10**6))])
    one_d = tmp_path / "flat.npy"
    np.save(one_d, np.arange(10.0))
    with pytest.raises(ValueError, match="2-D"):
        gd.GaussianMixture(K).fit([str(one_d)])
    with pytest.raises(ValueError, match="a file piece is"):
        gd.GaussianMixture(K).fit([(npy_files[0], "all")])


@pytest.mark.parametrize("empty", [False, True])
def test_kmeans_from_given_centres_equals_in_memory(client, data, empty):
    centres = data[[0, 1, 2]].copy()
    if empty:  # a centre no row is nearest to: the in-memory relocation to the farthest row
        centres[2] = 1e3
    ref = gaussmix.KMeans(K, init=centres, n_init=1).fit(data)
    km = gd.KMeans(K, init=centres, n_init=1).fit(da.from_array(data, chunks=(CHUNK, -1)))
    assert_close(km.cluster_centers_, ref.cluster_centers_)
    assert isinstance(km.labels_, da.Array)
    np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(km.inertia_, ref.inertia_, rtol=1e-10)
    assert type(km.model_) is gaussmix.KMeans
    np.testing.assert_array_equal(km.predict(data), ref.predict(data))
    # With tol=0 only strict convergence (no label changing) stops it, in both.
    ref0 = gaussmix.KMeans(K, init=centres, n_init=1, tol=0).fit(data)
    km0 = gd.KMeans(K, init=centres, n_init=1, tol=0).fit(da.from_array(data, chunks=(CHUNK, -1)))
    assert km0.n_iter_ == ref0.n_iter_
    assert_close(km0.cluster_centers_, ref0.cluster_centers_)


def test_predictions_on_dask_arrays_are_dask_arrays(client, data):
    start = inits(data, "diag")
    ref = gaussmix.GaussianMixture(K, covariance_type="diag", **start).fit(data)
    g = gd.GaussianMixture(K, covariance_type="diag", **start).fit(data)  # NumPy input too
    Xd = da.from_array(data, chunks=(FEW, -1))
    for name in ("predict", "predict_proba", "score_samples"):
        out = getattr(g, name)(Xd)
        assert isinstance(out, da.Array), name
        want = getattr(ref, name)(data)
        assert out.shape == want.shape and out.dtype == want.dtype
        got = out.compute()
        if name == "predict":
            np.testing.assert_array_equal(got, want)
        else:
            assert_close(got, want, 1e-12, err_msg=name)
    np.testing.assert_allclose(g.score(Xd), ref.score(data), rtol=1e-12)
    np.testing.assert_allclose(g.bic(Xd), ref.bic(data), rtol=1e-12)
    with pytest.raises(ValueError, match="features"):
        g.predict(Xd[:, :2])
    km_ref = gaussmix.KMeans(K, init=data[:K], n_init=1).fit(data)
    km = gd.KMeans(K, init=data[:K], n_init=1).fit(Xd)
    out = km.predict(Xd)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), km_ref.predict(data))
    t = km.transform(Xd)
    assert isinstance(t, da.Array) and t.shape == (N, K)
    assert_close(t.compute(), km_ref.transform(data), 1e-12)
    np.testing.assert_allclose(km.score(Xd), km_ref.score(data), rtol=1e-10)



def test_interoperability(client, data, tmp_path):
    Xd = da.from_array(data, chunks=(FEW, -1))
    start = inits(data, "tied")
    g = gd.GaussianMixture(K, covariance_type="tied", **start).fit(Xd)
    path = tmp_path / "model.json"
    gaussmix.save_model(g, path)
    back = gaussmix.load_model(path)
    np.testing.assert_array_equal(back.means_, g.means_)
    np.testing.assert_array_equal(back.predict(data), g.predict(data))
    assert g.get_params()["init_sample_size"] == gd.INIT_SAMPLE_ROWS
    pytest.importorskip("sklearn")
    sk = g.to_sklearn()
    np.testing.assert_array_equal(sk.predict(data), g.predict(data))
    km = gd.KMeans(K, init=data[:K], n_init=1).fit(Xd)
    np.testing.assert_array_equal(km.to_sklearn().predict(data), km.predict(data))
    from sklearn.base import clone

    assert clone(g).get_params()["covariance_type"] == "tied"


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data", "random"])
def test_initialisations(client, data, init_params):
    Xd = da.from_array(data, chunks=(FEW, -1))
    g = gd.GaussianMixture(K, init_params=init_params, random_state=0, max_iter=300).fit(Xd)
    assert g.converged_
    # Another start (k-means on a sample, other random numbers) than the in-memory one; the
    # optimum the in-memory k-means start reaches (here from every seed) bounds them all, and
    # every start but "random" (uniform responsibilities, which in-memory often end on a
    # saddle too) reaches it.
    best = gaussmix.GaussianMixture(K, random_state=0).fit(data).lower_bound_
    assert g.lower_bound_ < best + 1e-4
    if init_params != "random":
        np.testing.assert_allclose(g.lower_bound_, best, rtol=1e-5)
    # The same seed gives the same fit.
    g2 = gd.GaussianMixture(K, init_params=init_params, random_state=0, max_iter=300).fit(Xd)
    np.testing.assert_array_equal(g.means_, g2.means_)


def test_partial_inits_n_init_warm_start_and_warning(client, data):
    Xd = da.from_array(data, chunks=(FEW, -1))
    start = inits(data, "full")
    # Only means_init: the rest from the initialisation, the means replaced (as in-memory).
    g = gd.GaussianMixture(K, means_init=start["means_init"], random_state=0).fit(Xd)
    assert g.converged_
    # n_init runs: the best final lower bound of the runs is kept; the first run is the
    # n_init=1 run of the same seed.
    one = gd.GaussianMixture(K, init_params="random", random_state=0, max_iter=3, tol=0)
    two = gd.GaussianMixture(K, init_params="random", random_state=0, n_init=2, max_iter=3,
                             tol=0)
    log = logging.getLogger("gaussmix.dask")
    handler = _Records()
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            one.fit(Xd)
            handler.lines.clear()
            two.fit(Xd)
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    finals = [float(line.split("lower bound")[1].split()[0])
              for line in handler.lines if "iteration 3 " in line]
    assert len(finals) == 2
    np.testing.assert_allclose(finals[0], one.lower_bound_, rtol=1e-11)
    np.testing.assert_allclose(two.lower_bound_, max(finals), rtol=1e-11)
    assert two.lower_bound_ >= one.lower_bound_
    # Not converged: scikit-learn's ConvergenceWarning; warm start continues.
    w = gd.GaussianMixture(K, max_iter=2, tol=0, warm_start=True, **start)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        w.fit(Xd)
    first = list(w.lower_bounds_)
    with pytest.warns(ConvergenceWarning):
        w.fit(Xd)
    four = gaussmix.GaussianMixture(K, max_iter=4, tol=0, **start)
    with pytest.warns(ConvergenceWarning):
        four.fit(data)
    assert_close(first + list(w.lower_bounds_), four.lower_bounds_)
    # max_iter=0: initialised only, as in-memory.
    z = gd.GaussianMixture(K, max_iter=0, **start).fit(Xd)
    zr = gaussmix.GaussianMixture(K, max_iter=0, **start).fit(data)
    assert z.n_iter_ == 0 and z.lower_bound_ == zr.lower_bound_ == -np.inf
    assert_close(z.precisions_cholesky_, zr.precisions_cholesky_)
    with pytest.raises(NotImplementedError):
        gd.GaussianMixture(K, on_degenerate="reseed").fit(Xd)
    with pytest.raises(ValueError, match="n_components"):
        gd.GaussianMixture(N + 1).fit(Xd)


def test_progress_is_logged_and_printed(client, data, caplog, capsys):
    Xd = da.from_array(data, chunks=(FEW, -1))
    start = inits(data, "spherical")
    with caplog.at_level(logging.INFO, logger="gaussmix.dask"):
        g = gd.GaussianMixture(K, covariance_type="spherical", verbose=2, verbose_interval=1,
                               **start).fit(Xd)
    lines = [r.getMessage() for r in caplog.records if r.name == "gaussmix.dask"]
    assert len(lines) == g.n_iter_
    assert "iteration 1 " in lines[0] and "lower bound" in lines[0] and lines[0].endswith(" s")
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1\t" in out and "converged" in out


def test_kmeans_initialisations(client, data):
    Xd = da.from_array(data, chunks=(FEW, -1))
    ref = gaussmix.KMeans(K, random_state=0).fit(data)
    for init in ("k-means++", "random"):
        km = gd.KMeans(K, init=init, n_init=2, random_state=0).fit(Xd)
        np.testing.assert_allclose(km.inertia_, ref.inertia_, rtol=1e-6)
    km = gd.KMeans(K, init=lambda X, k, random_state: X[:k], n_init=1).fit(Xd)
    np.testing.assert_allclose(km.inertia_, ref.inertia_, rtol=1e-6)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


class _Iterations(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record):
        if "iteration" in record.getMessage():
            self.count += 1


def test_worker_killed_mid_fit_does_not_change_the_result(client, data):
    start = inits(data, "full")
    params = dict(covariance_type="full", max_iter=40, tol=0.0, **start)
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        undisturbed = gd.GaussianMixture(K, **params).fit(Xd)
    handler = _Iterations()
    log = logging.getLogger("gaussmix.dask")
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.INFO)
    result, errors = {}, []

    def run():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result["g"] = gd.GaussianMixture(K, **params).fit(Xd)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    before = set(client.scheduler_info()["workers"])
    t = threading.Thread(target=run)
    try:
        t.start()
        deadline = time.time() + 30
        while handler.count < 3 and time.time() < deadline and t.is_alive():
            time.sleep(0.01)
        assert t.is_alive(), "the fit ended before the worker could be killed"
        victim = sorted(before)[0]
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)  # a crash: the nanny starts a new worker process
        t.join(120)
        assert not t.is_alive()
        killed_at = handler.count
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    assert not errors, errors
    g = result["g"]
    assert killed_at >= 3 and g.n_iter_ == 40
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(g, name), getattr(undisturbed, name), err_msg=name)
    # The nanny restarted the worker (a new process, a new address).
    client.wait_for_workers(2, timeout=60)
    assert victim not in set(client.scheduler_info()["workers"])
    assert pid not in client.run(os.getpid).values()


# -- real data: empty chunks, dtypes, NaN, wrong chunk shapes, non-numeric input ----------------


def _filtered(data):
    """``data`` through a boolean filter on a Dask array: chunks 1 and 3 (of 8) come out empty,
    and every chunk size is unknown (NaN) until computed, as after ``Xd[Xd[:, 0] > t]``."""
    keep = np.ones(N, dtype=bool)
    keep[CHUNK:2 * CHUNK] = False
    keep[3 * CHUNK:4 * CHUNK] = False
    keep[::5] = False
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    return Xd[da.from_array(keep, chunks=CHUNK)], data[keep]


def test_empty_chunks_contribute_nothing(client, data):
    Xf, X = _filtered(data)
    assert np.isnan(Xf.chunks[0]).all()
    assert 0 in Xf.compute_chunk_sizes().chunks[0]
    start = inits(X, "full")
    ref = gaussmix.GaussianMixture(K, **start).fit(X)
    g = gd.GaussianMixture(K, **start).fit(Xf)
    assert_same_fit(g, ref)
    # The initialisations that sample rows or draw per-row responsibilities run over them too.
    for init_params in ("kmeans", "random"):
        with pytest.warns(ConvergenceWarning):
            gi = gd.GaussianMixture(K, init_params=init_params, max_iter=2, tol=0,
                                    random_state=0).fit(Xf)
        assert gi.n_iter_ == 2 and np.isfinite(gi.lower_bound_)
    # Predictions of arrays with empty chunks, of unknown or known sizes.
    known = Xf.compute_chunk_sizes()
    np.testing.assert_array_equal(g.predict(Xf).compute(), ref.predict(X))
    np.testing.assert_array_equal(g.predict(known).compute(), ref.predict(X))
    assert_close(g.predict_proba(known).compute(), ref.predict_proba(X), 1e-9)
    assert_close(g.score_samples(Xf).compute(), ref.score_samples(X), 1e-9)
    np.testing.assert_allclose(g.score(known), ref.score(X), rtol=1e-9)
    np.testing.assert_allclose(g.bic(Xf), ref.bic(X), rtol=1e-9)  # its rows counted
    np.testing.assert_allclose(g.aic(known), ref.aic(X), rtol=1e-9)
    km_ref = gaussmix.KMeans(K, init=X[:K], n_init=1).fit(X)
    km = gd.KMeans(K, init=X[:K], n_init=1).fit(Xf)
    assert_close(km.cluster_centers_, km_ref.cluster_centers_)
    np.testing.assert_array_equal(km.labels_.compute(), km_ref.labels_)
    np.testing.assert_array_equal(km.predict(Xf).compute(), km_ref.predict(X))
    assert_close(km.transform(known).compute(), km_ref.transform(X), 1e-9)
    np.testing.assert_allclose(km.score(Xf), km_ref.score(X), rtol=1e-9)
    assert gd.KMeans(K, random_state=0).fit(Xf).n_iter_ >= 1
    # All empty: the one error.
    nothing = Xf[Xf[:, 0] > 1e9]
    for est in (gd.GaussianMixture(K), gd.KMeans(K)):
        with pytest.raises(ValueError, match="no rows"):
            est.fit(nothing)


def _delayed(f):
    from dask import delayed

    return delayed(f)


def _boom():
    raise AssertionError("a task ran")


def test_complex_input_is_refused_before_any_task(client, data, tmp_path):
    lazy = da.from_delayed(_delayed(_boom)(), shape=(N, D), dtype=np.complex128)
    g = gd.GaussianMixture(K, random_state=0).fit(da.from_array(data, chunks=(FEW, -1)))
    for call in (gd.GaussianMixture(K).fit, gd.KMeans(K).fit, g.predict, g.score, g.bic):
        with pytest.raises(ValueError, match="Complex data not supported"):
            call(lazy)
    with pytest.raises(ValueError, match="Complex data not supported"):
        gd.GaussianMixture(K).fit(data + 1j)
    path = tmp_path / "complex.npy"
    np.save(path, data + 0j)
    with pytest.raises(ValueError, match="Complex data not supported"):
        gd.GaussianMixture(K).fit([str(path)])
    with pytest.raises(ValueError, match="Complex data not supported"):
        gd.from_npy([str(path)])


def test_nan_is_reported_by_global_row_and_the_estimator_called(client, data):
    bad = data.copy()
    bad[2500, 1] = np.nan  # chunk 6 of CHUNK rows, its row 58
    Xd = da.from_array(bad, chunks=(CHUNK, -1))
    start = inits(data, "full")
    where = r"nan at row 2500, column 1 \(0-based, counted over the whole data\)"
    cases = [
        (gd.GaussianMixture(K), "GaussianMixture.fit"),  # in the sample gathered to the client
        (gd.GaussianMixture(K, init_sample_size=50, random_state=0), "GaussianMixture.fit"),
        (gd.GaussianMixture(K, init_params="random"), "GaussianMixture.fit"),
        (gd.GaussianMixture(K, **start), "GaussianMixture.fit"),  # in an E-step on a worker
        (gd.KMeans(K), "KMeans.fit"),
        (gd.KMeans(K, init=data[:K], n_init=1), "KMeans.fit"),
    ]
    for est, who in cases:
        with pytest.raises(ValueError, match=where) as e:
            est.fit(Xd)
        assert str(e.value).startswith(who), str(e.value)
    g = gd.GaussianMixture(K, **start).fit(data)
    with pytest.raises(ValueError, match="GaussianMixture.predict: the data contains " + where):
        g.predict(Xd).compute()
    with pytest.raises(ValueError, match="GaussianMixture.score: the data contains " + where):
        g.score(Xd)


def test_a_chunk_delivering_another_shape_than_declared_is_named(client, data):
    good = da.from_array(data[:1000], chunks=(500, -1))
    short = da.from_delayed(_delayed(lambda: data[:450])(), shape=(500, D), dtype=np.float64)
    narrow = da.from_delayed(_delayed(lambda: data[:500, :2])(), shape=(500, D),
                             dtype=np.float64)
    start = inits(data, "full")
    for wrong, found in ((short, r"\(450, 4\)"), (narrow, r"\(500, 2\)")):
        Xd = da.concatenate([good, wrong])  # the wrong chunk is chunk 2, rows 1000 to 1500
        msg = (r"chunk 2 \(rows 1000 to 1500 of the data\) delivered ndarray of shape "
               + found + r" where its Dask array declares a chunk of shape \(500, 4\)")
        for call in (gd.GaussianMixture(K, **start).fit, gd.GaussianMixture(K).fit,
                     gd.KMeans(K).fit):
            with pytest.raises(ValueError, match=msg):
                call(Xd)
        g = gd.GaussianMixture(K, **start).fit(good)
        with pytest.raises(ValueError, match=msg):
            g.predict(Xd).compute()
        with pytest.raises(ValueError, match=msg):
            g.bic(Xd)


def test_input_that_is_not_numeric_is_a_value_error(client, data):
    Xd = da.from_array(data, chunks=(FEW, -1))
    g = gd.GaussianMixture(K, random_state=0).fit(Xd)
    km = gd.KMeans(K, random_state=0).fit(Xd)
    strings = data[:20].astype(str)
    bad = [
        {"a": 1},
        np.zeros(20, dtype=[(c, float) for c in "abcd"]),
        strings,
        strings.tolist(),
        da.from_array(strings, chunks=(10, -1)),
        da.from_array(data[:20].astype(object), chunks=(10, -1)),
        np.zeros((20, D), dtype="datetime64[s]"),
        np.array([[{"a": 1}] * D] * 20, dtype=object),
    ]
    for X in bad:
        calls = [gd.GaussianMixture(K).fit, gd.KMeans(K).fit, g.predict, g.predict_proba,
                 g.score_samples, g.score, g.bic, km.predict, km.transform, km.score]
        for call in calls:
            with pytest.raises(ValueError) as e:
                call(X)
            assert type(e.value) is ValueError, (call, type(X), e.value)
    # Numbers in other dtypes are numbers: bool and integers are taken as float64.
    ints = np.round(data * 100).astype(np.int64)
    gi = gd.GaussianMixture(K, **inits(data, "diag"), covariance_type="diag").fit(
        da.from_array(ints, chunks=(FEW, -1)))
    ref = gaussmix.GaussianMixture(K, **inits(data, "diag"), covariance_type="diag").fit(
        ints.astype(float))
    assert_close(gi.means_, ref.means_, 1e-9)


# -- sample weights, the Bayesian mixture, initial labels ---------------------------------------


@pytest.fixture(scope="module")
def weights():
    """Integer and fractional weights, some zero, one whole chunk of CHUNK rows zero."""
    rng = np.random.default_rng(1)
    w = rng.integers(0, 4, size=N) + rng.uniform(0, 1, size=N) * (rng.uniform(size=N) < 0.5)
    w[2 * CHUNK:3 * CHUNK] = 0.0
    return w


@pytest.mark.parametrize("covariance_type", TYPES)
def test_weighted_fit_equals_the_in_memory_weighted_fit(client, data, weights, covariance_type):
    start = inits(data, covariance_type)
    params = dict(covariance_type=covariance_type, max_iter=100, tol=1e-6, **start)
    ref = gaussmix.GaussianMixture(K, **params).fit(data, sample_weight=weights)
    assert ref.converged_ and ref.n_iter_ >= 3
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    wd = da.from_array(weights, chunks=500)  # chunked otherwise: rechunked to X's chunks
    g = gd.GaussianMixture(K, **params).fit(Xd, sample_weight=wd)
    assert_same_fit(g, ref)
    for method in ("score", "bic", "aic"):
        np.testing.assert_allclose(getattr(g, method)(Xd, sample_weight=wd),
                                   getattr(ref, method)(data, sample_weight=weights), rtol=1e-12)
    # NumPy weights (sliced per chunk and shipped with the tasks) give the same fit.
    assert_same_fit(gd.GaussianMixture(K, **params).fit(Xd, sample_weight=weights), ref)


def test_weighted_fit_from_file_pieces_and_a_weights_file(client, data, weights, npy_files,
                                                          tmp_path):
    start = inits(data, "full")
    params = dict(covariance_type="full", max_iter=100, tol=1e-6, **start)
    ref = gaussmix.GaussianMixture(K, **params).fit(data, sample_weight=weights)
    a, b, c = npy_files
    pieces = [a, (b, (0, 500)), (b, range(500, 1200)), (c, (0, 701))]
    wfile = tmp_path / "w.npy"
    np.save(wfile, weights)
    g = gd.GaussianMixture(K, **params).fit(pieces, sample_weight=str(wfile))
    assert_same_fit(g, ref)
    # The weights in pieces of their own, cut elsewhere than the data's.
    w1, w2 = tmp_path / "w1.npy", tmp_path / "w2.npy"
    np.save(w1, weights[:1700])
    np.save(w2, np.concatenate([[7.0], weights[1700:]]))
    g2 = gd.GaussianMixture(K, **params).fit(
        pieces, sample_weight=[str(w1), (str(w2), (1, N - 1700 + 1))])
    assert_same_fit(g2, ref)
    km_ref = gaussmix.KMeans(K, init=data[:K], n_init=1).fit(data, sample_weight=weights)
    km = gd.KMeans(K, init=data[:K], n_init=1).fit(pieces, sample_weight=str(wfile))
    assert_close(km.cluster_centers_, km_ref.cluster_centers_)
    np.testing.assert_allclose(km.inertia_, km_ref.inertia_, rtol=1e-10)
    with pytest.raises(ValueError, match=r"sample_weight files hold 3000 values, but the data "
                                         r"has 3001 rows"):
        gd.GaussianMixture(K).fit(pieces, sample_weight=[str(w1), (str(w2), (1, N - 1700))])


@pytest.mark.parametrize("empty", [False, True])
def test_weighted_kmeans_equals_in_memory(client, data, weights, empty):
    centres = data[[0, 1, 2]].copy()
    if empty:
        centres[2] = 1e3
    ref = gaussmix.KMeans(K, init=centres, n_init=1).fit(data, sample_weight=weights)
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    km = gd.KMeans(K, init=centres, n_init=1).fit(Xd, sample_weight=weights)
    assert_close(km.cluster_centers_, ref.cluster_centers_)
    np.testing.assert_array_equal(km.labels_.compute(), ref.labels_)
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(km.inertia_, ref.inertia_, rtol=1e-10)
    np.testing.assert_allclose(km.score(Xd, sample_weight=weights),
                               ref.score(data, sample_weight=weights), rtol=1e-10)
    # Seeded starts (drawn by weight from the sample) reach the weighted optimum.
    best = gaussmix.KMeans(K, random_state=0, tol=0).fit(data, sample_weight=weights)
    for init in ("k-means++", "random"):
        k2 = gd.KMeans(K, init=init, n_init=2, random_state=0, tol=0).fit(
            Xd, sample_weight=weights)
        np.testing.assert_allclose(k2.inertia_, best.inertia_, rtol=1e-10)
        np.testing.assert_allclose(-k2.score(Xd, sample_weight=weights), k2.inertia_,
                                   rtol=1e-10)


def test_weight_errors_name_the_row(client, data, weights):
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    bad = weights.copy()
    bad[2500] = -1.0
    with pytest.raises(ValueError, match=r"GaussianMixture.fit: sample_weight is -1.0 at row "
                                         r"2500 \(0-based"):
        gd.GaussianMixture(K).fit(Xd, sample_weight=da.from_array(bad, chunks=CHUNK))
    with pytest.raises(ValueError, match="at least one non-zero"):
        gd.KMeans(K).fit(Xd, sample_weight=da.zeros(N, chunks=CHUNK))
    with pytest.raises(ValueError, match="3000 values, but the data has 3001 rows"):
        gd.GaussianMixture(K).fit(Xd, sample_weight=da.ones(N - 1, chunks=CHUNK))
    with pytest.raises(ValueError, match=r"shape \(3000,\), expected \(3001,\)"):
        gd.GaussianMixture(K).fit(Xd, sample_weight=np.ones(N - 1))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_bayesian_fit_equals_the_in_memory_fit_from_the_same_labels(client, data, weights,
                                                                     covariance_type):
    labels = gaussmix.KMeans(K, random_state=0).fit(data).labels_
    params = dict(n_components=K, covariance_type=covariance_type, max_iter=100, tol=1e-6)
    ref = gaussmix.BayesianGaussianMixture(**params).fit(data, init_labels=labels)
    assert ref.converged_
    Xd = da.from_array(data, chunks=(CHUNK, -1))
    g = gd.BayesianGaussianMixture(**params).fit(
        Xd, init_labels=da.from_array(labels, chunks=CHUNK))
    assert_same_fit(g, ref)
    for name in ("mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
                 "weight_concentration_"):
        assert_close(getattr(g, name), getattr(ref, name), err_msg=name)
    assert type(g.model_) is gaussmix.BayesianGaussianMixture
    np.testing.assert_array_equal(g.predict(Xd).compute(), ref.predict(data))
    assert_close(g.predict_proba(Xd).compute(), ref.predict_proba(data), 1e-9)
    np.testing.assert_allclose(g.score(Xd), ref.score(data), rtol=1e-10)
    if covariance_type == "full":
        # Weighted, with the Dirichlet distribution prior and given priors.
        p2 = dict(params, weight_concentration_prior_type="dirichlet_distribution",
                  mean_prior=np.zeros(D), mean_precision_prior=0.1)
        ref2 = gaussmix.BayesianGaussianMixture(**p2).fit(
            data, sample_weight=weights, init_labels=labels)
        g2 = gd.BayesianGaussianMixture(**p2).fit(Xd, sample_weight=weights, init_labels=labels)
        assert_same_fit(g2, ref2)
        assert_close(g2.weight_concentration_, ref2.weight_concentration_)
        # Its own start (k-means on a sample) reaches the in-memory optimum.
        g3 = gd.BayesianGaussianMixture(n_components=2 * K, random_state=0, max_iter=300).fit(Xd)
        best = gaussmix.BayesianGaussianMixture(n_components=2 * K, random_state=0,
                                                max_iter=300).fit(data)
        assert g3.converged_ and g3.effective_components(0.01) == best.effective_components(0.01)
        # (The bound depends on the components' order along the stick, which each start
        # leaves differently.)
        np.testing.assert_allclose(g3.lower_bound_, best.lower_bound_, rtol=1e-3)
