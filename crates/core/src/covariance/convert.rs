//! Every per-type conversion of a mixture's covariances, as pure functions of flat row-major
//! arrays: shapes and the parameter count, precision Cholesky factors from covariances or from
//! precisions and back, precisions, log-determinants, and the factors that sampling draws with
//! (scikit-learn's `_gaussian_mixture.py` keeps the same set together).
//!
//! Forms (see [`Params`](super::Params)): `full` holds `K` matrices `(d, d)`, `tied` one; `diag`
//! holds `K × d` values and `spherical` `K`. A precision Cholesky factor is, for the matrix types,
//! the upper triangular `U` with `U Uᵀ = Σ⁻¹`, and for the others `1 / σ`.

use super::CovarianceType;
use crate::error::{Result, invalid};
use crate::linalg;

impl CovarianceType {
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

    /// How the covariances are stored: `Matrices(m)` for `m` matrices `(d, d)` (`K` for full,
    /// one for tied), `Values(per)` for `per` variances per component (`d` for diag, one for
    /// spherical).
    pub(crate) fn storage(self, n_components: usize, n_features: usize) -> Storage {
        match self {
            CovarianceType::Full => Storage::Matrices(n_components),
            CovarianceType::Tied => Storage::Matrices(1),
            CovarianceType::Diag => Storage::Values(n_features),
            CovarianceType::Spherical => Storage::Values(1),
        }
    }

    /// The shape of `covariances` written as a tuple, `"(3, 2, 2)"`.
    pub(crate) fn shape_str(self, n_components: usize, n_features: usize) -> String {
        let s: Vec<String> = self
            .covariances_shape(n_components, n_features)
            .iter()
            .map(|v| v.to_string())
            .collect();
        format!("({})", s.join(", "))
    }
}

/// See [`CovarianceType::storage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// This many `(d, d)` matrices.
    Matrices(usize),
    /// This many values per component.
    Values(usize),
}

/// The covariance (or precision) that is not positive definite: `Some(component)`, or `None`
/// for the shared `tied` matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotPositiveDefinite {
    pub component: Option<usize>,
}

impl NotPositiveDefinite {
    fn at(t: CovarianceType, index: usize) -> Self {
        NotPositiveDefinite {
            component: (t != CovarianceType::Tied).then_some(index),
        }
    }
}

/// The first covariance matrix that is not symmetric (to a relative `1e-8`), named as
/// [`NotPositiveDefinite`] names it; `None` when all are (and for the types without matrices).
pub(crate) fn first_asymmetric(
    t: CovarianceType,
    cov: &[f64],
    k: usize,
    d: usize,
) -> Option<Option<usize>> {
    match t.storage(k, d) {
        Storage::Matrices(_) => cov
            .chunks(d * d)
            .position(|m| !linalg::is_symmetric(m, d, 1e-8))
            .map(|c| NotPositiveDefinite::at(t, c).component),
        Storage::Values(_) => None,
    }
}

/// The `(d, d)` matrices of `a` (`m` of them), or its values grouped per component.
fn chunks(a: &[f64], s: Storage, d: usize) -> std::slice::Chunks<'_, f64> {
    match s {
        Storage::Matrices(_) => a.chunks(d * d),
        Storage::Values(per) => a.chunks(per),
    }
}

/// Precision Cholesky factors of covariances (scikit-learn's `_compute_precision_cholesky`):
/// `U = L⁻ᵀ` with `Σ = L Lᵀ`, or `1 / σ`. Fails on the first covariance that is not positive
/// definite (a variance that is not positive and finite).
pub(crate) fn precision_cholesky(
    t: CovarianceType,
    cov: &[f64],
    k: usize,
    d: usize,
) -> Result<Vec<f64>, NotPositiveDefinite> {
    let s = t.storage(k, d);
    let mut out = Vec::with_capacity(cov.len());
    for (c, m) in chunks(cov, s, d).enumerate() {
        match s {
            Storage::Matrices(_) => {
                let u = linalg::precision_cholesky_from_covariance(m, d)
                    .ok_or(NotPositiveDefinite::at(t, c))?;
                out.extend_from_slice(&u);
            }
            Storage::Values(_) => {
                for &v in m {
                    // NaN fails this test too.
                    if !(v > 0.0 && v.is_finite()) {
                        return Err(NotPositiveDefinite::at(t, c));
                    }
                    out.push(1.0 / v.sqrt());
                }
            }
        }
    }
    Ok(out)
}

/// Precision Cholesky factors from precisions (inverse covariances), checked as scikit-learn's
/// `_check_precisions` checks `precisions_init`: finite, symmetric and positive definite
/// matrices, positive values. For matrices, `U` is built as scikit-learn does
/// ([`linalg::precision_cholesky_from_precision`]).
pub(crate) fn precision_cholesky_from_precisions(
    t: CovarianceType,
    p: &[f64],
    k: usize,
    d: usize,
) -> Result<Vec<f64>> {
    let bad = |m: String| invalid("precisions_init", m);
    if p.iter().any(|v| !v.is_finite()) {
        return Err(bad("contains NaN or infinity".into()));
    }
    match t.storage(k, d) {
        Storage::Matrices(_) => {
            let mut out = Vec::with_capacity(p.len());
            for (c, pc) in p.chunks(d * d).enumerate() {
                let not_spd = || {
                    bad(format!(
                        "{t} precision {c} should be symmetric, positive-definite"
                    ))
                };
                if !linalg::is_symmetric(pc, d, 1e-8) {
                    return Err(not_spd());
                }
                let u = linalg::precision_cholesky_from_precision(pc, d).ok_or_else(not_spd)?;
                out.extend_from_slice(&u);
            }
            Ok(out)
        }
        Storage::Values(_) => {
            if p.iter().any(|&v| v <= 0.0) {
                return Err(bad(format!("{t} precision should be positive")));
            }
            Ok(p.iter().map(|v| v.sqrt()).collect())
        }
    }
}

/// Covariances from precision Cholesky factors: `(U Uᵀ)⁻¹`, or `1 / u²`.
pub(crate) fn covariances_from_precision_cholesky(
    t: CovarianceType,
    u: &[f64],
    k: usize,
    d: usize,
) -> Vec<f64> {
    match t.storage(k, d) {
        Storage::Matrices(_) => u
            .chunks(d * d)
            .flat_map(|m| linalg::covariance_from_precision_cholesky(m, d))
            .collect(),
        Storage::Values(_) => u.iter().map(|v| 1.0 / (v * v)).collect(),
    }
}

/// Precisions (scikit-learn's `precisions_`): `U Uᵀ`, or `u²`.
pub(crate) fn precisions(t: CovarianceType, u: &[f64], k: usize, d: usize) -> Vec<f64> {
    match t.storage(k, d) {
        Storage::Matrices(_) => u.chunks(d * d).flat_map(|m| linalg::gram(m, d)).collect(),
        Storage::Values(_) => u.iter().map(|v| v * v).collect(),
    }
}

/// Whether `u` has the form of precision Cholesky factors: upper triangular matrices with a
/// positive diagonal, or positive values.
pub(crate) fn is_precision_cholesky(t: CovarianceType, u: &[f64], k: usize, d: usize) -> bool {
    match t.storage(k, d) {
        Storage::Matrices(_) => u
            .chunks(d * d)
            .all(|m| linalg::is_upper_triangular(m, d) && (0..d).all(|j| m[j * d + j] > 0.0)),
        Storage::Values(_) => u.iter().all(|&v| v > 0.0),
    }
}

/// `log det U` of each component's precision Cholesky factor, `(K,)`: `Σ_j log U_jj` for the
/// matrix types (`u` upper triangular), `Σ_j log u_j` for diag and `d log u` for spherical. It
/// is `-½ log det Σ`, the normalising term of the log-density.
pub(crate) fn log_det_precision_cholesky(
    t: CovarianceType,
    u: &[f64],
    k: usize,
    d: usize,
) -> Vec<f64> {
    let matrix = |m: &[f64]| -> f64 { (0..d).map(|j| m[j * d + j].ln()).sum() };
    match t {
        CovarianceType::Full => u.chunks(d * d).map(matrix).collect(),
        CovarianceType::Tied => vec![matrix(u); k],
        CovarianceType::Diag => u
            .chunks(d)
            .map(|m| m.iter().map(|v| v.ln()).sum())
            .collect(),
        CovarianceType::Spherical => u.iter().map(|v| d as f64 * v.ln()).collect(),
    }
}

/// An upper triangular factor of `U Uᵀ`, for factors given in another form (from a model file).
pub(crate) fn upper_factor(u: &[f64], d: usize) -> Vec<f64> {
    if linalg::is_upper_triangular(u, d) {
        return u.to_vec();
    }
    let p = linalg::gram(u, d);
    // `u` was validated as a factor of a positive definite precision; keep it if that fails.
    linalg::precision_cholesky_from_precision(&p, d).unwrap_or_else(|| u.to_vec())
}

/// Factors `A` with `A Aᵀ = Σ` for drawing samples: the lower Cholesky factor of each matrix, or
/// `σ`.
pub(crate) fn sampling_factors(
    t: CovarianceType,
    cov: &[f64],
    k: usize,
    d: usize,
) -> Result<Vec<f64>, NotPositiveDefinite> {
    match t.storage(k, d) {
        Storage::Matrices(_) => {
            let mut out = Vec::with_capacity(cov.len());
            for (c, m) in cov.chunks(d * d).enumerate() {
                let l = linalg::cholesky_lower(m, d).ok_or(NotPositiveDefinite::at(t, c))?;
                out.extend_from_slice(&l);
            }
            Ok(out)
        }
        Storage::Values(_) => Ok(cov.iter().map(|v| v.sqrt()).collect()),
    }
}

/// Sets component `c`'s covariance to the diagonal `var + reg_covar` (spherical: their mean),
/// the broad start of a re-seeded component; `false` for `tied`, whose covariance no component
/// owns.
pub(crate) fn set_broad_covariance(
    t: CovarianceType,
    cov: &mut [f64],
    c: usize,
    var: &[f64],
    reg_covar: f64,
) -> bool {
    let d = var.len();
    match t {
        CovarianceType::Full => {
            let m = &mut cov[c * d * d..(c + 1) * d * d];
            m.fill(0.0);
            for j in 0..d {
                m[j * d + j] = var[j] + reg_covar;
            }
        }
        CovarianceType::Diag => {
            for j in 0..d {
                cov[c * d + j] = var[j] + reg_covar;
            }
        }
        CovarianceType::Spherical => {
            cov[c] = var.iter().sum::<f64>() / d as f64 + reg_covar;
        }
        CovarianceType::Tied => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_parameter_counts_match_scikit_learn() {
        assert_eq!(CovarianceType::Full.covariances_shape(3, 2), vec![3, 2, 2]);
        assert_eq!(CovarianceType::Tied.covariances_shape(3, 2), vec![2, 2]);
        assert_eq!(CovarianceType::Diag.covariances_shape(3, 2), vec![3, 2]);
        assert_eq!(CovarianceType::Spherical.covariances_shape(3, 2), vec![3]);
        assert_eq!(CovarianceType::Full.shape_str(3, 2), "(3, 2, 2)");
        // scikit-learn's _n_parameters for K=3, d=2.
        assert_eq!(CovarianceType::Full.n_parameters(3, 2), 6 + 2 + 9);
        assert_eq!(CovarianceType::Tied.n_parameters(3, 2), 6 + 2 + 3);
        assert_eq!(CovarianceType::Diag.n_parameters(3, 2), 6 + 2 + 6);
        assert_eq!(CovarianceType::Spherical.n_parameters(3, 2), 6 + 2 + 3);
    }

    #[test]
    fn conversions_round_trip_for_every_type() {
        let (k, d) = (2, 3);
        // Two SPD matrices, and positive variances.
        let full = [
            4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0, //
            1.0, 0.0, 0.3, 0.0, 2.0, 0.0, 0.3, 0.0, 1.5,
        ];
        for t in CovarianceType::ALL {
            let cov: Vec<f64> = match t {
                CovarianceType::Full => full.to_vec(),
                CovarianceType::Tied => full[..9].to_vec(),
                CovarianceType::Diag => vec![1.0, 2.0, 3.0, 0.5, 0.25, 4.0],
                CovarianceType::Spherical => vec![2.0, 0.5],
            };
            let u = precision_cholesky(t, &cov, k, d).unwrap();
            assert!(is_precision_cholesky(t, &u, k, d), "{t}");
            let back = covariances_from_precision_cholesky(t, &u, k, d);
            for (a, b) in back.iter().zip(&cov) {
                assert!((a - b).abs() < 1e-12, "{t}: {a} vs {b}");
            }
            // Precisions invert the covariances; their factors are the same U.
            let p = precisions(t, &u, k, d);
            let u2 = precision_cholesky_from_precisions(t, &p, k, d).unwrap();
            for (a, b) in u2.iter().zip(&u) {
                assert!((a - b).abs() < 1e-12, "{t}");
            }
            // log det U = -1/2 log det Σ, per component.
            let ld = log_det_precision_cholesky(t, &u, k, d);
            assert_eq!(ld.len(), k);
            for c in 0..k {
                let det = match t {
                    CovarianceType::Full | CovarianceType::Tied => {
                        let m = if t == CovarianceType::Full {
                            &cov[c * 9..(c + 1) * 9]
                        } else {
                            &cov[..]
                        };
                        let l = linalg::cholesky_lower(m, d).unwrap();
                        (0..d).map(|j| l[j * d + j] * l[j * d + j]).product::<f64>()
                    }
                    CovarianceType::Diag => cov[c * d..(c + 1) * d].iter().product(),
                    CovarianceType::Spherical => cov[c].powi(d as i32),
                };
                assert!((ld[c] + 0.5 * det.ln()).abs() < 1e-12, "{t} {c}");
            }
            // Sampling factors reproduce the covariances: A Aᵀ = Σ.
            let a = sampling_factors(t, &cov, k, d).unwrap();
            match t.storage(k, d) {
                Storage::Matrices(_) => {
                    for (m, s) in a.chunks(9).zip(cov.chunks(9)) {
                        let g = linalg::gram(m, d);
                        for (x, y) in g.iter().zip(s) {
                            assert!((x - y).abs() < 1e-12);
                        }
                    }
                }
                Storage::Values(_) => {
                    for (x, y) in a.iter().zip(&cov) {
                        assert!((x * x - y).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn failures_name_the_component() {
        let bad_full = [1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0];
        assert_eq!(
            precision_cholesky(CovarianceType::Full, &bad_full, 2, 2),
            Err(NotPositiveDefinite { component: Some(1) })
        );
        assert_eq!(
            precision_cholesky(CovarianceType::Tied, &bad_full[4..], 2, 2),
            Err(NotPositiveDefinite { component: None })
        );
        assert_eq!(
            precision_cholesky(CovarianceType::Diag, &[1.0, 1.0, 1.0, f64::NAN], 2, 2),
            Err(NotPositiveDefinite { component: Some(1) })
        );
        assert_eq!(
            precision_cholesky(CovarianceType::Spherical, &[0.0, 1.0], 2, 2),
            Err(NotPositiveDefinite { component: Some(0) })
        );
        assert!(
            precision_cholesky_from_precisions(CovarianceType::Diag, &[1.0, -1.0], 1, 2).is_err()
        );
        assert!(!is_precision_cholesky(
            CovarianceType::Full,
            &[1.0, 0.0, 1.0, 1.0],
            1,
            2
        ));
    }
}
