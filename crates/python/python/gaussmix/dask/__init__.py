"""``gaussmix.dask``: Gaussian mixtures and k-means fitted on a Dask cluster.

``GaussianMixture``, ``BayesianGaussianMixture`` and ``KMeans`` take the parameters of the
in-memory estimators (``gaussmix.GaussianMixture``, ``gaussmix.BayesianGaussianMixture``,
``gaussmix.KMeans``) and fit data that live on the workers:

- a row-chunked ``dask.array`` (column chunks are merged), or
- a list of ``.npy`` file pieces: a path (the whole file, split into the fewest pieces of at
  most ``PIECE_BYTES``, of equal sizes), or ``(path, (start, stop))`` /
  ``(path, range(start, stop))`` (those rows, one task).
  Each task receives only the path and the row range and memory-maps the file itself
  (``np.load(path, mmap_mode="r")``): no array and no memmap goes through the scheduler.

Per-row values, ``fit(X, sample_weight=w)`` (and the mixtures' ``init_labels``), are given as:

- a NumPy array (or a number, for weights) of one value per row: sliced per chunk, each slice
  shipped with its chunk's tasks (in every graph: for large data give a Dask array or files);
- a 1-D Dask array with as many rows as X (rechunked to X's row chunks); or
- ``.npy`` file pieces of 1-D arrays (the same forms as X's: a path, ``(path, (start,
  stop))``, ``(path, range(start, stop))``), whose rows, in order, are the data's rows in order:
  one weights file for all the data's pieces, one per data file, or cut elsewhere. Each task
  memory-maps the segments holding its rows.

Weights are checked on the workers before the fit (finite and non-negative, the first bad one
named by its global row; not all zero: one pass over the weights alone); a chunk whose weights
are all zero adds nothing to a statistic. The fit equals the in-memory weighted fit.

A mixture is fitted by the engine's own driver (``_core.gmm_fit_source``,
``_core.bgmm_fit_source``: the ``n_init`` runs, the initial estimate and the given
``weights_init`` / ``means_init`` / ``precisions_init``, the M-steps, the stopping rule, the
best run, warm start, exactly as in memory), which asks for each statistic it needs; each is
one Dask graph: the current parameters are one node of it (computed once, fetched by each
worker that needs it: the broadcast), every chunk's partial statistics are computed on the
workers by the Rust kernel (``gaussmix.stats``, centred on the broadcast means; a Bayesian
mixture's under its variational constants), merged pairwise in a fixed tree by chunk index (so
the result does not depend on which worker finishes first), and the merged statistics come back
to the driver on the client. Lloyd's iterations for k-means are the same kind of graph
(per-cluster sums and counts). Nothing is kept on the
workers between iterations: a worker that dies is replaced and Dask recomputes its tasks from
the graph, with the same result.

The fitted estimator is an ordinary in-memory one as well (``model_``): ``predict``,
``predict_proba``, ``score_samples`` and ``transform`` take NumPy arrays (computed locally) or
Dask arrays (computed chunk-wise on the workers, returned as Dask arrays).

Tasks run with ``n_threads`` threads each (default 1: Dask's parallelism is across tasks, as
its nannies set ``OMP_NUM_THREADS=1``); the client's own work (k-means on the initialisation
sample, predictions on NumPy arrays) uses ``n_threads`` (default: every core).

Progress is logged per iteration on the logger ``"gaussmix.dask"`` (level INFO: iteration,
lower bound or inertia, change, seconds) and printed with ``verbose``.

The package, by job:

- ``_pieces``: ``.npy`` file pieces (parsing, splitting, headers) and ``npy_pieces``/``from_npy``;
- ``_tasks``: the functions the workers run (one per chunk, and the merges);
- ``_data``: the data of a fit on the workers (its parts, map/merge-tree/reduce, samples);
- ``_lloyd``: Lloyd's algorithm over the workers;
- ``_init``: the mixtures' initial statistics (the driver's ``initial_statistics``);
- ``_em``: the driver's other callbacks (E-step, the data's statistics, progress);
- ``_base``, ``_mixture``, ``_cluster``: the estimators.
"""

try:
    import dask  # noqa: F401
    import dask.array  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised without dask
    raise ImportError(
        "gaussmix.dask needs Dask: pip install 'gaussmix[dask]' "
        "(dask[array] and distributed)"
    ) from e

from ._base import INIT_SAMPLE_ROWS
from ._cluster import KMeans
from ._mixture import BayesianGaussianMixture, GaussianMixture
from ._pieces import PIECE_BYTES, from_npy, npy_pieces

__all__ = [
    "GaussianMixture",
    "BayesianGaussianMixture",
    "KMeans",
    "from_npy",
    "npy_pieces",
    "INIT_SAMPLE_ROWS",
    "PIECE_BYTES",
]

# The public classes live in submodules; they keep the names (and pickles) of this package.
GaussianMixture.__module__ = BayesianGaussianMixture.__module__ = KMeans.__module__ = __name__
