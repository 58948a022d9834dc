//! The k-means block kernels: squared distances of a block of rows to centres, the nearest
//! centre of each row (the per-centre sums are in [`super::sums`]).
//!
//! The nearest centre minimises the score `‖c‖² - 2 x·c` over precomputed [`CenterTerms`]
//! (scikit-learn's assignment), ties to the lower index. Below [`WIDE_D`] features a lane
//! group's rows stay in registers ([`nearest_rows`], reading rows in place); from [`WIDE_D`] on,
//! the register tiles of [`super::tiles`] do it over a loaded block without writing the
//! distances out. Distances themselves ([`sq_distances`]) are always `Σ_j (x_j - c_j)²` (exact).

use crate::blocks::{BLOCK_ROWS, Block, Span, WIDE_D, prefetch_within, transposed8, with_dim};
use crate::data::{DataRef, Float, load8};
use crate::math::LANES;
use crate::mem::Lines;
use crate::simd::{Isa, V8, dispatch};

/// Squared distances `out[c * BLOCK_ROWS + r] = Σ_j (x_rj - centers_cj)²` for a centred block.
#[inline]
pub(crate) fn sq_distances(x: Block<'_>, centers: &[f64], out: &mut [f64]) {
    direct_distances(x, centers, out);
}

dispatch! {
    /// `out[c * BLOCK_ROWS + r] = Σ_j (x_rj - c_j)²`, eight rows at a time.
    fn direct_distances<>(x: Block<'_>, centers: &[f64], out: &mut [f64]) => direct_distances_impl
}

#[inline(always)]
fn direct_distances_impl<I: Isa>(isa: I, x: Block<'_>, centers: &[f64], out: &mut [f64]) {
    let d = x.n_features();
    for (c, cc) in centers.chunks_exact(d).enumerate() {
        let mut r0 = 0;
        while r0 < x.rows_p() {
            let mut acc = V8::zero(isa);
            for j in 0..d {
                let v = x.lanes(isa, j, r0).sub(V8::splat(isa, cc[j]));
                acc = v.madd(v, acc);
            }
            acc.store(&mut out[c * BLOCK_ROWS + r0..]);
            r0 += LANES;
        }
    }
}

/// Centres per panel of [`CenterTerms::panels`]: the width of the register tile of
/// [`nearest_block`](super::tiles::nearest_block).
pub(crate) const PANEL: usize = 12;

/// Values per panel of [`CenterTerms::panels`] at `d` features.
#[inline]
pub(crate) fn panel_len(d: usize) -> usize {
    PANEL * (d + 1)
}

/// What the nearest-centre kernels precompute per pass: `-2 C` and `‖c‖²` (internal frame),
/// and from [`WIDE_D`] features the same in the panels of
/// [`nearest_block`](super::tiles::nearest_block).
pub(crate) struct CenterTerms {
    /// `-2 C`, `(K, d)`.
    pub cm2: Vec<f64>,
    /// `‖c‖²`, `(K,)`.
    pub cn: Vec<f64>,
    /// From [`WIDE_D`] features (empty below): the centres in panels of [`PANEL`], each
    /// `‖c‖²` of its centres then `-2 c_j` feature by feature (`[j][centre]`), the last panel
    /// padded with zeros; [`panel_len`] values per panel.
    pub panels: Vec<f64>,
    /// With float32 arithmetic ([`CenterTerms::with_f32`]; empty otherwise): `cm2`, `cn` and
    /// `panels` rounded to float32.
    pub cm2_32: Vec<f32>,
    pub cn_32: Vec<f32>,
    pub panels_32: Vec<f32>,
}

impl CenterTerms {
    pub(crate) fn new(centers: &[f64], d: usize) -> Self {
        let cm2: Vec<f64> = centers.iter().map(|v| -2.0 * v).collect();
        let cn: Vec<f64> = centers
            .chunks_exact(d.max(1))
            .map(|c| c.iter().map(|v| v * v).sum())
            .collect();
        let mut panels = Vec::new();
        if d >= WIDE_D {
            let k = cn.len();
            let len = panel_len(d);
            panels = vec![0.0; k.div_ceil(PANEL) * len];
            for (c, (cc, &n)) in cm2.chunks_exact(d).zip(&cn).enumerate() {
                let p = &mut panels[c / PANEL * len..][..len];
                let t = c % PANEL;
                p[t] = n;
                for (j, &v) in cc.iter().enumerate() {
                    p[PANEL + j * PANEL + t] = v;
                }
            }
        }
        CenterTerms {
            cm2,
            cn,
            panels,
            cm2_32: Vec::new(),
            cn_32: Vec::new(),
            panels_32: Vec::new(),
        }
    }

    /// Adds the float32 terms of the float32 kernels ([`super::single`]).
    pub(crate) fn with_f32(mut self) -> Self {
        let narrow = |v: &[f64]| v.iter().map(|&v| v as f32).collect();
        self.cm2_32 = narrow(&self.cm2);
        self.cn_32 = narrow(&self.cn);
        self.panels_32 = narrow(&self.panels);
        self
    }
}

dispatch! {
    /// The nearest centre (as `f64`) of each of the rows of `span`: the smallest
    /// `‖c‖² - 2 x·c` over the centres (all centred on `offset`), ties to the lower index.
    /// Rows are read in place, eight at a time, and transposed in registers.
    pub(crate) fn nearest_rows<T: Float>(
        x: &DataRef<'_, T>,
        span: Span,
        offset: &[f64],
        terms: &CenterTerms,
        out: &mut [f64],
    ) => nearest_rows_impl
}

#[inline(always)]
fn nearest_rows_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    terms: &CenterTerms,
    out: &mut [f64],
) {
    let d = x.n_features();
    with_dim!(d, D => nearest_rows_small::<D, T, I>(isa, x, span, offset, terms, out), _ => {
        // Other dimensions below WIDE_D: the same, with the features in a fixed-size array.
        nearest_rows_small::<WIDE_D, T, I>(isa, x, span, offset, terms, out)
    })
}

/// [`nearest_rows`] with the row vectors of a lane group in registers; `D` is the number of
/// features, or an upper bound on it (features past `d` are zero and their centre terms too).
#[inline(always)]
fn nearest_rows_small<const D: usize, T: Float, I: Isa>(
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
        prefetch_within(x, start + r0 + BLOCK_ROWS, LANES);
        let mut xv = [V8::zero(isa); D];
        if r0 + LANES <= rows {
            let mut j0 = 0;
            while j0 < full_cols {
                xv[j0..j0 + LANES].copy_from_slice(&transposed8(isa, x, start + r0, j0));
                j0 += LANES;
            }
            for j in full_cols..d {
                let mut lanes = [0.0; LANES];
                for (t, l) in lanes.iter_mut().enumerate() {
                    *l = x.row(start + r0 + t)[j].to_f64();
                }
                xv[j] = V8::load(isa, &lanes);
            }
        } else {
            let mut lanes = [[0.0; LANES]; D];
            for t in 0..LANES.min(rows - r0) {
                for (j, &v) in x.row(start + r0 + t).iter().enumerate() {
                    lanes[j][t] = v.to_f64();
                }
            }
            for j in 0..d {
                xv[j] = V8::load(isa, &lanes[j]);
            }
        }
        for j in 0..d {
            xv[j] = xv[j].sub(V8::splat(isa, offset[j]));
        }
        let mut run = Run8::new(isa);
        score_all::<D, I, false>(isa, &xv, d, terms, &mut run);
        run.idx.store(&mut out[r0..]);
        r0 += LANES;
    }
}

/// The running nearest centre of eight rows: its score and index and, for bounds, the
/// runner-up's score.
struct Run8<I: Isa> {
    best: V8<I>,
    idx: V8<I>,
    second: V8<I>,
}

impl<I: Isa> Run8<I> {
    #[inline(always)]
    fn new(isa: I) -> Self {
        let inf = V8::splat(isa, f64::INFINITY);
        Run8 {
            best: inf,
            idx: V8::zero(isa),
            second: inf,
        }
    }
}

/// Folds the scores `‖c‖² - 2 x·c` of every centre against the rows `xv` into `run`, in
/// increasing order of centre (ties to the lower index). Several centres at a time, their
/// chains of multiply-adds side by side (each centre's sum still over `j` in order, so the
/// same bits as one at a time): one chain per centre leaves the FMA pipes waiting on its
/// latency.
#[inline(always)]
fn score_all<const D: usize, I: Isa, const SECOND: bool>(
    isa: I,
    xv: &[V8<I>; D],
    d: usize,
    terms: &CenterTerms,
    run: &mut Run8<I>,
) {
    let k = terms.cn.len();
    let mut c = 0;
    if D <= 16 && I::REGISTERS >= 32 {
        while c + 8 <= k {
            score_centers::<D, I, 8, SECOND>(isa, xv, d, terms, c, run);
            c += 8;
        }
    }
    while c + 4 <= k {
        score_centers::<D, I, 4, SECOND>(isa, xv, d, terms, c, run);
        c += 4;
    }
    while c < k {
        score_centers::<D, I, 1, SECOND>(isa, xv, d, terms, c, run);
        c += 1;
    }
}

/// [`score_all`] for the centres `c0..c0 + N`.
#[inline(always)]
fn score_centers<const D: usize, I: Isa, const N: usize, const SECOND: bool>(
    isa: I,
    xv: &[V8<I>; D],
    d: usize,
    terms: &CenterTerms,
    c0: usize,
    run: &mut Run8<I>,
) {
    let mut acc = [V8::zero(isa); N];
    for (q, a) in acc.iter_mut().enumerate() {
        *a = V8::splat(isa, terms.cn[c0 + q]);
    }
    let cm2 = &terms.cm2[c0 * d..(c0 + N) * d];
    for j in 0..D.min(d) {
        for (q, a) in acc.iter_mut().enumerate() {
            *a = xv[j].madd(V8::splat(isa, cm2[q * d + j]), *a);
        }
    }
    for (q, a) in acc.into_iter().enumerate() {
        if SECOND {
            run.second = a.lt_select(run.best, run.best, run.second.min(a));
        }
        run.idx = a.lt_select(run.best, V8::splat(isa, (c0 + q) as f64), run.idx);
        run.best = a.lt_select(run.best, a, run.best);
    }
}

/// Rows gathered from anywhere in the data, eight lanes at a time: what the pruned passes
/// (k-means++ seeding, bounded Lloyd) compute on, so that every lane gets exactly the value the
/// block kernels give the same row.
pub(crate) struct Gathered {
    /// The centred rows, feature-major: feature `j` of lane `l` at `x[j * LANES + l]`.
    pub x: Lines,
    /// Per-centre results, `out[c * LANES + l]`.
    pub out: Lines,
}

impl Gathered {
    pub(crate) fn new(d: usize, centers: usize) -> Self {
        Gathered {
            x: Lines::zeroed(d * LANES),
            out: Lines::zeroed(centers.max(1) * LANES),
        }
    }

    /// Loads up to eight rows of `x`, centred on `offset` (as a loaded block is centred: the
    /// widened value minus the offset); missing lanes are zero.
    pub(crate) fn load<T: Float>(&mut self, x: &DataRef<'_, T>, rows: &[usize], offset: &[f64]) {
        gather_rows(x, rows, offset, &mut self.x);
    }
}

dispatch! {
    /// [`Gathered::load`]: eight features of the eight rows at a time, transposed in registers.
    fn gather_rows<T: Float>(x: &DataRef<'_, T>, rows: &[usize], offset: &[f64], out: &mut [f64]) => gather_rows_impl
}

#[inline(always)]
fn gather_rows_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    rows: &[usize],
    offset: &[f64],
    out: &mut [f64],
) {
    let d = x.n_features();
    debug_assert!(rows.len() <= LANES);
    let full = d / LANES * LANES;
    let mut j0 = 0;
    while j0 < full {
        let mut v = [V8::zero(isa); LANES];
        for (t, &i) in rows.iter().enumerate() {
            v[t] = load8(isa, &x.row(i)[j0..]);
        }
        for (t, col) in V8::transpose8(v).into_iter().enumerate() {
            let c = if rows.len() == LANES {
                col.sub(V8::splat(isa, offset[j0 + t]))
            } else {
                // Missing lanes stay zero.
                let mut lanes = [0.0; LANES];
                col.store(&mut lanes);
                for l in 0..rows.len() {
                    lanes[l] -= offset[j0 + t];
                }
                V8::load(isa, &lanes)
            };
            c.store(&mut out[(j0 + t) * LANES..]);
        }
        j0 += LANES;
    }
    for j in full..d {
        let mut lanes = [0.0; LANES];
        for (l, &i) in rows.iter().enumerate() {
            lanes[l] = x.row(i)[j].to_f64() - offset[j];
        }
        out[j * LANES..(j + 1) * LANES].copy_from_slice(&lanes);
    }
}

dispatch! {
    /// [`sq_distances`]' exact form for the gathered lanes: `out[t * LANES + l] =
    /// Σ_j (x_lj - c_tj)²` for each centre `t` of `centers` whose bit is set in `which`, in the
    /// same order of operations as the block kernel (so the same bits for the same row).
    pub(crate) fn gathered_sq_distances<>(g: &mut Gathered, centers: &[f64], d: usize, which: u64) => gathered_sq_distances_impl
}

#[inline(always)]
fn gathered_sq_distances_impl<I: Isa>(
    isa: I,
    g: &mut Gathered,
    centers: &[f64],
    d: usize,
    which: u64,
) {
    // Four centres at a time: four independent chains of multiply-adds share each load (each
    // centre's sum is still taken over `j` in order, so the same bits as one at a time).
    let mut ts = [0usize; 64];
    let n = set_bits(which, &mut ts);
    let mut quads = ts[..n].chunks_exact(4);
    for q in &mut quads {
        gathered_centers::<I, 4>(isa, g, centers, d, q.try_into().unwrap());
    }
    for &t in quads.remainder() {
        gathered_centers::<I, 1>(isa, g, centers, d, [t]);
    }
}

/// The indices of the bits set in `which`, lowest first, into `out` (which must have room for
/// them); returns how many.
#[inline(always)]
pub(crate) fn set_bits(mut which: u64, out: &mut [usize]) -> usize {
    let mut n = 0;
    while which != 0 {
        out[n] = which.trailing_zeros() as usize;
        which &= which - 1;
        n += 1;
    }
    n
}

/// `out[t * LANES + l] = Σ_j (x_lj - c_tj)²` for the `N` centres `ts`, their chains of
/// multiply-adds side by side, sharing each load of the rows.
#[inline(always)]
fn gathered_centers<I: Isa, const N: usize>(
    isa: I,
    g: &mut Gathered,
    centers: &[f64],
    d: usize,
    ts: [usize; N],
) {
    let c = ts.map(|t| &centers[t * d..(t + 1) * d]);
    let mut acc = [V8::zero(isa); N];
    for j in 0..d {
        let x = V8::load(isa, &g.x[j * LANES..]);
        for (a, cc) in acc.iter_mut().zip(&c) {
            let v = x.sub(V8::splat(isa, cc[j]));
            *a = v.madd(v, *a);
        }
    }
    for (a, t) in acc.into_iter().zip(ts) {
        a.store(&mut g.out[t * LANES..]);
    }
}

/// What [`gathered_nearest`] finds for each of eight gathered rows, lane by lane.
pub(crate) struct Nearest8 {
    /// The nearest centre, as `f64` (ties to the lower index).
    pub idx: [f64; LANES],
    /// Its score `‖c‖² - 2 x·c`.
    pub best: [f64; LANES],
    /// The smallest score of the other centres (`+∞` with one centre).
    pub second: [f64; LANES],
    /// `‖x‖²`.
    pub xn: [f64; LANES],
}

dispatch! {
    /// [`nearest_rows`] for gathered lanes (below [`WIDE_D`] features), with the same operations
    /// in the same order, so the same nearest centre as the block kernel finds for the same row;
    /// also the runner-up's score and `‖x‖²`, for bounds.
    pub(crate) fn gathered_nearest<>(g: &Gathered, terms: &CenterTerms, d: usize) -> Nearest8 => gathered_nearest_impl
}

#[inline(always)]
fn gathered_nearest_impl<I: Isa>(isa: I, g: &Gathered, terms: &CenterTerms, d: usize) -> Nearest8 {
    with_dim!(d, D => gathered_nearest_small::<D, I>(isa, g, terms, d), _ => {
        gathered_nearest_small::<WIDE_D, I>(isa, g, terms, d)
    })
}

#[inline(always)]
fn gathered_nearest_small<const D: usize, I: Isa>(
    isa: I,
    g: &Gathered,
    terms: &CenterTerms,
    d: usize,
) -> Nearest8 {
    let mut xv = [V8::zero(isa); D];
    let mut xn = V8::zero(isa);
    for j in 0..d {
        xv[j] = V8::load(isa, &g.x[j * LANES..]);
        xn = xv[j].madd(xv[j], xn);
    }
    let mut run = Run8::new(isa);
    score_all::<D, I, true>(isa, &xv, d, terms, &mut run);
    let Run8 { best, idx, second } = run;
    let mut out = Nearest8 {
        idx: [0.0; LANES],
        best: [0.0; LANES],
        second: [0.0; LANES],
        xn: [0.0; LANES],
    };
    idx.store(&mut out.idx);
    best.store(&mut out.best);
    second.store(&mut out.second);
    xn.store(&mut out.xn);
    out
}
