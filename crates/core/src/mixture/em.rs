//! The EM driver shared by every mixture estimator: `n_init` runs of E-steps and M-steps, each
//! stopping when its lower bound changes by less than `tol`, the best run kept (scikit-learn's
//! `BaseMixture.fit_predict`). What differs between estimators, how a run starts and what one
//! iteration computes, is an [`Em`]; where the statistics come from, the in-memory passes or a
//! caller's [`StatsSource`], is a [`Source`]. Generic over the covariance kernel; it never looks
//! at the covariance type.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::init::{Init, from_statistics, initial_statistics, needs_statistics};
use super::params::{GaussianMixture, OnDegenerate};
use super::reseed::reseed;
use crate::covariance::pass::Engine;
use crate::covariance::{
    CovarianceType, Estimate, Kernel, Params, Shift, StepInfo, Sums, Weights, estimate,
};
use crate::data::{DataRef, Float};
use crate::error::{Error, Result};
use crate::model::{GaussianMixtureModel, Reseed};
use crate::monitor::{self, Monitor, Phase, Progress};
use crate::stats::SufficientStats;

/// The E-step of a fit whose data the engine does not hold: out of core, or on a cluster
/// (`gaussmix.dask`). [`GaussianMixture::fit_source`] and
/// [`BayesianGaussianMixture::fit_source`](crate::BayesianGaussianMixture::fit_source) run the
/// same drivers as their in-memory fits over it: the runs, the stopping rule, the best run, the
/// M-steps.
pub trait StatsSource {
    /// The statistics of all the data under run `init`'s initial responsibilities (0-based, of
    /// `n_init`), merged: what scikit-learn's `_initialize` estimates the initial parameters
    /// from (the rows' k-means labels, chosen rows, random weights, as `init_params` says;
    /// [`SufficientStats::from_responsibilities`] per chunk). The driver turns them into
    /// parameters; a Gaussian mixture does not call this when `weights_init`, `means_init` and
    /// `precisions_init` are all given.
    fn initial_statistics(&mut self, init: usize) -> Result<SufficientStats>;

    /// The statistics of all the data under `model`'s E-step, merged
    /// ([`GaussianMixtureModel::sufficient_statistics`] per chunk, [`SufficientStats::merge`]).
    fn e_step(&mut self, model: &GaussianMixtureModel) -> Result<SufficientStats>;

    /// The statistics of all the data as one component of type `covariance_type` (every
    /// responsibility 1), centred on `shift` `(n_features,)`: the data's mean and covariance,
    /// which a Bayesian mixture's default priors are. The default refuses: a source that cannot
    /// compute them needs the priors given.
    fn data_statistics(
        &mut self,
        covariance_type: CovarianceType,
        shift: &[f64],
    ) -> Result<SufficientStats> {
        let _ = (covariance_type, shift);
        Err(crate::error::invalid(
            "mean_prior",
            "this statistics source cannot compute the data's moments: give mean_prior and \
             covariance_prior",
        ))
    }
}

/// Where a run's statistics come from, for kernel `K`.
pub(crate) trait Source<K: Kernel> {
    /// The statistics of the initial responsibilities of run `init`.
    fn initial_statistics(
        &mut self,
        init: usize,
        monitor: &mut dyn Monitor,
    ) -> Result<(Sums, Shift)>;
    /// The E-step's merged statistics under `params`, with the per-component constants
    /// `variational` instead of `log w_k` (and the entropy summed) when given.
    fn e_step(&mut self, params: &Params, variational: Option<&[f64]>) -> Result<(Sums, Shift)>;
    /// The data's statistics as one component of type `t` (every responsibility 1) about
    /// `shift`.
    fn data_statistics(&mut self, t: CovarianceType, shift: &[f64]) -> Result<Sums>;
    /// The data's number of features.
    fn n_features(&self) -> usize;
    /// Whether the data are `f32` (for the ill-defined covariance message).
    fn f32_input(&self) -> bool;
    /// The Gaussian M-step's parameters from its estimate, re-seeding collapsed components
    /// when the source holds the rows and `policy` asks for it.
    fn factorize(
        &mut self,
        policy: OnDegenerate,
        prev: &Params,
        next: Estimate,
        info: StepInfo,
        reseeds: &mut Vec<Reseed>,
    ) -> Result<Params>;
}

/// The in-memory fit: the engine's passes over the data.
pub(crate) struct InMemory<'a, T> {
    engine: Engine<'a, T>,
    init: Init,
    reg_covar: f64,
    rng: Xoshiro256PlusPlus,
}

impl<'a, T: Float> InMemory<'a, T> {
    pub(crate) fn new<K: Kernel>(x: DataRef<'a, T>, init: Init, reg_covar: f64, seed: u64) -> Self {
        InMemory {
            engine: Engine::new::<K>(x, init.n_components),
            init,
            reg_covar,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }
}

impl<K: Kernel, T: Float> Source<K> for InMemory<'_, T> {
    fn initial_statistics(
        &mut self,
        _init: usize,
        monitor: &mut dyn Monitor,
    ) -> Result<(Sums, Shift)> {
        initial_statistics::<K, T>(&self.init, &self.engine, &mut self.rng, monitor)
    }

    fn e_step(&mut self, params: &Params, variational: Option<&[f64]>) -> Result<(Sums, Shift)> {
        Ok(match variational {
            Some(lw) => self.engine.e_step_stats::<K>(params, lw, true),
            None => self
                .engine
                .e_step_stats::<K>(params, &params.log_weights(), false),
        })
    }

    fn data_statistics(&mut self, t: CovarianceType, shift: &[f64]) -> Result<Sums> {
        Ok(self.engine.data_statistics(t, shift))
    }

    fn n_features(&self) -> usize {
        self.engine.x().n_features()
    }

    fn f32_input(&self) -> bool {
        T::IS_F32
    }

    fn factorize(
        &mut self,
        policy: OnDegenerate,
        prev: &Params,
        next: Estimate,
        info: StepInfo,
        reseeds: &mut Vec<Reseed>,
    ) -> Result<Params> {
        match policy {
            OnDegenerate::Error => next.factorize(info),
            OnDegenerate::Reseed => {
                reseed::<K, T>(&self.engine, prev, next, self.reg_covar, info, reseeds)
            }
        }
    }
}

/// A caller's statistics, of data with `d` features, for a mixture of type `t` with `k`
/// components.
pub(crate) struct External<'s> {
    pub source: &'s mut dyn StatsSource,
    pub t: CovarianceType,
    pub k: usize,
    pub d: usize,
}

impl External<'_> {
    /// `stats` after checking they describe `k` components of type `t` over this data and, when
    /// `shift` is given, that they are centred on it (computed under the model of this E-step).
    fn checked(
        &self,
        stats: SufficientStats,
        t: CovarianceType,
        k: usize,
        shift: Option<&[f64]>,
    ) -> Result<(Sums, Shift)> {
        let d = self.d;
        let (st, sk) = (stats.covariance_type(), stats.n_components());
        if st != t || sk != k || stats.n_features() != d {
            return Err(Error::ShapeMismatch {
                what: "the statistics".into(),
                expected: format!("{t} covariances, {k} components, {d} features"),
                found: format!(
                    "{st} covariances, {sk} components, {} features",
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

impl<K: Kernel> Source<K> for External<'_> {
    fn initial_statistics(
        &mut self,
        init: usize,
        _monitor: &mut dyn Monitor,
    ) -> Result<(Sums, Shift)> {
        let stats = self.source.initial_statistics(init)?;
        self.checked(stats, self.t, self.k, None)
    }

    fn e_step(&mut self, params: &Params, variational: Option<&[f64]>) -> Result<(Sums, Shift)> {
        let mut model =
            GaussianMixtureModel::from_fit(params.clone(), false, 0, f64::NEG_INFINITY, Vec::new());
        if let Some(lw) = variational {
            model = model.with_variational(lw.to_vec());
        }
        let stats = self.source.e_step(&model)?;
        self.checked(stats, self.t, self.k, Some(&params.means))
    }

    fn data_statistics(&mut self, t: CovarianceType, shift: &[f64]) -> Result<Sums> {
        let stats = self.source.data_statistics(t, shift)?;
        Ok(self.checked(stats, t, 1, Some(shift))?.0)
    }

    fn n_features(&self) -> usize {
        self.d
    }

    fn f32_input(&self) -> bool {
        false
    }

    fn factorize(
        &mut self,
        _policy: OnDegenerate,
        _prev: &Params,
        next: Estimate,
        info: StepInfo,
        _reseeds: &mut Vec<Reseed>,
    ) -> Result<Params> {
        next.factorize(info)
    }
}

/// The part of an EM fit that differs between estimators: how a run starts and what one
/// iteration computes. The loop around them is [`drive`].
pub(crate) trait Em {
    /// Everything an iteration carries to the next.
    type State;
    /// The state a run starts from.
    fn initialize(&mut self, init: usize, monitor: &mut dyn Monitor) -> Result<Self::State>;
    /// One E-step and M-step (the `iteration`-th, 1-based): the new state and the iteration's
    /// lower bound.
    fn iterate(&mut self, state: Self::State, iteration: usize) -> Result<(Self::State, f64)>;
}

/// The driver's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Runs {
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
}

/// The kept run.
pub(crate) struct Fitted<S> {
    pub state: S,
    /// Its final lower bound (`-inf` when no iteration ran).
    pub lower_bound: f64,
    pub lower_bounds: Vec<f64>,
    pub n_iter: usize,
    pub converged: bool,
}

/// The runs: each from a fresh initialisation (or the warm-start state and its lower bound: one
/// run), the best by final lower bound kept; with `max_iter = 0` (no lower bound), the last.
pub(crate) fn drive<E: Em>(
    em: &mut E,
    runs: Runs,
    mut warm: Option<(E::State, f64)>,
    monitor: &mut dyn Monitor,
) -> Result<Fitted<E::State>> {
    let n_init = if warm.is_some() { 1 } else { runs.n_init };
    let mut best: Option<Fitted<E::State>> = None;
    for init in 0..n_init {
        monitor.phase(Phase::Initializing { run: init });
        let (mut state, mut lower_bound) = match warm.take() {
            Some(w) => w,
            None => (em.initialize(init, monitor)?, f64::NEG_INFINITY),
        };
        monitor.phase(Phase::Iterating { run: init });
        let mut lower_bounds = Vec::new();
        let mut n_iter = 0;
        let mut converged = false;
        for it in 1..=runs.max_iter {
            monitor::check(monitor)?;
            n_iter = it;
            let prev = lower_bound;
            (state, lower_bound) = em.iterate(state, it)?;
            lower_bounds.push(lower_bound);
            let change = lower_bound - prev;
            monitor.progress(&Progress {
                init,
                iteration: it,
                lower_bound,
                change,
            });
            if change.abs() < runs.tol {
                converged = true;
                break;
            }
        }
        let run = Fitted {
            state,
            // Initialising only leaves no lower bound, as in scikit-learn.
            lower_bound: if runs.max_iter == 0 {
                f64::NEG_INFINITY
            } else {
                lower_bound
            },
            lower_bounds,
            n_iter,
            converged,
        };
        let better = match &best {
            None => true,
            Some(b) => run.lower_bound > b.lower_bound || b.lower_bound == f64::NEG_INFINITY,
        };
        if better {
            best = Some(run);
        }
    }
    Ok(best.expect("n_init >= 1"))
}

/// A Gaussian mixture's EM with kernel `K` over a source of statistics.
struct Gaussian<'p, S, K> {
    p: &'p GaussianMixture,
    source: S,
    kernel: std::marker::PhantomData<K>,
}

/// A Gaussian mixture's state: its parameters and the components re-seeded so far in the run.
struct GaussianState {
    params: Params,
    reseeds: Vec<Reseed>,
}

impl<K: Kernel, S: Source<K>> Em for Gaussian<'_, S, K> {
    type State = GaussianState;

    fn initialize(&mut self, init: usize, monitor: &mut dyn Monitor) -> Result<GaussianState> {
        let g = self;
        let d = g.source.n_features();
        let f32_input = g.source.f32_input();
        let params = if needs_statistics(g.p) {
            let (sums, shift) = g.source.initial_statistics(init, monitor)?;
            from_statistics::<K>(g.p, Some((&sums, &shift)), d, f32_input)?
        } else {
            from_statistics::<K>(g.p, None, d, f32_input)?
        };
        Ok(GaussianState {
            params,
            reseeds: Vec::new(),
        })
    }

    fn iterate(&mut self, state: GaussianState, iteration: usize) -> Result<(GaussianState, f64)> {
        let g = self;
        let GaussianState {
            params,
            mut reseeds,
        } = state;
        let (sums, shift) = g.source.e_step(&params, None)?;
        let info = StepInfo {
            iteration,
            f32_input: g.source.f32_input(),
        };
        let next = estimate::<K>(&sums, &shift, g.p.reg_covar, Weights::Normalized);
        let params = g
            .source
            .factorize(g.p.on_degenerate, &params, next, info, &mut reseeds)?;
        let lower_bound = sums.log_likelihood / sums.weight;
        Ok((GaussianState { params, reseeds }, lower_bound))
    }
}

/// Fits a Gaussian mixture with kernel `K` over `source`: scikit-learn's
/// `BaseMixture.fit_predict` (without its final E-step, which `fit_predict` does separately).
pub(super) fn fit_gaussian<K: Kernel, S: Source<K>>(
    p: &GaussianMixture,
    source: S,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let mut g = Gaussian {
        p,
        source,
        kernel: std::marker::PhantomData,
    };
    let runs = Runs {
        n_init: p.n_init,
        max_iter: p.max_iter,
        tol: p.tol,
    };
    let warm = warm.map(|m| {
        let state = GaussianState {
            params: m.params().clone(),
            reseeds: Vec::new(),
        };
        (state, m.lower_bound())
    });
    let fitted = drive(&mut g, runs, warm, monitor)?;
    Ok(GaussianMixtureModel::from_fit(
        fitted.state.params,
        fitted.converged,
        fitted.n_iter,
        fitted.lower_bound,
        fitted.lower_bounds,
    )
    .with_reseeds(fitted.state.reseeds))
}
