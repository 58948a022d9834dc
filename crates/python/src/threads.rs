//! The threads a call runs on, and fits that Ctrl-C stops.
//!
//! - `n_threads=None` runs on rayon's global pool (every core); `n_threads=n` on a pool of `n`
//!   threads, at most [`MAX_THREADS`]. Pools are cached per calling thread (two Python threads
//!   asking for one thread each get one each: a shared pool would serialise them), at most
//!   [`CACHED_POOLS`] per thread, the least recently used dropped first (its threads exit), so
//!   a program trying many values does not keep their threads.
//! - A fit runs on a thread of its own while the calling thread, without the GIL, wakes every
//!   [`TICK`] to let Python run its signal handlers: on KeyboardInterrupt (or any exception a
//!   handler raises) it tells the fit to stop through the engine's [`Monitor`], which the engine
//!   asks before every pass over the data, waits for the fit to return, and raises the
//!   exception. The fit's thread is needed because the engine asks the monitor from the thread
//!   that drives the fit (a pool thread with `n_threads`), where Python's signal handlers cannot
//!   run.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Thread;
use std::time::Duration;

use gaussmix_core::Monitor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::ThreadPool;

use crate::convert::value_err;

/// The largest `n_threads` accepted (a pool's threads are started when it is made).
pub(crate) const MAX_THREADS: usize = 1024;

/// Pools kept per calling thread.
pub(crate) const CACHED_POOLS: usize = 4;

/// How often the calling thread looks for signals while a fit runs.
const TICK: Duration = Duration::from_millis(20);

thread_local! {
    /// This thread's pools, most recently used first.
    static POOLS: RefCell<Vec<(usize, Arc<ThreadPool>)>> = const { RefCell::new(Vec::new()) };
}

/// Where a call runs: rayon's global pool or a pool of a given size.
pub(crate) struct Threads(Option<Arc<ThreadPool>>);

impl Threads {
    /// The threads for `n_threads`: checked (1 to [`MAX_THREADS`]), the pool made or reused.
    pub(crate) fn get(n_threads: Option<usize>) -> PyResult<Self> {
        let Some(n) = n_threads else {
            return Ok(Threads(None));
        };
        if !(1..=MAX_THREADS).contains(&n) {
            return Err(PyValueError::new_err(format!(
                "invalid parameter n_threads: must be between 1 and {MAX_THREADS} \
                 (or None for every core), got {n}"
            )));
        }
        POOLS.with(|pools| {
            let mut pools = pools.borrow_mut();
            if let Some(i) = pools.iter().position(|(k, _)| *k == n) {
                let entry = pools.remove(i);
                let pool = entry.1.clone();
                pools.insert(0, entry);
                return Ok(Threads(Some(pool)));
            }
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| {
                    PyValueError::new_err(format!(
                        "cannot start n_threads = {n} threads: {e}; ask for fewer"
                    ))
                })?;
            let pool = Arc::new(pool);
            pools.insert(0, (n, pool.clone()));
            pools.truncate(CACHED_POOLS);
            Ok(Threads(Some(pool)))
        })
    }

    /// Runs `f` on these threads (call with the GIL released).
    pub(crate) fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

/// The number of pools cached for the calling thread (a debug aid for the tests).
#[pyfunction]
pub(crate) fn _cached_pools() -> usize {
    POOLS.with(|p| p.borrow().len())
}

/// The monitor of an interruptible fit: stop when the flag is set.
struct Stop<'a>(&'a AtomicBool);

impl Monitor for Stop<'_> {
    fn interrupted(&mut self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks the fit finished and wakes the caller, also when the fit panics.
struct Finished<'a> {
    done: &'a AtomicBool,
    caller: Thread,
}

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        self.caller.unpark();
    }
}

/// Runs `fit` on `threads` with a monitor that stops it when a signal handler raises (Ctrl-C):
/// then the exception is raised once the fit has returned, and its result is dropped. Engine
/// errors are raised as [`value_err`] makes them.
pub(crate) fn interruptible<R: Send>(
    py: Python<'_>,
    threads: &Threads,
    fit: impl FnOnce(&mut dyn Monitor) -> gaussmix_core::Result<R> + Send,
) -> PyResult<R> {
    let stop = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let caller = std::thread::current();
    let mut raised: Option<PyErr> = None;
    let outcome = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let _finished = Finished {
                done: &done,
                caller,
            };
            threads.run(|| fit(&mut Stop(&stop)))
        });
        while !done.load(Ordering::Acquire) {
            py.detach(|| std::thread::park_timeout(TICK));
            if raised.is_none()
                && let Err(e) = py.check_signals()
            {
                stop.store(true, Ordering::Relaxed);
                raised = Some(e);
            }
        }
        worker.join()
    });
    let result = match outcome {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    if let Some(e) = raised {
        return Err(e);
    }
    result.map_err(value_err)
}
