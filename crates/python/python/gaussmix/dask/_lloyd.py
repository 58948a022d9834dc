"""Lloyd's algorithm over the workers (k-means, and the mixture's k-means initialisation)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ._tasks import _farthest, _kmeans_step, _merge_farthest, _merge_kmeans

logger = logging.getLogger("gaussmix.dask")


def _lloyd(data, centers, max_iter, tol, n_threads, verbose=0, what="k-means"):
    """Lloyd's algorithm over all rows (weighted by the data's sample weights, if any), from
    ``centers``, with the in-memory k-means' rules (data centred on their column means, the
    scale of ``tol`` unweighted; a cluster without weight takes one of the rows farthest from
    their centres with its weight, unless every row sits on its centre, and one still without
    weight takes the heaviest cluster's centre; stop when no label changes or the centres move
    less than ``tol`` times the mean feature variance).

    Returns ``(centers, inertia, n_iter, converged, counts)``.
    """
    _, offset, mean_var = data.moments()
    tol_abs = 0.0 if tol == 0 else tol * mean_var
    c_int = np.asarray(centers, dtype=np.float64) - offset
    previous = None
    converged = reuse = False
    n_iter = 0
    step = None
    for it in range(int(max_iter)):
        t0 = time.perf_counter()
        n_iter = it + 1
        ext = c_int + offset
        step = data.reduce(
            "lloyd", _kmeans_step, _merge_kmeans, data.broadcast(ext, "centers"), offset,
            n_threads, sides=("w",),
        )
        sums, counts = step["sums"].copy(), step["counts"].copy()
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            far = data.reduce(
                "farthest",
                _farthest,
                _merge_farthest,
                data.broadcast(ext, "centers"),
                int(empty.size),
                offset,
                n_threads,
                per_part=list(data.starts),
                merge_args=(int(empty.size),),
                sides=("w",),
            )
            if far[1].size and far[1][0] > 0:  # some row is off its centre
                for c, i_old, row, w in zip(empty, far[2], far[3], far[4]):
                    v = (row - offset) * w if data.weighted else row - offset
                    sums[i_old] -= v
                    sums[c] = v
                    counts[c] = w
                    counts[i_old] -= w
        shift = _average(c_int, sums, counts)
        dt = time.perf_counter() - t0
        logger.info(
            "%s iteration %d  inertia %.10g  centre shift %.3e  (%d empty)  %.3f s",
            what, n_iter, step["inertia"], shift, empty.size, dt,
        )
        if verbose:
            print(f"Iteration {it}, inertia {step['inertia']}.")
        if previous == step["fingerprint"]:
            # No label changed (the in-memory "strict convergence"): the centres are those of
            # the last pass, unless an empty cluster was just re-seeded.
            converged, reuse = True, not empty.size
            if verbose:
                print(f"Converged at iteration {it}: strict convergence.")
            break
        previous = step["fingerprint"]
        if shift <= tol_abs:
            converged = True
            if verbose:
                print(
                    f"Converged at iteration {it}: center shift {shift} within tolerance "
                    f"{tol_abs}."
                )
            break
    final = c_int + offset
    if not reuse:
        # One more pass for the inertia and the cluster sizes under the final centres.
        step = data.reduce(
            "lloyd-final", _kmeans_step, _merge_kmeans, data.broadcast(final, "centers"), offset,
            n_threads, sides=("w",),
        )
    return final, float(step["inertia"]), n_iter, converged, step["counts"]



def _average(c_int, sums, counts):
    """The new centres from a pass's sums, in place (scikit-learn's ``_average_centers``, as
    the engine computes it): ``sums / counts``; a cluster without weight takes the heaviest
    cluster's centre as it stands when its turn comes. Returns the centres' summed squared
    movement."""
    k = len(counts)
    heaviest = int(np.argmax(counts))
    new = sums.copy()
    shift = 0.0
    for c in range(k):
        if counts[c] > 0:
            new[c] = new[c] * (1.0 / counts[c])
        else:
            new[c] = new[heaviest]
        delta = new[c] - c_int[c]
        shift += float(np.dot(delta, delta))
    c_int[:] = new
    return shift
