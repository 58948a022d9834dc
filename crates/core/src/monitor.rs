//! Watching a fit from the thread that runs it: a report after each EM iteration, and a chance to
//! stop between passes over the data (for Ctrl-C in an interactive session, or a deadline).

use crate::error::{Error, Result};

/// One EM iteration's report, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Which of the `n_init` runs (0-based).
    pub init: usize,
    /// Iteration within the run (1-based).
    pub iteration: usize,
    /// The iteration's lower bound (mean log-likelihood before its M-step).
    pub lower_bound: f64,
    /// Change from the previous iteration's lower bound.
    pub change: f64,
}

/// Where a fit is: reported by [`Monitor::phase`] as each part of a run begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Run `run` (0-based, of `n_init`) starts its initialisation: k-means' seeding, a
    /// mixture's initial parameters (for `init_params="kmeans"`, a whole k-means fit).
    Initializing {
        /// Which run.
        run: usize,
    },
    /// Run `run` starts its iterations (Lloyd or EM, and the passes that finish them).
    Iterating {
        /// Which run.
        run: usize,
    },
}

/// Observes a fit. Both methods are called on the thread that drives the fit (never from inside
/// a parallel pass), between passes over the data.
///
/// A closure `FnMut(&Progress)` is a monitor that only reports progress.
pub trait Monitor: Send {
    /// Called after each EM iteration of a mixture fit.
    fn progress(&mut self, _progress: &Progress) {}

    /// Called as each run's initialisation and iterations begin (k-means and mixture fits), so
    /// that a caller can time them apart; what precedes the first phase is the fit's set-up.
    fn phase(&mut self, _phase: Phase) {}

    /// Called before each pass over the data (EM iterations, Lloyd iterations, k-means++
    /// steps); returning `true` stops the fit with [`Error::Interrupted`].
    fn interrupted(&mut self) -> bool {
        false
    }
}

impl<F: FnMut(&Progress) + Send> Monitor for F {
    fn progress(&mut self, progress: &Progress) {
        self(progress)
    }
}

/// The monitor of a fit nobody watches.
impl Monitor for () {}

/// `Err(Error::Interrupted)` when the monitor asks to stop.
pub(crate) fn check(monitor: &mut dyn Monitor) -> Result<()> {
    if monitor.interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(())
}
