"""Type stubs of the private extension module ``gaussmix._core`` (src/*.rs).

``X`` is any 2-D array-like: float32/float64 row-major arrays are read in place, anything else
is converted. A "model" dict has ``covariance_type``, ``weights`` (K,), ``means`` (K, d) and
``precisions_cholesky`` and/or ``covariances``, optionally ``converged``, ``n_iter``,
``lower_bound``, ``lower_bounds``, and ``variational_constants`` (K,) (a Bayesian mixture's
E-step). A Bayesian model dict (``bgmm_*``) has every fitted attribute of scikit-learn's
``BayesianGaussianMixture`` without the underscore (see src/bayes.rs). ``sample_weight`` is one
weight per row. Every engine error is a ValueError. The GIL is released
while the engine runs.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str
CONVERGENCE_WARNING: str
BLOCK_ROWS: int

Model = dict[str, Any]
Stats = dict[str, Any]

def _data_pointer(x: npt.ArrayLike) -> int: ...
def _last_data_pointer() -> int: ...
def gmm_fit(
    x: npt.ArrayLike,
    *,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init_params: str = "kmeans",
    weights_init: npt.ArrayLike | None = None,
    means_init: npt.ArrayLike | None = None,
    precisions_init: npt.ArrayLike | None = None,
    warm_start: Model | None = None,
    seed: int = 0,
    n_threads: int | None = None,
    on_degenerate: str = "error",
    return_labels: bool = False,
    sample_weight: npt.ArrayLike | None = None,
    init_labels: npt.ArrayLike | None = None,
    precision: str = "auto",
) -> Model: ...
def bgmm_fit(
    x: npt.ArrayLike,
    *,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init_params: str = "kmeans",
    weight_concentration_prior_type: str = "dirichlet_process",
    weight_concentration_prior: float | None = None,
    mean_precision_prior: float | None = None,
    mean_prior: npt.ArrayLike | None = None,
    degrees_of_freedom_prior: float | None = None,
    covariance_prior: npt.ArrayLike | float | None = None,
    warm_start: Model | None = None,
    seed: int = 0,
    n_threads: int | None = None,
    return_labels: bool = False,
    sample_weight: npt.ArrayLike | None = None,
    init_labels: npt.ArrayLike | None = None,
) -> Model: ...
def bgmm_check(model: Model) -> Model: ...

# The engine's driver over statistics computed by Python callables (src/source.rs).
def gmm_fit_source(
    n_features: int,
    initial_statistics: Callable[[int], Stats],
    e_step: Callable[[Model], Stats],
    *,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init_params: str = "kmeans",
    weights_init: npt.ArrayLike | None = None,
    means_init: npt.ArrayLike | None = None,
    precisions_init: npt.ArrayLike | None = None,
    warm_start: Model | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    phase: Callable[[str, int], None] | None = None,
) -> Model: ...
def bgmm_fit_source(
    n_features: int,
    initial_statistics: Callable[[int], Stats],
    e_step: Callable[[Model], Stats],
    data_statistics: Callable[[str, np.ndarray], Stats] | None = None,
    *,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init_params: str = "kmeans",
    weight_concentration_prior_type: str = "dirichlet_process",
    weight_concentration_prior: float | None = None,
    mean_precision_prior: float | None = None,
    mean_prior: npt.ArrayLike | None = None,
    degrees_of_freedom_prior: float | None = None,
    covariance_prior: npt.ArrayLike | float | None = None,
    warm_start: Model | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    phase: Callable[[str, int], None] | None = None,
) -> Model: ...
def gmm_check(model: Model, prefer: str = "precisions_cholesky") -> Model: ...
def gmm_predict(model: Model, x: npt.ArrayLike, n_threads: int | None = None) -> np.ndarray: ...
def gmm_predict_proba(
    model: Model, x: npt.ArrayLike, n_threads: int | None = None
) -> np.ndarray: ...
def gmm_score_samples(
    model: Model, x: npt.ArrayLike, n_threads: int | None = None
) -> np.ndarray: ...
def gmm_score(
    model: Model,
    x: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None = None,
    n_threads: int | None = None,
) -> tuple[float, float]: ...
def gmm_sample(model: Model, n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]: ...
def gmm_n_parameters(covariance_type: str, n_components: int, n_features: int) -> int: ...
def sufficient_statistics(
    model: Model,
    x: npt.ArrayLike,
    n_threads: int | None = None,
    sample_weight: npt.ArrayLike | None = None,
) -> Stats: ...
def merge_statistics(a: Stats, b: Stats) -> Stats: ...
def m_step(stats: Stats, reg_covar: float = 1e-6) -> Model: ...
def kmeans_fit(
    x: npt.ArrayLike,
    *,
    n_clusters: int,
    init: str | npt.ArrayLike | None = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    n_threads: int | None = None,
    sample_weight: npt.ArrayLike | None = None,
    precision: str = "auto",
) -> dict[str, Any]: ...
def kmeans_predict(
    centers: npt.ArrayLike,
    x: npt.ArrayLike,
    n_threads: int | None = None,
    precision: str = "auto",
) -> np.ndarray: ...
def kmeans_transform(
    centers: npt.ArrayLike,
    x: npt.ArrayLike,
    n_threads: int | None = None,
    precision: str = "auto",
) -> np.ndarray: ...
def kmeans_inertia(
    centers: npt.ArrayLike,
    x: npt.ArrayLike,
    n_threads: int | None = None,
    sample_weight: npt.ArrayLike | None = None,
    precision: str = "auto",
) -> float: ...

# Per-chunk kernels of the distributed fits (src/partial.rs, used by gaussmix.dask).
def kmeans_partial(
    centers: npt.ArrayLike,
    x: npt.ArrayLike,
    offset: npt.ArrayLike,
    n_threads: int | None = None,
    sample_weight: npt.ArrayLike | None = None,
) -> dict[str, Any]: ...
def kmeans_farthest(
    centers: npt.ArrayLike,
    x: npt.ArrayLike,
    n: int,
    offset: npt.ArrayLike,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def column_moments(
    x: npt.ArrayLike, n_threads: int | None = None
) -> tuple[int, np.ndarray, np.ndarray]: ...
def responsibility_statistics(
    x: npt.ArrayLike,
    shift: npt.ArrayLike,
    covariance_type: str,
    labels: npt.ArrayLike | None = None,
    resp: npt.ArrayLike | None = None,
    n_threads: int | None = None,
    sample_weight: npt.ArrayLike | None = None,
) -> Stats: ...
