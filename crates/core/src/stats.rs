//! Sufficient statistics as a public API: computed on a chunk of rows, merged, turned into a
//! model by the M-step. Out-of-core and distributed fits are this loop:
//!
//! ```
//! # use gaussmix_core::*;
//! # let x: Vec<f64> = (0..400).map(|i| ((i * 7919) % 1000) as f64 / 100.0).collect();
//! # let model = GaussianMixture::new(2).max_iter(0).init_params(InitParams::RandomFromData)
//! #     .fit(DataRef::new(&x, 200, 2).unwrap()).unwrap();
//! let (a, b) = (DataRef::new(&x[..200], 100, 2).unwrap(), DataRef::new(&x[200..], 100, 2).unwrap());
//! let mut stats = model.sufficient_statistics(a).unwrap();
//! stats.merge(&model.sufficient_statistics(b).unwrap()).unwrap();
//! let lower_bound = stats.mean_log_likelihood();
//! let next = GaussianMixtureModel::m_step(&stats, 1e-6).unwrap();
//! # assert!(lower_bound.is_finite() && next.weights().len() == 2);
//! ```

use crate::blocks::{Accumulator, BLOCK_ROWS, Span};
use crate::covariance::pass::Engine;
use crate::covariance::{CovarianceType, Shift, Sums, with_kernel};
use crate::data::{DataRef, Float, validate_data};
use crate::error::{Error, Result};

/// Responsibilities given to [`SufficientStats::from_responsibilities`] instead of an E-step.
#[derive(Debug, Clone, Copy)]
pub enum Responsibilities<'r> {
    /// One component per row (`-1`: the row belongs to none), `(n_samples,)`.
    Labels(&'r [i64]),
    /// Non-negative weights, `(n_samples, n_components)` row-major.
    Soft(&'r [f64]),
}

/// The statistics of a set of rows under a model's E-step, centred on a shift `s_k` (the
/// model's means) so that nothing cancels when they are merged and turned into covariances.
#[derive(Debug, Clone, PartialEq)]
pub struct SufficientStats {
    covariance_type: CovarianceType,
    n_components: usize,
    n_features: usize,
    shift: Shift,
    sums: Sums,
}

/// The raw arrays of [`SufficientStats`], for serialisation (e.g. to ship between processes).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsParts {
    /// Covariance type.
    pub covariance_type: CovarianceType,
    /// `K`.
    pub n_components: usize,
    /// `d`.
    pub n_features: usize,
    /// Shift per component `(K, d)`.
    pub shift: Vec<f64>,
    /// Centre of the pooled scatter `(d,)` (the average of the shifts).
    pub center: Vec<f64>,
    /// Rows summarised.
    pub n_samples: u64,
    /// Their total weight `Σ_i w_i` (`n_samples` without sample weights).
    pub weight: f64,
    /// `Σ_i w_i log p(x_i)`.
    pub log_likelihood: f64,
    /// `Σ_i w_i Σ_k r_ik log r_ik` for statistics under a variational model's E-step (0
    /// otherwise).
    pub entropy: f64,
    /// `Σ_i w_i r_ik` `(K,)`.
    pub nk: Vec<f64>,
    /// `Σ_i w_i r_ik (x_i - s_k)` `(K, d)`.
    pub s1: Vec<f64>,
    /// full `(K, d, d)` and tied `(d, d)` scatter (lower triangle), diag/spherical `(K, d)`.
    pub s2: Vec<f64>,
    /// tied only: `Σ_i (x_i - c)` `(d,)`; empty otherwise.
    pub t1: Vec<f64>,
}

impl SufficientStats {
    pub(crate) fn new(
        covariance_type: CovarianceType,
        n_components: usize,
        n_features: usize,
        shift: Shift,
        sums: Sums,
    ) -> Self {
        SufficientStats {
            covariance_type,
            n_components,
            n_features,
            shift,
            sums,
        }
    }

    pub(crate) fn sums(&self) -> &Sums {
        &self.sums
    }

    pub(crate) fn shift(&self) -> &Shift {
        &self.shift
    }

    /// Statistics of `x` `(n_samples, n_features)` under given responsibilities, centred on
    /// `shift` `(n_components, n_features)`: what an initialisation computes (k-means labels,
    /// chosen rows, random weights) before its first M-step. Their log-likelihood is 0 (no
    /// E-step ran); every row counts in `n_samples` (and, for `tied`, in the pooled scatter).
    pub fn from_responsibilities<T: Float>(
        covariance_type: CovarianceType,
        x: DataRef<'_, T>,
        shift: &[f64],
        n_components: usize,
        resp: Responsibilities<'_>,
    ) -> Result<Self> {
        validate_data(&x)?;
        let (n, d, k) = (x.n_samples(), x.n_features(), n_components);
        let bad = |what: &str, expected: String, found: String| Error::ShapeMismatch {
            what: what.into(),
            expected,
            found,
        };
        if k == 0 || shift.len() != k * d || shift.iter().any(|v| !v.is_finite()) {
            return Err(bad(
                "the shift",
                format!("({k}, {d}) finite values with k >= 1"),
                format!("{} values", shift.len()),
            ));
        }
        match resp {
            Responsibilities::Labels(l) => {
                if l.len() != n {
                    return Err(bad(
                        "the labels",
                        format!("({n},)"),
                        format!("{} values", l.len()),
                    ));
                }
                if let Some(v) = l.iter().find(|&&v| v < -1 || v >= k as i64) {
                    return Err(crate::error::invalid(
                        "labels",
                        format!("{v} is not in [-1, {k})"),
                    ));
                }
            }
            Responsibilities::Soft(r) => {
                if r.len() != n * k {
                    return Err(bad(
                        "the responsibilities",
                        format!("({n}, {k})"),
                        format!("{} values", r.len()),
                    ));
                }
                if r.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(crate::error::invalid(
                        "responsibilities",
                        "must be finite and non-negative",
                    ));
                }
            }
        }
        let shifts = Shift::new(shift, k, d);
        let fill = |Span { start, rows }: Span, out: &mut [f64]| match resp {
            Responsibilities::Labels(l) => {
                for r in 0..rows {
                    if let Ok(c) = usize::try_from(l[start + r]) {
                        out[c * BLOCK_ROWS + r] = 1.0;
                    }
                }
            }
            Responsibilities::Soft(w) => {
                for r in 0..rows {
                    for c in 0..k {
                        out[c * BLOCK_ROWS + r] = w[(start + r) * k + c];
                    }
                }
            }
        };
        let sums = with_kernel!(covariance_type, K => {
            Engine::new::<K>(x, k).stats_from::<K>(&shifts, &fill)
        });
        Ok(SufficientStats::new(covariance_type, k, d, shifts, sums))
    }

    /// Covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance_type
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.n_components
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Rows summarised.
    pub fn n_samples(&self) -> u64 {
        self.sums.n_rows
    }

    /// Total weight of the rows summarised, `Σ_i w_i` (their number, without sample weights).
    pub fn total_weight(&self) -> f64 {
        self.sums.weight
    }

    /// `Σ_i w_i log p(x_i)` over the rows.
    pub fn log_likelihood(&self) -> f64 {
        self.sums.log_likelihood
    }

    /// Weighted mean log-likelihood of the rows, `Σ_i w_i log p(x_i) / Σ_i w_i`: the lower bound
    /// of the EM iteration.
    pub fn mean_log_likelihood(&self) -> f64 {
        self.sums.log_likelihood / self.sums.weight
    }

    /// Responsibility mass per component `Σ_i w_i r_ik` `(K,)`.
    pub fn nk(&self) -> &[f64] {
        &self.sums.nk
    }

    /// Adds `other`'s statistics, which must come from the same model (same shift). Merging in
    /// a fixed order gives the same bits every time.
    pub fn merge(&mut self, other: &SufficientStats) -> Result<()> {
        if self.covariance_type != other.covariance_type
            || self.n_components != other.n_components
            || self.n_features != other.n_features
        {
            return Err(Error::ShapeMismatch {
                what: "statistics to merge".into(),
                expected: format!(
                    "{} with {} components, {} features",
                    self.covariance_type, self.n_components, self.n_features
                ),
                found: format!(
                    "{} with {} components, {} features",
                    other.covariance_type, other.n_components, other.n_features
                ),
            });
        }
        if self.shift != other.shift {
            return Err(Error::InvalidModel(
                "statistics computed under different models (shifts) cannot be merged".into(),
            ));
        }
        self.sums.merge(&other.sums);
        Ok(())
    }

    /// The raw arrays.
    pub fn to_parts(&self) -> StatsParts {
        StatsParts {
            covariance_type: self.covariance_type,
            n_components: self.n_components,
            n_features: self.n_features,
            shift: self.shift.shift.clone(),
            center: self.shift.center.clone(),
            n_samples: self.sums.n_rows,
            weight: self.sums.weight,
            log_likelihood: self.sums.log_likelihood,
            entropy: self.sums.entropy,
            nk: self.sums.nk.clone(),
            s1: self.sums.s1.clone(),
            s2: self.sums.s2.clone(),
            t1: self.sums.t1.clone(),
        }
    }

    /// Rebuilds statistics from their raw arrays, checking every length.
    pub fn from_parts(p: StatsParts) -> Result<Self> {
        let (k, d, t) = (p.n_components, p.n_features, p.covariance_type);
        let want = Sums::zeros(t, k, d);
        let lens = [
            ("shift", p.shift.len(), k * d),
            ("center", p.center.len(), d),
            ("nk", p.nk.len(), k),
            ("s1", p.s1.len(), want.s1.len()),
            ("s2", p.s2.len(), want.s2.len()),
            ("t1", p.t1.len(), want.t1.len()),
        ];
        if !(p.weight.is_finite() && p.weight >= 0.0) {
            return Err(crate::error::invalid(
                "weight",
                format!(
                    "the statistics' total weight must be finite and >= 0, got {}",
                    p.weight
                ),
            ));
        }
        for (name, got, expected) in lens {
            if got != expected {
                return Err(Error::ShapeMismatch {
                    what: format!("statistics array {name}"),
                    expected: format!("{expected} values"),
                    found: format!("{got} values"),
                });
            }
        }
        Ok(SufficientStats {
            covariance_type: t,
            n_components: k,
            n_features: d,
            shift: Shift {
                shift: p.shift,
                center: p.center,
            },
            sums: Sums {
                n_rows: p.n_samples,
                weight: p.weight,
                log_likelihood: p.log_likelihood,
                entropy: p.entropy,
                nk: p.nk,
                s1: p.s1,
                s2: p.s2,
                t1: p.t1,
            },
        })
    }
}
