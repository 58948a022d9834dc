"""scikit-learn's estimator checks (scikit-learn's own test of API compatibility)."""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from gaussmix import GaussianMixture, KMeans  # noqa: E402

# Checks deliberately skipped, per estimator, with the reason (see README.md). Empty: every
# check scikit-learn runs for these estimators passes.
EXPECTED_FAILED_CHECKS = {"GaussianMixture": {}, "KMeans": {}}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [
        GaussianMixture(),
        GaussianMixture(n_components=2, covariance_type="diag", n_init=2, max_iter=5),
        GaussianMixture(covariance_type="tied", init_params="random_from_data"),
        GaussianMixture(covariance_type="spherical", n_threads=1),
        KMeans(),
        KMeans(n_clusters=2, n_init=2, max_iter=5, init="random"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
