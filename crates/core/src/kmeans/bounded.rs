//! Exact bound-based k-means (Hamerly's algorithm): Lloyd's iterations, bit for bit, computing
//! a row's distances only when bounds cannot prove that its nearest centre stays the same.
//!
//! Each row keeps its label, an upper bound `u ≥ ‖x - c_label‖` and a lower bound
//! `l ≤ min_{c ≠ label} ‖x - c‖` (Euclidean, on the centred rows). When the centres move by
//! `δ_c`, `u` grows by `δ_label` and `l` shrinks by the largest `δ` of the other centres. With
//! `s = ½ min_{c ≠ label} ‖c - c_label‖`, every other centre is at least `m = max(l, 2s - u)`
//! away, so the label cannot change when `m² - u² > 2E`, where `E` bounds the rounding error
//! of the kernel's scores `‖c‖² - 2 x·c` (see [`Margins`]): the kernel itself would pick the
//! same centre, ties included. A row that fails the test gets its exact distance to its centre
//! (tightening `u`) and is tested again; one that fails twice is scored against every centre
//! by the same kernel as Lloyd's (gathered eight rows at a time below [`WIDE_D`] features, the
//! whole block through the block kernel from there on), which gives its label and new bounds.
//! After greedy k-means++ on every row, the bounds start from the seeding's nearest centre and
//! `D²` of each row (an upper bound, no lower bound), so that the first pass, too, scores only
//! the rows the centres' half-distances cannot settle.
//!
//! Lloyd's per-centre sums and weights are exact ([`super::exact`]): independent of the order
//! and of rows added and taken out again. So they are carried from pass to pass and only the
//! rows whose label changed are moved (read from the data: the rows the bounds settle are not
//! read at all), and they are Lloyd's to the bit. With the labels' fingerprint (summed per
//! block as Lloyd's pass does), the centres, `n_iter`, the final labels and the inertia are
//! Lloyd's bit for bit; only the work differs. Memory: 24 bytes per row.

use super::exact::Exact;
use super::kernels::{CenterTerms, Gathered, gathered_nearest};
use super::lloyd::{Labels, Lloyd, Run};
use super::plusplus::Nearest;
use super::step::{Step, average, block_fingerprint};
use super::sums::Inertia;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::blocks::{Accumulator, BLOCK_ROWS, Layout, Pool, Span, WIDE_D, load, prefetch_rows};
use crate::data::Float;
use crate::error::Result;
use crate::math::{self, LANES};
use crate::monitor::{self, Monitor};

/// `2⁻⁵²`.
const EPS: f64 = f64::EPSILON;

/// One row's bounds.
#[derive(Clone, Copy, Debug)]
struct Bound {
    /// Upper bound on the distance to the row's centre.
    u: f64,
    /// Lower bound on the distance to every other centre.
    l: f64,
    label: u32,
}

/// The labels of a run's last pass, when they are the final centres' labels (the last update
/// left the centres as they were): as the labelling of a pass under those centres gives them.
pub(crate) struct LastLabels(Vec<Bound>);

impl LastLabels {
    /// The labels of the rows of `span`, into `out` `(span.rows,)`.
    pub(crate) fn get(&self, span: Span, out: &mut [u32]) {
        for (o, b) in out
            .iter_mut()
            .zip(&self.0[span.start..span.start + span.rows])
        {
            *o = b.label;
        }
    }
}

/// The rounding margins of one iteration.
struct Margins {
    /// Bound on the error of a computed squared distance (or score plus `‖x‖²`):
    /// `8 (d + 8) ε (X + C)²` with `X` the largest row norm and `C` the largest centre norm
    /// (centred), several times the first-order bound `(2d + 4) u (X + C)²`.
    e: f64,
    /// Relative error bound of a directly computed squared distance, `(d + 8) ε`.
    rel: f64,
}

impl Margins {
    fn new(d: usize, x_norm: f64, centers: &[f64]) -> Self {
        let c_norm = centers
            .chunks_exact(d)
            .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .fold(0.0, f64::max);
        let s = x_norm + c_norm;
        Margins {
            e: 8.0 * (d as f64 + 8.0) * EPS * s * s * (1.0 + 1e-6),
            rel: (d as f64 + 8.0) * EPS,
        }
    }

    /// An upper bound on the distance whose squared value computed with absolute error `e`
    /// is `q`.
    #[inline]
    fn upper(&self, q: f64) -> f64 {
        (q.max(0.0) + self.e).sqrt() * (1.0 + 4.0 * EPS)
    }

    /// A lower bound on the same.
    #[inline]
    fn lower(&self, q: f64) -> f64 {
        (q - self.e).max(0.0).sqrt() * (1.0 - 4.0 * EPS)
    }
}

/// Per-centre data of one iteration: half the distance to the nearest other centre (rounded
/// down), and how far each centre moved in the last update (rounded up).
struct CenterBounds {
    half: Vec<f64>,
    moved: Vec<f64>,
    /// The largest and second largest of `moved`, and the centre of the largest.
    top: (f64, f64, usize),
}

impl CenterBounds {
    fn half_distances(centers: &[f64], d: usize, rel: f64) -> Vec<f64> {
        let k = centers.len() / d;
        let mut half = vec![f64::INFINITY; k];
        for a in 0..k {
            for b in a + 1..k {
                let mut q = 0.0;
                for j in 0..d {
                    let v = centers[a * d + j] - centers[b * d + j];
                    q += v * v;
                }
                let h = 0.5 * (q * (1.0 - rel)).max(0.0).sqrt() * (1.0 - 4.0 * EPS);
                half[a] = half[a].min(h);
                half[b] = half[b].min(h);
            }
        }
        half
    }

    fn moved(old: &[f64], new: &[f64], d: usize, rel: f64) -> (Vec<f64>, (f64, f64, usize)) {
        let moved: Vec<f64> = old
            .chunks_exact(d)
            .zip(new.chunks_exact(d))
            .map(|(a, b)| {
                let q: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (q * (1.0 + rel)).sqrt() * (1.0 + 4.0 * EPS)
            })
            .collect();
        let mut top = (0.0, 0.0, usize::MAX);
        for (c, &m) in moved.iter().enumerate() {
            if m > top.0 {
                top = (m, top.0, c);
            } else if m > top.1 {
                top.1 = m;
            }
        }
        (moved, top)
    }

    /// The largest movement of the centres other than `c`.
    #[inline]
    fn moved_other(&self, c: usize) -> f64 {
        if c == self.top.2 {
            self.top.1
        } else {
            self.top.0
        }
    }
}

/// Per-leaf state of a bounded pass: the changes to Lloyd's step (every row in the first
/// pass, then the rows whose label changed), the workspace, and the work done.
struct Acc {
    step: Step,
    /// The rows whose label changed in this block: `(row, old label)`.
    moved: Vec<(usize, u32)>,
    /// The block's rows whose bounds need their exact distance to their own centre.
    tight: Vec<usize>,
    values: Vec<f64>,
    /// Rows scored against every centre, and rows whose own distance was recomputed.
    full: u64,
    tightened: u64,
    rows: Vec<usize>,
    g: Gathered,
}

impl Accumulator for Acc {
    fn reset(&mut self) {
        self.step.reset();
        self.full = 0;
        self.tightened = 0;
    }
    fn merge(&mut self, right: &Self) {
        self.step.merge(&right.step);
        self.full += right.full;
        self.tightened += right.tightened;
    }
}

/// How much of Lloyd's work one pass did: rows scored against every centre and rows whose
/// distance to their own centre was recomputed, of `n`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Work {
    pub full: u64,
    pub tightened: u64,
}

impl<'a, T: Float> Lloyd<'a, T> {
    /// An upper bound on the norm of every centred row, rounded up: from the columns' bounds
    /// when they are known (every row's centred values lie within them), otherwise the largest
    /// norm, by a pass.
    fn max_row_norm(&self) -> f64 {
        let d = self.x().n_features() as f64;
        if let Some(b) = self.column_bounds() {
            let m: f64 = b.iter().map(|v| v * v).sum();
            return (m * (1.0 + (d + 8.0) * EPS)).sqrt() * (1.0 + 4.0 * EPS);
        }
        struct Max(f64);
        impl Accumulator for Max {
            fn reset(&mut self) {
                self.0 = 0.0;
            }
            fn merge(&mut self, r: &Self) {
                self.0 = self.0.max(r.0);
            }
        }
        let offset = self.offset();
        let accs = Pool::new(|| Max(0.0));
        let m = self
            .passes()
            .reduce(Layout::Untouched, &accs, |_, span, acc| {
                for i in span.start..span.start + span.rows {
                    let mut q = 0.0;
                    for (v, o) in self.x().row(i).iter().zip(offset) {
                        let c = v.to_f64() - o;
                        q += c * c;
                    }
                    acc.0 = acc.0.max(q);
                }
            });
        (m.0 * (1.0 + (d + 8.0) * EPS)).sqrt() * (1.0 + 4.0 * EPS)
    }

    /// One bounded pass: the labels of every row under `centers` (Lloyd's, bit for bit) and
    /// the bounds brought up to date. Returns the change to Lloyd's exact sums (every row in
    /// the `first` pass; after that the rows whose label changed, moved from their old centre
    /// to the new), with the fingerprint of all the labels. Without `cb` every row is scored
    /// against every centre.
    fn bounded_step(
        &self,
        bounds: &mut [Bound],
        centers: &[f64],
        cb: Option<&CenterBounds>,
        first: bool,
        margins: &Margins,
        fps: &[AtomicU64],
    ) -> (Step, Work) {
        let (k, d) = (centers.len() / self.x().n_features(), self.x().n_features());
        let terms = CenterTerms::new(centers, d);
        let grid = self.grid();
        let accs = Pool::new(move || Acc {
            step: Step::new(grid.clone(), k),
            moved: Vec::new(),
            values: vec![0.0; d],
            tight: Vec::with_capacity(BLOCK_ROWS),
            full: 0,
            tightened: 0,
            rows: Vec::with_capacity(BLOCK_ROWS),
            g: Gathered::new(d, 0),
        });
        let x = *self.x();
        let offset = self.offset();
        let acc =
            self.passes()
                .reduce_rows(Layout::Untouched, &accs, bounds, 1, |s, span, acc, b| {
                    let Span { start, rows } = span;
                    acc.rows.clear();
                    match cb {
                        None => acc.rows.extend(start..start + rows),
                        Some(cb) => {
                            acc.tight.clear();
                            for (r, br) in b.iter_mut().enumerate() {
                                let a = br.label as usize;
                                br.u = (br.u + cb.moved[a]) * (1.0 + 4.0 * EPS);
                                br.l = ((br.l - cb.moved_other(a)) * (1.0 - 4.0 * EPS)).max(0.0);
                                if !provably_same(br, cb.half[a], margins.e) {
                                    acc.tight.push(start + r);
                                }
                            }
                            // The rows to tighten are scattered: asked for all at once, their
                            // fetches overlap instead of each waiting on the last.
                            prefetch_rows(&x, &acc.tight);
                            for &i in &acc.tight {
                                // Tighten u with the exact distance to the row's own centre.
                                let br = &mut b[i - start];
                                let a = br.label as usize;
                                let c = &centers[a * d..(a + 1) * d];
                                let mut q = 0.0;
                                for ((v, o), cj) in x.row(i).iter().zip(offset).zip(c) {
                                    let e = v.to_f64() - o - cj;
                                    q += e * e;
                                }
                                br.u = (q * (1.0 + margins.rel)).sqrt() * (1.0 + 4.0 * EPS);
                                if !provably_same(br, cb.half[a], margins.e) {
                                    acc.rows.push(i);
                                }
                            }
                            acc.tightened += acc.tight.len() as u64;
                        }
                    }
                    acc.full += acc.rows.len() as u64;
                    acc.moved.clear();
                    if d < WIDE_D {
                        for group in acc.rows.chunks(LANES) {
                            acc.g.load(&x, group, offset);
                            let near = gathered_nearest(&acc.g, &terms, d);
                            for (l, &i) in group.iter().enumerate() {
                                let br = &mut b[i - start];
                                if br.label != near.idx[l] as u32 {
                                    acc.moved.push((i, br.label));
                                }
                                br.label = near.idx[l] as u32;
                                br.u = margins.upper(near.best[l] + near.xn[l]);
                                br.l = if k == 1 {
                                    f64::INFINITY
                                } else {
                                    margins.lower(near.second[l] + near.xn[l])
                                };
                            }
                        }
                    } else if !acc.rows.is_empty() {
                        // The block kernel on the whole block: the same scores as Lloyd's pass.
                        load(&x, span, &mut s.xt);
                        self.block_nearest(s, rows, &terms, true);
                        let mut xn = [0.0; BLOCK_ROWS];
                        for j in 0..d {
                            let f = &s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + rows];
                            for (q, &v) in xn.iter_mut().zip(f) {
                                *q += v * v;
                            }
                        }
                        let (best, second) = self.wide_scores(s);
                        for (r, br) in b.iter_mut().enumerate() {
                            if br.label != s.row[r] as u32 {
                                acc.moved.push((start + r, br.label));
                            }
                            br.label = s.row[r] as u32;
                            br.u = margins.upper(best[r] + xn[r]);
                            br.l = if k == 1 {
                                f64::INFINITY
                            } else {
                                margins.lower(second[r] + xn[r])
                            };
                        }
                        acc.full += (rows - acc.rows.len()) as u64;
                    }
                    // The block's fingerprint: Lloyd's, recomputed only when a label changed.
                    let fp = &fps[start / BLOCK_ROWS];
                    if !first && acc.moved.is_empty() {
                        acc.step.fingerprint = acc
                            .step
                            .fingerprint
                            .wrapping_add(fp.load(Ordering::Relaxed));
                        return;
                    }
                    for (r, br) in b.iter().enumerate() {
                        s.row[r] = br.label as f64;
                    }
                    let f = block_fingerprint(start, &s.row[..rows]);
                    fp.store(f, Ordering::Relaxed);
                    if first {
                        // Every row, exactly as `Lloyd::step` adds them.
                        acc.step.add_block(s, span, &x, offset, Inertia::Skip);
                        return;
                    }
                    acc.step.fingerprint = acc.step.fingerprint.wrapping_add(f);
                    // The rows that changed cluster leave the old one and join the new one,
                    // with the same values as the kernel adds (`w (x - offset)`).
                    let weights = x.weights();
                    for &(i, old) in &acc.moved {
                        let w = weights.map(|w| w[i]);
                        for ((v, &xj), o) in acc.values.iter_mut().zip(x.row(i)).zip(offset) {
                            let c = xj.to_f64() - o;
                            *v = w.map_or(c, |w| c * w);
                        }
                        let new = b[i - start].label as usize;
                        let e = &mut acc.step.exact;
                        e.add_values(old as usize, &acc.values, -1.0);
                        e.add_values(new, &acc.values, 1.0);
                        e.add_weight(old as usize, w.unwrap_or(1.0), -1.0);
                        e.add_weight(new, w.unwrap_or(1.0), 1.0);
                    }
                });
        (
            acc.step,
            Work {
                full: acc.full,
                tightened: acc.tightened,
            },
        )
    }

    /// [`Lloyd::run`] with bounds: the same result bit for bit, and the work of each pass.
    pub(crate) fn run_bounded(
        &self,
        mut centers: Vec<f64>,
        seeded: Option<Vec<Nearest>>,
        max_iter: usize,
        tol_abs: f64,
        keep: Labels,
        monitor: &mut dyn Monitor,
    ) -> Result<(Run, Vec<Work>)> {
        let (n, d) = (self.x().n_samples(), self.x().n_features());
        let k = centers.len() / d;
        let x_norm = self.max_row_norm();
        let (mut bounds, mut cb) = match seeded {
            // The seeding's nearest centres and distances: an upper bound `u` from each `D²`
            // (computed as the tightening computes a distance, so with the same margin) and no
            // lower bound; the first pass then scores only the rows whose label the centres'
            // half-distances cannot prove, as if the centres had not moved.
            Some(near) if near.len() == n => {
                let rel = (d as f64 + 8.0) * EPS;
                let mut bounds = crate::mem::huge_vec(n);
                bounds.par_extend(near.par_iter().map(|nr| Bound {
                    u: (nr.d2 * (1.0 + rel)).sqrt() * (1.0 + 4.0 * EPS),
                    l: 0.0,
                    label: nr.center,
                }));
                let cb = CenterBounds {
                    half: Vec::new(),
                    moved: vec![0.0; k],
                    top: (0.0, 0.0, usize::MAX),
                };
                (bounds, Some(cb))
            }
            _ => {
                let bounds = vec![
                    Bound {
                        u: f64::INFINITY,
                        l: 0.0,
                        label: 0,
                    };
                    n
                ];
                (bounds, None)
            }
        };
        // Lloyd's exact sums under the rows' current labels, and each block's fingerprint of
        // them, carried from pass to pass.
        let mut sums = Exact::new(self.grid(), k);
        let fps: Vec<AtomicU64> = (0..n.div_ceil(BLOCK_ROWS))
            .map(|_| AtomicU64::new(0))
            .collect();
        let mut work = Vec::new();
        let mut previous: Option<u64> = None;
        let mut converged = false;
        let mut n_iter = 0;
        // Whether the rows' labels are those of the current centres: after a pass whose
        // centres the update left the same, bit for bit.
        let mut labels_hold = false;
        for it in 0..max_iter {
            monitor::check(monitor)?;
            n_iter = it + 1;
            let margins = Margins::new(d, x_norm, &centers);
            if let Some(c) = cb.as_mut() {
                c.half = CenterBounds::half_distances(&centers, d, margins.rel);
            }
            let (mut step, w) =
                self.bounded_step(&mut bounds, &centers, cb.as_ref(), it == 0, &margins, &fps);
            work.push(w);
            sums.merge(&step.exact);
            step.exact.clone_from(&sums);
            step.settle();
            self.relocate_empty(&centers, &mut step);
            let old = centers.clone();
            let shift = average(&mut centers, &step, d);
            labels_hold = old
                .iter()
                .zip(&centers)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            let (moved, top) = CenterBounds::moved(&old, &centers, d, margins.rel);
            cb = Some(CenterBounds {
                half: Vec::new(),
                moved,
                top,
            });
            if previous == Some(step.fingerprint) {
                converged = true;
                break;
            }
            previous = Some(step.fingerprint);
            if shift <= tol_abs {
                converged = true;
                break;
            }
        }
        if keep == Labels::Skip {
            let (labels, inertia) = (None, f64::NAN);
            let run = Run {
                centers,
                labels,
                inertia,
                n_iter,
                converged,
                last: labels_hold.then_some(LastLabels(bounds)),
            };
            return Ok((run, work));
        }
        // The final labels under the final centres (Lloyd's `finish`), by one more bounded
        // pass, and the inertia with exact distances as `finish` sums it.
        let margins = Margins::new(d, x_norm, &centers);
        if let Some(c) = cb.as_mut() {
            c.half = CenterBounds::half_distances(&centers, d, margins.rel);
        }
        let first = cb.is_none();
        let (_, w) = self.bounded_step(&mut bounds, &centers, cb.as_ref(), first, &margins, &fps);
        work.push(w);
        let inertia = self.inertia_of_labels(&bounds, &centers);
        let labels =
            (keep == Labels::Keep).then(|| bounds.iter().map(|b| b.label as usize).collect());
        Ok((
            Run {
                centers,
                labels,
                inertia,
                n_iter,
                converged,
                last: None,
            },
            work,
        ))
    }

    /// `Σ w ‖x - c_label‖²` summed as [`Lloyd::finish`] sums it: per row `Σ_j v_j²` in feature
    /// order, eight lanes `r % 8` per block, the blocks in the fixed tree.
    fn inertia_of_labels(&self, bounds: &[Bound], centers: &[f64]) -> f64 {
        let d = self.x().n_features();
        let offset = self.offset();
        let accs = Pool::new(|| 0.0f64);
        self.passes()
            .reduce(Layout::Untouched, &accs, |s, span, acc| {
                let w = s.w.get();
                let mut a = [0.0; LANES];
                for r in 0..span.rows {
                    let i = span.start + r;
                    let l = bounds[i].label as usize;
                    let c = &centers[l * d..(l + 1) * d];
                    let mut q = 0.0;
                    for ((v, o), cj) in self.x().row(i).iter().zip(offset).zip(c) {
                        let e = (v.to_f64() - o) - cj;
                        q += e * e;
                    }
                    a[r % LANES] += w.map_or(q, |w| w[r] * q);
                }
                *acc += math::sum(&a);
            })
    }
}

/// Whether the bounds prove that the row's label is the kernel's nearest centre.
#[inline]
fn provably_same(b: &Bound, half: f64, e: f64) -> bool {
    let m = b.l.max(2.0 * half - b.u);
    m > b.u && (m - b.u) * (m + b.u) * (1.0 - 8.0 * EPS) > 2.0 * e
}
