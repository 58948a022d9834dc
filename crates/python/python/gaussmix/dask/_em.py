"""The EM loop over the workers: ``n_init`` runs of E-steps on the chunks (merged in a fixed
tree) and M-steps on the client, each stopped when its lower bound changes by less than
``tol``, the run with the highest final lower bound kept.

It restates the engine's driver (convergence, best of ``n_init``); it lives apart so that a
driver API of the engine can replace it without touching the estimators.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .. import _core
from ._tasks import _estep, _merge_stats

logger = logging.getLogger("gaussmix.dask")

#: What the E-step reads of a model, broadcast to the workers once per iteration.
_ESTEP_KEYS = ("covariance_type", "weights", "means", "precisions_cholesky")


def em(data, start, n_init, *, reg_covar, max_iter, tol, n_threads, verbose=0,
       verbose_interval=10):
    """Runs EM ``n_init`` times over ``data`` (a ``_Data``); ``start(i)`` gives run ``i``'s
    initial ``(params, lower_bound)`` (``-inf`` for a fresh start).

    Returns the kept run as a model dict (``weights``, ``means``, ``precisions_cholesky``,
    ``covariances``, ``converged``, ``n_iter``, ``lower_bound``, ``lower_bounds``).
    """
    max_lb = -math.inf
    best = None
    for init in range(n_init):
        t_init = time.perf_counter()
        params, lower_bound = start(init)
        if verbose:
            print(f"Initialization {init}")
        if max_iter == 0:
            best = (params, 0, [], False)
            continue
        lower_bounds, converged, n_iter = [], False, 0
        t_prev = time.perf_counter()
        for it in range(1, int(max_iter) + 1):
            n_iter = it
            prev = lower_bound
            model = {key: params[key] for key in _ESTEP_KEYS}
            total = data.reduce(
                "estep", _estep, _merge_stats, data.broadcast(model, "params"), n_threads
            )
            params = _core.m_step(total, float(reg_covar))
            lower_bound = float(params["lower_bound"])
            lower_bounds.append(lower_bound)
            change = lower_bound - prev
            now = time.perf_counter()
            logger.info(
                "init %d iteration %d  lower bound %.12g  change %.6g  %.3f s",
                init, it, lower_bound, change, now - t_prev,
            )
            if verbose and it % verbose_interval == 0:
                if verbose == 1:
                    print(f"  Iteration {it}")
                else:
                    print(
                        f"  Iteration {it}\t time lapse {now - t_prev:.5f}s\t "
                        f"ll change {change:.5f}"
                    )
            t_prev = now
            if abs(change) < tol:
                converged = True
                break
        if verbose:
            msg = "converged" if converged else "did not converge"
            if verbose == 1:
                print(f"Initialization {msg}.")
            else:
                print(
                    f"Initialization {msg}.\t time lapse "
                    f"{time.perf_counter() - t_init:.5f}s\t lower bound {lower_bound:.5f}."
                )
        if lower_bound > max_lb or max_lb == -math.inf:
            max_lb = lower_bound
            best = (params, n_iter, lower_bounds, converged)

    params, n_iter, lower_bounds, converged = best
    return {
        "covariance_type": params["covariance_type"],
        "weights": params["weights"],
        "means": params["means"],
        "precisions_cholesky": params["precisions_cholesky"],
        "covariances": params.get("covariances"),
        "converged": converged,
        "n_iter": n_iter,
        "lower_bound": max_lb,
        "lower_bounds": np.asarray(lower_bounds, dtype=np.float64),
    }
