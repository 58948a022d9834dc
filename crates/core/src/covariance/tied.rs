//! `tied`: one covariance `Σ` shared by every component, held as its upper triangular precision
//! Cholesky factor `U`.
//!
//! E-step: with `c` a centre (the average of the means), `z = (x - c) U` once per row and
//! `b_k = (μ_k - c) U` once per pass, `‖(x - μ_k) U‖² = ‖z - b_k‖²`: one `d × d` product per row
//! instead of `K`, and no cancellation however far the data is from the origin.
//!
//! Statistics: `N_k`, `S1_k = Σ r_k (x - s_k)`, and the pooled `S2 = Σ (x - c)(x - c)ᵀ`,
//! `T1 = Σ (x - c)` over all rows. M-step: scikit-learn's `(XᵀX - Σ_k N'_k μ'_k μ'_kᵀ) / Σ_k N'_k`,
//! rewritten about `c` (terms in `T1` and `n` make it exact even when responsibilities do not sum
//! to one per row, as after a k-means++ initialisation).

use super::{
    FAER_MIN_D, Kernel, LN_2PI, Params, Shift, StepInfo, Sums, add_scatter, center,
    full::upper_factor, symmetrize_lower,
};
use crate::error::Result;
use crate::linalg;
use crate::math;
use crate::math::LANES;
use crate::simd::{Isa, V8};

pub(crate) struct Tied;

pub(crate) struct Prepared {
    k: usize,
    d: usize,
    u: Vec<f64>,
    center: Vec<f64>,
    /// `(μ_k - c) U`: `(K, d)`.
    b: Vec<f64>,
    cst: Vec<f64>,
}

/// `z = Uᵀ dx` for a centred feature-major block (`U` upper triangular).
#[inline(always)]
fn transform<I: Isa>(dx: &[f64], u: &[f64], ld: usize, rows_p: usize, d: usize, z: &mut [f64]) {
    if d >= FAER_MIN_D {
        super::full::upper_product(dx, u, ld, rows_p, d, z);
        return;
    }
    for r0 in (0..rows_p).step_by(LANES) {
        let mut x = [V8::<I>::zero(); FAER_MIN_D];
        for l in 0..d {
            x[l] = V8::<I>::load(&dx[l * ld + r0..]);
        }
        for j in 0..d {
            let mut yv = V8::<I>::zero();
            for l in 0..j + 1 {
                yv = x[l].madd(V8::<I>::splat(u[l * d + j]), yv);
            }
            yv.store(&mut z[j * ld + r0..]);
        }
    }
}

impl Kernel for Tied {
    const TYPE: super::CovarianceType = super::CovarianceType::Tied;
    type Prepared = Prepared;

    fn prepare(p: &Params) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let u = upper_factor(&p.precisions_cholesky, d);
        let center = Shift::new(&p.means, k, d).center;
        let log_det: f64 = (0..d).map(|j| u[j * d + j].ln()).sum();
        let mut b = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                b[c * d + j] = (0..=j)
                    .map(|l| (p.means[c * d + l] - center[l]) * u[l * d + j])
                    .sum();
            }
        }
        let cst = (0..k)
            .map(|c| p.weights[c].ln() - 0.5 * d as f64 * LN_2PI + log_det)
            .collect();
        Prepared {
            k,
            d,
            u,
            center,
            b,
            cst,
        }
    }

    fn work_len(_k: usize, d: usize) -> usize {
        2 * d * crate::blocks::BLOCK_ROWS
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        prep: &Prepared,
        xt: &[f64],
        ld: usize,
        rows: usize,
        out: &mut [f64],
        work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let rows_p = crate::blocks::padded(rows);
        let (dx, z) = work.split_at_mut(d * ld);
        center::<I>(xt, &prep.center, ld, rows_p, dx);
        transform::<I>(dx, &prep.u, ld, rows_p, d, z);
        for c in 0..k {
            let b = &prep.b[c * d..(c + 1) * d];
            let cst = V8::<I>::splat(prep.cst[c]);
            for r0 in (0..rows_p).step_by(LANES) {
                let mut acc = V8::<I>::zero();
                for j in 0..d {
                    let v = V8::<I>::load(&z[j * ld + r0..]).sub(V8::<I>::splat(b[j]));
                    acc = v.madd(v, acc);
                }
                acc.madd(V8::<I>::splat(-0.5), cst)
                    .store(&mut out[c * ld + r0..]);
            }
        }
    }

    #[inline(always)]
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
    ) {
        let rows_p = crate::blocks::padded(rows);
        for c in 0..k {
            let rk = &resp[c * ld..c * ld + rows_p];
            sums.nk[c] += math::sum(rk);
            for j in 0..d {
                let s = shift.shift[c * d + j];
                let xj = &xt[j * ld..j * ld + rows_p];
                sums.s1[c * d + j] += weighted_centered_sum::<I>(rk, xj, s);
            }
        }
        // The pooled scatter counts every real row once, padding rows not at all.
        let (a, _) = work.split_at_mut(d * ld);
        center::<I>(xt, &shift.center, ld, rows_p, a);
        for j in 0..d {
            a[j * ld + rows..j * ld + rows_p].fill(0.0);
            sums.t1[j] += math::sum(&a[j * ld..j * ld + rows_p]);
        }
        add_scatter::<I>(a, &[], a, ld, rows_p, d, &mut sums.s2);
    }

    fn covariances(
        sums: &Sums,
        shift: &Shift,
        nk: &[f64],
        e: &[f64],
        reg_covar: f64,
        k: usize,
        d: usize,
    ) -> Vec<f64> {
        // m_k = μ'_k - c;  D = S2 - Σ N'_k m_k m_kᵀ + (T1 - Σ N'_k m_k) cᵀ + c (…)ᵀ + (n - Σ N') c cᵀ
        let c0 = &shift.center;
        let mut m = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                m[c * d + j] = shift.shift[c * d + j] + e[c * d + j] - c0[j];
            }
        }
        let total: f64 = nk.iter().sum();
        let mut g = sums.t1.clone();
        for c in 0..k {
            for j in 0..d {
                g[j] -= nk[c] * m[c * d + j];
            }
        }
        let dn = sums.n_rows as f64 - total;
        let mut cov = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..i + 1 {
                let mut v = sums.s2[i * d + j];
                for c in 0..k {
                    v -= nk[c] * m[c * d + i] * m[c * d + j];
                }
                v += g[i] * c0[j] + c0[i] * g[j] + dn * c0[i] * c0[j];
                cov[i * d + j] = v / total;
            }
            cov[i * d + i] += reg_covar;
        }
        symmetrize_lower(&mut cov, d);
        cov
    }

    fn precisions_cholesky(cov: &[f64], _k: usize, d: usize, info: StepInfo) -> Result<Vec<f64>> {
        linalg::precision_cholesky_from_covariance(cov, d).ok_or_else(|| info.ill_defined(None))
    }
}

/// `Σ_r w[r] (x[r] - s)` with lanes in a fixed order.
#[inline(always)]
pub(crate) fn weighted_centered_sum<I: Isa>(w: &[f64], x: &[f64], s: f64) -> f64 {
    let sv = V8::<I>::splat(s);
    let mut acc = V8::<I>::zero();
    for r0 in (0..w.len().min(x.len())).step_by(LANES) {
        acc = V8::<I>::load(&w[r0..]).madd(V8::<I>::load(&x[r0..]).sub(sv), acc);
    }
    acc.sum()
}
