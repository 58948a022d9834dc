//! The per-pass accumulators of Lloyd's passes: a pass's exact per-centre sums, weights, labels'
//! fingerprint and inertia ([`Step`]), the new centres they give ([`average`]), the rows
//! farthest from their centres ([`Farthest`], for refilling empty clusters), and the exact
//! distances of labelled rows ([`label_distances`]).

use std::sync::Arc;

use super::exact::{Exact, Grid};
use super::sums::{Assigned, Inertia, add_rows};
use crate::blocks::{Accumulator, BLOCK_ROWS, Scratch, Span};
use crate::data::{DataRef, Float};
use crate::math::LANES;

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
pub(crate) struct Farthest {
    pub n: usize,
    pub top: Vec<(f64, usize, usize)>,
}

impl Farthest {
    pub(crate) fn keep(&mut self) {
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
/// (`s.xt`) is one panel of [`BLOCK_ROWS`], the rows packed by [`nearest_rows_wide`](super::tiles::nearest_rows_wide) are panels
/// of [`ROW_PANEL`](super::tiles::ROW_PANEL).
pub(crate) fn label_distances(
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

#[cfg(test)]
mod tests {
    use super::super::tiles::ROW_PANEL;
    use super::{BLOCK_ROWS, Scratch, block_fingerprint, label_distances};

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
