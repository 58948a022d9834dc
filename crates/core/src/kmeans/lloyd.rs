//! Lloyd's algorithm on the blocked passes: the data bound to its centring offset, one pass per
//! iteration (nearest centres, per-centre sums, a fingerprint of the labels), scikit-learn's
//! relocation of empty clusters, and the final labels and inertia. The per-centre sums are
//! exact ([`super::exact`]): the new centres do not depend on the order of the rows.
//!
//! As in scikit-learn, the data are centred on their column means first (which keeps the
//! expanded distance form accurate), empty clusters are refilled with the rows farthest from
//! their centres, the loop stops when no label changes ("strict convergence") or the centres
//! move less than `tol` times the mean feature variance, and the labels are recomputed for the
//! final centres if the loop did not end on strict convergence. No per-row state is kept during
//! the iterations: memory is independent of the number of rows.

use std::sync::{Arc, OnceLock};

use super::exact::{Exact, Grid};
use super::kernels::{Assigned, CenterTerms, Inertia, add_rows, nearest_rows, sq_distances};
use super::single::{MAX_CENTERS32, nearest_block32, nearest_rows32};
use super::tiles::{NearestOut, ROW_PANEL, nearest_block, nearest_block_work, nearest_rows_wide};
use crate::blocks::{Accumulator, BLOCK_ROWS, Block, Layout, Passes, Pool, Scratch, Span, WIDE_D};
use crate::blocks::{load, padded};
use crate::data::{DataRef, Float};
use crate::error::Result;
use crate::math::{self, LANES};
use crate::monitor::{self, Monitor};

/// The data bound to the state of the k-means passes: centred on an offset, with scratch.
pub(crate) struct Lloyd<'a, T> {
    passes: Passes<'a, T>,
    k: usize,
    d: usize,
    /// Subtracted from every row as it is loaded: the column means of the data (or, for
    /// prediction, of the centres).
    offset: Vec<f64>,
    /// Whether the labels come from the float32 kernels ([`Lloyd::single`]).
    single: bool,
    /// The exact sums' splitting constants ([`Lloyd::grid`]).
    grid: OnceLock<Arc<Grid>>,
}

/// Per-pass accumulator of a Lloyd iteration.
pub(crate) struct Step {
    /// `(K, d)` sums of the assigned (centred) rows, times their sample weights: the exact sums
    /// rounded once (written by [`Step::settle`]).
    pub sums: Vec<f64>,
    /// The rows' weight per cluster (their number without sample weights): scikit-learn's
    /// `weight_in_clusters` (exact, rounded once, as `sums`).
    pub counts: Vec<f64>,
    /// The sums being accumulated.
    pub exact: Exact,
    /// Order-free fingerprint of every row's label: equal fingerprints in two iterations mean
    /// the labels did not change (scikit-learn's "strict convergence"), without storing them.
    pub fingerprint: u64,
    /// `Σ w ‖x - c_label‖²` under the pass's centres (only when asked for).
    pub inertia: f64,
}

impl Step {
    pub(crate) fn new(grid: Arc<Grid>, k: usize) -> Self {
        let d = grid.m1.len();
        Step {
            sums: vec![0.0; k * d],
            counts: vec![0.0; k],
            exact: Exact::new(grid, k),
            fingerprint: 0,
            inertia: 0.0,
        }
    }

    /// Writes the accumulated sums and weights to `sums` and `counts`.
    pub(crate) fn settle(&mut self) {
        self.exact.write(&mut self.sums, &mut self.counts);
    }

    /// Adds the labelled rows of a block (`s.row`, `s.w`) as Lloyd's pass does: their weights,
    /// their sums and the labels' fingerprint.
    pub(crate) fn add_block<T: Float>(
        &mut self,
        s: &Scratch,
        span: Span,
        x: &DataRef<'_, T>,
        offset: &[f64],
        inertia: Inertia<'_>,
    ) {
        let labels = &s.row[..span.rows];
        let weights = s.w.get().map(|w| &w[..span.rows]);
        match weights {
            None => {
                for &l in labels {
                    self.exact.add_one(l as usize);
                }
            }
            Some(w) => {
                for (&l, &wr) in labels.iter().zip(w) {
                    self.exact.add_weight(l as usize, wr, 1.0);
                }
            }
        }
        self.fingerprint = self
            .fingerprint
            .wrapping_add(block_fingerprint(span.start, labels));
        let rows = Assigned { labels, weights };
        self.inertia += add_rows(x, span, rows, offset, &mut self.exact, inertia);
    }
}

impl Accumulator for Step {
    fn reset(&mut self) {
        self.exact.reset();
        self.fingerprint = 0;
        self.inertia = 0.0;
    }

    fn merge(&mut self, b: &Self) {
        self.exact.merge(&b.exact);
        self.fingerprint = self.fingerprint.wrapping_add(b.fingerprint);
        self.inertia += b.inertia;
    }
}

/// The `n` rows farthest from their nearest centre, as `(squared distance, row, centre)`, kept
/// sorted farthest first (ties: lower row).
struct Farthest {
    n: usize,
    top: Vec<(f64, usize, usize)>,
}

impl Farthest {
    fn keep(&mut self) {
        self.top
            .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.top.truncate(self.n);
    }
}

impl Accumulator for Farthest {
    fn reset(&mut self) {
        self.top.clear();
    }

    fn merge(&mut self, right: &Self) {
        self.top.extend_from_slice(&right.top);
        self.keep();
    }
}

/// `‖x_r - c_label(r)‖²` of the first `rows` rows of a centred block whose labels are in
/// `labels`: each summed over `j = 0, 1, ...` as `q += v * v` (unfused), eight rows at a time so
/// that eight of these serial chains are in flight instead of one. The block is `x` in panels
/// of `panel` rows, feature-major within each (`[panel][j][row]`, `d` features): a loaded block
/// (`s.xt`) is one panel of [`BLOCK_ROWS`], the rows packed by [`nearest_rows_wide`] are panels
/// of [`ROW_PANEL`].
fn label_distances(
    x: &[f64],
    panel: usize,
    labels: &[f64],
    rows: usize,
    centers: &[f64],
    d: usize,
) -> [f64; BLOCK_ROWS] {
    debug_assert!(panel.is_multiple_of(LANES));
    let mut out = [0.0; BLOCK_ROWS];
    for r0 in (0..rows).step_by(LANES) {
        // Lanes past `rows` (the block's padding, `r0 + LANES <= BLOCK_ROWS`) take centre 0
        // and are not read.
        let mut c: [&[f64]; LANES] = [&centers[..d]; LANES];
        for (t, c) in c.iter_mut().enumerate().take(rows - r0) {
            let l = labels[r0 + t] as usize;
            *c = &centers[l * d..(l + 1) * d];
        }
        let base = r0 / panel * d * panel + r0 % panel;
        let mut q = [0.0; LANES];
        for j in 0..d {
            let x = &x[base + j * panel..base + j * panel + LANES];
            for t in 0..LANES {
                let v = x[t] - c[t][j];
                q[t] += v * v;
            }
        }
        let n = (rows - r0).min(LANES);
        out[r0..r0 + n].copy_from_slice(&q[..n]);
    }
    out
}

/// The fingerprint of one block's labels, mixed with its position: four chains of
/// multiply-and-shift (rows `r ≡ t (mod 4)` in chain `t`, each seeded apart), so that the
/// multiplications' latency overlaps instead of adding up row after row, then combined and
/// finalised.
#[inline]
pub(crate) fn block_fingerprint(start: usize, labels: &[f64]) -> u64 {
    const P: u64 = 0x0000_0100_0000_01B3;
    let seed = (start as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut h = [seed, seed ^ 0x5555, seed ^ 0xAAAA, seed ^ 0xFFFF];
    let (quads, rest) = labels.as_chunks::<4>();
    for q in quads {
        for (h, &l) in h.iter_mut().zip(q) {
            *h = (*h ^ (l as u64)).wrapping_mul(P);
            *h ^= *h >> 29;
        }
    }
    for (h, &l) in h.iter_mut().zip(rest) {
        *h = (*h ^ (l as u64)).wrapping_mul(P);
        *h ^= *h >> 29;
    }
    let mut h = h[0] ^ h[1].rotate_left(16) ^ h[2].rotate_left(32) ^ h[3].rotate_left(48);
    // splitmix64's finaliser, so that sums of fingerprints stay well spread.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// One run of Lloyd's algorithm, in the internal (centred) frame.
pub(crate) struct Run {
    pub centers: Vec<f64>,
    pub labels: Option<Vec<usize>>,
    pub inertia: f64,
    pub n_iter: usize,
    pub converged: bool,
}

/// The new centres from a pass's sums (scikit-learn's `_average_centers`), in place, and the
/// summed squared movement of the centres. A cluster without weight takes the centre of the
/// heaviest cluster (the first of the heaviest) as it stands when its turn comes, as
/// scikit-learn's loop does.
pub(crate) fn average(centers: &mut [f64], step: &Step, d: usize) -> f64 {
    let k = step.counts.len();
    let mut heaviest = 0;
    for c in 1..k {
        if step.counts[c] > step.counts[heaviest] {
            heaviest = c;
        }
    }
    let mut new = step.sums.clone();
    let mut shift = 0.0;
    for c in 0..k {
        if step.counts[c] > 0.0 {
            let alpha = 1.0 / step.counts[c];
            for j in 0..d {
                new[c * d + j] *= alpha;
            }
        } else {
            new.copy_within(heaviest * d..(heaviest + 1) * d, c * d);
        }
        for j in 0..d {
            let delta = new[c * d + j] - centers[c * d + j];
            shift += delta * delta;
        }
    }
    centers.copy_from_slice(&new);
    shift
}

/// Whether a pass keeps every row's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labels {
    Keep,
    Drop,
}

impl<'a, T: Float> Lloyd<'a, T> {
    /// Binds `x`; the column offset is the data's mean, or for prediction (`centers` given and
    /// non-empty) the mean of the centres, which needs no pass over the data.
    pub(crate) fn new(x: DataRef<'a, T>, k: usize, centers: &[f64]) -> Self {
        let d = x.n_features();
        let mut lloyd = Lloyd::with_offset(x, k, Vec::new());
        lloyd.offset = if centers.is_empty() {
            // The ranges give the exact sums' grid without a pass of its own: rounding is
            // monotone, so the largest `|x - m|` as computed is at the column's ends.
            let (means, lo, hi) = lloyd.passes.column_means_ranges();
            let bounds: Vec<f64> = (0..d)
                .map(|j| (lo[j] - means[j]).abs().max((hi[j] - means[j]).abs()))
                .collect();
            lloyd.grid_from(&bounds);
            means
        } else {
            let mut m = vec![0.0; d];
            for c in 0..k {
                for j in 0..d {
                    m[j] += centers[c * d + j] / k as f64;
                }
            }
            m
        };
        lloyd
    }

    /// Binds `x` with a given column offset (the point sums are taken about).
    pub(crate) fn with_offset(x: DataRef<'a, T>, k: usize, offset: Vec<f64>) -> Self {
        let d = x.n_features();
        // From WIDE_D features: the nearest-centre kernel's workspace, then the rows' best and
        // runner-up scores (see `Lloyd::wide_scores`).
        let work = if d >= WIDE_D {
            nearest_block_work(d) + 2 * BLOCK_ROWS
        } else {
            0
        };
        Lloyd {
            passes: Passes::new(x, k.max(1), work),
            k,
            d,
            offset,
            single: false,
            grid: OnceLock::new(),
        }
    }

    /// Labels from the float32 nearest-centre kernels when `on` (and the indices of the centres
    /// fit in float32 lanes): every pass's labels, the final ones and the farthest rows alike.
    /// Not for the bounded passes, whose bounds are float64 scores.
    pub(crate) fn single(mut self, on: bool) -> Self {
        self.single = on && self.k <= MAX_CENTERS32;
        self
    }

    /// Whether the labels come from the float32 kernels.
    pub(crate) fn is_single(&self) -> bool {
        self.single
    }

    /// What the nearest-centre kernels precompute for `centers` (internal frame).
    pub(crate) fn terms(&self, centers: &[f64]) -> CenterTerms {
        let terms = CenterTerms::new(centers, self.d);
        if self.single { terms.with_f32() } else { terms }
    }

    /// The data.
    pub(crate) fn x(&self) -> &DataRef<'a, T> {
        self.passes.x()
    }

    /// The column offset subtracted from every row.
    pub(crate) fn offset(&self) -> &[f64] {
        &self.offset
    }

    /// The passes over the data.
    pub(crate) fn passes(&self) -> &Passes<'a, T> {
        &self.passes
    }

    /// scikit-learn's absolute tolerance: `tol` times the mean over features of the per-feature
    /// variance of the data (NumPy's `np.var(X, axis=0).mean()`).
    pub(crate) fn tol_abs(&self, tol: f64) -> f64 {
        if tol == 0.0 {
            return 0.0;
        }
        let var = self.passes.column_variances(&self.offset);
        tol * (var.iter().sum::<f64>() / self.d as f64)
    }

    /// Centres in the internal (centred) frame.
    pub(crate) fn to_internal(&self, centers: &[f64]) -> Vec<f64> {
        let d = self.d;
        centers
            .iter()
            .enumerate()
            .map(|(i, &v)| v - self.offset[i % d])
            .collect()
    }

    /// Centres in the data's frame.
    pub(crate) fn to_external(&self, centers: &[f64]) -> Vec<f64> {
        let d = self.d;
        centers
            .iter()
            .enumerate()
            .map(|(i, &v)| v + self.offset[i % d])
            .collect()
    }

    /// Given rows of the data as centres, in the internal frame.
    pub(crate) fn rows_internal(&self, idx: &[usize]) -> Vec<f64> {
        let mut c = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            for (j, &v) in self.x().row(i).iter().enumerate() {
                c.push(v.to_f64() - self.offset[j]);
            }
        }
        c
    }

    /// Centres the loaded block in place.
    #[inline]
    pub(crate) fn center_block(&self, s: &mut Scratch, rows: usize) {
        let rows_p = padded(rows);
        for j in 0..self.d {
            let o = self.offset[j];
            for v in &mut s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + rows_p] {
                *v -= o;
            }
        }
    }

    /// Centres the loaded block and writes squared distances to every centre to `s.comp`
    /// (`comp[c * BLOCK_ROWS + r]`).
    pub(crate) fn block_distances(&self, s: &mut Scratch, centers: &[f64], rows: usize) {
        self.center_block(s, rows);
        sq_distances(Block::new(&s.xt, rows), centers, &mut s.comp);
    }

    /// From [`WIDE_D`] features: centres the loaded block and writes the nearest centre of each
    /// row (as `f64`) to `s.row`; its score `‖c‖² - 2 x·c`, and with `second` the runner-up's,
    /// are left for [`Lloyd::wide_scores`].
    pub(crate) fn block_nearest(
        &self,
        s: &mut Scratch,
        rows: usize,
        terms: &CenterTerms,
        second: bool,
    ) {
        self.center_block(s, rows);
        let (work, scores) = s.work.split_at_mut(nearest_block_work(self.d));
        let (best, runner_up) = scores.split_at_mut(BLOCK_ROWS);
        let out = NearestOut {
            idx: &mut s.row,
            best,
            second: second.then_some(runner_up),
        };
        nearest_block(Block::new(&s.xt, rows), terms, work, out);
    }

    /// The scores [`Lloyd::block_nearest`] left: each row's best and runner-up
    /// (`BLOCK_ROWS` each; the runner-up's only when asked for).
    pub(crate) fn wide_scores<'s>(&self, s: &'s Scratch) -> (&'s [f64], &'s [f64]) {
        let scores = &s.work[nearest_block_work(self.d)..];
        scores.split_at(BLOCK_ROWS)
    }

    /// Whether labels come from [`nearest_rows_wide`], which packs the rows from the data
    /// itself (from [`WIDE_D`] features, in float64).
    fn wide_in_place(&self) -> bool {
        self.d >= WIDE_D && !self.single
    }

    /// [`Lloyd::block_labels`] from [`nearest_rows_wide`]: the labels into `s.row`, the
    /// centred rows left packed in `s.work`.
    fn wide_labels_in_place(&self, s: &mut Scratch, span: Span, terms: &CenterTerms) {
        let (work, scores) = s.work.split_at_mut(nearest_block_work(self.d));
        let out = NearestOut {
            idx: &mut s.row,
            best: &mut scores[..BLOCK_ROWS],
            second: None,
        };
        nearest_rows_wide(self.x(), span, &self.offset, terms, work, out);
    }

    /// The layout of [`Lloyd::labels_and_distances`]' passes.
    fn distances_layout(&self) -> Layout {
        if self.wide_in_place() {
            Layout::RowsAhead
        } else {
            Layout::FeatureMajor
        }
    }

    /// The nearest centre of each row of `span` (into `s.row`) and the exact squared distance
    /// to it, in a pass with [`Lloyd::distances_layout`].
    fn labels_and_distances(
        &self,
        s: &mut Scratch,
        span: Span,
        terms: &CenterTerms,
        centers: &[f64],
    ) -> [f64; BLOCK_ROWS] {
        let d = self.d;
        self.block_labels(s, span, terms);
        if self.wide_in_place() {
            return label_distances(&s.work, ROW_PANEL, &s.row, span.rows, centers, d);
        }
        if d < WIDE_D {
            self.center_block(s, span.rows);
        }
        label_distances(&s.xt, BLOCK_ROWS, &s.row, span.rows, centers, d)
    }

    /// The layout a pass that only needs labels asks for: the nearest-centre kernel reads rows
    /// in place below [`WIDE_D`] features, and packs them in place from there on in float64;
    /// the float32 kernel from [`WIDE_D`] features runs on a loaded block.
    pub(crate) fn label_layout(&self) -> Layout {
        if self.wide_in_place() {
            Layout::RowsAhead
        } else if self.d >= WIDE_D {
            Layout::FeatureMajor
        } else {
            Layout::Rows
        }
    }

    /// The nearest centre (as `f64`) of the rows of `span` into `s.row`, ties to the lower
    /// index, as in scikit-learn. The pass's layout must be at least [`Lloyd::label_layout`]'s;
    /// from [`WIDE_D`] features the centred rows are left in `s.work` packed by
    /// [`nearest_rows_wide`] (float64) or in the loaded block (float32).
    pub(crate) fn block_labels(&self, s: &mut Scratch, span: Span, terms: &CenterTerms) {
        match (self.d >= WIDE_D, self.single) {
            (true, false) => self.wide_labels_in_place(s, span, terms),
            (false, false) => nearest_rows(self.x(), span, &self.offset, terms, &mut s.row),
            (true, true) => {
                self.center_block(s, span.rows);
                let (work, scores) = s.work.split_at_mut(nearest_block_work(self.d));
                let out = NearestOut {
                    idx: &mut s.row,
                    best: &mut scores[..BLOCK_ROWS],
                    second: None,
                };
                nearest_block32(Block::new(&s.xt, span.rows), terms, work, out);
            }
            (false, true) => nearest_rows32(self.x(), span, &self.offset, terms, &mut s.row),
        }
    }

    /// [`Lloyd::block_labels`] outside a pass: loads the block when the labels need it.
    pub(crate) fn labels_of(&self, s: &mut Scratch, span: Span, terms: &CenterTerms) {
        if self.label_layout() == Layout::FeatureMajor {
            load(self.x(), span, &mut s.xt);
        }
        self.block_labels(s, span, terms);
    }

    /// One Lloyd pass: per-centre sums and counts of the rows nearest each centre, and the
    /// labels' fingerprint (and the inertia, when asked for under these same centres).
    pub(crate) fn step(&self, centers: &[f64], inertia: Inertia<'_>) -> Step {
        let k = self.k;
        let terms = self.terms(centers);
        let grid = self.grid();
        let accs = Pool::new(move || Step::new(grid.clone(), k));
        let mut step = self
            .passes
            .reduce(self.label_layout(), &accs, |s, span, acc| {
                self.block_labels(s, span, &terms);
                acc.add_block(s, span, self.x(), &self.offset, inertia);
            });
        step.settle();
        step
    }

    /// The splitting constants of the exact sums for these data (see [`exact`](super::exact)),
    /// from the largest centred value of each feature (times the largest weight) and the
    /// largest weight: one pass, the first time they are needed.
    pub(crate) fn grid(&self) -> Arc<Grid> {
        self.grid
            .get_or_init(|| {
                let d = self.d;
                let offset = &self.offset;
                let accs = Pool::new(move || vec![0.0f64; d]);
                let max = self
                    .passes
                    .reduce(Layout::FeatureMajor, &accs, |s, span, acc| {
                        for (j, m) in acc.iter_mut().enumerate() {
                            let col = &s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + span.rows];
                            let mut a = [0.0f64; LANES];
                            for (i, &v) in col.iter().enumerate() {
                                a[i % LANES] = a[i % LANES].max((v - offset[j]).abs());
                            }
                            *m = a.iter().fold(*m, |m, &v| m.max(v));
                        }
                    });
                self.make_grid(&max)
            })
            .clone()
    }

    /// Sets the grid from the largest `|x - offset|` of each column (as computed).
    fn grid_from(&mut self, max: &[f64]) {
        let grid = self.make_grid(max);
        self.grid = OnceLock::from(grid);
    }

    fn make_grid(&self, max: &[f64]) -> Arc<Grid> {
        // Without weights every row weighs 1 (added as exactly 1 by `Exact::add_one`); with
        // them, the grid follows the largest weight, so that scaling every weight by a power
        // of two scales the sums exactly.
        let w_max = self
            .x()
            .weights()
            .map_or(1.0, |w| w.iter().fold(0.0f64, |m, &v| m.max(v)));
        // A weighted value `w v` is at most `w_max |v|` rounded: one ulp up covers it.
        let bounds: Vec<f64> = max
            .iter()
            .map(|&m| m * w_max * (1.0 + 2.0 * f64::EPSILON))
            .collect();
        Grid::new(&bounds, w_max)
    }

    /// The nearest centre of every row (kept with [`Labels::Keep`]) and the inertia
    /// `Σ w ‖x - c_label‖²`, with exact distances.
    pub(crate) fn finish(&self, centers: &[f64], keep: Labels) -> (Option<Vec<usize>>, f64) {
        let terms = self.terms(centers);
        let width = usize::from(keep == Labels::Keep);
        let mut labels = vec![0usize; self.x().n_samples() * width];
        let accs = Pool::new(|| 0.0f64);
        let inertia = self.passes.reduce_rows(
            self.distances_layout(),
            &accs,
            &mut labels,
            width,
            |s, span, acc, lab| {
                let q = self.labels_and_distances(s, span, &terms, centers);
                let w = s.w.get();
                let mut a = [0.0; LANES];
                for r in 0..span.rows {
                    a[r % LANES] += w.map_or(q[r], |w| w[r] * q[r]);
                    if width == 1 {
                        lab[r] = s.row[r] as usize;
                    }
                }
                *acc += math::sum(&a);
            },
        );
        ((keep == Labels::Keep).then_some(labels), inertia)
    }

    /// The `n` rows farthest from their nearest centre, farthest first (ties: lower index), as
    /// `(row, squared distance, centre)`.
    pub(crate) fn farthest(&self, centers: &[f64], n: usize) -> Vec<(usize, f64, usize)> {
        let terms = self.terms(centers);
        let accs = Pool::new(move || Farthest { n, top: Vec::new() });
        let top = self
            .passes
            .reduce(self.distances_layout(), &accs, |s, span, acc| {
                let q = self.labels_and_distances(s, span, &terms, centers);
                for (r, &q) in q[..span.rows].iter().enumerate() {
                    acc.top.push((q, span.start + r, s.row[r] as usize));
                }
                acc.keep();
            });
        top.top.into_iter().map(|(q, i, l)| (i, q, l)).collect()
    }

    /// scikit-learn's relocation of empty clusters (`_relocate_empty_clusters_dense`): each
    /// cluster without weight takes one of the rows farthest from their (old) centres, with its
    /// weight, and the row's own cluster loses it; nothing moves when every row sits on its
    /// centre.
    pub(crate) fn relocate_empty(&self, centers: &[f64], step: &mut Step) {
        let d = self.d;
        let empty: Vec<usize> = (0..self.k).filter(|&c| step.counts[c] == 0.0).collect();
        if empty.is_empty() {
            return;
        }
        let far = self.farthest(centers, empty.len());
        if far.first().is_none_or(|f| f.1 == 0.0) {
            return;
        }
        let weights = self.x().weights();
        for (&c, &(i, _, old)) in empty.iter().zip(&far) {
            let w = weights.map_or(1.0, |w| w[i]);
            for j in 0..d {
                let v = self.x().row(i)[j].to_f64() - self.offset[j];
                let wv = if weights.is_some() { v * w } else { v };
                step.sums[old * d + j] -= wv;
                step.sums[c * d + j] = wv;
            }
            step.counts[c] = w;
            step.counts[old] -= w;
        }
    }

    /// One run of Lloyd's algorithm from `centers` (internal frame), asking the monitor before
    /// each pass. Memory stays independent of the number of rows unless `keep` asks for the
    /// final labels.
    pub(crate) fn run(
        &self,
        mut centers: Vec<f64>,
        max_iter: usize,
        tol_abs: f64,
        keep: Labels,
        monitor: &mut dyn Monitor,
    ) -> Result<Run> {
        let d = self.d;
        let mut previous: Option<u64> = None;
        let mut converged = false;
        let mut n_iter = 0;
        for it in 0..max_iter {
            monitor::check(monitor)?;
            n_iter = it + 1;
            let mut step = self.step(&centers, Inertia::Skip);
            self.relocate_empty(&centers, &mut step);
            let shift = average(&mut centers, &step, d);
            if previous == Some(step.fingerprint) {
                // Labels unchanged: scikit-learn's strict convergence.
                converged = true;
                break;
            }
            previous = Some(step.fingerprint);
            if shift <= tol_abs {
                converged = true;
                break;
            }
        }
        // The labels (and inertia) for the final centres. After strict convergence they are
        // those of the last pass; otherwise scikit-learn reassigns too.
        let (labels, inertia) = self.finish(&centers, keep);
        Ok(Run {
            centers,
            labels,
            inertia,
            n_iter,
            converged,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{BLOCK_ROWS, ROW_PANEL, Scratch, block_fingerprint, label_distances};

    #[test]
    fn the_fingerprint_sees_every_label_and_its_place() {
        let labels: Vec<f64> = (0..203).map(|i| ((i * 7) % 13) as f64).collect();
        let f = block_fingerprint(512, &labels);
        assert_eq!(f, block_fingerprint(512, &labels.clone()));
        assert_ne!(f, block_fingerprint(768, &labels), "the block's place");
        // One label changed, in each chain and in the ragged end.
        for i in [0, 1, 2, 3, 101, 200, 202] {
            let mut l = labels.clone();
            l[i] += 1.0;
            assert_ne!(f, block_fingerprint(512, &l), "label {i} changed");
        }
        // Two different labels swapped, in the same chain and across chains.
        for (i, j) in [(0, 4), (0, 1), (5, 7), (199, 202)] {
            let mut l = labels.clone();
            assert_ne!(l[i], l[j]);
            l.swap(i, j);
            assert_ne!(f, block_fingerprint(512, &l), "labels {i} and {j} swapped");
        }
    }

    #[test]
    fn label_distances_are_each_rows_own_serial_sum() {
        let (d, k) = (5, 3);
        let centers: Vec<f64> = (0..k * d).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
        let mut s = Scratch::new(d, k, 0);
        for (i, v) in s.xt.iter_mut().enumerate() {
            *v = (i as f64 * 0.11).cos() * 1e3 + 1e-7 * i as f64;
        }
        for (r, l) in s.row.iter_mut().enumerate() {
            *l = ((r * 5) % k) as f64;
        }
        // The same block packed in panels of ROW_PANEL rows, as `nearest_rows_wide` leaves it.
        let mut packed = vec![f64::NAN; d * BLOCK_ROWS];
        for r in 0..BLOCK_ROWS {
            for j in 0..d {
                let at = r / ROW_PANEL * d * ROW_PANEL + j * ROW_PANEL + r % ROW_PANEL;
                packed[at] = s.xt[j * BLOCK_ROWS + r];
            }
        }
        // Ragged: the last group of eight is partial, and a block of fewer rows than one group.
        for rows in [203, BLOCK_ROWS, 3] {
            let q = label_distances(&s.xt, BLOCK_ROWS, &s.row, rows, &centers, d);
            let p = label_distances(&packed, ROW_PANEL, &s.row, rows, &centers, d);
            assert_eq!(
                q.map(f64::to_bits),
                p.map(f64::to_bits),
                "{rows} rows, packed"
            );
            for r in 0..BLOCK_ROWS {
                let l = s.row[r] as usize;
                let mut want = 0.0;
                for j in 0..d {
                    let v = s.xt[j * BLOCK_ROWS + r] - centers[l * d + j];
                    want += v * v;
                }
                let want = if r < rows { want } else { 0.0 };
                assert_eq!(q[r].to_bits(), want.to_bits(), "row {r} of {rows}");
            }
        }
    }
}
