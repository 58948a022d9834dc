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
use crate::covariance::diag::Diag;
use crate::covariance::pass::Engine;
use crate::covariance::{
    CovarianceType, Estimate, Kernel, Params, Shift, StepInfo, Sums, Weights, estimate,
};
use crate::data::{DataRef, Float, Precision};
use crate::error::Result;
use crate::kmeans::init::{plusplus, random_rows};
use crate::kmeans::lloyd::Lloyd;
use crate::kmeans::{KMeans, NearestCenter};
use crate::monitor::Monitor;

/// How a run's initial responsibilities are chosen: scikit-learn's `init_params`, or given
/// labels (one-hot responsibilities), for `n_components` components.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Init {
    pub n_components: usize,
    pub init_params: InitParams,
    pub init_labels: Option<Vec<usize>>,
    /// The arithmetic of the k-means initialisation's Lloyd passes.
    pub precision: Precision,
}

/// The statistics of one in-memory run's initial responsibilities, about points near their
/// means: from k-means labels, about the k-means centres (the means of their labels up to
/// the last Lloyd step's change, so one pass suffices, [`estimate`] correcting for the
/// difference); from one row per component (k-means++, random_from_data; not `tied`), from
/// those rows alone ([`point_statistics`]); otherwise by [`two_passes`].
pub(crate) fn initial_statistics<K: Kernel, T: Float>(
    init: &Init,
    engine: &Engine<'_, T>,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<(Sums, Shift)> {
    let (k, d) = (init.n_components, engine.x().n_features());
    let source = RespSource::new(init, engine, rng, monitor)?;
    let resp = |span: Span, out: &mut [f64]| source.fill(span, out, k);
    if let RespSource::Nearest(nearest) = &source {
        let shift = Shift::new(nearest.centers(), k, d);
        let labels = |span: Span, out: &mut [u32]| nearest.labels(span, out);
        return Ok((engine.stats_from_labels::<K>(&shift, &labels), shift));
    }
    if let RespSource::Points(points) = &source
        && K::TYPE != CovarianceType::Tied
        && let Some(found) = point_statistics::<K, T>(engine, points)
    {
        return Ok(found);
    }
    Ok(two_passes::<K, T>(engine, &resp, k))
}

/// The statistics of responsibilities about their means: the means first (about the origin),
/// then every statistic about those means.
fn two_passes<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    resp: &(dyn Fn(Span, &mut [f64]) + Sync),
    k: usize,
) -> (Sums, Shift) {
    let d = engine.x().n_features();
    // The first pass needs only `N_k` and the sums giving the means. For full covariances above
    // d = 4 the diagonal kernel computes those with the full kernel's arithmetic (the same lanes,
    // order and rounding: tested) without the `d × d` scatter matrices, a d-th of the work.
    let origin = Shift::origin(k, d);
    let first = if K::TYPE == CovarianceType::Full && d > 4 {
        engine.stats_from::<Diag>(&origin, resp)
    } else {
        engine.stats_from::<K>(&origin, resp)
    };
    let means: Vec<f64> = (0..k * d)
        .map(|i| first.s1[i] / (first.nk[i / d] + 10.0 * f64::EPSILON))
        .collect();
    let shift = Shift::new(&means, k, d);
    let sums = engine.stats_from::<K>(&shift, resp);
    (sums, shift)
}

/// The statistics of one-hot responsibilities on one row per component (the k-means++ and
/// random_from_data seeds) from those rows alone, instead of two passes over the data in
/// which every other row's responsibilities are zero: each sum has one term that is not
/// zero, which no order of additions changes, so `N_k`, the sums and the scatter are those of
/// the passes. The rows seen and their total weight are the data's (the weights summed as the
/// passes sum them). Not for `tied`, whose pooled scatter takes every row; `None` when the
/// chosen rows all weigh zero.
fn point_statistics<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    points: &[usize],
) -> Option<(Sums, Shift)> {
    let x = engine.x();
    let (k, d) = (points.len(), x.n_features());
    let rows: Vec<T> = points.iter().flat_map(|&i| x.row(i).to_vec()).collect();
    let chosen_weights = x
        .weights()
        .map(|w| points.iter().map(|&i| w[i]).collect::<Vec<_>>());
    let mut small = DataRef::new(&rows, k, d).ok()?;
    if let Some(w) = &chosen_weights {
        small = small.with_weights(w).ok()?;
    }
    let own = RespSource::<T>::Points((0..k).collect());
    let resp = |span: Span, out: &mut [f64]| own.fill(span, out, k);
    let (mut sums, shift) = two_passes::<K, T>(&Engine::new::<K>(small, k), &resp, k);
    sums.n_rows = x.n_samples() as u64;
    sums.weight = match x.weights() {
        None => x.n_samples() as f64,
        Some(w) => engine.total_weight(w),
    };
    Some((sums, shift))
}

/// Whether the initialisation needs statistics of initial responsibilities: unless
/// `weights_init`, `means_init` and `precisions_init` are all given.
pub(super) fn needs_statistics(p: &GaussianMixture) -> bool {
    p.weights_init.is_none() || p.means_init.is_none() || p.precisions_init.is_none()
}

/// The initial parameters from the statistics of initial responsibilities (`None` when
/// [`needs_statistics`] says none are needed): one M-step-like estimate with weights `N_k / n`,
/// then the user's initial values replace what they cover.
pub(super) fn from_statistics<K: Kernel>(
    p: &GaussianMixture,
    stats: Option<(&Sums, &Shift)>,
    d: usize,
    f32_input: bool,
) -> Result<Params> {
    let (k, t) = (p.n_components, K::TYPE);
    let user_factors = match &p.precisions_init {
        Some(prec) => Some(precision_cholesky_from_precisions(t, prec, k, d)?),
        None => None,
    };
    let mut estimated = match stats {
        Some((sums, shift)) => estimate::<K>(sums, shift, p.reg_covar, Weights::PerSample),
        None => Estimate {
            covariance_type: t,
            n_components: k,
            n_features: d,
            nk: Vec::new(),
            weights: Vec::new(),
            means: Vec::new(),
            covariances: Vec::new(),
        },
    };
    if let Some(w) = &p.weights_init {
        estimated.weights = w.clone();
    }
    if let Some(m) = &p.means_init {
        estimated.means = m.clone();
    }
    match user_factors {
        Some(u) => {
            // scikit-learn estimates covariances it then discards for the user's precisions.
            estimated.covariances = covariances_from_precision_cholesky(t, &u, k, d);
            Ok(estimated.with_factors(u))
        }
        None => estimated.factorize(StepInfo {
            iteration: 0,
            f32_input,
        }),
    }
}

/// Initial responsibilities, generated block by block (deterministically, whatever the thread
/// count).
enum RespSource<'a, 'l, T> {
    /// One-hot on each row's nearest k-means centre (k-means' own labels, recomputed per block
    /// rather than stored).
    Nearest(Box<NearestCenter<'a, T>>),
    /// One-hot on one chosen row per component: `points[c]` is component `c`'s row.
    Points(Vec<usize>),
    /// Uniform random values normalised per row, from a stream keyed by the row index.
    Random(u64),
    /// One-hot on given labels.
    Labels(&'l [usize]),
}

impl<'a, 'l, T: Float> RespSource<'a, 'l, T> {
    fn new(
        init: &'l Init,
        engine: &Engine<'a, T>,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<Self> {
        let k = init.n_components;
        let x = *engine.x();
        if let Some(labels) = &init.init_labels {
            return Ok(RespSource::Labels(labels));
        }
        Ok(match init.init_params {
            InitParams::KMeans => {
                let mut krng = Xoshiro256PlusPlus::seed_from_u64(rng.next_u64());
                RespSource::Nearest(Box::new(
                    KMeans::new(k)
                        .precision(init.precision)
                        .fit_centers_only(x, &mut krng, monitor)?,
                ))
            }
            InitParams::KMeansPlusPlus => {
                let lloyd = Lloyd::new(x, k, &[]);
                RespSource::Points(plusplus(&lloyd, k, rng, monitor)?)
            }
            InitParams::Random => RespSource::Random(rng.next_u64()),
            InitParams::RandomFromData => RespSource::Points(random_rows(&x, k, rng)?),
        })
    }

    /// Writes `out[c * BLOCK_ROWS + r]` for the rows of `span` (`out` is zeroed).
    fn fill(&self, span: Span, out: &mut [f64], k: usize) {
        let Span { start, rows } = span;
        match self {
            RespSource::Nearest(nearest) => {
                let mut labels = [0u32; BLOCK_ROWS];
                nearest.labels(span, &mut labels[..rows]);
                for (r, &c) in labels[..rows].iter().enumerate() {
                    out[c as usize * BLOCK_ROWS + r] = 1.0;
                }
            }
            RespSource::Points(points) => {
                for (c, &i) in points.iter().enumerate() {
                    if (start..start + rows).contains(&i) {
                        out[c * BLOCK_ROWS + (i - start)] = 1.0;
                    }
                }
            }
            RespSource::Labels(labels) => {
                for (r, &l) in labels[start..start + rows].iter().enumerate() {
                    out[l * BLOCK_ROWS + r] = 1.0;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::full::Full;
    use crate::covariance::spherical::Spherical;
    use crate::covariance::tied::Tied;
    use crate::data::DataRef;

    /// The k-means initialisation's one pass about the k-means centres gives the parameters of
    /// the two passes from the same labels (means, then the statistics about them), to
    /// rounding (1e-10 of the largest; the tied scatter, pooled about one centre, loses most),
    /// on blobs far from the origin (a shift in the wrong frame would cost ~1e-8 of
    /// the covariances there): four covariance types, with and without weights.
    fn one_pass_is_two_passes<K: Kernel>(x: DataRef<'_, f64>, k: usize) {
        let n = x.n_samples();
        let engine = Engine::new::<K>(x, k);
        let init = Init {
            n_components: k,
            init_params: InitParams::KMeans,
            init_labels: None,
            precision: Precision::F64,
        };
        let rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let monitor = &mut () as &mut dyn Monitor;
        let (sums, shift) =
            initial_statistics::<K, f64>(&init, &engine, &mut rng.clone(), monitor).unwrap();
        let one = estimate::<K>(&sums, &shift, 1e-6, Weights::PerSample);
        // The same k-means labels, block by block.
        let source = RespSource::new(&init, &engine, &mut rng.clone(), monitor).unwrap();
        let mut labels = Vec::with_capacity(n);
        let mut out = vec![0.0; k * BLOCK_ROWS];
        for start in (0..n).step_by(BLOCK_ROWS) {
            let rows = (n - start).min(BLOCK_ROWS);
            out.fill(0.0);
            source.fill(Span { start, rows }, &mut out, k);
            labels.extend(
                (0..rows).map(|r| (0..k).find(|&c| out[c * BLOCK_ROWS + r] == 1.0).unwrap()),
            );
        }
        assert!((0..k).all(|c| labels.iter().filter(|&&l| l == c).count() > 10));
        let by_labels = Init {
            init_labels: Some(labels),
            ..init.clone()
        };
        let (sums, shift) =
            initial_statistics::<K, f64>(&by_labels, &engine, &mut rng.clone(), monitor).unwrap();
        let two = estimate::<K>(&sums, &shift, 1e-6, Weights::PerSample);
        // The same weights summed per component: full gathers each component's rows (in
        // another order), the other kernels sum the one-hot responsibilities (the same bits).
        let nk_scale = two.nk.iter().fold(0.0f64, |m, v| m.max(*v));
        for (p, q) in one.nk.iter().zip(&two.nk) {
            assert!(
                (p - q).abs() <= 1e-13 * nk_scale,
                "{} nk: {p} against {q}",
                K::TYPE
            );
            if K::TYPE != CovarianceType::Full {
                assert_eq!(p.to_bits(), q.to_bits(), "{}", K::TYPE);
            }
        }
        for (what, a, b) in [
            ("weights", &one.weights, &two.weights),
            ("means", &one.means, &two.means),
            ("covariances", &one.covariances, &two.covariances),
        ] {
            let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p - q).abs() <= 1e-10 * scale,
                    "{} {what}: {p} against {q}",
                    K::TYPE
                );
            }
        }
    }

    /// The statistics of one-hot responsibilities on one row per component, from those rows
    /// alone, are the two passes' over all the data, exactly (every sum has one term that is
    /// not zero), with the data's rows and total weight, for random_from_data and k-means++,
    /// with and without weights, and for chosen rows that weigh zero (whose means are 0).
    fn points_are_the_passes<K: Kernel>(x: DataRef<'_, f64>, k: usize, init_params: InitParams) {
        let engine = Engine::new::<K>(x, k);
        let init = Init {
            n_components: k,
            init_params,
            init_labels: None,
            precision: Precision::F64,
        };
        let rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let monitor = &mut () as &mut dyn Monitor;
        let (sums, shift) =
            initial_statistics::<K, f64>(&init, &engine, &mut rng.clone(), monitor).unwrap();
        let source = RespSource::new(&init, &engine, &mut rng.clone(), monitor).unwrap();
        let RespSource::Points(points) = &source else {
            panic!("one row per component")
        };
        let resp = |span: Span, out: &mut [f64]| source.fill(span, out, k);
        let (want, want_shift) = two_passes::<K, f64>(&engine, &resp, k);
        let what = format!(
            "{} {init_params:?}, weights {}",
            K::TYPE,
            x.weights().is_some()
        );
        assert_eq!(sums.n_rows, want.n_rows, "{what}");
        assert_eq!(sums.weight.to_bits(), want.weight.to_bits(), "{what}");
        assert!(
            sums.nk == want.nk && sums.s1 == want.s1 && sums.s2 == want.s2,
            "{what}"
        );
        let a = estimate::<K>(&sums, &shift, 1e-6, Weights::PerSample);
        let b = estimate::<K>(&want, &want_shift, 1e-6, Weights::PerSample);
        assert!(a.weights == b.weights && a.means == b.means, "{what}");
        assert!(a.covariances == b.covariances, "{what}");
        if let Some(w) = x.weights() {
            // Weighted draws never choose a row of weight zero; chosen anyway, its `N_k` and
            // mean are 0, as in the passes.
            assert!(points.iter().all(|&i| w[i] > 0.0), "{what}");
            let mixed: Vec<usize> = (0..k).map(|c| c * 7).collect();
            assert!(mixed.iter().any(|&i| w[i] == 0.0) && mixed.iter().any(|&i| w[i] > 0.0));
            let own = RespSource::<f64>::Points(mixed.clone());
            let resp = |span: Span, out: &mut [f64]| own.fill(span, out, k);
            let (want, _) = two_passes::<K, f64>(&engine, &resp, k);
            let (got, _) = point_statistics::<K, f64>(&engine, &mixed).unwrap();
            assert!(
                got.nk == want.nk && got.s1 == want.s1 && got.s2 == want.s2,
                "{what}"
            );
            assert_eq!(got.weight.to_bits(), want.weight.to_bits(), "{what}");
            // Only rows of weight zero chosen: no statistics from them (the passes run).
            let none: Vec<usize> = (0..k).map(|c| c * 3).collect();
            assert!(point_statistics::<K, f64>(&engine, &none).is_none());
        }
    }

    #[test]
    fn point_statistics_equal_the_passes() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(4);
        let (n, d, k) = (2000, 6, 9);
        let x: Vec<f64> = (0..n * d).map(|_| 1e3 + g.random::<f64>() * 5.0).collect();
        // Every third row weighs zero; the others 0.1 to 2.1.
        let w: Vec<f64> = (0..n)
            .map(|i| {
                if i % 3 == 0 {
                    0.0
                } else {
                    g.random::<f64>() * 2.0 + 0.1
                }
            })
            .collect();
        let plain = DataRef::new(&x, n, d).unwrap();
        for data in [plain, plain.with_weights(&w).unwrap()] {
            for init in [InitParams::RandomFromData, InitParams::KMeansPlusPlus] {
                points_are_the_passes::<Full>(data, k, init);
                points_are_the_passes::<Diag>(data, k, init);
                points_are_the_passes::<Spherical>(data, k, init);
            }
        }
    }

    #[test]
    fn kmeans_statistics_in_one_pass_equal_two() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
        let (n, d, k) = (3000, 5, 4);
        let centres: Vec<f64> = (0..k * d).map(|_| 1e4 + g.random::<f64>() * 20.0).collect();
        let x: Vec<f64> = (0..n)
            .flat_map(|i| {
                let c = i % k;
                let mut row = centres[c * d..(c + 1) * d].to_vec();
                for v in &mut row {
                    *v += g.random::<f64>() * 2.0;
                }
                row
            })
            .collect();
        let w: Vec<f64> = (0..n).map(|_| g.random::<f64>() * 2.0 + 0.1).collect();
        let plain = DataRef::new(&x, n, d).unwrap();
        for data in [plain, plain.with_weights(&w).unwrap()] {
            one_pass_is_two_passes::<Full>(data, k);
            one_pass_is_two_passes::<Tied>(data, k);
            one_pass_is_two_passes::<Diag>(data, k);
            one_pass_is_two_passes::<Spherical>(data, k);
        }
    }
}
