"""Shared fixtures: the lesson's data and scikit-learn's committed reference fixtures."""

import json
import os
import pathlib

# scikit-learn runs its array API estimator check (with NumPy) only when SciPy's array API
# support is on, which must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
# The repository's scikit-learn fixtures (tests/fixtures/sklearn/*.json at the project root).
FIXTURES = HERE.parent.parent.parent / "tests" / "fixtures" / "sklearn"


def fixture(name):
    path = FIXTURES / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} is not there (run from a clone of the repository)")
    with open(path) as f:
        return json.load(f)


def dataset(name):
    """X of a committed data fixture, or made with scikit-learn as the fixture says."""
    path = FIXTURES / f"data_{name}.json"
    if path.exists():
        with open(path) as f:
            return np.asarray(json.load(f)["X"], dtype=np.float64)
    datasets = pytest.importorskip("sklearn.datasets")
    if name == "blobs":
        X, _ = datasets.make_blobs(
            n_samples=400, centers=4, cluster_std=0.60, random_state=0
        )
        return np.ascontiguousarray(X[:, ::-1])
    if name == "stretched":
        X = dataset("blobs")
        return np.dot(X, np.random.RandomState(13).randn(2, 2))
    if name == "moons":
        return datasets.make_moons(200, noise=0.05, random_state=0)[0]
    if name == "blobs32":
        return datasets.make_blobs(
            n_samples=600, n_features=32, centers=5, cluster_std=8.0, random_state=7
        )[0]
    raise KeyError(name)


@pytest.fixture
def blobs():
    return dataset("blobs")


def repo_cli():
    """The gaussmix command-line binary if one was built in the repository, else None."""
    env = os.environ.get("GAUSSMIX_CLI")
    if env:
        return env
    root = HERE.parent.parent.parent
    for sub in ("release", "debug"):
        p = root / "target" / sub / "gaussmix"
        if p.exists():
            return str(p)
    return None
