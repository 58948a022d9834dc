//! The covariance-type specific mathematics, one module per type, behind one trait.
//!
//! Each type supplies the same operations, on a [`Block`] of rows held feature-major:
//! - [`Kernel::prepare`]: from the parameters, what the E-step needs (precision Cholesky
//!   factors, centred means, the constant `log w_k - d/2 log 2π + log det U_k`);
//! - [`Kernel::weighted_log_prob`]: `log w_k + log N(x | μ_k, Σ_k)` for every row and component;
//! - [`Kernel::accumulate`]: adds a block's sufficient statistics, centred on a shift;
//! - [`Kernel::covariances`]: the M-step's covariances from merged statistics.
//!
//! Around them: [`estimate`] (the M-step, common to every type), [`convert`] (every per-type
//! conversion: factors, precisions, log-determinants, shapes), [`pass`] (the passes over the
//! data, generic over the kernel), [`scatter`] and [`triangular`] (the block kernels the matrix
//! types share). The EM driver is generic over the trait and never looks at the covariance
//! type; [`with_kernel!`] matches the public [`CovarianceType`] once per call, so every inner
//! loop is monomorphised.

pub(crate) mod convert;
pub(crate) mod diag;
pub(crate) mod full;
pub(crate) mod full32;
pub(crate) mod pass;
pub(crate) mod scatter;
pub(crate) mod scatter32;
pub(crate) mod spherical;
pub(crate) mod tied;
pub(crate) mod triangular;
pub(crate) mod wishart;

use std::fmt;
use std::str::FromStr;

use crate::blocks::{Accumulator, BLOCK_ROWS, Block};
use crate::error::{Error, IllDefinedCovariance, Result};
use crate::math::add_assign;
use crate::simd::Isa;

/// `ln(2π)`.
pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The shape of the covariance matrices, as in scikit-learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CovarianceType {
    /// Each component has its own general covariance matrix: `covariances` is
    /// `(n_components, n_features, n_features)`.
    #[default]
    Full,
    /// All components share one general covariance matrix: `(n_features, n_features)`.
    Tied,
    /// Each component has its own diagonal covariance matrix: `(n_components, n_features)`.
    Diag,
    /// Each component has its own single variance: `(n_components,)`.
    Spherical,
}

impl CovarianceType {
    /// All four types, in scikit-learn's order.
    pub const ALL: [CovarianceType; 4] = [
        CovarianceType::Full,
        CovarianceType::Tied,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ];

    /// scikit-learn's name: `"full"`, `"tied"`, `"diag"` or `"spherical"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CovarianceType::Full => "full",
            CovarianceType::Tied => "tied",
            CovarianceType::Diag => "diag",
            CovarianceType::Spherical => "spherical",
        }
    }
}

impl fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CovarianceType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(CovarianceType::Full),
            "tied" => Ok(CovarianceType::Tied),
            "diag" => Ok(CovarianceType::Diag),
            "spherical" => Ok(CovarianceType::Spherical),
            _ => Err(crate::error::invalid(
                "covariance_type",
                format!("{s:?} is not one of \"full\", \"tied\", \"diag\", \"spherical\""),
            )),
        }
    }
}

/// The parameters of a mixture, flat and row-major, with scikit-learn's shapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Params {
    pub covariance_type: CovarianceType,
    pub n_components: usize,
    pub n_features: usize,
    /// `(n_components,)`
    pub weights: Vec<f64>,
    /// `(n_components, n_features)`
    pub means: Vec<f64>,
    /// See [`CovarianceType::covariances_shape`].
    pub covariances: Vec<f64>,
    /// Same shape as `covariances`; for `full` and `tied`, upper triangular `U` with
    /// `U Uᵀ = Σ⁻¹`; for `diag` and `spherical`, `1 / σ`.
    pub precisions_cholesky: Vec<f64>,
}

impl Params {
    /// `log w_k`: a mixture's E-step constants.
    pub(crate) fn log_weights(&self) -> Vec<f64> {
        self.weights.iter().map(|w| w.ln()).collect()
    }
}

/// Sums accumulated over blocks: everything a block contributes to the M-step and the lower
/// bound.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sums {
    /// Rows seen.
    pub n_rows: u64,
    /// Their total weight `Σ_i w_i` (`n_rows` without weights).
    pub weight: f64,
    /// `Σ_i w_i log p(x_i)` (only for statistics computed from an E-step).
    pub log_likelihood: f64,
    /// `Σ_i w_i Σ_k r_ik log r_ik`, when the E-step was asked for it (a variational bound's
    /// entropy term); 0 otherwise.
    pub entropy: f64,
    /// `Σ_i r_ik`: `(n_components,)`.
    pub nk: Vec<f64>,
    /// `Σ_i r_ik (x_i - s_k)`: `(n_components, n_features)`.
    pub s1: Vec<f64>,
    /// full: `Σ_i r_ik (x_i - s_k)(x_i - s_k)ᵀ`, `(K, d, d)`, lower triangle only;
    /// tied: `Σ_i (x_i - c)(x_i - c)ᵀ`, `(d, d)`, lower triangle only;
    /// diag and spherical: `Σ_i r_ik (x_i - s_k)²`, `(K, d)`.
    pub s2: Vec<f64>,
    /// tied only: `Σ_i (x_i - c)`, `(d,)`.
    pub t1: Vec<f64>,
}

impl Sums {
    pub(crate) fn zeros(kind: CovarianceType, k: usize, d: usize) -> Self {
        let s2 = match kind {
            CovarianceType::Full => k * d * d,
            CovarianceType::Tied => d * d,
            CovarianceType::Diag | CovarianceType::Spherical => k * d,
        };
        let t1 = if kind == CovarianceType::Tied { d } else { 0 };
        Sums {
            n_rows: 0,
            weight: 0.0,
            log_likelihood: 0.0,
            entropy: 0.0,
            nk: vec![0.0; k],
            s1: vec![0.0; k * d],
            s2: vec![0.0; s2],
            t1: vec![0.0; t1],
        }
    }
}

/// Blocks and leaves merge by elementwise addition.
impl Accumulator for Sums {
    fn reset(&mut self) {
        self.n_rows = 0;
        self.weight = 0.0;
        self.log_likelihood = 0.0;
        self.entropy = 0.0;
        self.nk.fill(0.0);
        self.s1.fill(0.0);
        self.s2.fill(0.0);
        self.t1.fill(0.0);
    }

    fn merge(&mut self, o: &Sums) {
        self.n_rows += o.n_rows;
        self.weight += o.weight;
        self.log_likelihood += o.log_likelihood;
        self.entropy += o.entropy;
        add_assign(&mut self.nk, &o.nk);
        add_assign(&mut self.s1, &o.s1);
        add_assign(&mut self.s2, &o.s2);
        add_assign(&mut self.t1, &o.t1);
    }
}

/// Where the statistics are centred: `shift` `(K, d)`, one point per component (normally the
/// current means), and for `tied` the centre `c` `(d,)` of the pooled scatter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shift {
    pub shift: Vec<f64>,
    pub center: Vec<f64>,
}

impl Shift {
    /// Centres on the given means; `c` is their unweighted average.
    pub(crate) fn new(means: &[f64], k: usize, d: usize) -> Self {
        let mut center = vec![0.0; d];
        for c in 0..k {
            for j in 0..d {
                center[j] += means[c * d + j];
            }
        }
        for v in &mut center {
            *v /= k as f64;
        }
        Shift {
            shift: means.to_vec(),
            center,
        }
    }

    /// Centred on the origin.
    pub(crate) fn origin(k: usize, d: usize) -> Self {
        Shift {
            shift: vec![0.0; k * d],
            center: vec![0.0; d],
        }
    }

    /// Number of features.
    #[inline]
    pub(crate) fn d(&self) -> usize {
        self.center.len()
    }

    /// Number of components.
    #[inline]
    pub(crate) fn k(&self) -> usize {
        self.shift.len() / self.center.len()
    }

    /// Component `c`'s shift `(d,)`.
    #[inline]
    pub(crate) fn of(&self, c: usize) -> &[f64] {
        let d = self.d();
        &self.shift[c * d..(c + 1) * d]
    }
}

/// Context for error messages from the M-step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepInfo {
    /// 1-based EM iteration; 0 at initialisation.
    pub iteration: usize,
    pub f32_input: bool,
}

impl StepInfo {
    pub(crate) fn ill_defined(&self, component: Option<usize>) -> Error {
        Error::IllDefinedCovariance(IllDefinedCovariance {
            component,
            iteration: self.iteration,
            f32_input: self.f32_input,
        })
    }
}

/// The operations each covariance type supplies.
pub(crate) trait Kernel: Send + Sync + 'static {
    const TYPE: CovarianceType;

    /// What the E-step needs, computed once per pass from the parameters.
    type Prepared: Send + Sync;

    /// Precomputes the E-step's constants; `log_weights[k]` is the per-component term added to
    /// `log N(x | μ_k, Σ_k)`: `log w_k` for a mixture, the variational expectations for a
    /// Bayesian one (see [`Params::log_weights`]).
    fn prepare(p: &Params, log_weights: &[f64]) -> Self::Prepared;

    /// Values of kernel workspace needed per block.
    fn work_len(k: usize, d: usize) -> usize;

    /// `out[c * BLOCK_ROWS + r] = log w_c + log N(x_r | μ_c, Σ_c)` for the padded rows of `x`.
    fn weighted_log_prob<I: Isa>(
        isa: I,
        prep: &Self::Prepared,
        x: Block<'_>,
        out: &mut [f64],
        work: &mut [f64],
    );

    /// Adds the statistics of a block with responsibilities `resp[c * BLOCK_ROWS + r]` (zero on
    /// padding rows, already multiplied by the sample weights) to `sums`, centred on `shift`.
    /// `weights` are the rows' sample weights, for statistics that count rows rather than
    /// responsibilities (tied's pooled scatter).
    fn accumulate<I: Isa>(
        isa: I,
        shift: &Shift,
        x: Block<'_>,
        resp: &[f64],
        weights: Option<&[f64]>,
        sums: &mut Sums,
        work: &mut [f64],
    );

    /// [`Kernel::accumulate`] for one-hot responsibilities: row `r` of `x` wholly in component
    /// `labels[r]`, with its sample weight. `resp` `(k, BLOCK_ROWS)` is free to use. By default
    /// the responsibilities are written out and accumulated (the same bits as the passes over
    /// given responsibilities); a kernel may instead take each component's rows alone, the
    /// same sums in another order.
    #[allow(clippy::too_many_arguments)]
    fn accumulate_labelled<I: Isa>(
        isa: I,
        shift: &Shift,
        x: Block<'_>,
        labels: &[u32],
        weights: Option<&[f64]>,
        sums: &mut Sums,
        resp: &mut [f64],
        work: &mut [f64],
    ) {
        one_hot(labels, weights, shift.k(), x.rows_p(), resp);
        Self::accumulate(isa, shift, x, resp, weights, sums, work);
    }

    /// Whether one-hot statistics of `k` components in `d` features are taken from the rows in
    /// place by [`full::accumulate_labelled_rows`] (the float64 full kernel) rather than by
    /// [`Kernel::accumulate_labelled`] on loaded blocks.
    fn labelled_rows(_k: usize, _d: usize) -> bool {
        false
    }

    /// The covariances (scikit-learn's shape) from merged statistics and the new means.
    /// `e[c] = μ'_c - s_c` is the move of each mean from its shift and `nk` the regularised
    /// counts `N_c + 10ε`.
    fn covariances(sums: &Sums, shift: &Shift, nk: &[f64], e: &[f64], reg_covar: f64) -> Vec<f64>;
}

/// `resp[c * BLOCK_ROWS + r]`: the row's weight (1 without weights) for `c = labels[r]`, zero
/// for the other components and on the padding rows up to `rows_p`.
pub(crate) fn one_hot(
    labels: &[u32],
    weights: Option<&[f64]>,
    k: usize,
    rows_p: usize,
    resp: &mut [f64],
) {
    for c in 0..k {
        resp[c * BLOCK_ROWS..c * BLOCK_ROWS + rows_p].fill(0.0);
    }
    for (r, &c) in labels.iter().enumerate() {
        resp[c as usize * BLOCK_ROWS + r] = weights.map_or(1.0, |w| w[r]);
    }
}

/// A block's rows in the order of their labels (a counting sort), for kernels that take each
/// component's rows alone.
pub(crate) struct LabelOrder {
    order: [u16; BLOCK_ROWS],
    /// Component `c`'s rows are `order[end[c - 1]..end[c]]`.
    end: Vec<u32>,
}

impl LabelOrder {
    /// The rows of `labels` (each below `k`) by label.
    pub(crate) fn new(labels: &[u32], k: usize) -> Self {
        let mut end = vec![0u32; k];
        for &c in labels {
            end[c as usize] += 1;
        }
        // Each component's first position, advanced as its rows are placed (to its end).
        let mut next = 0;
        for e in end.iter_mut() {
            next += *e;
            *e = next - *e;
        }
        let mut order = [0u16; BLOCK_ROWS];
        for (r, &c) in labels.iter().enumerate() {
            order[end[c as usize] as usize] = r as u16;
            end[c as usize] += 1;
        }
        LabelOrder { order, end }
    }

    /// Each component that has rows, with its rows (ascending).
    pub(crate) fn groups(&self) -> impl Iterator<Item = (usize, &[u16])> {
        let begins = std::iter::once(0).chain(self.end.iter().copied());
        self.end
            .iter()
            .zip(begins)
            .enumerate()
            .filter(|(_, (e, b))| e > &b)
            .map(|(c, (&e, b))| (c, &self.order[b as usize..e as usize]))
    }
}

/// Runs `$body` with `$K` bound to the kernel type of a [`CovarianceType`]: the one place where
/// the covariance type is matched.
macro_rules! with_kernel {
    ($t:expr, $K:ident => $body:expr) => {
        match $t {
            $crate::covariance::CovarianceType::Full => {
                type $K = $crate::covariance::full::Full;
                $body
            }
            $crate::covariance::CovarianceType::Tied => {
                type $K = $crate::covariance::tied::Tied;
                $body
            }
            $crate::covariance::CovarianceType::Diag => {
                type $K = $crate::covariance::diag::Diag;
                $body
            }
            $crate::covariance::CovarianceType::Spherical => {
                type $K = $crate::covariance::spherical::Spherical;
                $body
            }
        }
    };
}
pub(crate) use with_kernel;

/// `log w_k - d/2 log 2π + log det U_k`: the per-component constant of the log-density, for
/// `log_weights[k] = log w_k`.
pub(crate) fn log_constants(log_weights: &[f64], log_det: &[f64], d: usize) -> Vec<f64> {
    log_weights
        .iter()
        .zip(log_det)
        .map(|(lw, ld)| lw - 0.5 * d as f64 * LN_2PI + ld)
        .collect()
}

/// What the M-step divides the weights by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weights {
    /// `Σ_k N'_k`: the weights sum to one (every EM iteration).
    Normalized,
    /// The number of rows (their total weight): scikit-learn's `_initialize`, whose weights from
    /// single points (k-means++, random_from_data) do not sum to one.
    PerSample,
}

/// The M-step's estimate, before the covariances are factorised.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    pub covariance_type: CovarianceType,
    pub n_components: usize,
    pub n_features: usize,
    /// The regularised responsibility mass `N'_k = N_k + 10ε`.
    pub nk: Vec<f64>,
    pub weights: Vec<f64>,
    pub means: Vec<f64>,
    pub covariances: Vec<f64>,
}

impl Estimate {
    /// The parameters, with the covariances factorised; a covariance that is not positive
    /// definite is scikit-learn's ill-defined covariance error, naming the component.
    pub(crate) fn factorize(self, info: StepInfo) -> Result<Params> {
        let (t, k, d) = (self.covariance_type, self.n_components, self.n_features);
        let precisions_cholesky = convert::precision_cholesky(t, &self.covariances, k, d)
            .map_err(|e| info.ill_defined(e.component))?;
        Ok(self.with_factors(precisions_cholesky))
    }

    /// The parameters with given precision Cholesky factors.
    pub(crate) fn with_factors(self, precisions_cholesky: Vec<f64>) -> Params {
        Params {
            covariance_type: self.covariance_type,
            n_components: self.n_components,
            n_features: self.n_features,
            weights: self.weights,
            means: self.means,
            covariances: self.covariances,
            precisions_cholesky,
        }
    }
}

/// The M-step: new weights, means and covariances from merged statistics, with scikit-learn's
/// arithmetic (`N'_k = N_k + 10ε`, means `Σ r x / N'`, covariances about the new means).
pub(crate) fn estimate<K: Kernel>(
    sums: &Sums,
    shift: &Shift,
    reg_covar: f64,
    weights: Weights,
) -> Estimate {
    let (k, d) = (shift.k(), shift.d());
    let eps10 = 10.0 * f64::EPSILON;
    let nk: Vec<f64> = sums.nk.iter().map(|&n| n + eps10).collect();
    // μ' = Σ r x / N' = (S1 + N s) / N'  =>  e = μ' - s = (S1 - 10ε s) / N'.
    let mut e = vec![0.0; k * d];
    let mut means = vec![0.0; k * d];
    for c in 0..k {
        for j in 0..d {
            let s = shift.shift[c * d + j];
            let ec = (sums.s1[c * d + j] - eps10 * s) / nk[c];
            e[c * d + j] = ec;
            means[c * d + j] = s + ec;
        }
    }
    let total: f64 = match weights {
        Weights::Normalized => nk.iter().sum(),
        Weights::PerSample => sums.weight,
    };
    let covariances = K::covariances(sums, shift, &nk, &e, reg_covar);
    Estimate {
        covariance_type: K::TYPE,
        n_components: k,
        n_features: d,
        weights: nk.iter().map(|&n| n / total).collect(),
        nk,
        means,
        covariances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in CovarianceType::ALL {
            assert_eq!(t.as_str().parse::<CovarianceType>().unwrap(), t);
        }
        assert!("Full".parse::<CovarianceType>().is_err());
    }
}
