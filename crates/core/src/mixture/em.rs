//! The EM driver: `n_init` runs of E-steps and M-steps, each stopping when the lower bound
//! changes by less than `tol`, and the best run kept. Generic over the covariance kernel (it
//! never looks at the covariance type) and over where the E-step's statistics come from: the
//! in-memory passes ([`InMemory`]) or a caller's [`StatsSource`] (a distributed fit).

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::init::{from_statistics, initialize, needs_statistics};
use super::params::{GaussianMixture, OnDegenerate};
use super::reseed::reseed;
use crate::covariance::pass::Engine;
use crate::covariance::{Estimate, Kernel, Params, Shift, StepInfo, Sums, Weights, estimate};
use crate::data::{DataRef, Float};
use crate::error::{Error, Result};
use crate::model::{GaussianMixtureModel, Reseed};
use crate::monitor::{self, Monitor, Phase, Progress};
use crate::stats::SufficientStats;

/// The E-step of an EM fit whose data the engine does not hold: out of core, or on a cluster
/// (`gaussmix.dask`). [`GaussianMixture::fit_source`] runs the same driver as
/// [`GaussianMixture::fit`] over it: the runs, the stopping rule, the best run, the M-step.
pub trait StatsSource {
    /// The statistics of all the data under run `init`'s initial responsibilities (0-based, of
    /// `n_init`), merged: what scikit-learn's `_initialize` estimates the initial parameters
    /// from (the rows' k-means labels, chosen rows, random weights, as `init_params` says;
    /// [`SufficientStats::from_responsibilities`] per chunk). The driver turns them into
    /// parameters (weights `N_k / n`) and applies `weights_init`, `means_init` and
    /// `precisions_init`; it does not call this when all three are given.
    fn initial_statistics(&mut self, init: usize) -> Result<SufficientStats>;

    /// The statistics of all the data under `model`'s E-step, merged
    /// ([`GaussianMixtureModel::sufficient_statistics`] per chunk, [`SufficientStats::merge`]).
    fn e_step(&mut self, model: &GaussianMixtureModel) -> Result<SufficientStats>;
}

/// Where a run's initialisation, statistics and factorisations come from, for kernel `K`.
trait Steps<K: Kernel> {
    /// The initial parameters of run `init`.
    fn initialize(&mut self, init: usize, monitor: &mut dyn Monitor) -> Result<Params>;
    /// The E-step's merged statistics under `params`, and the shift they are centred on.
    fn e_step(&mut self, params: &Params) -> Result<(Sums, Shift)>;
    /// The M-step's parameters from its estimate (`prev`: the parameters of its E-step).
    fn factorize(
        &mut self,
        prev: &Params,
        next: Estimate,
        info: StepInfo,
        reseeds: &mut Vec<Reseed>,
    ) -> Result<Params>;
    /// Whether the data are `f32` (for the ill-defined covariance message).
    fn f32_input(&self) -> bool;
}

/// The in-memory fit: the engine's passes over `x`.
struct InMemory<'p, 'a, T> {
    p: &'p GaussianMixture,
    engine: Engine<'a, T>,
    rng: Xoshiro256PlusPlus,
}

impl<K: Kernel, T: Float> Steps<K> for InMemory<'_, '_, T> {
    fn initialize(&mut self, _init: usize, monitor: &mut dyn Monitor) -> Result<Params> {
        initialize::<K, T>(self.p, &self.engine, &mut self.rng, monitor)
    }

    fn e_step(&mut self, params: &Params) -> Result<(Sums, Shift)> {
        Ok(self.engine.e_step_stats::<K>(params))
    }

    fn factorize(
        &mut self,
        prev: &Params,
        next: Estimate,
        info: StepInfo,
        reseeds: &mut Vec<Reseed>,
    ) -> Result<Params> {
        match self.p.on_degenerate {
            OnDegenerate::Error => next.factorize(info),
            OnDegenerate::Reseed => {
                reseed::<K, T>(&self.engine, prev, next, self.p.reg_covar, info, reseeds)
            }
        }
    }

    fn f32_input(&self) -> bool {
        T::IS_F32
    }
}

/// A caller's statistics, of data with `d` features.
struct External<'s> {
    source: &'s mut dyn StatsSource,
    p: &'s GaussianMixture,
    d: usize,
}

impl External<'_> {
    /// `stats` after checking they describe this fit's mixture and, when `shift` is given, that
    /// they are centred on it (computed under the model of this E-step).
    fn checked(&self, stats: SufficientStats, shift: Option<&[f64]>) -> Result<(Sums, Shift)> {
        let (p, d) = (self.p, self.d);
        let (t, k) = (stats.covariance_type(), stats.n_components());
        if t != p.covariance_type || k != p.n_components || stats.n_features() != d {
            return Err(Error::ShapeMismatch {
                what: "the statistics".into(),
                expected: format!(
                    "{} covariances, {} components, {d} features",
                    p.covariance_type, p.n_components
                ),
                found: format!(
                    "{t} covariances, {k} components, {} features",
                    stats.n_features()
                ),
            });
        }
        if shift.is_some_and(|s| s != stats.shift().shift) {
            return Err(Error::InvalidModel(
                "the statistics were not computed under the model of this E-step".into(),
            ));
        }
        Ok((stats.sums().clone(), stats.shift().clone()))
    }
}

impl<K: Kernel> Steps<K> for External<'_> {
    fn initialize(&mut self, init: usize, _monitor: &mut dyn Monitor) -> Result<Params> {
        if !needs_statistics(self.p) {
            return from_statistics::<K>(self.p, None, self.d, false);
        }
        let stats = self.source.initial_statistics(init)?;
        let (sums, shift) = self.checked(stats, None)?;
        from_statistics::<K>(self.p, Some((&sums, &shift)), self.d, false)
    }

    fn e_step(&mut self, params: &Params) -> Result<(Sums, Shift)> {
        let model =
            GaussianMixtureModel::from_fit(params.clone(), false, 0, f64::NEG_INFINITY, Vec::new());
        let stats = self.source.e_step(&model)?;
        self.checked(stats, Some(&params.means))
    }

    fn factorize(
        &mut self,
        _prev: &Params,
        next: Estimate,
        info: StepInfo,
        _reseeds: &mut Vec<Reseed>,
    ) -> Result<Params> {
        next.factorize(info)
    }

    fn f32_input(&self) -> bool {
        false
    }
}

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

/// Fits a mixture to `x` with kernel `K`: scikit-learn's `BaseMixture.fit_predict` (without
/// its final E-step, which `fit_predict` does separately).
pub(super) fn run<K: Kernel, T: Float>(
    p: &GaussianMixture,
    x: DataRef<'_, T>,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let mut data = InMemory {
        p,
        engine: Engine::new::<K>(x, p.n_components),
        rng: Xoshiro256PlusPlus::seed_from_u64(p.seed),
    };
    drive::<K>(p, &mut data, warm, monitor)
}

/// Fits a mixture with kernel `K` over a caller's statistics.
pub(super) fn run_source<K: Kernel>(
    p: &GaussianMixture,
    source: &mut dyn StatsSource,
    n_features: usize,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let mut ext = External {
        source,
        p,
        d: n_features,
    };
    drive::<K>(p, &mut ext, warm, monitor)
}

/// The runs: each from a fresh initialisation (or the warm-start model, one run), the best by
/// final lower bound kept.
fn drive<K: Kernel>(
    p: &GaussianMixture,
    steps: &mut impl Steps<K>,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let n_init = if warm.is_some() { 1 } else { p.n_init };
    let mut best: Option<Run> = None;
    for init in 0..n_init {
        monitor.phase(Phase::Initializing { run: init });
        let (params, lower_bound) = match warm {
            Some(m) => (m.params().clone(), m.lower_bound()),
            None => (steps.initialize(init, monitor)?, f64::NEG_INFINITY),
        };
        monitor.phase(Phase::Iterating { run: init });
        let run = iterate::<K>(p, steps, init, params, lower_bound, monitor)?;
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
fn iterate<K: Kernel>(
    p: &GaussianMixture,
    steps: &mut impl Steps<K>,
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
        let (sums, shift) = steps.e_step(&params)?;
        let info = StepInfo {
            iteration: it,
            f32_input: steps.f32_input(),
        };
        let next = estimate::<K>(&sums, &shift, p.reg_covar, Weights::Normalized);
        params = steps.factorize(&params, next, info, &mut reseeds)?;
        lower_bound = sums.log_likelihood / sums.weight;
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
