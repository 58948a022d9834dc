//! Greedy k-means++ as blocked passes: each step scores all its candidates in one pruned pass
//! and adds the chosen one in a second, with the same arithmetic, in the same order, as one pass
//! per candidate did, so that the same seed chooses the same centres bit for bit.
//!
//! Per row the seeding keeps `D²` (the squared distance to the nearest chosen centre, exactly as
//! the block kernel computes it) and which centre that is. A candidate `c` cannot lower a row's
//! `D²` when `‖c - a‖ ≥ 2 D` for the row's nearest centre `a` (triangle inequality): then
//! `min(D², ‖x - c‖²) = D²` without computing the distance. The test is `D² ≤ ‖c - a‖² / 4`,
//! shrunk by a rounding margin (see [`threshold`]), from a small table of candidate-to-centre
//! distances; only the rows that fail it are read and computed, gathered eight at a time, or,
//! where most of a block's distances are needed anyway, all its rows read in place.
//!
//! Below 24 features a step first scores its candidates from a float32 copy of the rows, with
//! a bound on the float32 distances' error ([`choose`], [`float32`]): when the bound settles
//! which candidate the exact scoring would choose, that one is chosen without the exact
//! scoring, and only its own rows are computed in float64 as it is added.
//!
//! The potential `Σ_i w_i D²_i` and the candidates' draws (NumPy's
//! `searchsorted(cumsum(w D²), u · Σ w D²)`) need the running sum of `w D²` in row order: one
//! sequential walk per step, recorded at fixed intervals ([`Chain`]).

use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

mod choose;
mod float32;
mod list;

use list::{Listing, lane_sum};

use super::chain::Chain;
use super::kernels::{Gathered, gathered_sq_distances, sq_distances};
use super::lloyd::Lloyd;
use super::score::{SCORE_TRIALS, ScoreBlock, score_rows};
use crate::blocks::{
    Accumulator, BLOCK_ROWS, Block, Layout, Pool, Span, WIDE_D, leaf_rows, load, prefetch_rows,
};
use crate::data::{DataRef, Float};
use crate::math::{self, LANES};
use crate::mem::Lines;

/// When adding a centre, from this many rows of a block to compute on, the block is loaded
/// whole and computed by the block kernel (the gathered kernel's loads cost more instructions
/// per row, but read only the listed rows). The scoring does not load blocks (transposing a
/// whole block into the block layout was no faster on 1M×16 blobs or uniform noise (k = 64)
/// and 20% slower at d = 64, AMD EPYC, 2 threads): it gathers, or reads a block's rows in
/// place (see [`WHOLE_MUL`]).
const DENSE_ROWS: usize = BLOCK_ROWS * 3 / 4;

/// A block is scored whole ([`score_rows`], below [`WIDE_D`] features) when the gathered
/// kernel would compute at least `WHOLE_MUL / WHOLE_DIV` of its distances: reading all its rows
/// in order costs less than gathering most of them (W5-shaped blobs, k = 64: the seeding
/// 1.15× faster than gathering every listed row; W3-shaped, k = 16: the same speed; scoring
/// every block with many listed rows whole was 0.88× on W3; Intel Xeon, 1 thread, paired).
const WHOLE_MUL: usize = 1;
const WHOLE_DIV: usize = 2;

/// The most improvements a scoring keeps per row (16 bytes each), so that adding the chosen
/// candidate needs no pass over the data. In the first steps of a seeding the candidates
/// together improve more rows than there are (each is far from the few centres chosen): on
/// 1M×16 blobs, 2.2 improvements per row at the first step of k = 16 and 2.7 at k = 64, then
/// about 1.0–1.2. With one per row, those steps
/// passed over the data a second time (two of 15 steps at k = 16); at three, none does, for at
/// most 48 bytes per row of the seeding (itself at most [`PLUSPLUS_MAX_ROWS`] rows).
///
/// [`PLUSPLUS_MAX_ROWS`]: super::init::PLUSPLUS_MAX_ROWS
pub(crate) const PENDING_PER_ROW: usize = 3;

/// One leaf's improvements from a scoring, per candidate: `(row, new D²)`.
type LeafImprovements = Vec<Vec<(u32, f64)>>;

/// One row's seeding state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Nearest {
    /// Squared distance to the nearest chosen centre (`+∞` before the first).
    pub d2: f64,
    /// Index (in the order chosen) of that centre.
    pub center: u32,
}

/// The largest `D²` for which the candidate at squared distance `cc` (as computed) from a
/// chosen centre provably cannot be nearer than that centre, or 0 when the computed distances
/// are out of the range the rounding analysis covers.
///
/// With every squared distance computed to a relative error of at most `γ = (d + 3) u`
/// (`u = 2⁻⁵³`; the differences round once, the squares and their sum in `d` fused steps),
/// `D² ≤ cc (1 - η) / 4` with `η ≥ 3γ` gives `‖x - c‖² ≥ D²` for the computed values too; `η`
/// here is `16 (d + 8) u`. Below `1e-280` subnormal rounding would break the relative bound,
/// and an infinite `cc` bounds nothing.
pub(crate) fn threshold(cc: f64, d: usize) -> f64 {
    if !(cc.is_finite() && cc >= 1e-280) {
        return 0.0;
    }
    let eta = 16.0 * (d as f64 + 8.0) * f64::EPSILON / 2.0;
    cc * (0.25 * (1.0 - eta))
}

/// Squared distance between two centres, with the kernel's operations (`Σ_j (a_j - b_j)²`).
fn center_sq(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let v = x - y;
        s += v * v;
    }
    s
}

/// Per-leaf state of a seeding pass: the candidates' potentials and the workspace.
struct Work {
    pots: Vec<f64>,
    /// `(trials + 1, BLOCK_ROWS)`: each candidate's `min(D², ‖x - c‖²)` for the block's rows
    /// (only for the candidates that move one of them), then the rows' `D²`.
    val: Lines,
    /// The block's listed rows (the rows a centre being added may move, in [`Seeding::add`]).
    list: Listing,
    /// Per group of eight listed rows, the candidates that may move one of them.
    masks: Vec<u64>,
    g: Gathered,
    /// The block's improvements `(candidate, row, new D²)`.
    improved: Vec<(u32, u32, f64)>,
    /// Per candidate, the lane sums of a block scored whole ([`score_rows`]).
    lanes: Vec<[f64; LANES]>,
}

impl Work {
    fn new(d: usize, trials: usize) -> Self {
        Work {
            pots: vec![0.0; trials],
            val: Lines::zeroed((trials + 1) * BLOCK_ROWS),
            list: Listing::new(),
            masks: Vec::with_capacity(BLOCK_ROWS),
            g: Gathered::new(d, trials),
            improved: Vec::new(),
            lanes: vec![[0.0; LANES]; trials],
        }
    }
}

impl Accumulator for Work {
    fn reset(&mut self) {
        self.pots.fill(0.0);
    }
    fn merge(&mut self, right: &Self) {
        math::add_assign(&mut self.pots, &right.pots);
    }
}

/// The seeding's state over the rows of one data set.
pub(crate) struct Seeding<'l, 'a, T> {
    lloyd: &'l Lloyd<'a, T>,
    d: usize,
    near: Vec<Nearest>,
    /// The chosen centres so far (internal frame), row-major.
    chosen: Vec<f64>,
    /// Rows read (and distances computed) per candidate over the whole seeding, for reports.
    pub computed: u64,
    /// The last scoring's improvements, per leaf of the passes (see [`leaf_rows`]) and per
    /// candidate, `(row, new D²)`: the rows each candidate would move, with their new
    /// distance, so that adding the chosen one needs no pass over the data and reads only its
    /// own lists. Each leaf writes its own lists (no two threads wait on one lock), and they are
    /// kept from step to step, so that their memory is asked for (and first touched) once per
    /// seeding rather than at every step.
    pending: Vec<Mutex<LeafImprovements>>,
    /// Whether `pending` holds every improvement of the last scoring: not when there were more
    /// than [`PENDING_PER_ROW`] per row (then [`Seeding::add`] passes).
    pending_whole: bool,
    /// The most improvements kept per row ([`PENDING_PER_ROW`]; tests also take 0, so that
    /// every centre is added by a pass).
    pending_per_row: usize,
    /// Whether to make [`Seeding::shadow`] as the first centre is added.
    float32: bool,
    /// The rows in float32, when the steps choose from float32 distances ([`Seeding::choose`]).
    shadow: Option<float32::Shadow>,
    /// Whether the last scoring was from float32 distances: then `pending32` holds, per leaf,
    /// the groups of rows each candidate may move, and adding computes the chosen one's.
    pending_approx: bool,
    pending32: Vec<Mutex<Vec<float32::Group>>>,
    /// Steps whose float32 scores left the choice open, so that they were scored exactly.
    pub exact_steps: u32,
}

impl<'l, 'a, T: Float> Seeding<'l, 'a, T> {
    /// The state before any centre is chosen (every `D²` `+∞`), keeping at most `per_row`
    /// improvements per row between a scoring and the adding of its chosen candidate.
    pub(crate) fn new(lloyd: &'l Lloyd<'a, T>, per_row: usize) -> Self {
        let x = lloyd.x();
        Seeding {
            lloyd,
            d: x.n_features(),
            // Written by every thread (a `vec!` of them is filled, and its pages first
            // touched, by one), on huge pages.
            near: {
                let mut near = crate::mem::huge_vec(x.n_samples());
                near.par_extend(rayon::iter::repeat_n(
                    Nearest {
                        d2: f64::INFINITY,
                        center: 0,
                    },
                    x.n_samples(),
                ));
                near
            },
            chosen: Vec::new(),
            computed: 0,
            pending: Vec::new(),
            pending_whole: false,
            pending_per_row: per_row,
            float32: false,
            shadow: None,
            pending_approx: false,
            pending32: Vec::new(),
            exact_steps: 0,
        }
    }

    /// Lets [`Seeding::choose`] score from a float32 copy of the rows (where it can: see
    /// [`float32::Shadow::new`]), made as the first centre is added.
    pub(crate) fn with_float32(mut self) -> Self {
        self.float32 = float32::Shadow::fits(self.x());
        self
    }

    /// Empties `pending`'s lists, one per leaf and candidate.
    fn reset_pending(&mut self, trials: usize) {
        let leaf_len = leaf_rows(self.near.len());
        self.pending
            .resize_with(self.near.len().div_ceil(leaf_len), Default::default);
        for leaf in &mut self.pending {
            let lists = leaf.get_mut().unwrap_or_else(|e| e.into_inner());
            lists.resize_with(trials, Vec::new);
            for l in lists {
                l.clear();
            }
        }
    }

    fn x(&self) -> &DataRef<'a, T> {
        self.lloyd.x()
    }

    /// `(chosen, candidates)` table of [`threshold`]s in rows of `stride`: row `a` holds every
    /// candidate's threshold against chosen centre `a`, then `+∞` (which no `D²` exceeds) up to
    /// `stride` (one row of zeros before the first centre).
    fn thresholds(&self, cands: &[f64], stride: usize) -> Vec<f64> {
        let d = self.d;
        let trials = cands.len() / d;
        debug_assert!(stride >= trials);
        if self.chosen.is_empty() {
            let mut thr = vec![f64::INFINITY; stride];
            thr[..trials].fill(0.0);
            return thr;
        }
        let mut thr = vec![f64::INFINITY; self.chosen.len() / d * stride];
        for (ta, a) in thr
            .chunks_exact_mut(stride)
            .zip(self.chosen.chunks_exact(d))
        {
            for (t, c) in ta.iter_mut().zip(cands.chunks_exact(d)) {
                *t = threshold(center_sq(c, a), d);
            }
        }
        thr
    }

    /// Each candidate's potential `Σ_i w_i min(D²_i, ‖x_i - c‖²)`: per block, eight lane sums
    /// in row order, then the fixed tree; the same sums as one pass per candidate.
    pub(crate) fn score(&mut self, cands: &[f64]) -> Vec<f64> {
        let d = self.d;
        let trials = cands.len() / d;
        assert!(trials <= 64);
        self.reset_pending(trials);
        self.pending_approx = false;
        // Each chosen centre's thresholds padded to whole vectors, so that a row's candidates
        // are tested a vector at a time.
        let stride = trials.next_multiple_of(LANES);
        let thr = self.thresholds(cands, stride);
        let near = &self.near[..];
        let x = *self.x();
        let lloyd = self.lloyd;
        let weights = x.weights();
        let accs = Pool::new(move || Work::new(d, trials));
        let counted = AtomicU64::new(0);
        let listed = AtomicUsize::new(0);
        let overflow = AtomicBool::new(near.len() > u32::MAX as usize);
        let leaf_len = leaf_rows(self.near.len());
        let pending = &self.pending[..];
        let cap = near.len().saturating_mul(self.pending_per_row);
        let whole = d < WIDE_D && trials <= SCORE_TRIALS;
        // Hands a block's improvements to the list, unless the list is already too long.
        let publish = |start: usize, improved: &[(u32, u32, f64)]| {
            if improved.is_empty() {
                return;
            }
            let total = listed.fetch_add(improved.len(), Ordering::Relaxed);
            if total + improved.len() > cap {
                overflow.store(true, Ordering::Relaxed);
            } else {
                let mut lists = pending[start / leaf_len]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                for &(t, i, v) in improved {
                    lists[t as usize].push((i, v));
                }
            }
        };
        let out = lloyd
            .passes()
            .reduce(Layout::Untouched, &accs, |_, span, w| {
                let Span { start, rows } = span;
                let nb = &near[start..start + rows];
                let wb = weights.map(|w| &w[start..start + rows]);
                // The rows some candidate may move, with the candidates that may move them, and
                // the next block's, asked for while this one is computed: a few with each group
                // of this block's listed rows, so that the fetches overlap the arithmetic (asked
                // for all at once, they wait on each other for the processor's few miss buffers
                // and nothing is computed meanwhile).
                w.list.advance(near, span, &thr, stride);
                let groups = w.list.rows.len().div_ceil(LANES);
                let per_group = w.list.ahead.len().div_ceil(groups.max(1));
                let mut fetched = 0;
                let base = &mut w.val[trials * BLOCK_ROWS..trials * BLOCK_ROWS + rows];
                for (v, nr) in base.iter_mut().zip(nb) {
                    *v = nr.d2;
                }
                let (val, base) = w.val.split_at_mut(trials * BLOCK_ROWS);
                let base = &base[..rows];
                // Which candidates can move the listed rows, eight rows at a time: a group's
                // distances are computed for those. A candidate's `min(D², ‖x - c‖²)` is `D²`
                // exactly for the rows its threshold excludes (the rounding margin sees to it),
                // so the minima and the improvements `(candidate, row, new D²)` (kept unless
                // there are already too many) are found over the whole group, from a mask of the
                // lanes where a candidate is nearer.
                w.masks.clear();
                let mut which = 0u64;
                for group in w.list.row_masks.chunks(LANES) {
                    let gw = group.iter().fold(0, |a, &m| a | m);
                    w.masks.push(gw);
                    which |= gw;
                }
                // When the gathered kernel would compute most of the block's distances anyway,
                // the block is scored whole, its rows read in place: the same distances and sums
                // (the excluded rows' minima are their `D²` either way), without the gathering.
                let gathered: u32 = w.masks.iter().map(|m| m.count_ones()).sum();
                if whole && gathered as usize * LANES * WHOLE_DIV >= rows * trials * WHOLE_MUL {
                    let record = !overflow.load(Ordering::Relaxed);
                    w.improved.clear();
                    let out = ScoreBlock {
                        d2: base,
                        weights: wb,
                        lanes: &mut w.lanes,
                        improved: record.then_some(&mut w.improved),
                    };
                    score_rows(&x, span, lloyd.offset(), cands, out);
                    for (pot, a) in w.pots.iter_mut().zip(&w.lanes) {
                        *pot += math::sum(a);
                    }
                    counted.fetch_add((rows * trials) as u64, Ordering::Relaxed);
                    publish(start, &w.improved);
                    return;
                }
                // A candidate that moves no row of the block scores its `D²`: one sum serves
                // them all (the same lanes, the same bits).
                let unmoved = lane_sum(base, wb);
                for t in (0..trials).filter(|t| which >> t & 1 == 1) {
                    val[t * BLOCK_ROWS..t * BLOCK_ROWS + rows].copy_from_slice(base);
                }
                let record = !overflow.load(Ordering::Relaxed);
                w.improved.clear();
                let mut n_dist = 0u64;
                for (group, &gw) in w.list.rows.chunks(LANES).zip(&w.masks) {
                    let upto = (fetched + per_group).min(w.list.ahead.len());
                    prefetch_rows(&x, &w.list.ahead[fetched..upto]);
                    fetched = upto;
                    w.g.load(&x, group, lloyd.offset());
                    gathered_sq_distances(&mut w.g, cands, d, gw);
                    n_dist += u64::from(gw.count_ones()) * LANES as u64;
                    let mut bg = [f64::NEG_INFINITY; LANES];
                    for (b, &i) in bg.iter_mut().zip(group) {
                        *b = base[i - start];
                    }
                    let mut bits = gw;
                    while bits != 0 {
                        let t = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        let out = &w.g.out[t * LANES..(t + 1) * LANES];
                        // The lanes the candidate improves (missing lanes compare with -∞).
                        let mut lanes = 0u32;
                        for (l, (&q, &b)) in out.iter().zip(&bg).enumerate() {
                            lanes |= u32::from(q < b) << l;
                        }
                        // Elsewhere `min(D², q)` is `D²`, already in `val`.
                        while lanes != 0 {
                            let l = lanes.trailing_zeros() as usize;
                            lanes &= lanes - 1;
                            let i = group[l];
                            val[t * BLOCK_ROWS + i - start] = out[l];
                            if record {
                                w.improved.push((t as u32, i as u32, out[l]));
                            }
                        }
                    }
                }
                prefetch_rows(&x, &w.list.ahead[fetched..]);
                for (t, pot) in w.pots.iter_mut().enumerate() {
                    if which >> t & 1 == 0 {
                        *pot += unmoved;
                        continue;
                    }
                    *pot += lane_sum(&val[t * BLOCK_ROWS..t * BLOCK_ROWS + rows], wb);
                }
                counted.fetch_add(n_dist, Ordering::Relaxed);
                publish(start, &w.improved);
            });
        self.computed += counted.into_inner();
        self.pending_whole = !overflow.into_inner();
        out.pots
    }

    /// Adds the scored candidate `t` (its row `c`, internal frame) to the chosen centres, from
    /// the improvements the scoring recorded (or by [`Seeding::add`] when it recorded none), and
    /// returns the new running sum of `w D²` ([`Seeding::chain`]).
    ///
    /// Both are serial walks over the rows. From the recorded improvements they run as a
    /// pipeline, leaf by leaf: one thread moves a leaf's improved rows and hands the leaf on,
    /// another sums it into the chain (in row order, as one walk would), so that on two threads
    /// the adding costs little more than the chain alone. On one thread the first walk finishes
    /// before the second starts. After a float32 scoring, [`Seeding::add_chosen32`] adds it
    /// (every thread computing the rows it may move, the chain following leaf by leaf).
    pub(crate) fn add_scored(&mut self, t: usize, c: &[f64]) -> Chain {
        if !std::mem::take(&mut self.pending_whole) {
            self.add(c);
            return self.chain();
        }
        let d = self.d;
        let kc = (self.chosen.len() / d) as u32;
        let n = self.near.len();
        let leaf_len = leaf_rows(n);
        if std::mem::take(&mut self.pending_approx) {
            return self.add_chosen32(t, c);
        }
        let weights = self.lloyd.x().weights();
        let (near, pending) = (&mut self.near, &mut self.pending);
        let (moved, leaves) = std::sync::mpsc::channel::<&[Nearest]>();
        let ((), chain) = rayon::join(
            move || {
                for (l, (nb, leaf)) in near.chunks_mut(leaf_len).zip(pending).enumerate() {
                    let lists = leaf.get_mut().unwrap_or_else(|e| e.into_inner());
                    let start = l * leaf_len;
                    for &(i, v) in &lists[t] {
                        nb[i as usize - start] = Nearest { d2: v, center: kc };
                    }
                    // The receiver lives until every leaf is sent (it is this join's other half).
                    let _ = moved.send(nb);
                }
            },
            move || {
                let mut chain = Chain::with_rows(n);
                let mut start = 0;
                for nb in leaves {
                    chain.extend(nb, weights.map(|w| &w[start..start + nb.len()]));
                    start += nb.len();
                }
                chain
            },
        );
        self.chosen.extend_from_slice(c);
        chain
    }

    /// Adds `c` (internal frame) to the chosen centres: `D²_i = min(D²_i, ‖x_i - c‖²)`, by a
    /// pass over the rows `c` may move.
    pub(crate) fn add(&mut self, c: &[f64]) {
        self.pending_whole = false;
        self.pending_approx = false;
        if self.chosen.is_empty() && std::mem::take(&mut self.float32) {
            // Every row is read to add the first centre: the float32 copy is made from the
            // same blocks.
            self.shadow = float32::Shadow::new(self.lloyd, c, &mut self.near);
            self.chosen.extend_from_slice(c);
            return;
        }
        let d = self.d;
        let kc = (self.chosen.len() / d) as u32;
        let thr = self.thresholds(c, 1);
        let x = *self.x();
        let lloyd = self.lloyd;
        let accs = Pool::new(move || Work::new(d, 1));
        lloyd.passes().reduce_rows(
            Layout::Untouched,
            &accs,
            &mut self.near,
            1,
            |s, span, w, nb| {
                w.list.rows.clear();
                for (r, nr) in nb.iter().enumerate() {
                    if nr.d2 > thr[nr.center as usize] {
                        w.list.rows.push(span.start + r);
                    }
                }
                if w.list.rows.len() < DENSE_ROWS {
                    prefetch_rows(&x, &w.list.rows);
                }
                if w.list.rows.len() >= DENSE_ROWS {
                    load(&x, span, &mut s.xt);
                    lloyd.center_block(s, span.rows);
                    let xb = Block::new(&s.xt, span.rows);
                    sq_distances(xb, c, &mut s.comp);
                    for (nr, &v) in nb.iter_mut().zip(&s.comp[..span.rows]) {
                        if v < nr.d2 {
                            *nr = Nearest { d2: v, center: kc };
                        }
                    }
                    return;
                }
                for group in w.list.rows.chunks(LANES) {
                    w.g.load(&x, group, lloyd.offset());
                    gathered_sq_distances(&mut w.g, c, d, 1);
                    for (l, &i) in group.iter().enumerate() {
                        let nr = &mut nb[i - span.start];
                        let v = w.g.out[l];
                        if v < nr.d2 {
                            *nr = Nearest { d2: v, center: kc };
                        }
                    }
                }
            },
        );
        self.chosen.extend_from_slice(c);
    }

    /// Every row's nearest chosen centre and `D²`.
    pub(crate) fn into_nearest(self) -> Vec<Nearest> {
        self.near
    }

    /// The running sum of `w D²` in row order (see [`Chain`]).
    pub(crate) fn chain(&self) -> Chain {
        Chain::new(&self.near, self.x().weights())
    }

    /// For each target, the first row whose running sum of `w D²` reaches it, clipped to the
    /// last row (NumPy's `searchsorted(cumsum(w D²), t)`).
    pub(crate) fn search(&self, chain: &Chain, targets: &[f64]) -> Vec<usize> {
        let w = self.x().weights();
        targets
            .iter()
            .map(|&t| chain.search(&self.near, w, t))
            .collect()
    }

    /// Every row's state (for tests).
    #[cfg(test)]
    pub(crate) fn clone_nearest(&self) -> Vec<Nearest> {
        self.near.clone()
    }

    /// Sets every row's `D²` (for tests of the draws).
    #[cfg(test)]
    pub(crate) fn set_nearest(&mut self, d2: &[f64]) {
        for (nr, &v) in self.near.iter_mut().zip(d2) {
            nr.d2 = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Chain, Nearest, PENDING_PER_ROW, Seeding};
    use crate::blocks::leaf_rows;
    use crate::data::DataRef;
    use crate::kmeans::lloyd::Lloyd;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Runs `check(lloyd, what)` on the rows `x` (`n × d`, for `k` centres) without and with
    /// the weights `w`, on pools of 1 and 2 threads.
    pub(super) fn each_weighting_and_pool(
        x: &[f64],
        w: &[f64],
        (n, d, k): (usize, usize, usize),
        check: impl Fn(&Lloyd<'_, f64>, &str) + Sync,
    ) {
        for weighted in [false, true] {
            let xr = DataRef::new(x, n, d).unwrap();
            let xr = if weighted {
                xr.with_weights(w).unwrap()
            } else {
                xr
            };
            let lloyd = Lloyd::new(xr, k, &[]);
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let what = format!("weighted {weighted}, {threads} threads");
                pool.install(|| check(&lloyd, &what));
            }
        }
    }

    /// `s`'s rows and the `chain` it returned are `pass`'s rows and chain, bit for bit.
    pub(super) fn assert_as_pass(
        s: &Seeding<'_, '_, f64>,
        chain: &Chain,
        pass: &Seeding<'_, '_, f64>,
        what: &str,
    ) {
        let near_bits = |v: &[Nearest]| {
            v.iter()
                .map(|r| (r.d2.to_bits(), r.center))
                .collect::<Vec<_>>()
        };
        assert!(near_bits(&s.near) == near_bits(&pass.near), "{what}: rows");
        let want = pass.chain();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&chain.ends), bits(&want.ends), "{what}: records");
        assert_eq!(chain.total.to_bits(), want.total.to_bits(), "{what}: total");
    }

    /// Adding a scored candidate from its improvements (the rows moved and the running sum
    /// summed leaf by leaf, in a pipeline) leaves every row's `D²` and centre as a pass adding
    /// it does, and returns the chain of one walk over the rows, bit for bit: with and without
    /// weights, leaves of one and of several blocks (the last one partial), 1 and 2 threads.
    #[test]
    fn adding_a_scored_centre_gives_the_rows_and_chain_of_a_pass() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(4);
        for n in [5077, 40_013] {
            let d = 3;
            assert!(leaf_rows(n) < n && n % leaf_rows(n) != 0);
            let x: Vec<f64> = (0..n * d).map(|_| g.random::<f64>() * 10.0).collect();
            let w: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.7).collect();
            each_weighting_and_pool(&x, &w, (n, d, 4), |lloyd, what| {
                let first = lloyd.rows_internal(&[n / 3]);
                let cands = lloyd.rows_internal(&[10, n / 2, n - 1]);
                let mut s = Seeding::new(lloyd, PENDING_PER_ROW);
                s.add(&first);
                s.score(&cands);
                assert!(s.pending_whole, "the improvements were kept");
                let got = s.add_scored(1, &cands[d..2 * d]);
                let mut pass = Seeding::new(lloyd, PENDING_PER_ROW);
                pass.add(&first);
                pass.add(&cands[d..2 * d]);
                assert_as_pass(&s, &got, &pass, &format!("n = {n}, {what}"));
            });
        }
    }
}
