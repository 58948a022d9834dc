//! The EM driver: `n_init` runs of E-step passes and M-steps, each stopping when the lower bound
//! changes by less than `tol`, and the best run kept. Generic over the covariance kernel; it
//! never looks at the covariance type.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::init::initialize;
use super::params::{GaussianMixture, OnDegenerate};
use super::reseed::reseed;
use crate::covariance::pass::Engine;
use crate::covariance::{Kernel, Params, StepInfo, Weights, estimate};
use crate::data::{DataRef, Float};
use crate::error::Result;
use crate::model::{GaussianMixtureModel, Reseed};
use crate::monitor::{self, Monitor, Progress};

/// One run of EM: where it ended and how it got there.
struct Run {
    params: Params,
    /// The last iteration's lower bound (`-inf` if none ran).
    lower_bound: f64,
    lower_bounds: Vec<f64>,
    n_iter: usize,
    converged: bool,
    reseeds: Vec<Reseed>,
}

/// Fits a mixture with kernel `K`: scikit-learn's `BaseMixture.fit_predict` (without its final
/// E-step, which `fit_predict` does separately).
pub(super) fn run<K: Kernel, T: Float>(
    p: &GaussianMixture,
    x: DataRef<'_, T>,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let engine = Engine::new::<K>(x, p.n_components);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let n_init = if warm.is_some() { 1 } else { p.n_init };
    let mut best: Option<Run> = None;
    for init in 0..n_init {
        let (params, lower_bound) = match warm {
            Some(m) => (m.params().clone(), m.lower_bound()),
            None => (
                initialize::<K, T>(p, &engine, &mut rng, monitor)?,
                f64::NEG_INFINITY,
            ),
        };
        let run = iterate::<K, T>(p, &engine, init, params, lower_bound, monitor)?;
        // The highest final lower bound wins; with max_iter = 0 (no lower bound) the last run.
        let better = match &best {
            None => true,
            Some(b) => run.lower_bound > b.lower_bound || b.lower_bound == f64::NEG_INFINITY,
        };
        if better {
            best = Some(run);
        }
    }
    let run = best.expect("n_init >= 1");
    Ok(GaussianMixtureModel::from_fit(
        run.params,
        run.converged,
        run.n_iter,
        run.lower_bound,
        run.lower_bounds,
    )
    .with_reseeds(run.reseeds))
}

/// The iterations of one run from `params`, whose lower bound so far is `lower_bound`.
fn iterate<K: Kernel, T: Float>(
    p: &GaussianMixture,
    engine: &Engine<'_, T>,
    init: usize,
    mut params: Params,
    mut lower_bound: f64,
    monitor: &mut dyn Monitor,
) -> Result<Run> {
    let mut lower_bounds = Vec::new();
    let mut reseeds = Vec::new();
    let mut n_iter = 0;
    let mut converged = false;
    for it in 1..=p.max_iter {
        monitor::check(monitor)?;
        n_iter = it;
        let prev = lower_bound;
        let (sums, shift) = engine.e_step_stats::<K>(&params);
        let info = StepInfo {
            iteration: it,
            f32_input: T::IS_F32,
        };
        let next = estimate::<K>(&sums, &shift, p.reg_covar, Weights::Normalized);
        params = match p.on_degenerate {
            OnDegenerate::Error => next.factorize(info)?,
            OnDegenerate::Reseed => {
                reseed::<K, T>(engine, &params, next, p.reg_covar, info, &mut reseeds)?
            }
        };
        lower_bound = sums.log_likelihood / sums.n_rows as f64;
        lower_bounds.push(lower_bound);
        let change = lower_bound - prev;
        monitor.progress(&Progress {
            init,
            iteration: it,
            lower_bound,
            change,
        });
        if change.abs() < p.tol {
            converged = true;
            break;
        }
    }
    Ok(Run {
        params,
        // Initialising only (max_iter = 0) leaves no lower bound, as in scikit-learn.
        lower_bound: if p.max_iter == 0 {
            f64::NEG_INFINITY
        } else {
            lower_bound
        },
        lower_bounds,
        n_iter,
        converged,
        reseeds,
    })
}
