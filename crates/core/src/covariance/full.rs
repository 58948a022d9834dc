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
use crate::blocks::{BLOCK_ROWS, Block, Span, WIDE_D, with_dim};
use crate::data::{DataRef, Float, load8};
use crate::math;
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

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

dispatch! {
    /// The statistics of block `span` of `x` whose rows each belong wholly to the component of
    /// `labels`, read in place ([`Layout::RowsAhead`](crate::blocks::Layout)): each
    /// component's rows gathered (less its shift) and summed row by row ([`add_row_scatter`];
    /// `nk` and `S1` in row order), about a `k`-th of the block per component, too few rows
    /// for lanes of rows to pay for their lane sums. `work` holds [`Full`]'s `work_len`.
    pub(crate) fn accumulate_labelled_rows<T: Float>(x: &DataRef<'_, T>, span: Span, shift: &Shift, labels: &[u32], sums: &mut Sums, work: &mut [f64]) => accumulate_labelled_rows_impl
}

#[inline(always)]
fn accumulate_labelled_rows_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    shift: &Shift,
    labels: &[u32],
    sums: &mut Sums,
    work: &mut [f64],
) {
    let (k, d) = (shift.k(), shift.d());
    let dp = d.next_multiple_of(LANES);
    let whole = d / LANES * LANES;
    let order = LabelOrder::new(labels, k);
    let (g, rest) = work.split_at_mut(BLOCK_ROWS * dp);
    let w = &mut rest[..BLOCK_ROWS];
    for (c, rows_c) in order.groups() {
        let s = shift.of(c);
        let n = rows_c.len();
        for (t, &r) in rows_c.iter().enumerate() {
            let i = span.start + r as usize;
            let (row, v) = (x.row(i), &mut g[t * dp..(t + 1) * dp]);
            for j in (0..whole).step_by(LANES) {
                load8(isa, &row[j..])
                    .sub(V8::load(isa, &s[j..]))
                    .store(&mut v[j..]);
            }
            for j in whole..d {
                v[j] = row[j].to_f64() - s[j];
            }
            v[d..].fill(0.0);
            w[t] = x.weights().map_or(1.0, |w| w[i]);
        }
        let (g, w) = (&g[..n * dp], &w[..n]);
        sums.nk[c] += w.iter().sum::<f64>();
        let s1 = &mut sums.s1[c * d..(c + 1) * d];
        for (v, &wt) in g.chunks_exact(dp).zip(w) {
            for (a, &vj) in s1.iter_mut().zip(v) {
                *a += wt * vj;
            }
        }
        let s2 = &mut sums.s2[c * d * d..(c + 1) * d * d];
        add_row_scatter(isa, g, (d, dp), w, x.weights().is_some(), s2);
    }
}

/// `S2 += Σ_t w_t v_t v_tᵀ`, lower triangle only (`s2` `(d, d)`), for rows `v_t` of `g`
/// (`dp` values each, zero past `d`, for `(d, dp)`) with weights `w_t` (`weighted`; all 1 otherwise): panels
/// of four triangle rows by up to four vectors of eight columns ([`row_panel`]) in registers
/// over all the rows, then added to `S2`; the columns of a last, partial vector one entry at
/// a time. Each product is `(w_t v_ti) v_tj`, as the block kernels form it, summed over the
/// rows in order. The entries above the diagonal are not touched.
#[inline(always)]
fn add_row_scatter<I: Isa>(
    isa: I,
    g: &[f64],
    (d, dp): (usize, usize),
    w: &[f64],
    weighted: bool,
    s2: &mut [f64],
) {
    debug_assert_eq!(d * d, s2.len());
    let whole = d / LANES;
    for i0 in (0..d).step_by(4) {
        // The whole vectors that reach the panel's last row's diagonal.
        let vectors = ((i0 + 3).min(d - 1) / LANES + 1).min(whole);
        let mut q0 = 0;
        while q0 < vectors {
            let p = (i0, q0, dp, d, weighted);
            match vectors - q0 {
                1 => row_panel::<I, 1>(isa, g, w, p, s2),
                2 => row_panel::<I, 2>(isa, g, w, p, s2),
                3 => row_panel::<I, 3>(isa, g, w, p, s2),
                _ => row_panel::<I, 4>(isa, g, w, p, s2),
            }
            q0 += 4;
        }
    }
    // The columns of a last, partial vector, up to the diagonal.
    for i in whole * LANES..d {
        for j in whole * LANES..=i {
            let mut a = 0.0;
            for (v, &wt) in g.chunks_exact(dp).zip(w) {
                a += (if weighted { wt * v[i] } else { v[i] }) * v[j];
            }
            s2[i * d + j] += a;
        }
    }
}

/// Triangle rows `i0..i0 + 4` (those below `d`) by the vectors of columns `8 (q0 + q)` for `q <
/// Q` of [`add_row_scatter`]: `4 Q` sums in registers, each row of `g` adding one product to
/// each; then the parts on or below the diagonal are added to `s2`.
#[inline(always)]
fn row_panel<I: Isa, const Q: usize>(
    isa: I,
    g: &[f64],
    w: &[f64],
    (i0, q0, dp, d, weighted): (usize, usize, usize, usize, bool),
    s2: &mut [f64],
) {
    let zero = V8::zero(isa);
    let mut a = [[zero; Q]; 4];
    // Triangle rows past `d` (in a last panel) multiply the rows' padding: summed, never
    // stored.
    let rows = (d - i0).min(4);
    for (v, &wt) in g.chunks_exact(dp).zip(w) {
        let mut b = [zero; 4];
        for (p, bp) in b.iter_mut().enumerate() {
            let vi = v[(i0 + p).min(dp - 1)];
            *bp = V8::splat(isa, if weighted { wt * vi } else { vi });
        }
        let mut x = [zero; Q];
        for (q, xq) in x.iter_mut().enumerate() {
            *xq = V8::load(isa, &v[(q0 + q) * LANES..]);
        }
        for p in 0..4 {
            for q in 0..Q {
                a[p][q] = b[p].madd(x[q], a[p][q]);
            }
        }
    }
    let lane = {
        let mut l = [0.0; LANES];
        for (i, v) in l.iter_mut().enumerate() {
            *v = i as f64;
        }
        V8::load(isa, &l)
    };
    for (p, ap) in a.iter().enumerate().take(rows) {
        let i = i0 + p;
        for (q, &sum) in ap.iter().enumerate() {
            let j0 = (q0 + q) * LANES;
            if j0 > i {
                break;
            }
            let sum = if j0 + LANES > i + 1 {
                // Only the columns up to the diagonal.
                lane.lt_select(V8::splat(isa, (i - j0) as f64 + 0.5), sum, zero)
            } else {
                sum
            };
            let out = &mut s2[i * d + j0..i * d + j0 + LANES];
            V8::load(isa, out).add(sum).store(out);
        }
    }
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
        // The weighted rows (`d` values a row); for one-hot responsibilities, the block's rows
        // (each padded to whole vectors, so at least `d`) and their weights.
        d.next_multiple_of(LANES) * BLOCK_ROWS + BLOCK_ROWS
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

    /// From `d = 5` (below, the block kernels' one-hot sums are as fast) and for more than
    /// one component.
    fn labelled_rows(k: usize, d: usize) -> bool {
        d > 4 && k > 1
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::covariance::pass::Engine;

    /// One-hot statistics read from the rows in place are the sums written out term by term
    /// (to rounding: 1e-12 of the largest entry), the entries above the diagonal stay zero, and
    /// the bits do not depend on the thread count: for dimensions of whole vectors, of a last
    /// partial one, of no whole one, and of more than four (a panel in two parts); weighted or
    /// not; components with no row, one, or many; rows past a last short block.
    #[test]
    fn labelled_rows_give_the_sums_term_by_term() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(11);
        for d in [5, 8, 13, 16, 40] {
            let (n, k) = (3 * BLOCK_ROWS + 77, 5);
            let x: Vec<f64> = (0..n * d).map(|_| 1e3 + g.random::<f64>() * 8.0).collect();
            let w: Vec<f64> = (0..n).map(|_| g.random::<f64>() * 2.0).collect();
            let shift: Vec<f64> = (0..k * d).map(|_| 1e3 + g.random::<f64>() * 8.0).collect();
            // Component 3 has no row and component 4 one.
            let labels: Vec<u32> = (0..n)
                .map(|i| if i == 100 { 4 } else { g.random_range(0..3) })
                .collect();
            assert!(Full::labelled_rows(k, d));
            let plain = DataRef::new(&x, n, d).unwrap();
            for data in [plain, plain.with_weights(&w).unwrap()] {
                let sh = Shift::new(&shift, k, d);
                let l = |span: Span, out: &mut [u32]| {
                    out.copy_from_slice(&labels[span.start..span.start + span.rows]);
                };
                let with = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| Engine::new::<Full>(data, k).stats_from_labels::<Full>(&sh, &l))
                };
                let got = with(1);
                let two = with(2);
                for (a, b) in [(&got.nk, &two.nk), (&got.s1, &two.s1), (&got.s2, &two.s2)] {
                    assert!(
                        a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()),
                        "d {d}"
                    );
                }
                let (mut nk, mut s1, mut s2) =
                    (vec![0.0; k], vec![0.0; k * d], vec![0.0; k * d * d]);
                for (i, &c) in labels.iter().enumerate() {
                    let c = c as usize;
                    let wi = data.weights().map_or(1.0, |w| w[i]);
                    let v: Vec<f64> = (0..d).map(|j| x[i * d + j] - shift[c * d + j]).collect();
                    nk[c] += wi;
                    for a in 0..d {
                        s1[c * d + a] += wi * v[a];
                        for b in 0..=a {
                            s2[(c * d + a) * d + b] += wi * v[a] * v[b];
                        }
                    }
                }
                let close = |a: &[f64], b: &[f64], what: &str| {
                    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (p, q) in a.iter().zip(b) {
                        assert!(
                            (p - q).abs() <= 1e-12 * scale,
                            "d {d} {what}: {p} against {q}"
                        );
                    }
                };
                close(&got.nk, &nk, "nk");
                close(&got.s1, &s1, "s1");
                close(&got.s2, &s2, "s2");
                // Above the diagonal, and the components without rows, exactly zero.
                for c in 0..k {
                    for a in 0..d {
                        for b in a + 1..d {
                            assert_eq!(got.s2[(c * d + a) * d + b], 0.0, "d {d}");
                        }
                    }
                }
                assert!(got.s2[3 * d * d..4 * d * d].iter().all(|&v| v == 0.0));
                assert_eq!(got.nk[3], 0.0);
                assert_eq!(got.n_rows, n as u64);
            }
        }
    }
}
