//! The covariance-type specific mathematics, one module per type, behind one trait.
//!
//! Each type supplies the same operations, all on blocks of rows held feature-major
//! (`xt[j * ld + r]`, see [`crate::blocks`]):
//! - [`Kernel::prepare`]: from the parameters, what the E-step needs (precision Cholesky
//!   factors, centred means, the constant `log w_k - d/2 log 2π + log det U_k`);
//! - [`Kernel::weighted_log_prob`]: `log w_k + log N(x | μ_k, Σ_k)` for every row and component;
//! - [`Kernel::accumulate`]: adds a block's sufficient statistics, centred on a shift;
//! - [`Kernel::estimate`]: the M-step from merged statistics.
//!
//! The EM driver is generic over the trait and never looks at the covariance type; the public
//! [`CovarianceType`] is matched once per call, so every inner loop is monomorphised.

pub(crate) mod diag;
pub(crate) mod full;
pub(crate) mod spherical;
pub(crate) mod tied;

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, IllDefinedCovariance, Result};
use crate::math::LANES;
use crate::simd::{Isa, V8};

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

    /// The shape of `covariances` (and of `precisions_cholesky`) for this type.
    pub fn covariances_shape(self, n_components: usize, n_features: usize) -> Vec<usize> {
        match self {
            CovarianceType::Full => vec![n_components, n_features, n_features],
            CovarianceType::Tied => vec![n_features, n_features],
            CovarianceType::Diag => vec![n_components, n_features],
            CovarianceType::Spherical => vec![n_components],
        }
    }

    /// Number of values in `covariances` for this type.
    pub fn covariances_len(self, n_components: usize, n_features: usize) -> usize {
        self.covariances_shape(n_components, n_features)
            .iter()
            .product()
    }

    /// Free parameters of a mixture with this covariance type: means, weights and covariances.
    pub fn n_parameters(self, n_components: usize, n_features: usize) -> usize {
        let (k, d) = (n_components, n_features);
        let cov = match self {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Tied => d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
        };
        k * d + k - 1 + cov
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

/// Sums accumulated over blocks: everything a block contributes to the M-step and the lower
/// bound. Blocks and leaves merge by elementwise addition, in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sums {
    /// Rows seen.
    pub n_rows: u64,
    /// `Σ_i log p(x_i)` (only for statistics computed from an E-step).
    pub log_likelihood: f64,
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
            log_likelihood: 0.0,
            nk: vec![0.0; k],
            s1: vec![0.0; k * d],
            s2: vec![0.0; s2],
            t1: vec![0.0; t1],
        }
    }

    pub(crate) fn clear(&mut self) {
        self.n_rows = 0;
        self.log_likelihood = 0.0;
        self.nk.fill(0.0);
        self.s1.fill(0.0);
        self.s2.fill(0.0);
        self.t1.fill(0.0);
    }

    pub(crate) fn add(&mut self, o: &Sums) {
        self.n_rows += o.n_rows;
        self.log_likelihood += o.log_likelihood;
        add_to(&mut self.nk, &o.nk);
        add_to(&mut self.s1, &o.s1);
        add_to(&mut self.s2, &o.s2);
        add_to(&mut self.t1, &o.t1);
    }
}

fn add_to(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
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

    /// Precomputes the E-step's constants.
    fn prepare(p: &Params) -> Self::Prepared;

    /// Values of kernel workspace needed per block.
    fn work_len(k: usize, d: usize) -> usize;

    /// `out[c * ld + r] = log w_c + log N(x_r | μ_c, Σ_c)` for the rows `0..rows` (rounded up to
    /// whole lanes) of the feature-major block `xt`.
    fn weighted_log_prob<I: Isa>(
        prep: &Self::Prepared,
        xt: &[f64],
        ld: usize,
        rows: usize,
        out: &mut [f64],
        work: &mut [f64],
    );

    /// Adds the statistics of a block with responsibilities `resp[c * ld + r]` (zero on padding
    /// rows) to `sums`, centred on `shift`.
    fn accumulate<I: Isa>(
        shift: &Shift,
        xt: &[f64],
        ld: usize,
        rows: usize,
        resp: &[f64],
        sums: &mut Sums,
        work: &mut [f64],
        k: usize,
        d: usize,
    );

    /// The covariances (scikit-learn's shape) from merged statistics and the new means.
    /// `e[c] = μ'_c - s_c` is the move of each mean from its shift and `nk` the regularised
    /// counts `N_c + 10ε`.
    fn covariances(
        sums: &Sums,
        shift: &Shift,
        nk: &[f64],
        e: &[f64],
        reg_covar: f64,
        k: usize,
        d: usize,
    ) -> Vec<f64>;

    /// Precision Cholesky factors for covariances; `Err` names the first that is not positive
    /// definite.
    fn precisions_cholesky(cov: &[f64], k: usize, d: usize, info: StepInfo) -> Result<Vec<f64>>;
}

/// The M-step: new weights, means, covariances and precision Cholesky factors from merged
/// statistics, with scikit-learn's arithmetic (`N'_k = N_k + 10ε`, means `Σ r x / N'`,
/// covariances about the new means). `normalize_weights` is false at initialisation, where
/// scikit-learn divides by `n_samples` instead of `Σ N'`.
///
/// With `factorize` false the precision factors are left empty (scikit-learn's initialisation
/// with user `precisions_init` estimates covariances without factorising them).
pub(crate) fn estimate<K: Kernel>(
    sums: &Sums,
    shift: &Shift,
    reg_covar: f64,
    k: usize,
    d: usize,
    normalize_weights: bool,
    factorize: bool,
    info: StepInfo,
) -> Result<Params> {
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
    let total: f64 = if normalize_weights {
        nk.iter().sum()
    } else {
        sums.n_rows as f64
    };
    let weights: Vec<f64> = nk.iter().map(|&n| n / total).collect();
    let covariances = K::covariances(sums, shift, &nk, &e, reg_covar, k, d);
    let precisions_cholesky = if factorize {
        K::precisions_cholesky(&covariances, k, d, info)?
    } else {
        Vec::new()
    };
    Ok(Params {
        covariance_type: K::TYPE,
        n_components: k,
        n_features: d,
        weights,
        means,
        covariances,
        precisions_cholesky,
    })
}

/// `dx[j * ld + r] = xt[j * ld + r] - m[j]` for the padded rows.
#[inline(always)]
pub(crate) fn center<I: Isa>(xt: &[f64], m: &[f64], ld: usize, rows_p: usize, dx: &mut [f64]) {
    for (j, &mj) in m.iter().enumerate() {
        let mv = V8::<I>::splat(mj);
        for r0 in (0..rows_p).step_by(LANES) {
            V8::<I>::load(&xt[j * ld + r0..])
                .sub(mv)
                .store(&mut dx[j * ld + r0..]);
        }
    }
}

/// Symmetric-from-lower: copies the lower triangle of a `(d, d)` matrix to its upper triangle.
pub(crate) fn symmetrize_lower(a: &mut [f64], d: usize) {
    for i in 0..d {
        for j in 0..i {
            a[j * d + i] = a[i * d + j];
        }
    }
}

/// The lower triangle of `Σ_r wa_r (a_r - s)ᵀ` added into `out` `(d, d)` (`s` is `shift`, empty
/// for zero), in tiles of `TI × TJ` outputs ([`scatter_tile`]).
///
/// Tiles wholly above the diagonal are skipped and tiles across it leave out their upper
/// entries, so the work is half of a full product; ragged edge tiles go one entry at a time.
/// The offsets `i0 - j0` of tiles across the diagonal are those of 4 × 4 and 4 × 6 tiles.
#[inline(always)]
fn scatter_tiles<I: Isa, const TI: usize, const TJ: usize>(
    a: &[f64],
    shift: &[f64],
    wa: &[f64],
    ld: usize,
    rows_p: usize,
    d: usize,
    out: &mut [f64],
) {
    let mut i0 = 0;
    while i0 < d {
        let ni = TI.min(d - i0);
        let mut j0 = 0;
        while j0 < i0 + ni {
            let nj = TJ.min(d - j0);
            if ni == TI && nj == TJ {
                // Tiles across the diagonal skip their upper entries (the offset `i0 - j0` is a
                // constant of the tile variant, so the skipped sums compile away).
                let t = match i0 as isize - j0 as isize {
                    -2 => scatter_tile::<I, TI, TJ, -2>(a, shift, wa, ld, rows_p, i0, j0),
                    0 => scatter_tile::<I, TI, TJ, 0>(a, shift, wa, ld, rows_p, i0, j0),
                    2 => scatter_tile::<I, TI, TJ, 2>(a, shift, wa, ld, rows_p, i0, j0),
                    4 => scatter_tile::<I, TI, TJ, 4>(a, shift, wa, ld, rows_p, i0, j0),
                    _ => {
                        scatter_tile::<I, TI, TJ, { isize::MAX }>(a, shift, wa, ld, rows_p, i0, j0)
                    }
                };
                for (p, row) in t.iter().enumerate() {
                    for (q, &v) in row.iter().enumerate() {
                        if j0 + q <= i0 + p {
                            out[(i0 + p) * d + j0 + q] += v;
                        }
                    }
                }
            } else {
                // A ragged tile at the edge: one output at a time.
                for i in i0..i0 + ni {
                    for j in j0..(j0 + nj).min(i + 1) {
                        let mut acc = V8::<I>::zero();
                        let sj = V8::<I>::splat(if shift.is_empty() { 0.0 } else { shift[j] });
                        for r0 in (0..rows_p).step_by(LANES) {
                            acc = V8::<I>::load(&wa[i * ld + r0..])
                                .madd(V8::<I>::load(&a[j * ld + r0..]).sub(sj), acc);
                        }
                        out[i * d + j] += acc.sum();
                    }
                }
            }
            j0 += TJ;
        }
        i0 += TI;
    }
}

/// Whether entry `(p, q)` of a tile with `i0 - j0 = DELTA` is on or below the diagonal.
#[inline(always)]
const fn lower<const DELTA: isize>(p: usize, q: usize) -> bool {
    DELTA == isize::MAX || q as isize <= p as isize + DELTA
}

/// One `TI × TJ` tile of [`scatter_tiles`]: `Σ_r wa[i0 + p]_r (a[j0 + q]_r - s[j0 + q])`, for
/// the entries on or below the diagonal when `DELTA = i0 - j0` (zero above it); `isize::MAX`
/// for a tile wholly below the diagonal.
#[inline(always)]
fn scatter_tile<I: Isa, const TI: usize, const TJ: usize, const DELTA: isize>(
    a: &[f64],
    shift: &[f64],
    wa: &[f64],
    ld: usize,
    rows_p: usize,
    i0: usize,
    j0: usize,
) -> [[f64; TJ]; TI] {
    let groups = rows_p / LANES;
    // Each operand row as exactly `groups` lane groups: the bounds are checked here, once, and
    // the loop's loads need no checks (a check in the loop would also pin the accumulators to
    // memory for its panic path).
    let mut w: [&[[f64; LANES]]; TI] = [&[]; TI];
    for p in 0..TI {
        w[p] = &wa[(i0 + p) * ld..].as_chunks().0[..groups];
    }
    let mut x: [&[[f64; LANES]]; TJ] = [&[]; TJ];
    for q in 0..TJ {
        x[q] = &a[(j0 + q) * ld..].as_chunks().0[..groups];
    }
    let mut sv = [V8::<I>::zero(); TJ];
    if !shift.is_empty() {
        for q in 0..TJ {
            sv[q] = V8::<I>::splat(shift[j0 + q]);
        }
    }
    let mut acc = [[V8::<I>::zero(); TJ]; TI];
    for g in 0..groups {
        let mut wv = [V8::<I>::zero(); TI];
        for p in 0..TI {
            wv[p] = V8::<I>::load(&w[p][g]);
        }
        for q in 0..TJ {
            let xv = V8::<I>::load(&x[q][g]).sub(sv[q]);
            for p in 0..TI {
                if lower::<DELTA>(p, q) {
                    acc[p][q] = wv[p].madd(xv, acc[p][q]);
                }
            }
        }
    }
    let mut sums = [[0.0; TJ]; TI];
    for p in 0..TI {
        for q in 0..TJ {
            if lower::<DELTA>(p, q) {
                sums[p][q] = acc[p][q].sum();
            }
        }
    }
    sums
}

/// Adds the weighted scatter `Σ_r wa_r (a_r - s)ᵀ` of feature-major rows into the lower triangle
/// of `out` `(d, d)`, where `wa[j * ld + r] = w_r (a[j * ld + r] - s_j)` and `s` is `shift` (empty
/// for zero).
///
/// [`scatter_tiles`] of 4 × 4 outputs for small `d` (sixteen lane vectors, eight loads per
/// sixteen multiply-adds), of 4 × 6 for larger `d` (24 lane vectors, ten loads per 24
/// multiply-adds); the loads of `a` are centred as they are loaded.
#[inline(always)]
pub(crate) fn add_scatter<I: Isa>(
    a: &[f64],
    shift: &[f64],
    wa: &[f64],
    ld: usize,
    rows_p: usize,
    d: usize,
    out: &mut [f64],
) {
    if d >= FAER_MIN_D {
        scatter_tiles::<I, 4, 6>(a, shift, wa, ld, rows_p, d, out);
    } else {
        scatter_tiles::<I, 4, 4>(a, shift, wa, ld, rows_p, d, out);
    }
}

/// Runs `$body` with the constant `$D` equal to the runtime dimension `$d` for the small
/// dimensions where a fully unrolled kernel (its vectors in registers) pays, `$fallback`
/// otherwise.
macro_rules! with_dim {
    ($d:expr, $D:ident => $body:expr, _ => $fallback:expr) => {
        match $d {
            1 => {
                const $D: usize = 1;
                $body
            }
            2 => {
                const $D: usize = 2;
                $body
            }
            3 => {
                const $D: usize = 3;
                $body
            }
            4 => {
                const $D: usize = 4;
                $body
            }
            5 => {
                const $D: usize = 5;
                $body
            }
            6 => {
                const $D: usize = 6;
                $body
            }
            7 => {
                const $D: usize = 7;
                $body
            }
            8 => {
                const $D: usize = 8;
                $body
            }
            16 => {
                const $D: usize = 16;
                $body
            }
            _ => $fallback,
        }
    };
}
pub(crate) use with_dim;

/// From this many features on, block products leave the kernels that hold a row's features in
/// registers: the full type's E-step and scatter go to register-tiled triangular kernels
/// ([`full::mahalanobis_tiled`], [`scatter_tiles`]), the tied type's transform and k-means'
/// distances to faer's matrix multiplication.
pub(crate) const FAER_MIN_D: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_shapes_match_scikit_learn() {
        for t in CovarianceType::ALL {
            assert_eq!(t.as_str().parse::<CovarianceType>().unwrap(), t);
        }
        assert!("Full".parse::<CovarianceType>().is_err());
        assert_eq!(CovarianceType::Full.covariances_shape(3, 2), vec![3, 2, 2]);
        assert_eq!(CovarianceType::Tied.covariances_shape(3, 2), vec![2, 2]);
        assert_eq!(CovarianceType::Diag.covariances_shape(3, 2), vec![3, 2]);
        assert_eq!(CovarianceType::Spherical.covariances_shape(3, 2), vec![3]);
        // scikit-learn's _n_parameters for K=3, d=2.
        assert_eq!(CovarianceType::Full.n_parameters(3, 2), 6 + 2 + 9);
        assert_eq!(CovarianceType::Tied.n_parameters(3, 2), 6 + 2 + 3);
        assert_eq!(CovarianceType::Diag.n_parameters(3, 2), 6 + 2 + 6);
        assert_eq!(CovarianceType::Spherical.n_parameters(3, 2), 6 + 2 + 3);
    }

    #[test]
    fn scatter_kernels_match_the_definition() {
        let ld = crate::blocks::BLOCK_ROWS;
        // 4 × 4 tiles (d < FAER_MIN_D) and 4 × 6 tiles, with ragged edge tiles (25, 30, 33),
        // with and without a shift.
        for d in [3, 5, 25, 30, 32, 33, 64] {
            for rows_p in [8, 40, ld] {
                for shifted in [false, true] {
                    let a: Vec<f64> = (0..d * ld).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
                    let w: Vec<f64> = (0..ld).map(|r| (r % 5) as f64 * 0.25).collect();
                    let shift: Vec<f64> = if shifted {
                        (0..d).map(|j| 0.5 * j as f64 - 3.0).collect()
                    } else {
                        Vec::new()
                    };
                    let s = |j: usize| if shifted { shift[j] } else { 0.0 };
                    let mut wa = vec![0.0; d * ld];
                    for j in 0..d {
                        for r in 0..ld {
                            wa[j * ld + r] = w[r] * (a[j * ld + r] - s(j));
                        }
                    }
                    let mut out = vec![1.0; d * d];
                    add_scatter::<crate::simd::Base>(&a, &shift, &wa, ld, rows_p, d, &mut out);
                    for i in 0..d {
                        for j in 0..d {
                            let want = if j <= i {
                                1.0 + (0..rows_p)
                                    .map(|r| w[r] * (a[i * ld + r] - s(i)) * (a[j * ld + r] - s(j)))
                                    .sum::<f64>()
                            } else {
                                1.0 // the upper triangle is left alone
                            };
                            assert!(
                                (out[i * d + j] - want).abs() < 1e-9 * want.abs().max(1.0),
                                "d={d} rows={rows_p} shifted={shifted} ({i},{j})"
                            );
                        }
                    }
                }
            }
        }
    }
}
