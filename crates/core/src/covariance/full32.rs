//! `full` covariances in float32 arithmetic, for float32 data under
//! [`Precision::Auto`](crate::Precision): the kernel [`Full`] computes in float64, this one
//! computes each block's Mahalanobis terms and scatter sums in float32, sixteen rows per vector.
//!
//! Within a block everything is float32: the rows, centred in float64 on an offset near the
//! data (the mean of the components' means) and rounded once, so that the rounding is relative
//! to the spread of the data rather than to its distance from the origin; the components' means
//! and factors `U_k`, rounded; the products `(x - μ_k) U_k` and their squared norms; the
//! responsibilities (rounded) times `x - s_k` and the scatter `Σ r (x - s_k)(x - s_k)ᵀ`.
//! Everything across blocks is float64: each block's float32 sums (a scatter tile's sixteen
//! lanes added in float32 by [`V16::sums16`], sixteen sums at once) are widened and added to the
//! float64 statistics in block order, `N_k` is summed in float64 from the float64
//! responsibilities (those below 2^-100 left out of it and of the float32 sums alike), the
//! log-probabilities are `cst_k - q / 2` with the widened `q`, and their log-sum-exp and the
//! M-step are [`Full`]'s. The diagonal of a block's scatter is a sum of products `r (x - s)²`,
//! none of them negative.

use super::LabelOrder;
use super::full::Full;
use super::scatter::whole_small_tiles;
use super::scatter32::{scatter32, weighted_scatter32};
use super::{CovarianceType, Kernel, Params, Shift, Sums};
use crate::blocks::{BLOCK_ROWS, Block, WIDE_D, padded, with_dim};
use crate::math::{self, LANES};
use crate::mem::OnLine;
use crate::simd::{Isa, V8, V16};

/// Rows per float32 vector.
pub(super) const L16: usize = 16;

/// The smallest responsibility the float32 statistics keep: 2^-100.
const TINY: f64 = 7.888_609_052_210_118e-31;

pub(crate) struct Full32;

pub(crate) struct Prepared32 {
    k: usize,
    d: usize,
    /// The width of the rows of `u`: `d` below [`WIDE_D`], `d` rounded up to 8 from there (the
    /// column tiles of [`mahalanobis32_tiled`]).
    dp: usize,
    /// Subtracted from every row before it is rounded to float32: the mean of the means.
    offset: Vec<f64>,
    /// `(K, d)`: `μ_k - offset`, rounded.
    mu: Vec<f32>,
    /// `(K, d, dp)`: `U_k`, rounded, its rows padded with zeros to `dp`.
    u: Vec<f32>,
    /// [`Full`]'s per-component constants (float64).
    cst: Vec<f64>,
}

/// `rows` rounded up to whole float32 vectors.
#[inline(always)]
fn rows16(rows: usize) -> usize {
    rows.div_ceil(L16) * L16
}

/// The mean of `k` rows of `d` values.
fn mean_of(rows: &[f64], k: usize, d: usize) -> Vec<f64> {
    let mut m = vec![0.0; d];
    for row in rows.chunks_exact(d).take(k) {
        for (m, &v) in m.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in &mut m {
        *m /= k as f64;
    }
    m
}

/// `xo[j * BLOCK_ROWS + r] = (x_rj - offset_j)` rounded to float32, for the rows of the block
/// up to whole float32 vectors (zero past the block's rows).
#[inline(always)]
fn narrow_block<I: Isa>(isa: I, x: Block<'_>, offset: &[f64], xo: &mut [f32]) {
    let (rows, rows_p) = (x.rows(), x.rows_p());
    let r16 = rows16(rows);
    for (j, &o) in offset.iter().enumerate() {
        let o = V8::splat(isa, o);
        let f = x.feature(j);
        let dst = &mut xo[j * BLOCK_ROWS..j * BLOCK_ROWS + r16];
        let mut r0 = 0;
        while r0 + L16 <= rows_p {
            let lo = V8::load(isa, &f[r0..]).sub(o);
            let hi = V8::load(isa, &f[r0 + LANES..]).sub(o);
            V16::narrow(lo, hi).store(&mut dst[r0..]);
            r0 += L16;
        }
        if r0 < rows_p {
            let lo = V8::load(isa, &f[r0..]).sub(o);
            V16::narrow(lo, V8::zero(isa)).store(&mut dst[r0..]);
        }
        // Rows past the block's (the float64 block's padding is zero, not `offset`).
        dst[rows..].fill(0.0);
    }
}

/// The float32 block and the weighted rows in the kernel workspace (as `f64` values).
fn split_work(work: &mut [f64], d: usize) -> (&mut [f32], &mut [f32]) {
    let work: &mut [f32] = bytemuck::cast_slice_mut(&mut work[..d * BLOCK_ROWS]);
    work.split_at_mut(d * BLOCK_ROWS)
}

/// The E-step below [`WIDE_D`]: a float32 vector of rows in registers, one column of
/// `(x - μ) U` at a time.
#[inline(always)]
fn log_prob32_small<const D: usize, I: Isa>(
    isa: I,
    prep: &Prepared32,
    xo: &[f32],
    r16: usize,
    out: &mut [f64],
) {
    let (k, d, dp) = (prep.k, prep.d, prep.dp);
    let dd = D.min(d);
    for r0 in (0..r16).step_by(L16) {
        let mut xv = [V16::zero(isa); D];
        for l in 0..dd {
            xv[l] = V16::load(isa, &xo[l * BLOCK_ROWS + r0..]);
        }
        for c in 0..k {
            let mu = &prep.mu[c * d..(c + 1) * d];
            let u = &prep.u[c * d * dp..(c + 1) * d * dp];
            if D <= 16 {
                // Row by row of `U`, as the float64 kernel ([`Full`]'s `log_prob_small`): up to
                // `D` independent chains in flight; the same sums in the same order as below.
                let (mut q0, mut q1) = (V16::zero(isa), V16::zero(isa));
                let mut y = [V16::zero(isa); D];
                macro_rules! rows {
                    ($($l:literal)*) => {$(
                        if $l < D {
                            let xl = V16::load(isa, &xo[$l * BLOCK_ROWS + r0..]);
                            let xc = xl.sub(V16::splat(isa, mu[$l]));
                            for j in $l..D {
                                y[j] = xc.madd(V16::splat(isa, u[$l * dp + j]), y[j]);
                            }
                            if $l % 2 == 0 {
                                q0 = y[$l].madd(y[$l], q0);
                            } else {
                                q1 = y[$l].madd(y[$l], q1);
                            }
                        }
                    )*};
                }
                rows!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
                let q = q0.add(q1);
                store_log_prob(isa, q, prep.cst[c], &mut out[c * BLOCK_ROWS + r0..]);
                continue;
            }
            let mut xc = [V16::zero(isa); D];
            for l in 0..dd {
                xc[l] = xv[l].sub(V16::splat(isa, mu[l]));
            }
            // The squares summed in two chains (even and odd columns), so that their latency
            // overlaps.
            let (mut q0, mut q1) = (V16::zero(isa), V16::zero(isa));
            let mut j = 0;
            while j + 2 <= dd {
                let y0 = column32(isa, &xc, u, dp, j);
                let y1 = column32(isa, &xc, u, dp, j + 1);
                q0 = y0.madd(y0, q0);
                q1 = y1.madd(y1, q1);
                j += 2;
            }
            if j < dd {
                let y = column32(isa, &xc, u, dp, j);
                q0 = y.madd(y, q0);
            }
            let q = q0.add(q1);
            store_log_prob(isa, q, prep.cst[c], &mut out[c * BLOCK_ROWS + r0..]);
        }
    }
}

/// Column `j` of `(x - μ) U` for a vector of rows: `Σ_{l ≤ j} xc_l U[l, j]`, in the order of
/// `l` (a function, not a closure: a closure would not inherit the target features).
#[inline(always)]
fn column32<I: Isa>(isa: I, xc: &[V16<I>], u: &[f32], dp: usize, j: usize) -> V16<I> {
    let mut y = V16::zero(isa);
    for l in 0..j + 1 {
        y = xc[l].madd(V16::splat(isa, u[l * dp + j]), y);
    }
    y
}

/// `out[0..16] = cst - q / 2` in float64.
#[inline(always)]
fn store_log_prob<I: Isa>(isa: I, q: V16<I>, cst: f64, out: &mut [f64]) {
    let (lo, hi) = q.widen();
    let (h, c) = (V8::splat(isa, -0.5), V8::splat(isa, cst));
    lo.madd(h, c).store(out);
    hi.madd(h, c).store(&mut out[LANES..]);
}

/// The E-step from [`WIDE_D`] features: register tiles of `RT` float32 vectors of rows × 8
/// columns of `(x - μ) U`, only the features that reach a column tile read (`U` is upper
/// triangular), each tile's columns squared into the row's sum as soon as they are complete.
#[inline(always)]
fn mahalanobis32_tiled<I: Isa>(
    isa: I,
    xo: &[f32],
    r16: usize,
    mu: &[f32],
    u: &[f32],
    q: &mut [f32],
) {
    let vectors = r16 / L16;
    let mut v = 0;
    while v + 3 <= vectors {
        mahalanobis32_tile::<I, 3>(isa, xo, mu, u, v * L16, q);
        v += 3;
    }
    match vectors - v {
        2 => mahalanobis32_tile::<I, 2>(isa, xo, mu, u, v * L16, q),
        1 => mahalanobis32_tile::<I, 1>(isa, xo, mu, u, v * L16, q),
        _ => {}
    }
}

/// [`mahalanobis32_tiled`] for the `RT` vectors of rows from `r0`.
#[inline(always)]
fn mahalanobis32_tile<I: Isa, const RT: usize>(
    isa: I,
    xo: &[f32],
    mu: &[f32],
    u: &[f32],
    r0: usize,
    q: &mut [f32],
) {
    let d = mu.len();
    let dp = u.len() / d;
    let mut qa = [V16::zero(isa); RT];
    let mut j0 = 0;
    while j0 < d {
        let mut acc = [[V16::zero(isa); 8]; RT];
        for l in 0..j0 {
            tile32_feature::<I, RT, 0>(isa, xo, mu, u, (r0, j0, dp), l, &mut acc);
        }
        macro_rules! diagonal {
            ($($c0:literal)*) => {$(
                if j0 + $c0 < d {
                    tile32_feature::<I, RT, $c0>(isa, xo, mu, u, (r0, j0, dp), j0 + $c0, &mut acc);
                }
            )*};
        }
        diagonal!(0 1 2 3 4 5 6 7);
        for t in 0..RT {
            for a in acc[t] {
                qa[t] = a.madd(a, qa[t]);
            }
        }
        j0 += 8;
    }
    for t in 0..RT {
        qa[t].store(&mut q[r0 + t * L16..]);
    }
}

/// One feature `l` of a [`mahalanobis32_tile`] at `(r0, j0, dp)`: `acc[t][c] += (x_l - μ_l)
/// U[l, j0 + c]` for the columns `c >= C0`.
#[inline(always)]
fn tile32_feature<I: Isa, const RT: usize, const C0: usize>(
    isa: I,
    xo: &[f32],
    mu: &[f32],
    u: &[f32],
    (r0, j0, dp): (usize, usize, usize),
    l: usize,
    acc: &mut [[V16<I>; 8]; RT],
) {
    let m = V16::splat(isa, mu[l]);
    let row = &xo[l * BLOCK_ROWS + r0..l * BLOCK_ROWS + r0 + RT * L16];
    let mut xs = [V16::zero(isa); RT];
    for t in 0..RT {
        xs[t] = V16::load(isa, &row[t * L16..]).sub(m);
    }
    let ur: &[f32; 8] = u[l * dp + j0..l * dp + j0 + 8].try_into().unwrap();
    for c in C0..8 {
        let b = V16::splat(isa, ur[c]);
        for t in 0..RT {
            acc[t][c] = xs[t].madd(b, acc[t][c]);
        }
    }
}

/// What [`accumulate_component32`] needs besides the rows, made once per block.
struct Buffers32<'w> {
    /// The offset of the rows: the mean of the shifts (as `prepare` takes the means').
    offset: Vec<f64>,
    /// A float32 block of workspace: the weighted rows.
    wdx: &'w mut [f32],
    r32: OnLine<[f32; BLOCK_ROWS]>,
    rf: OnLine<[f64; BLOCK_ROWS]>,
    s32: Vec<f32>,
}

impl<'w> Buffers32<'w> {
    fn new(shift: &Shift, wdx: &'w mut [f32]) -> Self {
        let (k, d) = (shift.k(), shift.d());
        Buffers32 {
            offset: mean_of(&shift.shift, k, d),
            wdx,
            r32: OnLine([0.0; BLOCK_ROWS]),
            rf: OnLine([0.0; BLOCK_ROWS]),
            s32: vec![0.0; d],
        }
    }
}

/// The statistics of component `c` from `rows` float32 rows `xo` (less the offset, zero up to
/// whole float32 vectors) with responsibilities `rk` (`padded(rows)` of them).
#[inline(always)]
fn accumulate_component32<I: Isa>(
    isa: I,
    shift: &Shift,
    c: usize,
    (xo, rows): (&[f32], usize),
    rk: &[f64],
    sums: &mut Sums,
    b: &mut Buffers32<'_>,
) {
    let d = shift.d();
    let (rows_p, r16) = (padded(rows), rows16(rows));
    // Responsibilities below 2^-100 are dropped, here and from `N_k` alike: in float32 they, or
    // their products with `x - s`, would be subnormal, and arithmetic on subnormal numbers is
    // slower by two orders of magnitude on x86 processors (a component's responsibilities far
    // from it, `exp(-100)` and less, are exactly these).
    for (o, &r) in b.rf.iter_mut().zip(rk) {
        *o = if r >= TINY { r } else { 0.0 };
    }
    sums.nk[c] += math::sum(&b.rf[..rows_p]);
    for (o, &r) in b.r32.iter_mut().zip(&b.rf[..rows_p]) {
        *o = r as f32;
    }
    b.r32[rows_p..r16].fill(0.0);
    for ((s, &m), &o) in b.s32.iter_mut().zip(shift.of(c)).zip(&b.offset) {
        *s = (m - o) as f32;
    }
    let (s32, r32, wdx) = (&b.s32, &b.r32[..], &mut *b.wdx);
    if whole_small_tiles(d) {
        let s2 = &mut sums.s2[c * d * d..(c + 1) * d * d];
        let s1 = &mut sums.s1[c * d..(c + 1) * d];
        weighted_scatter32(isa, xo, s32, r32, r16, s1, s2);
        return;
    }
    // wdx = r (x - s), and S1.
    for j in 0..d {
        let sj = V16::splat(isa, s32[j]);
        let mut s1 = V16::zero(isa);
        for r0 in (0..r16).step_by(L16) {
            let v = V16::load(isa, &xo[j * BLOCK_ROWS + r0..]).sub(sj);
            let w = V16::load(isa, &r32[r0..]).mul(v);
            w.store(&mut wdx[j * BLOCK_ROWS + r0..]);
            s1 = s1.add(w);
        }
        sums.s1[c * d + j] += s1.sum();
    }
    let s2 = &mut sums.s2[c * d * d..(c + 1) * d * d];
    if d >= WIDE_D {
        scatter32::<I, 4, 6>(isa, (xo, wdx), s32, r16, s2);
    } else {
        scatter32::<I, 4, 4>(isa, (xo, wdx), s32, r16, s2);
    }
}

impl Kernel for Full32 {
    const TYPE: CovarianceType = CovarianceType::Full;
    type Prepared = Prepared32;

    fn prepare(p: &Params, log_weights: &[f64]) -> Prepared32 {
        let (k, d) = (p.n_components, p.n_features);
        let full = Full::prepare(p, log_weights);
        let dp = if d >= WIDE_D {
            d.next_multiple_of(8)
        } else {
            d
        };
        let offset = mean_of(&p.means, k, d);
        let mut mu = Vec::with_capacity(k * d);
        for m in p.means.chunks_exact(d) {
            mu.extend(m.iter().zip(&offset).map(|(&m, &o)| (m - o) as f32));
        }
        let mut u = vec![0.0f32; k * d * dp];
        for (dst, src) in u.chunks_exact_mut(dp).zip(full.upper().chunks_exact(d)) {
            for (o, &v) in dst.iter_mut().zip(src) {
                *o = v as f32;
            }
        }
        Prepared32 {
            k,
            d,
            dp,
            offset,
            mu,
            u,
            cst: full.constants().to_vec(),
        }
    }

    fn work_len(_k: usize, d: usize) -> usize {
        // Two float32 blocks: the rows, and the weighted rows of the statistics; after them,
        // for one-hot responsibilities, one component's weights and float32 rows.
        (2 * d + 1) * BLOCK_ROWS
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        isa: I,
        prep: &Prepared32,
        x: Block<'_>,
        out: &mut [f64],
        work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let r16 = rows16(x.rows());
        let (xo, q) = split_work(work, d);
        narrow_block(isa, x, &prep.offset, xo);
        let xo = &*xo;
        with_dim!(d, D => log_prob32_small::<D, I>(isa, prep, xo, r16, out), _ => {
            if d < WIDE_D {
                log_prob32_small::<WIDE_D, I>(isa, prep, xo, r16, out)
            } else {
                let dp = prep.dp;
                for c in 0..k {
                    let mu = &prep.mu[c * d..(c + 1) * d];
                    let u = &prep.u[c * d * dp..(c + 1) * d * dp];
                    mahalanobis32_tiled(isa, xo, r16, mu, u, q);
                    for r0 in (0..r16).step_by(L16) {
                        let qv = V16::load(isa, &q[r0..]);
                        store_log_prob(isa, qv, prep.cst[c], &mut out[c * BLOCK_ROWS + r0..]);
                    }
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
        let (xo, wdx) = split_work(work, d);
        let mut b = Buffers32::new(shift, wdx);
        narrow_block(isa, x, &b.offset, xo);
        for c in 0..k {
            let rk = &resp[c * BLOCK_ROWS..c * BLOCK_ROWS + x.rows_p()];
            accumulate_component32(isa, shift, c, (xo, x.rows()), rk, sums, &mut b);
        }
    }

    /// The block narrowed once, then each component's rows gathered into a float32 block of
    /// their own ([`accumulate_component32`] on them alone): a `k`-th of the scatter's work of
    /// the one-hot responsibilities.
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
        if k == 1 {
            super::one_hot(labels, weights, k, x.rows_p(), resp);
            Self::accumulate(isa, shift, x, resp, weights, sums, work);
            return;
        }
        let order = LabelOrder::new(labels, k);
        let (work, rest) = work.split_at_mut(d * BLOCK_ROWS);
        let (xo, wdx) = split_work(work, d);
        let (rk, g) = rest.split_at_mut(BLOCK_ROWS);
        let xg: &mut [f32] = bytemuck::cast_slice_mut(&mut g[..d * BLOCK_ROWS / 2]);
        let mut b = Buffers32::new(shift, wdx);
        narrow_block(isa, x, &b.offset, xo);
        for (c, rows_c) in order.groups() {
            let n = rows_c.len();
            for (gj, xj) in xg
                .chunks_exact_mut(BLOCK_ROWS)
                .zip(xo.chunks_exact(BLOCK_ROWS))
            {
                for (o, &r) in gj.iter_mut().zip(rows_c) {
                    *o = xj[r as usize];
                }
                gj[n..rows16(n)].fill(0.0);
            }
            for (o, &r) in rk.iter_mut().zip(rows_c) {
                *o = weights.map_or(1.0, |w| w[r as usize]);
            }
            rk[n..padded(n)].fill(0.0);
            accumulate_component32(isa, shift, c, (xg, n), &rk[..padded(n)], sums, &mut b);
        }
    }

    fn covariances(sums: &Sums, shift: &Shift, nk: &[f64], e: &[f64], reg_covar: f64) -> Vec<f64> {
        Full::covariances(sums, shift, nk, e, reg_covar)
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::blocks::Span;
    use crate::covariance::pass::Engine;
    use crate::data::DataRef;

    /// The float32 statistics against the float64 ones from the same responsibilities, where
    /// those below 2^-100 are zero: `N_k` bit for bit, `S1` and `S2` to float32's accuracy.
    /// Responsibilities of 1e-35 (subnormal in float32) are dropped, not summed.
    #[test]
    fn float32_statistics_are_the_float64_ones_without_the_tiny_responsibilities() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
        let k = 3;
        for d in [5, 16, 30] {
            let n = 700;
            let x: Vec<f32> = (0..n * d)
                .map(|i| 50.0 + (i % d) as f32 + g.random::<f32>() * 4.0)
                .collect();
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            // Component 2 explains no row (all its responsibilities tiny); the others have some
            // tiny and some zero responsibilities among ordinary ones.
            let r: Vec<f64> = (0..n * k)
                .map(|i| match (i % k, i % 7) {
                    (2, _) | (_, 0) => 1e-35,
                    (_, 1) => 0.0,
                    _ => g.random::<f64>(),
                })
                .collect();
            let resp = |tiny: bool| {
                let r = &r;
                move |span: Span, out: &mut [f64]| {
                    for c in 0..k {
                        for i in 0..span.rows {
                            let v = r[(span.start + i) * k + c];
                            out[c * BLOCK_ROWS + i] = if !tiny && v < TINY { 0.0 } else { v };
                        }
                    }
                }
            };
            let shift_means: Vec<f64> = (0..k * d).map(|i| 50.0 + (i % d) as f64 + 2.0).collect();
            let shift = Shift::new(&shift_means, k, d);
            let x32r = DataRef::new(&x, n, d).unwrap();
            let got = Engine::new::<Full32>(x32r, k).stats_from::<Full32>(&shift, &resp(true));
            let x64r = DataRef::new(&x64, n, d).unwrap();
            let want = Engine::new::<Full>(x64r, k).stats_from::<Full>(&shift, &resp(false));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got.nk), bits(&want.nk), "d = {d}");
            assert_eq!(got.nk[2], 0.0);
            let close = |a: &[f64], b: &[f64], what: &str| {
                let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-5 * scale,
                        "d = {d}: {what}[{i}] {x} vs {y}"
                    );
                }
            };
            close(&got.s1, &want.s1, "S1");
            close(&got.s2, &want.s2, "S2");
        }
    }
}
