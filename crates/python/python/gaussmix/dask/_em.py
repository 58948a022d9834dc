"""EM over the workers through the engine's driver (``_core.gmm_fit_source`` and
``_core.bgmm_fit_source``): the driver runs the fit (``n_init`` runs, the initial estimate
with the given ``weights_init`` / ``means_init`` / ``precisions_init``, the M-steps, the
stopping rule, the best run kept, warm start) and asks for statistics, which the callbacks
here compute on the workers, one Dask graph each (chunks' statistics merged pairwise in chunk
order), and return to it. Progress is logged and printed as each iteration ends.
"""

from __future__ import annotations

import logging
import time

from ._tasks import _data_stats, _estep, _merge_stats

logger = logging.getLogger("gaussmix.dask")

#: What the E-step reads of a model, broadcast to the workers once per iteration (a Bayesian
#: mixture's E-step constants included).
_ESTEP_KEYS = (
    "covariance_type", "weights", "means", "precisions_cholesky", "variational_constants",
)


def e_step(data, n_threads):
    """The driver's ``e_step(model)``: the statistics of all rows under ``model``."""

    def run(model):
        params = {key: model[key] for key in _ESTEP_KEYS if key in model}
        return data.reduce(
            "estep", _estep, _merge_stats, data.broadcast(params, "params"), n_threads,
            sides=("w",),
        )

    return run


def data_statistics(data, n_threads):
    """The driver's ``data_statistics(covariance_type, shift)``: all rows as one component
    (a Bayesian mixture's default priors)."""

    def run(covariance_type, shift):
        shift = data.broadcast(shift.reshape(1, -1), "shift")
        return data.reduce(
            "datastats", _data_stats, _merge_stats, shift, covariance_type, n_threads,
            sides=("w",),
        )

    return run


class Progress:
    """The driver's ``progress`` callback and the start of each run: one log line per
    iteration on ``"gaussmix.dask"`` (INFO), and with ``verbose`` scikit-learn's lines."""

    def __init__(self, verbose, verbose_interval, tol):
        self.verbose, self.interval, self.tol = verbose, verbose_interval, tol
        self.init = None
        self.last = None

    def phase(self, what, run):
        """The driver's ``phase`` callback: run ``run`` begins its initialisation
        (``"initializing"``, also for a warm start) or its iterations."""
        if what == "initializing":
            self.start(run)

    def start(self, init):
        """Run ``init`` begins."""
        if init == self.init:
            return
        self.finish()
        self.init, self.last = init, None
        self.t_init = self.t_prev = time.perf_counter()
        if self.verbose:
            print(f"Initialization {init}")

    def __call__(self, init, iteration, lower_bound, change):
        self.start(init)
        now = time.perf_counter()
        logger.info(
            "init %d iteration %d  lower bound %.12g  change %.6g  %.3f s",
            init, iteration, lower_bound, change, now - self.t_prev,
        )
        if self.verbose and iteration % self.interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {iteration}")
            else:
                print(
                    f"  Iteration {iteration}\t time lapse {now - self.t_prev:.5f}s\t "
                    f"ll change {change:.5f}"
                )
        self.t_prev = now
        self.last = (lower_bound, change)

    def finish(self):
        """The end of the current run (its last line), if it iterated."""
        if not self.verbose or self.last is None:
            return
        lower_bound, change = self.last
        msg = "converged" if abs(change) < self.tol else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        else:
            print(
                f"Initialization {msg}.\t time lapse "
                f"{time.perf_counter() - self.t_init:.5f}s\t lower bound {lower_bound:.5f}."
            )
        self.last = None
