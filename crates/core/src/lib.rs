//! # gaussmix-core
//!
//! Gaussian mixture models and k-means with scikit-learn's semantics, computed by one fused,
//! blocked, parallel pass over the data per iteration.
//!
//! - [`GaussianMixture`] (scikit-learn's `GaussianMixture`): `full`, `tied`, `diag` and
//!   `spherical` covariances, in precision-Cholesky form and log space throughout; the fitted
//!   [`GaussianMixtureModel`] predicts, scores, samples and reports BIC/AIC.
//! - [`BayesianGaussianMixture`] (scikit-learn's `BayesianGaussianMixture`): variational
//!   inference with a Dirichlet process or Dirichlet prior on the weights, on the same engine.
//! - [`KMeans`] (scikit-learn's `KMeans`): greedy k-means++, Lloyd's algorithm and exact
//!   bound-based k-means (`algorithm`), which give the same result bit for bit.
//! - [`SufficientStats`]: the E-step's statistics of a chunk of rows, mergeable, and the M-step
//!   from them: the building block of out-of-core and distributed fits.
//!
//! Input is a borrowed row-major [`DataRef`] of `f32` or `f64` (never copied); arithmetic and
//! accumulation are in `f64`. Rows are processed in fixed blocks whose partial results are
//! combined in a fixed order, so **results are bit-identical for any number of threads**.
//! Parallelism is rayon's: the current pool, or `n_threads` for a pool of its own.
//!
//! ```
//! use gaussmix_core::{DataRef, GaussianMixture};
//! // Two well separated groups of points in 2-D.
//! let mut x = Vec::new();
//! for i in 0..100 {
//!     let t = i as f64 * 0.1;
//!     x.extend_from_slice(&[t.sin(), t.cos()]);
//!     x.extend_from_slice(&[10.0 + t.cos(), 5.0 + t.sin()]);
//! }
//! let data = DataRef::new(&x, 200, 2).unwrap();
//! let model = GaussianMixture::new(2).seed(0).fit(data).unwrap();
//! assert!(model.converged());
//! let labels = model.predict(data).unwrap();
//! assert_ne!(labels[0], labels[1]);
//! ```
//!
//! # Sample weights
//!
//! [`DataRef::with_weights`] attaches one weight `w_i` per row: finite, non-negative, not all
//! zero. A row of weight `w` counts as `w` copies of itself:
//! - EM: `N_k = Σ w_i r_ik`, `μ_k = Σ w_i r_ik x_i / N_k`, covariances from
//!   `Σ w_i r_ik (x_i - μ_k)(x_i - μ_k)ᵀ` (tied: the pooled scatter weighs each row by `w_i`),
//!   `weights = N'_k / Σ_k N'_k`; the lower bound and [`GaussianMixtureModel::score`] are the
//!   weighted mean log-likelihood `Σ w_i log p(x_i) / Σ w_i`; BIC and AIC take `n = Σ w_i`. The
//!   initialisation's weights are `N'_k / Σ w_i` (scikit-learn's `N_k / n`).
//!   [`GaussianMixtureModel::score_samples`] stays per row.
//! - k-means: scikit-learn's `KMeans.fit(X, sample_weight=w)`: centres `Σ w x / Σ w` per
//!   cluster, inertia `Σ w ‖x - c‖²`, greedy k-means++ drawing candidates by `w · D²` (the first
//!   centre by `w`), `random` drawing rows by `w`, empty clusters (no weight) relocated to the
//!   farthest rows with their weights; as in scikit-learn, the column-mean centring and the scale
//!   of `tol` are unweighted.
//! - A mixture's `kmeans` initialisation runs weighted k-means; `k-means++` and
//!   `random_from_data` seed on rows drawn as k-means draws them; `random` responsibilities are
//!   weighted like any others. (scikit-learn's `GaussianMixture` has no weights; these are the
//!   choices its k-means makes.)
//! - The weight multiplies each row's responsibilities once (its `1 / Σ_k` is scaled), in the
//!   same fused pass: no second pass, no stored `n × K` matrix. Rows of weight zero contribute
//!   exactly nothing to the statistics (appending them to the data changes no bit of a mixture's
//!   E-step statistics as long as no leaf of the reduction tree is added); weights that are all
//!   equal draw the same seeds as no weights, and weights all 1 give bit-identical fits.
//!
//! # The stack
//!
//! The modules form a one-way stack: each imports only from the ones listed before it, never
//! from one after it (`error` is the exception every module may use).
//!
//! | module | what it holds |
//! |---|---|
//! | `error` | [`Error`], [`Result`], size-checked allocation |
//! | `mem` | large working buffers on (transparent) huge pages, block buffers on whole cache lines |
//! | `simd` | eight-lane vectors, instruction-set tokens created only by run-time detection, `dispatch!` |
//! | `math` | vectorised `exp`/`ln`, fixed-order sums |
//! | `linalg` | small dense Cholesky, triangular inverses (faer) |
//! | `data` | [`DataRef`], [`Float`] |
//! | `monitor` | [`Monitor`], [`Progress`] |
//! | `blocks` | the blocked, deterministic pass: `Block`, `Accumulator`, `Passes`, thread pools |
//! | `kmeans` | [`KMeans`]: `init` (seeding), `plusplus` (greedy k-means++ as pruned blocked passes), `lloyd` (iterations), `bounded` (exact bound-based iterations), `exact` (per-centre sums without rounding), `kernels`, `tiles` (the register-tiled nearest centre from d = 24) |
//! | `covariance` | the `Kernel` trait and one module per type, `convert` (per-type conversions), `pass` (the fused E-step pass), `estimate` (the M-step) |
//! | `stats` | [`SufficientStats`] |
//! | `model` | [`GaussianMixtureModel`] |
//! | `mixture` | [`GaussianMixture`]: `params`, `init`, `em` (the driver every mixture shares), `reseed` |
//! | `bayesian` | [`BayesianGaussianMixture`]: `variational` (its mathematics), `model` |
//!
//! Identifiers say `center` (scikit-learn's `cluster_centers_`); prose says "centre".
#![deny(missing_docs)]

mod bayesian;
mod blocks;
mod covariance;
mod data;
mod error;
mod kmeans;
mod linalg;
mod math;
mod mem;
mod mixture;
mod model;
mod monitor;
mod simd;
mod stats;

pub use bayesian::BayesianGaussianMixture;
pub use bayesian::model::{BayesianGaussianMixtureModel, BayesianParts};
pub use bayesian::variational::{WeightConcentration, WeightConcentrationPriorType};
pub use covariance::CovarianceType;
pub use data::{DataRef, Float, Precision};
pub use error::{Error, IllDefinedCovariance, Result};
pub use kmeans::{KMeans, KMeansAlgorithm, KMeansInit, KMeansModel, LloydPass};
pub use mixture::{GaussianMixture, InitParams, OnDegenerate, StatsSource};
pub use model::{CONVERGENCE_WARNING, GaussianMixtureModel, Reseed};
pub use monitor::{Monitor, Phase, Progress};
pub use stats::{Responsibilities, StatsParts, SufficientStats};

/// Rows per block of the passes over the data: a constant of the algorithm (never derived from
/// the thread count), exposed for tests at block edges.
pub const BLOCK_ROWS: usize = blocks::BLOCK_ROWS;
