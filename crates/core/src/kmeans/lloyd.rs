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

use super::bounded::LastLabels;
use super::exact::Grid;
use super::kernels::{CenterTerms, nearest_rows, sq_distances};
use super::single::{MAX_CENTERS32, nearest_block32, nearest_rows32};
use super::step::{Farthest, Step, average, label_distances};
use super::sums::Inertia;
use super::tiles::{NearestOut, ROW_PANEL, nearest_block, nearest_block_work, nearest_rows_wide};
use crate::blocks::{BLOCK_ROWS, Block, Layout, Passes, Pool, Scratch, Span, WIDE_D};
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
    /// The columns' variances, when the pass finding the offset found them too.
    variances: Option<Vec<f64>>,
    /// The largest `|x_j - offset_j|` of each column as computed, when that pass found the
    /// columns' ranges (see [`Lloyd::column_bounds`]).
    column_bounds: Option<Vec<f64>>,
}

/// One run of Lloyd's algorithm, in the internal (centred) frame.
pub(crate) struct Run {
    pub centers: Vec<f64>,
    pub labels: Option<Vec<usize>>,
    /// NaN with [`Labels::Skip`].
    pub inertia: f64,
    pub n_iter: usize,
    pub converged: bool,
    /// With [`Labels::Skip`], the bounded passes' labels when they are the final ones.
    pub last: Option<LastLabels>,
}

/// What a run gives besides its centres: the final labels (and inertia), the inertia alone,
/// or neither (no final pass: a mixture's initialisation needs only the centres).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Labels {
    Keep,
    Drop,
    Skip,
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
            let cols = lloyd.passes.column_summary();
            let (means, lo, hi) = (&cols.means, &cols.lo, &cols.hi);
            let bounds: Vec<f64> = (0..d)
                .map(|j| (lo[j] - means[j]).abs().max((hi[j] - means[j]).abs()))
                .collect();
            lloyd.grid_from(&bounds);
            lloyd.variances = Some(cols.variances);
            lloyd.column_bounds = Some(bounds);
            cols.means
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
            variances: None,
            column_bounds: None,
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

    /// The largest `|x_j - offset_j|` of each column, as the kernels compute the difference,
    /// when known without a pass: rounding is monotone, so it is attained at the column's
    /// least or greatest value.
    pub(crate) fn column_bounds(&self) -> Option<&[f64]> {
        self.column_bounds.as_deref()
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
        let total: f64 = match &self.variances {
            Some(v) => v.iter().sum(),
            None => self.passes.column_variances(&self.offset).iter().sum(),
        };
        tol * (total / self.d as f64)
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
        let (labels, inertia) = match keep {
            Labels::Skip => (None, f64::NAN),
            _ => self.finish(&centers, keep),
        };
        Ok(Run {
            centers,
            labels,
            inertia,
            n_iter,
            converged,
            last: None,
        })
    }
}
