"""The mixtures' initial statistics on the workers (see ``GaussianMixture``'s docstring): what
the engine's driver asks for at the start of each run (``initial_statistics(init)``), the
statistics of all rows under the run's initial responsibilities. The driver turns them into
the initial parameters (weights ``N_k / sum w``, means, covariances) and puts the given
``weights_init`` / ``means_init`` / ``precisions_init`` in, as in memory."""

from __future__ import annotations

import numpy as np

from ..cluster import KMeans as _KMeans
from ..mixture import GaussianMixture as _GaussianMixture
from ._base import _sample_size
from ._lloyd import _lloyd
from ._tasks import _init_stats, _merge_stats

_EPS10 = 10.0 * np.finfo(np.float64).eps


class Initializer:
    """``initial_statistics(init)`` of a mixture estimator's fit over ``data``: from the rows'
    initial labels (``init_labels``, two passes as in memory: the means, then every statistic
    about them), or from ``est.init_params`` with ``rng`` (one pass; the sample gathered to
    the client once, for the first run that needs it)."""

    def __init__(self, est, data, rng, labels=False):
        self.est, self.data, self.rng, self.labels = est, data, rng, labels
        self.sample = None

    def __call__(self, init):
        if self.labels:
            return self._from_labels()
        how = self.est.init_params
        if how != "random" and self.sample is None:
            n, k = self.data.n, int(self.est.n_components)
            self.sample = self.data.sample(min(n, _sample_size(self.est, k)), self.rng)
        return self._from_init_params(how)

    def _reduce(self, shift, kind, payload):
        data, est = self.data, self.est
        return data.reduce(
            "init",
            _init_stats,
            _merge_stats,
            data.broadcast(np.ascontiguousarray(shift, dtype=np.float64), "shift"),
            est.covariance_type,
            kind,
            data.broadcast(payload, "init"),
            est.n_threads,
            per_part=list(data.starts),
            sides=("w", "labels"),
        )

    def _from_labels(self):
        k, d = int(self.est.n_components), self.data.d
        first = self._reduce(np.zeros((k, d)), "labels", None)
        means = first["s1"] / (first["nk"] + _EPS10)[:, None]
        return self._reduce(means, "labels", None)

    def _from_init_params(self, how):
        est, data, rng = self.est, self.data, self.rng
        k = int(est.n_components)
        if how == "random":
            # The shift only has to be near the data for accuracy: the mean of a small sample.
            _, rows, _ = data.sample(min(data.n, 1000), rng)
            shift = np.repeat(rows.mean(axis=0)[None], k, axis=0)
            return self._reduce(shift, "random", int(rng.integers(2**63 - 1)))
        idx, rows, w = self.sample
        weighted = data.weighted
        sw = w if weighted else None
        if weighted and np.count_nonzero(w) < k:
            raise ValueError(
                f"{data.who}: the {len(w)} rows gathered for the {how!r} initialisation hold "
                f"{np.count_nonzero(w)} of positive weight, fewer than n_components = {k}; "
                "raise init_sample_size, or start from init_labels or given means_init"
            )
        sub_seed = int(rng.integers(np.iinfo(np.int32).max))
        if how == "kmeans":
            c0 = _KMeans(
                k, init="k-means++", n_init=1, random_state=sub_seed, n_threads=est.n_threads
            ).fit(rows, sample_weight=sw).cluster_centers_
            centers = _lloyd(data, c0, 300, 1e-4, est.n_threads, what="init k-means")[0]
            return self._reduce(centers, "nearest", centers)
        if how == "k-means++":
            # The engine's k-means++ seeding on the sample (drawing by w D² with weights): an
            # initialisation-only in-memory fit, whose means are the chosen rows (to rounding);
            # each is mapped back to its row.
            g = _GaussianMixture(
                k, covariance_type="diag", init_params="k-means++", max_iter=0,
                random_state=sub_seed, n_threads=est.n_threads,
            ).fit(rows, sample_weight=sw)
            chosen = np.array([np.argmin(((rows - m) ** 2).sum(axis=1)) for m in g.means_])
        else:  # random_from_data: distinct rows, drawn by weight with weights
            p = None if sw is None else sw / sw.sum()
            chosen = rng.choice(len(rows), size=k, replace=False, p=p)
        return self._reduce(rows[chosen], "rows", idx[chosen])
