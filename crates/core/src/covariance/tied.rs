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

use super::convert::{log_det_precision_cholesky, upper_factor};
use super::scatter::{add_scatter, center, symmetrize_lower};
use super::triangular::{upper_column, upper_product};
use super::{CovarianceType, Kernel, Params, Shift, Sums, log_constants};
use crate::blocks::{BLOCK_ROWS, Block, WIDE_D};
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

/// `z = dx U` for a centred block (`U` upper triangular), written feature-major to `z`.
#[inline(always)]
fn transform<I: Isa>(isa: I, dx: Block<'_>, u: &[f64], z: &mut [f64]) {
    let d = dx.n_features();
    if d >= WIDE_D {
        upper_product(dx, u, z);
        return;
    }
    for r0 in (0..dx.rows_p()).step_by(LANES) {
        let mut x = [V8::zero(isa); WIDE_D];
        for l in 0..d {
            x[l] = dx.lanes(isa, l, r0);
        }
        for j in 0..d {
            upper_column(&x, u, d, j).store(&mut z[j * BLOCK_ROWS + r0..]);
        }
    }
}

impl Kernel for Tied {
    const TYPE: CovarianceType = CovarianceType::Tied;
    type Prepared = Prepared;

    fn prepare(p: &Params, log_weights: &[f64]) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let u = upper_factor(&p.precisions_cholesky, d);
        let center = Shift::new(&p.means, k, d).center;
        let mut b = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                b[c * d + j] = (0..=j)
                    .map(|l| (p.means[c * d + l] - center[l]) * u[l * d + j])
                    .sum();
            }
        }
        let cst = log_constants(
            log_weights,
            &log_det_precision_cholesky(Self::TYPE, &u, k, d),
            d,
        );
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
        2 * d * BLOCK_ROWS
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        isa: I,
        prep: &Prepared,
        x: Block<'_>,
        out: &mut [f64],
        work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let (dx, z) = work.split_at_mut(d * BLOCK_ROWS);
        center(isa, x, &prep.center, dx);
        transform(isa, Block::new(dx, x.rows()), &prep.u, z);
        let z = Block::new(z, x.rows());
        for c in 0..k {
            let b = &prep.b[c * d..(c + 1) * d];
            let cst = V8::splat(isa, prep.cst[c]);
            for r0 in (0..x.rows_p()).step_by(LANES) {
                let mut acc = V8::zero(isa);
                for j in 0..d {
                    let v = z.lanes(isa, j, r0).sub(V8::splat(isa, b[j]));
                    acc = v.madd(v, acc);
                }
                acc.madd(V8::splat(isa, -0.5), cst)
                    .store(&mut out[c * BLOCK_ROWS + r0..]);
            }
        }
    }

    #[inline(always)]
    fn accumulate<I: Isa>(
        isa: I,
        shift: &Shift,
        x: Block<'_>,
        resp: &[f64],
        weights: Option<&[f64]>,
        sums: &mut Sums,
        work: &mut [f64],
    ) {
        let (k, d) = (shift.k(), shift.d());
        let (rows, rows_p) = (x.rows(), x.rows_p());
        for c in 0..k {
            let rk = &resp[c * BLOCK_ROWS..c * BLOCK_ROWS + rows_p];
            sums.nk[c] += math::sum(rk);
            for j in 0..d {
                let s = shift.shift[c * d + j];
                sums.s1[c * d + j] += weighted_centered_sum(isa, rk, x.feature(j), s);
            }
        }
        // The pooled scatter counts every real row once (with its weight), padding rows not at
        // all.
        let (a, wa) = work.split_at_mut(d * BLOCK_ROWS);
        center(isa, x, &shift.center, a);
        for j in 0..d {
            a[j * BLOCK_ROWS + rows..j * BLOCK_ROWS + rows_p].fill(0.0);
        }
        let a = match weights {
            None => {
                for j in 0..d {
                    sums.t1[j] += math::sum(&a[j * BLOCK_ROWS..j * BLOCK_ROWS + rows_p]);
                }
                Block::new(a, rows)
            }
            Some(w) => {
                let wa = &mut wa[..d * BLOCK_ROWS];
                for j in 0..d {
                    let f = j * BLOCK_ROWS;
                    for r0 in (0..rows_p).step_by(LANES) {
                        V8::load(isa, &a[f + r0..])
                            .mul(V8::load(isa, &w[r0..]))
                            .store(&mut wa[f + r0..]);
                    }
                    sums.t1[j] += math::sum(&wa[f..f + rows_p]);
                }
                let a = Block::new(a, rows);
                add_scatter(isa, a, &[], Block::new(wa, rows), &mut sums.s2);
                return;
            }
        };
        add_scatter(isa, a, &[], a, &mut sums.s2);
    }

    fn covariances(sums: &Sums, shift: &Shift, nk: &[f64], e: &[f64], reg_covar: f64) -> Vec<f64> {
        let (k, d) = (shift.k(), shift.d());
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
        let dn = sums.weight - total;
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
}

/// `Σ_r w[r] (x[r] - s)` with lanes in a fixed order.
#[inline(always)]
fn weighted_centered_sum<I: Isa>(isa: I, w: &[f64], x: &[f64], s: f64) -> f64 {
    let sv = V8::splat(isa, s);
    let mut acc = V8::zero(isa);
    for r0 in (0..w.len().min(x.len())).step_by(LANES) {
        acc = V8::load(isa, &w[r0..]).madd(V8::load(isa, &x[r0..]).sub(sv), acc);
    }
    acc.sum()
}
