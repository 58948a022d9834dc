//! The nearest-centre kernel from [`WIDE_D`] features on: register tiles of 16 rows × 12
//! centres over a block's rows packed in row panels (from a loaded block, or straight from the
//! data, centred as they are packed), the centres in blocks that stay in L2 beside the rows,
//! each row's running minimum of `‖c‖² - 2 x·c` (ties to the lower index) and, for bound-based
//! k-means, its runner-up. The distance tile is never written out.

use super::kernels::{CenterTerms, PANEL, panel_len};
use crate::blocks::{BLOCK_ROWS, Block, Span, WIDE_D, transposed8};
use crate::data::{DataRef, Float};
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

/// Rows per row panel of [`nearest_block`]: the height of its register tile (two lane groups).
pub(crate) const ROW_PANEL: usize = 2 * LANES;

/// Panels per centre block of [`nearest_block`]: 192 centres, 192 KiB at 128 features, which
/// stay in L2 beside the block's rows (256 KiB) while every row panel runs over them.
const BLOCK_PANELS: usize = 16;

/// Workspace [`nearest_block`] needs at `d` features (the block packed in row panels).
pub(crate) fn nearest_block_work(d: usize) -> usize {
    d * BLOCK_ROWS
}

/// Where [`nearest_block`] leaves each row's result (`BLOCK_ROWS` values each).
pub(crate) struct NearestOut<'a> {
    /// The nearest centre (as `f64`), ties to the lower index.
    pub idx: &'a mut [f64],
    /// Its score `‖c‖² - 2 x·c`.
    pub best: &'a mut [f64],
    /// The smallest score of the other centres (`+∞` with one centre), when asked for.
    pub second: Option<&'a mut [f64]>,
}

dispatch! {
    /// The nearest centre of each row of a centred block (from [`WIDE_D`] features): the
    /// smallest `‖c‖² - 2 x·c` over the centres of `terms`, ties to the lower index, each score
    /// summed in the order `‖c‖²`, then `-2 c_j x_j` for `j = 0, 1, ...` (fused where the
    /// instruction set has FMA), the centres compared in increasing order. `work` holds at least
    /// [`nearest_block_work`] values.
    pub(crate) fn nearest_block<>(x: Block<'_>, terms: &CenterTerms, work: &mut [f64], out: NearestOut<'_>) => nearest_block_impl
}

#[inline(always)]
fn nearest_block_impl<I: Isa>(
    isa: I,
    x: Block<'_>,
    terms: &CenterTerms,
    work: &mut [f64],
    out: NearestOut<'_>,
) {
    let d = x.n_features();
    // The rows in panels of ROW_PANEL, `[panel][j][row]`, so that a tile reads its rows from
    // one contiguous stretch (a feature-major block strides 2 KiB between features, which
    // aliases in L1); rows past the block's are zero.
    let n_rp = x.rows_p().div_ceil(ROW_PANEL);
    let packed = &mut work[..n_rp * d * ROW_PANEL];
    for (rp, pr) in packed.chunks_exact_mut(d * ROW_PANEL).enumerate() {
        let r0 = rp * ROW_PANEL;
        let real = x.rows_p().saturating_sub(r0).min(ROW_PANEL);
        for (j, dst) in pr.chunks_exact_mut(ROW_PANEL).enumerate() {
            dst[..real].copy_from_slice(&x.feature(j)[r0..r0 + real]);
            dst[real..].fill(0.0);
        }
    }
    nearest_packed(isa, packed, d, terms, out)
}

dispatch! {
    /// [`nearest_block`] for the rows of `span`, read in place (row-major) and centred on
    /// `offset` as they are packed: the same values as loading the block and centring it
    /// (`x - offset`, rounded once), so the same results, without the feature-major copy.
    /// The centred rows are left in `work`, in panels of [`ROW_PANEL`] rows
    /// (`[panel][j][row]`).
    pub(crate) fn nearest_rows_wide<T: Float>(x: &DataRef<'_, T>, span: Span, offset: &[f64], terms: &CenterTerms, work: &mut [f64], out: NearestOut<'_>) => nearest_rows_wide_impl
}

#[inline(always)]
fn nearest_rows_wide_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    terms: &CenterTerms,
    work: &mut [f64],
    out: NearestOut<'_>,
) {
    let d = x.n_features();
    let Span { start, rows } = span;
    let full_cols = d / LANES * LANES;
    let n_rp = rows.div_ceil(ROW_PANEL);
    let packed = &mut work[..n_rp * d * ROW_PANEL];
    for (rp, pr) in packed.chunks_exact_mut(d * ROW_PANEL).enumerate() {
        for half in 0..ROW_PANEL / LANES {
            let r0 = rp * ROW_PANEL + half * LANES;
            let at = half * LANES;
            if r0 + LANES <= rows {
                // Eight rows by eight features, transposed in registers.
                for j0 in (0..full_cols).step_by(LANES) {
                    let v = transposed8(isa, x, start + r0, j0);
                    for (t, v) in v.into_iter().enumerate() {
                        let j = j0 + t;
                        let o = V8::splat(isa, offset[j]);
                        v.sub(o).store(&mut pr[j * ROW_PANEL + at..]);
                    }
                }
                for t in 0..LANES {
                    let row = x.row(start + r0 + t);
                    for j in full_cols..d {
                        pr[j * ROW_PANEL + at + t] = row[j].to_f64() - offset[j];
                    }
                }
            } else {
                let real = rows.saturating_sub(r0);
                for t in 0..LANES {
                    if t < real {
                        let row = x.row(start + r0 + t);
                        for j in 0..d {
                            pr[j * ROW_PANEL + at + t] = row[j].to_f64() - offset[j];
                        }
                    } else {
                        for j in 0..d {
                            pr[j * ROW_PANEL + at + t] = 0.0;
                        }
                    }
                }
            }
        }
    }
    nearest_packed(isa, packed, d, terms, out)
}

/// The kernel of [`nearest_block`] on rows already packed in row panels (`[panel][j][row]`,
/// `d` features).
#[inline(always)]
fn nearest_packed<I: Isa>(
    isa: I,
    packed: &[f64],
    d: usize,
    terms: &CenterTerms,
    out: NearestOut<'_>,
) {
    if out.second.is_some() {
        nearest_packed_with::<I, true>(isa, packed, d, terms, out)
    } else {
        nearest_packed_with::<I, false>(isa, packed, d, terms, out)
    }
}

#[inline(always)]
fn nearest_packed_with<I: Isa, const SECOND: bool>(
    isa: I,
    packed: &[f64],
    d: usize,
    terms: &CenterTerms,
    out: NearestOut<'_>,
) {
    let k = terms.cn.len();
    let len = panel_len(d);
    debug_assert!(d >= WIDE_D && terms.panels.len() == k.div_ceil(PANEL) * len);
    let rows = packed.len() / d;
    let NearestOut { idx, best, second } = out;
    let second = second.unwrap_or(&mut []);
    idx[..rows].fill(0.0);
    best[..rows].fill(f64::INFINITY);
    if SECOND {
        second[..rows].fill(f64::INFINITY);
    }
    let n_panels = k.div_ceil(PANEL);
    let mut pb = 0;
    while pb < n_panels {
        let pe = (pb + BLOCK_PANELS).min(n_panels);
        for (rp, pr) in packed.chunks_exact(d * ROW_PANEL).enumerate() {
            let r0 = rp * ROW_PANEL;
            let mut state = [Running {
                best: V8::zero(isa),
                idx: V8::zero(isa),
                second: V8::zero(isa),
            }; 2];
            for (v, st) in state.iter_mut().enumerate() {
                st.best = V8::load(isa, &best[r0 + v * LANES..]);
                st.idx = V8::load(isa, &idx[r0 + v * LANES..]);
                if SECOND {
                    st.second = V8::load(isa, &second[r0 + v * LANES..]);
                }
            }
            for p in pb..pe {
                let panel = &terms.panels[p * len..(p + 1) * len];
                let base = p * PANEL;
                if I::REGISTERS >= 32 {
                    // 2 × 12 accumulators.
                    tile::<I, 2, PANEL, SECOND>(isa, pr, panel, 0, base, k, &mut state);
                } else {
                    // 1 × 6 (AVX2's sixteen registers, the baseline).
                    for (v, st) in state.iter_mut().enumerate() {
                        let one = std::slice::from_mut(st);
                        for c0 in [0, PANEL / 2] {
                            tile_lanes::<I, 6, SECOND>(isa, pr, v, panel, c0, base, k, one);
                        }
                    }
                }
            }
            for (v, st) in state.iter().enumerate() {
                st.best.store(&mut best[r0 + v * LANES..]);
                st.idx.store(&mut idx[r0 + v * LANES..]);
                if SECOND {
                    st.second.store(&mut second[r0 + v * LANES..]);
                }
            }
        }
        pb = pe;
    }
}

/// The running minimum of one lane group of rows across centres.
#[derive(Clone, Copy)]
struct Running<I: Isa> {
    best: V8<I>,
    idx: V8<I>,
    second: V8<I>,
}

/// A register tile: the `RV` lane groups of a row panel (`pr`, `[j][ROW_PANEL]`) against
/// centres `c0..c0 + NC` of a panel, whose first centre is centre `base`; folds the scores of
/// the real centres (below `k`) into `state`, in increasing order.
#[inline(always)]
fn tile<I: Isa, const RV: usize, const NC: usize, const SECOND: bool>(
    isa: I,
    pr: &[f64],
    panel: &[f64],
    c0: usize,
    base: usize,
    k: usize,
    state: &mut [Running<I>],
) {
    let mut acc = [[V8::zero(isa); NC]; RV];
    let cn = &panel[c0..c0 + NC];
    for row in acc.iter_mut() {
        for (a, &n) in row.iter_mut().zip(cn) {
            *a = V8::splat(isa, n);
        }
    }
    let (xs, _) = pr.as_chunks::<ROW_PANEL>();
    let (cs, _) = panel[PANEL..].as_chunks::<PANEL>();
    for (xj, cj) in xs.iter().zip(cs) {
        let mut xv = [V8::zero(isa); RV];
        for (v, xr) in xv.iter_mut().enumerate() {
            *xr = V8::load(isa, &xj[v * LANES..]);
        }
        for c in 0..NC {
            let b = V8::splat(isa, cj[c0 + c]);
            for v in 0..RV {
                acc[v][c] = xv[v].madd(b, acc[v][c]);
            }
        }
    }
    fold::<I, RV, NC, SECOND>(isa, &acc, c0, base, k, state);
}

/// [`tile`] for the single lane group `v` of a row panel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile_lanes<I: Isa, const NC: usize, const SECOND: bool>(
    isa: I,
    pr: &[f64],
    v: usize,
    panel: &[f64],
    c0: usize,
    base: usize,
    k: usize,
    state: &mut [Running<I>],
) {
    let mut acc = [[V8::zero(isa); NC]; 1];
    for (a, &n) in acc[0].iter_mut().zip(&panel[c0..c0 + NC]) {
        *a = V8::splat(isa, n);
    }
    let (xs, _) = pr.as_chunks::<ROW_PANEL>();
    let (cs, _) = panel[PANEL..].as_chunks::<PANEL>();
    for (xj, cj) in xs.iter().zip(cs) {
        let xv = V8::load(isa, &xj[v * LANES..]);
        for c in 0..NC {
            acc[0][c] = xv.madd(V8::splat(isa, cj[c0 + c]), acc[0][c]);
        }
    }
    fold::<I, 1, NC, SECOND>(isa, &acc, c0, base, k, state);
}

/// Folds a tile's scores into the running minima, centre by centre in increasing order: a
/// centre replaces the best only when strictly smaller (ties to the lower index).
#[inline(always)]
fn fold<I: Isa, const RV: usize, const NC: usize, const SECOND: bool>(
    isa: I,
    acc: &[[V8<I>; NC]; RV],
    c0: usize,
    base: usize,
    k: usize,
    state: &mut [Running<I>],
) {
    for c in 0..NC {
        let g = base + c0 + c;
        if g >= k {
            break;
        }
        let gi = V8::splat(isa, g as f64);
        for (a, st) in acc.iter().zip(state.iter_mut()) {
            let a = a[c];
            if SECOND {
                st.second = a.lt_select(st.best, st.best, st.second.min(a));
            }
            st.idx = a.lt_select(st.best, gi, st.idx);
            st.best = a.lt_select(st.best, a, st.best);
        }
    }
}
