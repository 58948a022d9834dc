//! Small dense linear algebra on row-major `(d, d)` slices, through faer, always sequential
//! (`Par::Seq`): these run once per component per iteration, and a fixed order keeps results
//! independent of the thread count.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
};
use faer::{Mat, MatRef, Par, Spec};

/// Lower Cholesky factor `L` (row-major, zeros above the diagonal) of a symmetric matrix given
/// by its lower triangle, or `None` when it is not numerically positive definite.
pub(crate) fn cholesky_lower(a: &[f64], d: usize) -> Option<Vec<f64>> {
    if a.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if d <= SMALL {
        return cholesky_small(a, d);
    }
    let mut m = Mat::<f64>::from_fn(d, d, |i, j| if j <= i { a[i * d + j] } else { 0.0 });
    let req = cholesky_in_place_scratch::<f64>(d, Par::Seq, Spec::default());
    let mut buf = MemBuffer::new(req);
    let stack = MemStack::new(&mut buf);
    cholesky_in_place(
        m.as_mut(),
        LltRegularization::default(),
        Par::Seq,
        stack,
        Spec::default(),
    )
    .ok()?;
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let v = m[(i, j)];
            if !v.is_finite() {
                return None;
            }
            out[i * d + j] = v;
        }
    }
    // faer accepts tiny positive pivots; a zero pivot cannot give a precision.
    if (0..d).any(|i| out[i * d + i] <= 0.0) {
        return None;
    }
    Some(out)
}

/// Up to this dimension the factorisations are written out here: faer's setup (a scratch
/// allocation and a column-major copy per call) costs more than the arithmetic, and the
/// mixture's M-step factorises K matrices every iteration.
const SMALL: usize = 8;

/// Unblocked Cholesky–Banachiewicz, row by row.
fn cholesky_small(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// Inverse of a lower triangular matrix (row-major).
fn invert_lower(l: &[f64], d: usize) -> Vec<f64> {
    if d <= SMALL {
        // Forward substitution, one column of the identity at a time.
        let mut out = vec![0.0; d * d];
        for c in 0..d {
            for i in c..d {
                let mut s = if i == c { 1.0 } else { 0.0 };
                for k in c..i {
                    s -= l[i * d + k] * out[k * d + c];
                }
                out[i * d + c] = s / l[i * d + i];
            }
        }
        return out;
    }
    let src = MatRef::from_row_major_slice(l, d, d);
    let mut dst = Mat::<f64>::zeros(d, d);
    faer::linalg::triangular_inverse::invert_lower_triangular(dst.as_mut(), src, Par::Seq);
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            out[i * d + j] = dst[(i, j)];
        }
    }
    out
}

/// scikit-learn's precision Cholesky factor of a covariance `S`: with `S = L Lᵀ`, the upper
/// triangular `U = L⁻ᵀ`, so that `U Uᵀ = S⁻¹`. `None` when `S` is not positive definite.
pub(crate) fn precision_cholesky_from_covariance(cov: &[f64], d: usize) -> Option<Vec<f64>> {
    let l = cholesky_lower(cov, d)?;
    let linv = invert_lower(&l, d);
    let mut u = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            u[j * d + i] = linv[i * d + j];
        }
    }
    if u.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some(u)
}

/// The upper triangular `U` with `U Uᵀ = P` for a precision matrix `P`, as scikit-learn builds it
/// from `precisions_init`: with `J` the exchange matrix, `J P J = L Lᵀ` and `U = J L J`.
pub(crate) fn precision_cholesky_from_precision(prec: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut flipped = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            flipped[i * d + j] = prec[(d - 1 - i) * d + (d - 1 - j)];
        }
    }
    let l = cholesky_lower(&flipped, d)?;
    let mut u = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            u[i * d + j] = l[(d - 1 - i) * d + (d - 1 - j)];
        }
    }
    Some(u)
}

/// The covariance `(U Uᵀ)⁻¹ = U⁻ᵀ U⁻¹` for an upper triangular precision Cholesky factor `U`.
pub(crate) fn covariance_from_precision_cholesky(u: &[f64], d: usize) -> Vec<f64> {
    // Uᵀ is lower triangular; (Uᵀ)⁻¹ = U⁻ᵀ.
    let mut ut = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            ut[i * d + j] = u[j * d + i];
        }
    }
    let w = invert_lower(&ut, d); // W = U⁻ᵀ, lower triangular
    // S = W Wᵀ
    let mut s = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut acc = 0.0;
            for k in 0..=j {
                acc += w[i * d + k] * w[j * d + k];
            }
            s[i * d + j] = acc;
            s[j * d + i] = acc;
        }
    }
    s
}

/// `P = U Uᵀ` for a square `U` (row-major).
pub(crate) fn gram(u: &[f64], d: usize) -> Vec<f64> {
    let mut p = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut acc = 0.0;
            for k in 0..d {
                acc += u[i * d + k] * u[j * d + k];
            }
            p[i * d + j] = acc;
            p[j * d + i] = acc;
        }
    }
    p
}

/// Whether a square matrix (row-major) is upper triangular.
pub(crate) fn is_upper_triangular(u: &[f64], d: usize) -> bool {
    (0..d).all(|i| (0..i).all(|j| u[i * d + j] == 0.0))
}

/// Whether a square matrix (row-major) is symmetric to a relative tolerance.
pub(crate) fn is_symmetric(a: &[f64], d: usize, rtol: f64) -> bool {
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (0..d).all(|i| (0..i).all(|j| (a[i * d + j] - a[j * d + i]).abs() <= rtol * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded symmetric positive definite matrix `A Aᵀ + d I`.
    fn spd(d: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let a: Vec<f64> = (0..d * d).map(|_| next()).collect();
        let mut m = gram(&a, d);
        for i in 0..d {
            m[i * d + i] += d as f64 * 0.1;
        }
        m
    }

    #[test]
    fn cholesky_reconstructs_at_block_edges() {
        for d in [1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64] {
            let a = spd(d, d as u64);
            let l = cholesky_lower(&a, d).unwrap();
            let r = gram(&l, d);
            for (x, y) in r.iter().zip(&a) {
                assert!((x - y).abs() < 1e-12 * (1.0 + y.abs()), "d={d}");
            }
        }
    }

    #[test]
    fn precision_cholesky_inverts_the_covariance() {
        for d in [1, 2, 5, 8, 9, 16, 17] {
            let s = spd(d, 100 + d as u64);
            let u = precision_cholesky_from_covariance(&s, d).unwrap();
            assert!(is_upper_triangular(&u, d));
            // S (U Uᵀ) = I
            let p = gram(&u, d);
            for i in 0..d {
                for j in 0..d {
                    let v: f64 = (0..d).map(|k| s[i * d + k] * p[k * d + j]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-10, "d={d} ({i},{j}) {v}");
                }
            }
            // log det: sum log U_jj = -1/2 log det S
            let logdet_u: f64 = (0..d).map(|j| u[j * d + j].ln()).sum();
            let l = cholesky_lower(&s, d).unwrap();
            let logdet_s: f64 = (0..d).map(|j| 2.0 * l[j * d + j].ln()).sum();
            assert!((logdet_u + 0.5 * logdet_s).abs() < 1e-10);
            // and back
            let s2 = covariance_from_precision_cholesky(&u, d);
            for (x, y) in s2.iter().zip(&s) {
                assert!((x - y).abs() < 1e-10 * (1.0 + y.abs()));
            }
        }
    }

    #[test]
    fn precision_cholesky_from_precision_is_upper_and_factorises() {
        for d in [1, 2, 6, 17] {
            let p = spd(d, 7 + d as u64);
            let u = precision_cholesky_from_precision(&p, d).unwrap();
            assert!(is_upper_triangular(&u, d));
            let r = gram(&u, d);
            for (x, y) in r.iter().zip(&p) {
                assert!((x - y).abs() < 1e-12 * (1.0 + y.abs()));
            }
        }
    }

    #[test]
    fn indefinite_and_non_finite_matrices_are_refused() {
        assert!(cholesky_lower(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky_lower(&[0.0, 0.0, 0.0, 0.0], 2).is_none());
        assert!(cholesky_lower(&[f64::NAN, 0.0, 0.0, 1.0], 2).is_none());
        assert!(precision_cholesky_from_covariance(&[-1.0], 1).is_none());
    }
}
