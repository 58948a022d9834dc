//! The nearest-centre kernel from [`WIDE_D`] features on: register tiles of 16 rows × 12
//! centres over a loaded block, the centres in blocks that stay in L2 beside the block's rows,
//! each row's running minimum of `‖c‖² - 2 x·c` (ties to the lower index) and, for bound-based
//! k-means, its runner-up. The distance tile is never written out.

use super::kernels::{CenterTerms, PANEL, panel_len};
use crate::blocks::{BLOCK_ROWS, Block, WIDE_D};
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

/// Rows per row panel of [`nearest_block`]: the height of its register tile (two lane groups).
const ROW_PANEL: usize = 2 * LANES;

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
    if out.second.is_some() {
        nearest_block_with::<I, true>(isa, x, terms, work, out)
    } else {
        nearest_block_with::<I, false>(isa, x, terms, work, out)
    }
}

#[inline(always)]
fn nearest_block_with<I: Isa, const SECOND: bool>(
    isa: I,
    x: Block<'_>,
    terms: &CenterTerms,
    work: &mut [f64],
    out: NearestOut<'_>,
) {
    let d = x.n_features();
    let k = terms.cn.len();
    let len = panel_len(d);
    debug_assert!(d >= WIDE_D && terms.panels.len() == k.div_ceil(PANEL) * len);
    // The rows in panels of ROW_PANEL, `[panel][j][row]`, so that a tile reads its rows from
    // one contiguous stretch (a feature-major block strides 2 KiB between features, which
    // aliases in L1); rows past the block's are zero.
    let n_rp = x.rows_p().div_ceil(ROW_PANEL);
    let rows = n_rp * ROW_PANEL;
    let packed = &mut work[..n_rp * d * ROW_PANEL];
    for (rp, pr) in packed.chunks_exact_mut(d * ROW_PANEL).enumerate() {
        let r0 = rp * ROW_PANEL;
        let real = x.rows_p().saturating_sub(r0).min(ROW_PANEL);
        for (j, dst) in pr.chunks_exact_mut(ROW_PANEL).enumerate() {
            dst[..real].copy_from_slice(&x.feature(j)[r0..r0 + real]);
            dst[real..].fill(0.0);
        }
    }
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
