"""gaussmix.BayesianGaussianMixture: scikit-learn's numbers from the same initial labels, its
attributes and methods, to_sklearn, model files."""

import json
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import BayesianGaussianMixture, ConvergenceWarning, KMeans

from .conftest import dataset

sklearn = pytest.importorskip("sklearn")
from sklearn.mixture import BayesianGaussianMixture as SkBGMM  # noqa: E402

TYPES = ["full", "tied", "diag", "spherical"]
PRIORS = ["dirichlet_process", "dirichlet_distribution"]
RTOL = 1e-9


def sk_from_labels(X, labels, **params):
    """scikit-learn's fit started from the labels' one-hot responsibilities (its
    ``_initialize(X, resp)``, which its k-means start calls), as the repository's fixtures
    are made (tests/fixtures/make_bayesian_fixtures.py)."""
    g = SkBGMM(**params)
    resp = np.zeros((X.shape[0], params["n_components"]))
    resp[np.arange(X.shape[0]), labels] = 1.0
    g._initialize_parameters = lambda X, random_state, xp=None: g._initialize(X, resp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        return g.fit(X)


def close(a, b, what, rtol=RTOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    atol = rtol * max(np.max(np.abs(b)), 1e-300)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
              "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
              "lower_bounds_", "lower_bound_")


def compare(ours, theirs, X):
    for name in ATTRIBUTES:
        close(getattr(ours, name), np.ravel(getattr(theirs, name)).reshape(
            np.shape(getattr(ours, name))), name)
    wc_o, wc_t = ours.weight_concentration_, theirs.weight_concentration_
    assert isinstance(wc_o, tuple) == isinstance(wc_t, tuple)
    close(wc_o, wc_t, "weight_concentration_")
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):
        close(getattr(ours, name), getattr(theirs, name), name)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    close(ours.predict_proba(X), theirs.predict_proba(X), "predict_proba")
    close(ours.score_samples(X), theirs.score_samples(X), "score_samples")
    close(ours.score(X), theirs.score(X), "score")


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("t", TYPES)
@pytest.mark.parametrize("name,k", [("blobs", 6), ("blobs32", 8)])
def test_same_labels_same_fit_as_sklearn(name, k, t, prior):
    X = dataset(name)
    labels = KMeans(k, random_state=0).fit(X).labels_
    params = dict(n_components=k, covariance_type=t, weight_concentration_prior_type=prior,
                  max_iter=25, tol=0.0)
    theirs = sk_from_labels(X, labels, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(**params).fit(X, init_labels=labels)
    compare(ours, theirs, X)


@pytest.mark.parametrize("t", TYPES)
def test_given_priors_and_convergence(t):
    X = dataset("stretched")
    d = X.shape[1]
    labels = KMeans(5, random_state=0).fit(X).labels_
    cov = {"full": 2.0 * np.eye(d) + 0.5, "tied": np.diag([1.0, 3.0]),
           "diag": np.array([0.5, 2.0]), "spherical": 1.5}[t]
    params = dict(n_components=5, covariance_type=t, weight_concentration_prior=0.01,
                  mean_precision_prior=0.5, mean_prior=[1.0, -1.0], degrees_of_freedom_prior=3.5,
                  covariance_prior=cov, max_iter=200, tol=1e-6)
    theirs = sk_from_labels(X, labels, **params)
    ours = BayesianGaussianMixture(**params).fit(X, init_labels=labels)
    assert ours.converged_
    compare(ours, theirs, X)


def test_attributes_methods_and_to_sklearn():
    X = dataset("moons")
    g = BayesianGaussianMixture(n_components=16, random_state=0, max_iter=500).fit(X)
    assert isinstance(g.weight_concentration_, tuple) and len(g.weight_concentration_) == 2
    assert g.weights_.shape == (16,) and g.means_.shape == (16, 2)
    assert g.covariances_.shape == (16, 2, 2) and g.degrees_of_freedom_.shape == (16,)
    assert isinstance(g.lower_bound_, float) and len(g.lower_bounds_) == g.n_iter_
    assert 1 <= g.effective_components() < 16  # a Dirichlet process leaves components unused
    np.testing.assert_allclose(g.weights_.sum(), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(g.fit_predict(X), g.predict(X))
    sk = g.to_sklearn()
    assert isinstance(sk, SkBGMM)
    np.testing.assert_array_equal(sk.predict(X), g.predict(X))
    close(sk.predict_proba(X), g.predict_proba(X), "predict_proba", 1e-12)
    close(sk.score_samples(X), g.score_samples(X), "score_samples", 1e-12)
    Xs, ys = g.sample(50)
    assert Xs.shape == (50, 2) and ys.shape == (50,)
    t = BayesianGaussianMixture(n_components=3, covariance_type="tied",
                                weight_concentration_prior_type="dirichlet_distribution",
                                random_state=0).fit(X)
    assert isinstance(t.degrees_of_freedom_, float) and t.weight_concentration_.shape == (3,)
    s = BayesianGaussianMixture(n_components=3, covariance_type="spherical", max_iter=500).fit(X)
    assert isinstance(s.covariance_prior_, float)
    for est in (t, s):
        close(est.to_sklearn().score_samples(X), est.score_samples(X), "to_sklearn", 1e-12)
    # Predictions use the variational posterior, as scikit-learn's: editing it changes them.
    edited = BayesianGaussianMixture(n_components=16, random_state=0, max_iter=500).fit(X)
    edited.degrees_of_freedom_ = edited.degrees_of_freedom_ * 3
    sk_edited = edited.to_sklearn()
    close(edited.score_samples(X), sk_edited.score_samples(X), "edited", 1e-12)
    assert not np.allclose(edited.score_samples(X), g.score_samples(X))


def test_warm_start_continues_the_fit():
    X = dataset("blobs")
    labels = KMeans(4, random_state=0).fit(X).labels_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = BayesianGaussianMixture(n_components=4, max_iter=3, tol=0, warm_start=True)
        w.fit(X, init_labels=labels)
        first = list(w.lower_bounds_)
        w.fit(X)
        six = BayesianGaussianMixture(n_components=4, max_iter=6, tol=0).fit(
            X, init_labels=labels)
    close(first + list(w.lower_bounds_), six.lower_bounds_, "lower_bounds_", 1e-12)
    close(w.means_, six.means_, "means_", 1e-12)


def test_parameter_errors():
    X = dataset("blobs")
    for params, msg in [
        (dict(weight_concentration_prior=0.0), "weight_concentration_prior"),
        (dict(weight_concentration_prior_type="dirichlet"), "weight_concentration_prior_type"),
        (dict(mean_prior=[0.0, 0.0, 0.0]), "means"),
        (dict(degrees_of_freedom_prior=0.5), "degrees_of_freedom_prior"),
        (dict(covariance_prior=np.eye(3)), "covariance_prior"),
        (dict(covariance_prior=-np.eye(2)), "covariance_prior"),
        (dict(covariance_type="diag", covariance_prior=[1.0, -1.0]), "covariance_prior"),
    ]:
        with pytest.raises(ValueError, match=msg):
            BayesianGaussianMixture(n_components=2, **params).fit(X)


def fitted(t, prior):
    X = dataset("blobs")
    return X, BayesianGaussianMixture(n_components=4, covariance_type=t,
                                      weight_concentration_prior_type=prior,
                                      random_state=0).fit(X)


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("t", TYPES)
def test_model_file_layout_and_round_trip(tmp_path, t, prior):
    X, g = fitted(t, prior)
    path = tmp_path / "bgmm.json"
    gaussmix.save_model(g, path)
    obj = json.loads(path.read_text())
    k, d = 4, 2
    assert obj["kind"] == "bayesian_gaussian_mixture"
    assert set(obj) == {
        "format", "version", "kind", "covariance_type", "n_components", "n_features", "weights",
        "means", "covariances", "precisions_cholesky", "converged", "n_iter", "lower_bound",
        "lower_bounds", "weight_concentration_prior_type", "weight_concentration",
        "mean_precision", "degrees_of_freedom", "weight_concentration_prior",
        "mean_precision_prior", "degrees_of_freedom_prior", "mean_prior", "covariance_prior"}
    assert obj["weight_concentration_prior_type"] == prior
    wc = np.asarray(obj["weight_concentration"])
    assert wc.shape == ((2, k) if prior == "dirichlet_process" else (k,))
    assert np.shape(obj["mean_precision"]) == (k,)
    assert np.shape(obj["degrees_of_freedom"]) == (() if t == "tied" else (k,))
    assert np.shape(obj["mean_prior"]) == (d,)
    assert np.shape(obj["covariance_prior"]) == {"full": (d, d), "tied": (d, d), "diag": (d,),
                                                 "spherical": ()}[t]
    for key in ("weight_concentration_prior", "mean_precision_prior",
                "degrees_of_freedom_prior", "lower_bound"):
        assert isinstance(obj[key], float)
    back = gaussmix.load_model(path, n_threads=1)
    assert type(back) is BayesianGaussianMixture and back.n_threads == 1
    for name in ATTRIBUTES:
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name), err_msg=name)
    np.testing.assert_array_equal(back.predict_proba(X), g.predict_proba(X))
    np.testing.assert_array_equal(back.score_samples(X), g.score_samples(X))
    # scikit-learn's fitted estimator is written the same way.
    gaussmix.save_model(g.to_sklearn(), tmp_path / "sk.json")
    assert json.loads((tmp_path / "sk.json").read_text()) == obj


def test_model_file_errors(tmp_path):
    X, g = fitted("full", "dirichlet_process")
    path = tmp_path / "m.json"
    gaussmix.save_model(g, path)
    good = json.loads(path.read_text())

    def load(**changes):
        obj = {**good, **changes}
        for key, v in list(obj.items()):
            if v is KeyError:
                del obj[key]
        path.write_text(json.dumps(obj))
        return gaussmix.load_model(path)

    w = list(good["weights"])
    w[0] += 1e-6
    w[1] -= 1e-6
    cases = [
        (dict(weights=w), "weights.*differ from those"),
        (dict(weight_concentration=good["weight_concentration"][0]), "weight_concentration"),
        (dict(weight_concentration_prior_type="dirichlet"), "weight_concentration_prior_type"),
        (dict(mean_precision=[1.0, 2.0]), "mean_precision"),
        (dict(degrees_of_freedom=3.0), "degrees_of_freedom"),
        (dict(mean_precision_prior=-1.0), "mean_precision_prior"),
        (dict(covariance_prior=1.0), "covariance_prior"),
        (dict(mean_prior=KeyError), "mean_prior"),
        (dict(degrees_of_freedom=[0.5] * 4), "degree"),
    ]
    for changes, msg in cases:
        with pytest.raises(ValueError, match=f"invalid model file .*{msg}"):
            load(**changes)
    # Covariances that contradict the precision Cholesky factors.
    pc = np.asarray(good["precisions_cholesky"])
    with pytest.raises(ValueError, match="describe different models"):
        load(precisions_cholesky=(pc * 1.5).tolist())
    # Weights equal to the concentrations' to rounding are accepted.
    w = list(good["weights"])
    w[0] += 1e-12
    assert type(load(weights=w)) is BayesianGaussianMixture


def test_the_command_line_reads_and_writes_the_same_bayesian_files(tmp_path):
    """The CLI's `fit --bayesian` file read here, ours read by its `predict`: the same layout,
    and from the same labels and weights the same model."""
    import subprocess

    from .conftest import repo_cli

    cli = repo_cli()
    if cli is None:
        pytest.skip("no gaussmix binary built (cargo build --release) and GAUSSMIX_CLI unset")
    X = dataset("blobs")
    labels = KMeans(4, random_state=0).fit(X).labels_
    w = np.random.RandomState(3).randint(0, 3, size=len(X)).astype(np.float64)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "labels.npy", labels.astype(np.int64))
    np.save(tmp_path / "w.npy", w)
    for t, prior in (("full", "dirichlet-process"), ("tied", "dirichlet-distribution"),
                     ("spherical", "dirichlet-process")):
        out = tmp_path / f"cli-{t}.json"
        subprocess.run(
            [cli, "fit", str(tmp_path / "x.npy"), "-k", "4", "--covariance", t,
             "--bayesian", prior, "--init-labels", str(tmp_path / "labels.npy"),
             "--sample-weight", str(tmp_path / "w.npy"), "--quiet", "-o", str(out)],
            check=True,
        )
        theirs = gaussmix.load_model(out)
        assert type(theirs) is BayesianGaussianMixture
        ours = BayesianGaussianMixture(
            n_components=4, covariance_type=t,
            weight_concentration_prior_type=prior.replace("-", "_"),
        ).fit(X, sample_weight=w, init_labels=labels)
        for name in ATTRIBUTES:
            close(getattr(theirs, name), getattr(ours, name), name, 1e-12)
        close(theirs.weight_concentration_, ours.weight_concentration_, "wc", 1e-12)
        # Ours through the CLI's predict.
        gaussmix.save_model(ours, tmp_path / "py.json")
        subprocess.run(
            [cli, "predict", str(tmp_path / "py.json"), str(tmp_path / "x.npy"),
             "-o", str(tmp_path / "pred.npy")],
            check=True,
        )
        np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), ours.predict(X))
