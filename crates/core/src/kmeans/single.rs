//! The nearest-centre kernels in float32 arithmetic, for float32 data (see
//! [`Precision`](crate::Precision)): sixteen rows per vector instead of eight, otherwise the
//! kernels of [`super::kernels`] and [`super::tiles`] step for step.
//!
//! Each row is centred in float64 as every kernel centres it (the widened value minus the
//! offset) and then rounded to float32; the scores `‖c‖² - 2 x·c` are summed in float32 over
//! `‖c‖²` and `-2 c_j` rounded to float32 ([`CenterTerms::with_f32`]), in the order of the
//! float64 kernels, and the centres are compared in increasing order, ties to the lower index.
//! Only the labels leave these kernels: sums, counts and distances are taken in float64 by the
//! callers.

use super::kernels::{CenterTerms, PANEL, panel_len};
use super::tiles::NearestOut;
use crate::blocks::{BLOCK_ROWS, Block, Span, WIDE_D, prefetch_within, transposed8, with_dim};
use crate::data::{DataRef, Float};
use crate::math::LANES;
use crate::simd::{Isa, V8, V16, dispatch};

/// Rows per float32 vector.
const L16: usize = 16;

/// Folds the scores of centres `c0..c0 + N` against the rows `xv` into the running best
/// score and index `run`, in increasing order of centre (ties to the lower index).
#[inline(always)]
fn score_centers<const D: usize, I: Isa, const N: usize>(
    isa: I,
    xv: &[V16<I>; D],
    d: usize,
    terms: &CenterTerms,
    c0: usize,
    run: &mut (V16<I>, V16<I>),
) {
    let mut acc = [V16::splat(isa, 0.0); N];
    for (q, a) in acc.iter_mut().enumerate() {
        *a = V16::splat(isa, terms.cn_32[c0 + q]);
    }
    let cm2 = &terms.cm2_32[c0 * d..(c0 + N) * d];
    for j in 0..D.min(d) {
        for (q, a) in acc.iter_mut().enumerate() {
            *a = xv[j].madd(V16::splat(isa, cm2[q * d + j]), *a);
        }
    }
    let (best, idx) = run;
    for (q, a) in acc.into_iter().enumerate() {
        *idx = a.lt_select(*best, V16::splat(isa, (c0 + q) as f32), *idx);
        *best = a.lt_select(*best, a, *best);
    }
}

/// Rows per row panel of [`nearest_block32`]: two float32 vectors.
const ROW_PANEL32: usize = 2 * L16;

/// Panels per centre block of [`nearest_block32`]: 384 centres, 192 KiB at 128 features.
const BLOCK_PANELS32: usize = 32;

/// The largest number of centres whose indices float32 lanes hold exactly.
pub(crate) const MAX_CENTERS32: usize = 1 << 24;

dispatch! {
    /// [`nearest_rows`](super::kernels::nearest_rows) in float32 arithmetic: the nearest
    /// centre (as `f64`) of each row of `span`, sixteen rows at a time, read in place.
    pub(crate) fn nearest_rows32<T: Float>(
        x: &DataRef<'_, T>,
        span: Span,
        offset: &[f64],
        terms: &CenterTerms,
        out: &mut [f64],
    ) => nearest_rows32_impl
}

#[inline(always)]
fn nearest_rows32_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    terms: &CenterTerms,
    out: &mut [f64],
) {
    let d = x.n_features();
    with_dim!(d, D => rows32_small::<D, T, I>(isa, x, span, offset, terms, out), _ => {
        rows32_small::<WIDE_D, T, I>(isa, x, span, offset, terms, out)
    })
}

/// Sixteen lanes from `lanes[0..16]`, rounded to float32.
#[inline(always)]
fn narrow16<I: Isa>(isa: I, lanes: &[f64; L16]) -> V16<I> {
    V16::narrow(V8::load(isa, &lanes[..]), V8::load(isa, &lanes[LANES..]))
}

#[inline(always)]
fn rows32_small<const D: usize, T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    terms: &CenterTerms,
    out: &mut [f64],
) {
    let Span { start, rows } = span;
    let d = x.n_features();
    let full_cols = d / LANES * LANES;
    let mut r0 = 0;
    while r0 < rows {
        // The rows a block ahead, asked for a group at a time (as `score_rows` does).
        prefetch_within(x, start + r0 + BLOCK_ROWS, L16);
        let mut xv = [V16::splat(isa, 0.0); D];
        if r0 + L16 <= rows {
            let mut j0 = 0;
            while j0 < full_cols {
                let lo = transposed8(isa, x, start + r0, j0);
                let hi = transposed8(isa, x, start + r0 + LANES, j0);
                for t in 0..LANES {
                    let o = V8::splat(isa, offset[j0 + t]);
                    xv[j0 + t] = V16::narrow(lo[t].sub(o), hi[t].sub(o));
                }
                j0 += LANES;
            }
            for j in full_cols..d {
                let mut lanes = [0.0; L16];
                for (t, l) in lanes.iter_mut().enumerate() {
                    *l = x.row(start + r0 + t)[j].to_f64() - offset[j];
                }
                xv[j] = narrow16(isa, &lanes);
            }
        } else {
            let mut lanes = [[0.0; L16]; D];
            for t in 0..rows - r0 {
                for (j, &v) in x.row(start + r0 + t).iter().enumerate() {
                    lanes[j][t] = v.to_f64() - offset[j];
                }
            }
            for j in 0..d {
                xv[j] = narrow16(isa, &lanes[j]);
            }
        }
        let mut run = (V16::splat(isa, f32::INFINITY), V16::splat(isa, 0.0));
        // Several centres at a time, their chains of multiply-adds side by side (each centre's
        // sum still over `j` in order): one chain per centre leaves the FMA pipes waiting on
        // its latency.
        let k = terms.cn_32.len();
        let mut c = 0;
        if D <= 16 && I::REGISTERS >= 32 {
            while c + 8 <= k {
                score_centers::<D, I, 8>(isa, &xv, d, terms, c, &mut run);
                c += 8;
            }
        }
        while c + 4 <= k {
            score_centers::<D, I, 4>(isa, &xv, d, terms, c, &mut run);
            c += 4;
        }
        while c < k {
            score_centers::<D, I, 1>(isa, &xv, d, terms, c, &mut run);
            c += 1;
        }
        let idx = run.1;
        let (lo, hi) = idx.widen();
        lo.store(&mut out[r0..]);
        hi.store(&mut out[r0 + LANES..]);
        r0 += L16;
    }
}

dispatch! {
    /// [`nearest_block`](super::tiles::nearest_block) in float32 arithmetic (from [`WIDE_D`]
    /// features, no runner-up): register tiles of 32 rows × 12 centres. `work` holds at least
    /// `d * BLOCK_ROWS / 2` values; `out.best` receives the float32 scores, widened.
    pub(crate) fn nearest_block32<>(x: Block<'_>, terms: &CenterTerms, work: &mut [f64], out: NearestOut<'_>) => nearest_block32_impl
}

#[inline(always)]
fn nearest_block32_impl<I: Isa>(
    isa: I,
    x: Block<'_>,
    terms: &CenterTerms,
    work: &mut [f64],
    out: NearestOut<'_>,
) {
    let d = x.n_features();
    let k = terms.cn.len();
    let len = panel_len(d);
    debug_assert!(d >= WIDE_D && terms.panels_32.len() == k.div_ceil(PANEL) * len);
    debug_assert!(out.second.is_none());
    let work: &mut [f32] = bytemuck::cast_slice_mut(work);
    // The rows in float32 panels of ROW_PANEL32, `[panel][j][row]`; rows past the block's are
    // zero.
    let n_rp = x.rows_p().div_ceil(ROW_PANEL32);
    let rows = n_rp * ROW_PANEL32;
    let packed = &mut work[..n_rp * d * ROW_PANEL32];
    for (rp, pr) in packed.chunks_exact_mut(d * ROW_PANEL32).enumerate() {
        let r0 = rp * ROW_PANEL32;
        let real = x.rows_p().saturating_sub(r0).min(ROW_PANEL32);
        for (j, dst) in pr.chunks_exact_mut(ROW_PANEL32).enumerate() {
            for (o, &v) in dst.iter_mut().zip(&x.feature(j)[r0..r0 + real]) {
                *o = v as f32;
            }
            dst[real..].fill(0.0);
        }
    }
    let mut best = [f32::INFINITY; BLOCK_ROWS];
    let mut idx = [0.0f32; BLOCK_ROWS];
    let n_panels = k.div_ceil(PANEL);
    let mut pb = 0;
    while pb < n_panels {
        let pe = (pb + BLOCK_PANELS32).min(n_panels);
        for (rp, pr) in packed.chunks_exact(d * ROW_PANEL32).enumerate() {
            let r0 = rp * ROW_PANEL32;
            let mut state = [Running32 {
                best: V16::splat(isa, 0.0),
                idx: V16::splat(isa, 0.0),
            }; 2];
            for (v, st) in state.iter_mut().enumerate() {
                st.best = V16::load(isa, &best[r0 + v * L16..]);
                st.idx = V16::load(isa, &idx[r0 + v * L16..]);
            }
            for p in pb..pe {
                let panel = &terms.panels_32[p * len..(p + 1) * len];
                let base = p * PANEL;
                if I::REGISTERS >= 32 {
                    // 2 × 12 accumulators.
                    tile32::<I, 2, PANEL>(isa, pr, 0, panel, 0, base, k, &mut state);
                } else {
                    // 1 × 6 (AVX2's sixteen registers, the baseline).
                    for v in 0..2 {
                        let one = &mut state[v..v + 1];
                        for c0 in [0, PANEL / 2] {
                            tile32::<I, 1, 6>(isa, pr, v, panel, c0, base, k, one);
                        }
                    }
                }
            }
            for (v, st) in state.iter().enumerate() {
                st.best.store(&mut best[r0 + v * L16..]);
                st.idx.store(&mut idx[r0 + v * L16..]);
            }
        }
        pb = pe;
    }
    for (o, &i) in out.idx[..rows].iter_mut().zip(&idx[..rows]) {
        *o = i as f64;
    }
    for (o, &b) in out.best[..rows].iter_mut().zip(&best[..rows]) {
        *o = b as f64;
    }
}

/// The running minimum of one float32 vector of rows across centres.
#[derive(Clone, Copy)]
struct Running32<I: Isa> {
    best: V16<I>,
    idx: V16<I>,
}

/// A register tile: the `RV` vectors of a row panel from vector `v0` (`pr`, `[j][ROW_PANEL32]`)
/// against centres `c0..c0 + NC` of a panel whose first centre is centre `base`; folds the
/// scores of the real centres (below `k`) into `state`, in increasing order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile32<I: Isa, const RV: usize, const NC: usize>(
    isa: I,
    pr: &[f32],
    v0: usize,
    panel: &[f32],
    c0: usize,
    base: usize,
    k: usize,
    state: &mut [Running32<I>],
) {
    let mut acc = [[V16::splat(isa, 0.0); NC]; RV];
    for row in acc.iter_mut() {
        for (a, &n) in row.iter_mut().zip(&panel[c0..c0 + NC]) {
            *a = V16::splat(isa, n);
        }
    }
    let (xs, _) = pr.as_chunks::<ROW_PANEL32>();
    let (cs, _) = panel[PANEL..].as_chunks::<PANEL>();
    for (xj, cj) in xs.iter().zip(cs) {
        let mut xv = [V16::splat(isa, 0.0); RV];
        for (v, xr) in xv.iter_mut().enumerate() {
            *xr = V16::load(isa, &xj[(v0 + v) * L16..]);
        }
        for c in 0..NC {
            let b = V16::splat(isa, cj[c0 + c]);
            for v in 0..RV {
                acc[v][c] = xv[v].madd(b, acc[v][c]);
            }
        }
    }
    for c in 0..NC {
        let g = base + c0 + c;
        if g >= k {
            break;
        }
        let gi = V16::splat(isa, g as f32);
        for (a, st) in acc.iter().zip(state.iter_mut()) {
            let a = a[c];
            st.idx = a.lt_select(st.best, gi, st.idx);
            st.best = a.lt_select(st.best, a, st.best);
        }
    }
}
