//! `full`: each component has its own covariance `Σ_k`, held as the upper triangular precision
//! Cholesky factor `U_k` (`U_k U_kᵀ = Σ_k⁻¹`).
//!
//! E-step: `log N(x | μ_k, Σ_k) = -½ (d log 2π + ‖(x - μ_k) U_k‖²) + Σ_j log U_k[j, j]`, the
//! product taken for a whole block of rows at once ([`triangular`](super::triangular): a
//! triangular loop over lanes of rows, in registers, for small `d`; register tiles of the
//! triangular product for larger `d`).
//!
//! Statistics about shifts `s_k`: `S1_k = Σ r (x - s_k)`, `S2_k = Σ r (x - s_k)(x - s_k)ᵀ`.
//! M-step, with `e_k = μ'_k - s_k`: `Σ_k = (S2_k - S1_k e_kᵀ - e_k S1_kᵀ + N_k e_k e_kᵀ) / N'_k
//! + reg_covar I`, which is scikit-learn's `Σ r (x - μ')(x - μ')ᵀ / N'` without its cancellation.

use super::convert::{log_det_precision_cholesky, upper_factor};
use super::scatter::{add_scatter, add_weighted_scatter, symmetrize_lower, whole_small_tiles};
use super::triangular::{mahalanobis_tiled, mahalanobis_upper};
use super::{CovarianceType, Kernel, LabelOrder, Params, Shift, Sums, log_constants};
use crate::blocks::{BLOCK_ROWS, Block, WIDE_D, padded, with_dim};
use crate::math;
use crate::math::LANES;
use crate::simd::{Isa, V8};

pub(crate) struct Full;

pub(crate) struct Prepared {
    k: usize,
    d: usize,
    /// `(K, d, d)`, upper triangular.
    u: Vec<f64>,
    /// For `d >= WIDE_D`: `U` with its rows padded to `dp = d` rounded up to [`LANES`]
    /// (zeros past column `d`), `(K, d, dp)`, for [`mahalanobis_tiled`]; empty otherwise.
    up: Vec<f64>,
    means: Vec<f64>,
    /// `log w_k - d/2 log 2π + Σ_j log U_k[j, j]`.
    cst: Vec<f64>,
}

/// The E-step for a small constant dimension: the centred rows of a lane group stay in registers
/// while the triangular product runs.
#[inline(always)]
fn log_prob_small<const D: usize, I: Isa>(isa: I, prep: &Prepared, x: Block<'_>, out: &mut [f64]) {
    for r0 in (0..x.rows_p()).step_by(LANES) {
        for c in 0..prep.k {
            let mu = &prep.means[c * D..(c + 1) * D];
            let u = &prep.u[c * D * D..(c + 1) * D * D];
            // Row by row of `U` (an outer product): feature `l` adds to the `D - l` columns it
            // reaches, so up to `D` independent chains of multiply-adds are in flight, and column
            // `l` is complete, and squared into `q`, as soon as row `l` is done. Each column is
            // still summed in the order of `l`, and `q` in the order of the columns: the bits of
            // one column at a time.
            let mut y = [V8::zero(isa); D];
            let mut q = V8::zero(isa);
            // (Rows written out, `l` a literal: constant trip counts, so that every loop unrolls
            // and `y` stays in registers. Sixteen of them: `with_dim`'s largest size.)
            const { assert!(D <= 16) };
            macro_rules! rows {
                ($($l:literal)*) => {$(
                    if $l < D {
                        let dx = x.lanes(isa, $l, r0).sub(V8::splat(isa, mu[$l]));
                        for j in $l..D {
                            y[j] = dx.madd(V8::splat(isa, u[$l * D + j]), y[j]);
                        }
                        q = y[$l].madd(y[$l], q);
                    }
                )*};
            }
            rows!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            q.madd(V8::splat(isa, -0.5), V8::splat(isa, prep.cst[c]))
                .store(&mut out[c * BLOCK_ROWS + r0..]);
        }
    }
}

/// The statistics for a small constant dimension, every sum in lane registers over the block.
#[inline(always)]
fn accumulate_small<const D: usize, I: Isa>(
    isa: I,
    shift: &Shift,
    x: Block<'_>,
    resp: &[f64],
    sums: &mut Sums,
) {
    for c in 0..shift.k() {
        let s = shift.of(c);
        let mut n = V8::zero(isa);
        let mut s1 = [V8::zero(isa); D];
        let mut s2 = [[V8::zero(isa); D]; D];
        for r0 in (0..x.rows_p()).step_by(LANES) {
            let r = V8::load(isa, &resp[c * BLOCK_ROWS + r0..]);
            n = n.add(r);
            let mut dx = [V8::zero(isa); D];
            for l in 0..D {
                dx[l] = x.lanes(isa, l, r0).sub(V8::splat(isa, s[l]));
            }
            for i in 0..D {
                let w = r.mul(dx[i]);
                s1[i] = s1[i].add(w);
                for j in 0..i + 1 {
                    s2[i][j] = w.madd(dx[j], s2[i][j]);
                }
            }
        }
        sums.nk[c] += n.sum();
        for i in 0..D {
            sums.s1[c * D + i] += s1[i].sum();
            for j in 0..i + 1 {
                sums.s2[c * D * D + i * D + j] += s2[i][j].sum();
            }
        }
    }
}

/// The statistics of component `c` from the rows of `x` with responsibilities `rk`, for
/// `d > 4`; `wdx` is `d × BLOCK_ROWS` of workspace.
#[inline(always)]
fn accumulate_component<I: Isa>(
    isa: I,
    shift: &Shift,
    c: usize,
    x: Block<'_>,
    rk: &[f64],
    sums: &mut Sums,
    wdx: &mut [f64],
) {
    let d = shift.d();
    let s = shift.of(c);
    sums.nk[c] += math::sum(rk);
    let s1 = &mut sums.s1[c * d..(c + 1) * d];
    let s2 = &mut sums.s2[c * d * d..(c + 1) * d * d];
    if whole_small_tiles(d) {
        add_weighted_scatter(isa, x, s, rk, s1, s2);
        return;
    }
    // wdx = r (x - s), and S1.
    for (j, s1j) in s1.iter_mut().enumerate() {
        let sj = V8::splat(isa, s[j]);
        let mut acc = V8::zero(isa);
        let mut r0 = 0;
        while r0 < x.rows_p() {
            let v = x.lanes(isa, j, r0).sub(sj);
            let w = V8::load(isa, &rk[r0..]).mul(v);
            w.store(&mut wdx[j * BLOCK_ROWS + r0..]);
            acc = acc.add(w);
            r0 += LANES;
        }
        *s1j += acc.sum();
    }
    add_scatter(isa, x, s, Block::new(wdx, x.rows()), s2);
}

impl Prepared {
    /// `(K, d, d)`: the upper triangular factors `U_k`.
    pub(crate) fn upper(&self) -> &[f64] {
        &self.u
    }

    /// `(K,)`: `log w_k - d/2 log 2π + Σ_j log U_k[j, j]`.
    pub(crate) fn constants(&self) -> &[f64] {
        &self.cst
    }
}

impl Kernel for Full {
    const TYPE: CovarianceType = CovarianceType::Full;
    type Prepared = Prepared;

    fn prepare(p: &Params, log_weights: &[f64]) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let mut u = Vec::with_capacity(k * d * d);
        for c in 0..k {
            u.extend_from_slice(&upper_factor(
                &p.precisions_cholesky[c * d * d..(c + 1) * d * d],
                d,
            ));
        }
        let cst = log_constants(
            log_weights,
            &log_det_precision_cholesky(Self::TYPE, &u, k, d),
            d,
        );
        let up = if d >= WIDE_D {
            let dp = d.next_multiple_of(LANES);
            let mut up = vec![0.0; k * d * dp];
            for (dst, src) in up.chunks_exact_mut(dp).zip(u.chunks_exact(d)) {
                dst[..d].copy_from_slice(src);
            }
            up
        } else {
            Vec::new()
        };
        Prepared {
            k,
            d,
            u,
            up,
            means: p.means.clone(),
            cst,
        }
    }

    fn work_len(_k: usize, d: usize) -> usize {
        // The weighted rows; before them, for one-hot responsibilities, one component's rows
        // and their weights.
        (2 * d + 1) * BLOCK_ROWS
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        isa: I,
        prep: &Prepared,
        x: Block<'_>,
        out: &mut [f64],
        _work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        with_dim!(d, D => log_prob_small::<D, I>(isa, prep, x, out), _ => {
            let dp = d.next_multiple_of(LANES);
            for c in 0..k {
                let o = &mut out[c * BLOCK_ROWS..(c + 1) * BLOCK_ROWS];
                let mu = &prep.means[c * d..(c + 1) * d];
                if d >= WIDE_D {
                    let up = &prep.up[c * d * dp..(c + 1) * d * dp];
                    mahalanobis_tiled(isa, x, mu, up, o);
                } else {
                    let u = &prep.u[c * d * d..(c + 1) * d * d];
                    mahalanobis_upper(isa, x, mu, u, o);
                }
                let cst = V8::splat(isa, prep.cst[c]);
                for r0 in (0..x.rows_p()).step_by(LANES) {
                    V8::load(isa, &o[r0..]).madd(V8::splat(isa, -0.5), cst).store(&mut o[r0..]);
                }
            }
        })
    }

    #[inline(always)]
    fn accumulate<I: Isa>(
        isa: I,
        shift: &Shift,
        x: Block<'_>,
        resp: &[f64],
        _weights: Option<&[f64]>,
        sums: &mut Sums,
        work: &mut [f64],
    ) {
        let (k, d) = (shift.k(), shift.d());
        let rows_p = x.rows_p();
        if d <= 4 {
            with_dim!(d, D => accumulate_small::<D, I>(isa, shift, x, resp, sums), _ => unreachable!());
            return;
        }
        let wdx = &mut work[..d * BLOCK_ROWS];
        for c in 0..k {
            let rk = &resp[c * BLOCK_ROWS..c * BLOCK_ROWS + rows_p];
            accumulate_component(isa, shift, c, x, rk, sums, wdx);
        }
    }

    /// Each component's rows gathered into a block of their own ([`accumulate_component`] on
    /// them alone): a `k`-th of the scatter's work of the one-hot responsibilities.
    #[inline(always)]
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
        let (k, d) = (shift.k(), shift.d());
        if d <= 4 || k == 1 {
            super::one_hot(labels, weights, k, x.rows_p(), resp);
            Self::accumulate(isa, shift, x, resp, weights, sums, work);
            return;
        }
        let order = LabelOrder::new(labels, k);
        let (g, rest) = work.split_at_mut(d * BLOCK_ROWS);
        let (rk, wdx) = rest.split_at_mut(BLOCK_ROWS);
        for (c, rows_c) in order.groups() {
            let (n, n_p) = (rows_c.len(), padded(rows_c.len()));
            for (j, gj) in g.chunks_exact_mut(BLOCK_ROWS).enumerate() {
                let xj = &x.data()[j * BLOCK_ROWS..(j + 1) * BLOCK_ROWS];
                for (o, &r) in gj.iter_mut().zip(rows_c) {
                    *o = xj[r as usize];
                }
                gj[n..n_p].fill(0.0);
            }
            for (o, &r) in rk.iter_mut().zip(rows_c) {
                *o = weights.map_or(1.0, |w| w[r as usize]);
            }
            rk[n..n_p].fill(0.0);
            accumulate_component(isa, shift, c, Block::new(g, n), &rk[..n_p], sums, wdx);
        }
    }

    fn covariances(sums: &Sums, shift: &Shift, nk: &[f64], e: &[f64], reg_covar: f64) -> Vec<f64> {
        let (k, d) = (shift.k(), shift.d());
        let mut cov = vec![0.0; k * d * d];
        for c in 0..k {
            let s2 = &sums.s2[c * d * d..(c + 1) * d * d];
            let s1 = &sums.s1[c * d..(c + 1) * d];
            let ec = &e[c * d..(c + 1) * d];
            let n = sums.nk[c];
            let out = &mut cov[c * d * d..(c + 1) * d * d];
            for i in 0..d {
                for j in 0..i + 1 {
                    let v = s2[i * d + j] - s1[i] * ec[j] - ec[i] * s1[j] + n * ec[i] * ec[j];
                    out[i * d + j] = v / nk[c];
                }
                out[i * d + i] += reg_covar;
            }
            symmetrize_lower(out, d);
        }
        cov
    }
}
