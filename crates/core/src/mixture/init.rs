//! Initial parameters, as scikit-learn's `_initialize`: responsibilities from `init_params`,
//! one M-step-like estimate from them (weights `N_k / n`, not normalised), then the user's
//! `weights_init` / `means_init` / `precisions_init` replace what they cover.

use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::params::{GaussianMixture, InitParams};
use crate::blocks::{BLOCK_ROWS, Span};
use crate::covariance::convert::{
    covariances_from_precision_cholesky, precision_cholesky_from_precisions,
};
use crate::covariance::pass::Engine;
use crate::covariance::{Kernel, Params, Shift, StepInfo, Weights, estimate};
use crate::data::Float;
use crate::error::Result;
use crate::kmeans::init::{Seeding, seed_rows};
use crate::kmeans::lloyd::Lloyd;
use crate::kmeans::{KMeans, NearestCenter};
use crate::monitor::Monitor;

/// The initial parameters of one run.
pub(super) fn initialize<K: Kernel, T: Float>(
    p: &GaussianMixture,
    engine: &Engine<'_, T>,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Params> {
    let (k, d) = (p.n_components, engine.x().n_features());
    let t = K::TYPE;
    let user = (&p.weights_init, &p.means_init, &p.precisions_init);
    if let (Some(w), Some(m), Some(prec)) = user {
        let u = precision_cholesky_from_precisions(t, prec, k, d)?;
        let covariances = covariances_from_precision_cholesky(t, &u, k, d);
        return Ok(Params {
            covariance_type: t,
            n_components: k,
            n_features: d,
            weights: w.clone(),
            means: m.clone(),
            covariances,
            precisions_cholesky: u,
        });
    }
    let source = RespSource::new(p, engine, rng, monitor)?;
    let resp = |span: Span, out: &mut [f64]| source.fill(span, out, k);
    // Means first (about the origin), then every statistic about those means.
    let first = engine.stats_from::<K>(&Shift::origin(k, d), &resp);
    let means: Vec<f64> = (0..k * d)
        .map(|i| first.s1[i] / (first.nk[i / d] + 10.0 * f64::EPSILON))
        .collect();
    let shift = Shift::new(&means, k, d);
    let sums = engine.stats_from::<K>(&shift, &resp);
    let mut estimated = estimate::<K>(&sums, &shift, p.reg_covar, Weights::PerSample);
    if let Some(w) = user.0 {
        estimated.weights = w.clone();
    }
    if let Some(m) = user.1 {
        estimated.means = m.clone();
    }
    match user.2 {
        Some(prec) => {
            // scikit-learn estimates covariances it then discards for the user's precisions.
            let u = precision_cholesky_from_precisions(t, prec, k, d)?;
            estimated.covariances = covariances_from_precision_cholesky(t, &u, k, d);
            Ok(estimated.with_factors(u))
        }
        None => estimated.factorize(StepInfo {
            iteration: 0,
            f32_input: T::IS_F32,
        }),
    }
}

/// Initial responsibilities, generated block by block (deterministically, whatever the thread
/// count).
enum RespSource<'a, T> {
    /// One-hot on each row's nearest k-means centre (k-means' own labels, recomputed per block
    /// rather than stored).
    Nearest(NearestCenter<'a, T>),
    /// One-hot on one chosen row per component: `points[c]` is component `c`'s row.
    Points(Vec<usize>),
    /// Uniform random values normalised per row, from a stream keyed by the row index.
    Random(u64),
}

impl<'a, T: Float> RespSource<'a, T> {
    fn new(
        p: &GaussianMixture,
        engine: &Engine<'a, T>,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<Self> {
        let k = p.n_components;
        let x = *engine.x();
        Ok(match p.init_params {
            InitParams::KMeans => {
                let mut krng = Xoshiro256PlusPlus::seed_from_u64(rng.next_u64());
                RespSource::Nearest(KMeans::new(k).fit_centers_only(x, &mut krng, monitor)?)
            }
            InitParams::KMeansPlusPlus => {
                let lloyd = Lloyd::new(x, k, &[]);
                RespSource::Points(seed_rows(&lloyd, k, Seeding::PlusPlus, rng, monitor)?)
            }
            InitParams::Random => RespSource::Random(rng.next_u64()),
            InitParams::RandomFromData => {
                RespSource::Points(rand::seq::index::sample(rng, x.n_samples(), k).into_vec())
            }
        })
    }

    /// Writes `out[c * BLOCK_ROWS + r]` for the rows of `span` (`out` is zeroed).
    fn fill(&self, span: Span, out: &mut [f64], k: usize) {
        let Span { start, rows } = span;
        match self {
            RespSource::Nearest(nearest) => nearest.one_hot(span, out),
            RespSource::Points(points) => {
                for (c, &i) in points.iter().enumerate() {
                    if (start..start + rows).contains(&i) {
                        out[c * BLOCK_ROWS + (i - start)] = 1.0;
                    }
                }
            }
            RespSource::Random(seed) => {
                for r in 0..rows {
                    let row = (start + r) as u64;
                    let mut g = Xoshiro256PlusPlus::seed_from_u64(
                        seed ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut s = 0.0;
                    for c in 0..k {
                        let v: f64 = g.random();
                        out[c * BLOCK_ROWS + r] = v;
                        s += v;
                    }
                    for c in 0..k {
                        out[c * BLOCK_ROWS + r] /= s;
                    }
                }
            }
        }
    }
}
