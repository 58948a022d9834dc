//! Exact per-centre sums: each k-means centre is the mean of its rows summed without rounding
//! (then rounded once), so that the sums do not depend on the order the rows are added in, nor
//! on which rows were added and later taken out again.
//!
//! That is what lets the bounded iterations ([`super::bounded`]) keep the sums from one
//! iteration to the next and only move the rows whose label changed, and still give Lloyd's
//! centres bit for bit: both compute the same integers.
//!
//! Every centred (and weighted) value `v` of column `j` is split, with two constants fixed per
//! column from a bound `|v| ≤ 2^E` over the data, into `h1 = (v + M1) - M1` with
//! `M1 = 1.5 · 2^(E+13)` (`v` rounded to a multiple of `Q1 = 2^(E-39)`) and
//! `h2 = ((v - h1) + M2) - M2` with `M2 = 1.5 · 2^(E-28)` (the remainder, exact, rounded to a
//! multiple of `Q2 = 2^(E-80)`); what is dropped is below `Q2 / 2`, 2⁻⁸¹ of the column's
//! largest value. Within a leaf of the reduction tree (at most [`LEAF_CAP`] rows, each adding
//! or taking out at most once per centre) the float64 sums of the `h1` and of the `h2` stay
//! multiples of their quantum below 2⁵³ quanta: every addition is exact, in any order. The
//! leaves are converted to 128-bit integer multiples of `Q2` and added as integers (room for
//! 2⁴⁷ rows); the sum is the integer times `Q2`, rounded to the nearest float64.
//!
//! The same is done for the rows' weights (their number without sample weights), so that the
//! clusters' weights are exact too.
//!
//! Limits. Every value is kept to 2⁻⁸¹ of its column's largest (weighted) value: a row whose
//! weighted value is far smaller than that (sample weights spread over more than about 10⁸, or
//! a feature whose values span many orders of magnitude) contributes with fewer significant
//! bits than a float64 sum would give it, and a weight below 2⁻⁸¹ of the largest one counts
//! as 0. Columns whose values reach 2⁹⁶⁰ (where squared distances overflow anyway) give wrong
//! sums.

use std::sync::Arc;

use crate::blocks::{BLOCK_ROWS, LEAF_BLOCKS};

/// The most values a leaf adds into one pending sum (see the module docs).
pub(crate) const LEAF_CAP: usize = 1 << 12;
const _: () = assert!(LEAF_BLOCKS * BLOCK_ROWS <= LEAF_CAP);

/// `Q1 / Q2`, as a shift.
const SHIFT: u32 = 41;

/// One column's splitting constants.
#[derive(Clone, Copy, Debug)]
struct Column {
    m1: f64,
    m2: f64,
    /// `1 / Q1`, `1 / Q2` and `Q2` (powers of two).
    inv_q1: f64,
    inv_q2: f64,
    q2: f64,
}

impl Column {
    /// For values `|v| ≤ bound`.
    fn new(bound: f64) -> Self {
        // The smallest E with bound ≤ 2^E, clamped to where every constant is a normal float64.
        let e = if bound.is_finite() && bound >= f64::MIN_POSITIVE {
            let biased = (bound.to_bits() >> 52) as i32;
            let mantissa = bound.to_bits() & ((1 << 52) - 1);
            biased - 1023 + i32::from(mantissa != 0)
        } else if bound.is_finite() {
            -900
        } else {
            960
        };
        let e = e.clamp(-900, 960);
        let p2 = |k: i32| 2f64.powi(k);
        Column {
            m1: 1.5 * p2(e + 13),
            m2: 1.5 * p2(e - 28),
            inv_q1: p2(39 - e),
            inv_q2: p2(80 - e),
            q2: p2(e - 80),
        }
    }

    /// `(h1, h2)` of `v`.
    #[inline(always)]
    fn split(&self, v: f64) -> (f64, f64) {
        let h1 = (v + self.m1) - self.m1;
        let h2 = ((v - h1) + self.m2) - self.m2;
        (h1, h2)
    }

    /// A leaf's pending pair as an integer multiple of `Q2`.
    #[inline]
    fn integer(&self, hi: f64, lo: f64) -> i128 {
        // Both scaled values are whole numbers below 2⁵³: the casts are exact.
        (((hi * self.inv_q1) as i64 as i128) << SHIFT) + (lo * self.inv_q2) as i64 as i128
    }
}

/// The splitting constants of a data set: one column per feature, and the weights.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    /// `M1`, `M2` per feature (what the kernels load).
    pub m1: Vec<f64>,
    pub m2: Vec<f64>,
    cols: Vec<Column>,
    weight: Column,
}

impl Grid {
    /// From a bound on every centred, weighted value of each feature and on the weights.
    pub(crate) fn new(bounds: &[f64], weight_bound: f64) -> Arc<Self> {
        let cols: Vec<Column> = bounds.iter().map(|&b| Column::new(b)).collect();
        Arc::new(Grid {
            m1: cols.iter().map(|c| c.m1).collect(),
            m2: cols.iter().map(|c| c.m2).collect(),
            cols,
            weight: Column::new(weight_bound),
        })
    }

    fn d(&self) -> usize {
        self.cols.len()
    }
}

/// Per-centre sums of rows and of their weights: the pending float64 pairs of one leaf and the
/// exact integer totals.
#[derive(Clone, Debug)]
pub(crate) struct Exact {
    grid: Arc<Grid>,
    /// `(K, d)` pending `h1` and `h2` sums (what the kernels add into).
    hi: Vec<f64>,
    lo: Vec<f64>,
    /// `(K,)` pending sums of the weights' `h1` and `h2`.
    w_hi: Vec<f64>,
    w_lo: Vec<f64>,
    /// `(K, d)` and `(K,)` totals, in units of each column's `Q2`: zero while `totals` is
    /// false, whatever they hold (a leaf's accumulator is reset without clearing them, and the
    /// first merge writes them instead of adding).
    total: Vec<i128>,
    w_total: Vec<i128>,
    totals: bool,
}

impl Exact {
    pub(crate) fn new(grid: Arc<Grid>, k: usize) -> Self {
        let d = grid.d();
        Exact {
            grid,
            hi: vec![0.0; k * d],
            lo: vec![0.0; k * d],
            w_hi: vec![0.0; k],
            w_lo: vec![0.0; k],
            total: vec![0; k * d],
            w_total: vec![0; k],
            totals: true,
        }
    }

    /// The grid and the pending `(K, d)` sums, for the kernels.
    pub(crate) fn parts(&mut self) -> (&Grid, &mut [f64], &mut [f64]) {
        (&self.grid, &mut self.hi, &mut self.lo)
    }

    /// Back to zero.
    pub(crate) fn reset(&mut self) {
        self.hi.fill(0.0);
        self.lo.fill(0.0);
        self.w_hi.fill(0.0);
        self.w_lo.fill(0.0);
        self.totals = false;
    }

    /// Moves the pending sums into the totals.
    pub(crate) fn flush(&mut self) {
        if !self.totals {
            self.total.fill(0);
            self.w_total.fill(0);
            self.totals = true;
        }
        let d = self.grid.d().max(1);
        let rows = self.total.chunks_exact_mut(d);
        for (t, (h, l)) in rows.zip(self.hi.chunks_exact_mut(d).zip(self.lo.chunks_exact_mut(d))) {
            for (((t, h), l), col) in t.iter_mut().zip(h).zip(l).zip(&self.grid.cols) {
                if *h != 0.0 || *l != 0.0 {
                    *t += col.integer(*h, *l);
                    *h = 0.0;
                    *l = 0.0;
                }
            }
        }
        for (c, (h, l)) in self.w_hi.iter_mut().zip(self.w_lo.iter_mut()).enumerate() {
            self.w_total[c] += self.grid.weight.integer(*h, *l);
            *h = 0.0;
            *l = 0.0;
        }
    }

    /// Adds another leaf's (or subtree's) sums.
    pub(crate) fn merge(&mut self, right: &Exact) {
        if self.totals {
            self.merge_into::<true>(right);
        } else {
            self.merge_into::<false>(right);
        }
        self.totals = true;
    }

    /// [`Exact::merge`], adding to the totals (`ADD`) or writing them (while they are zero).
    fn merge_into<const ADD: bool>(&mut self, right: &Exact) {
        let d = self.grid.d().max(1);
        let pending = right.hi.chunks_exact(d).zip(right.lo.chunks_exact(d));
        for (c, (t, (h, l))) in self.total.chunks_exact_mut(d).zip(pending).enumerate() {
            let rt = &right.total[c * d..(c + 1) * d];
            for (j, (t, col)) in t.iter_mut().zip(&self.grid.cols).enumerate() {
                let mut v = if right.totals { rt[j] } else { 0 };
                if h[j] != 0.0 || l[j] != 0.0 {
                    v += col.integer(h[j], l[j]);
                }
                *t = if ADD { *t + v } else { v };
            }
        }
        for (c, t) in self.w_total.iter_mut().enumerate() {
            let rt = if right.totals { right.w_total[c] } else { 0 };
            let v = rt + self.grid.weight.integer(right.w_hi[c], right.w_lo[c]);
            *t = if ADD { *t + v } else { v };
        }
    }

    /// Adds one row without sample weight to centre `c`: its weight 1 is a multiple of `Q1`
    /// (without weights the weights' bound is 1), so `h1 = 1`, `h2 = 0`, as
    /// [`Exact::add_weight`] with `w = 1` adds.
    #[inline]
    pub(crate) fn add_one(&mut self, c: usize) {
        self.w_hi[c] += 1.0;
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) a row's weight `w` to centre `c`.
    #[inline]
    pub(crate) fn add_weight(&mut self, c: usize, w: f64, sign: f64) {
        let (h1, h2) = self.grid.weight.split(w);
        self.w_hi[c] += sign * h1;
        self.w_lo[c] += sign * h2;
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) the values `v` (one row, centred and weighted
    /// as the kernels compute them) to centre `c`: the same splits as the kernels'.
    #[inline]
    pub(crate) fn add_values(&mut self, c: usize, v: &[f64], sign: f64) {
        let d = self.grid.d();
        let (hi, lo) = (&mut self.hi[c * d..][..d], &mut self.lo[c * d..][..d]);
        for (j, &vj) in v.iter().enumerate() {
            let (h1, h2) = self.grid.cols[j].split(vj);
            hi[j] += sign * h1;
            lo[j] += sign * h2;
        }
    }

    /// The totals (flushed first) as float64: `(K, d)` sums and `(K,)` weights.
    pub(crate) fn write(&mut self, sums: &mut [f64], counts: &mut [f64]) {
        self.flush();
        let d = self.grid.d();
        for (i, (s, &t)) in sums.iter_mut().zip(&self.total).enumerate() {
            *s = t as f64 * self.grid.cols[i % d].q2;
        }
        for (s, &t) in counts.iter_mut().zip(&self.w_total) {
            *s = t as f64 * self.grid.weight.q2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums of `rows` added to one centre in the given order, as `(sums, weight)`.
    fn summed(grid: &Arc<Grid>, rows: &[Vec<f64>], order: &[usize]) -> (Vec<f64>, f64) {
        let d = grid.d();
        let mut e = Exact::new(grid.clone(), 1);
        for (n, &i) in order.iter().enumerate() {
            e.add_values(0, &rows[i], 1.0);
            e.add_weight(0, 1.0, 1.0);
            if n % 1000 == 999 {
                e.flush();
            }
        }
        let mut s = vec![0.0; d];
        let mut w = [0.0];
        e.write(&mut s, &mut w);
        (s, w[0])
    }

    #[test]
    fn any_order_gives_the_same_bits_and_the_exact_sum() {
        // Values of very different sizes, signs and exponents, whose float64 sums depend on
        // the order.
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let rows: Vec<Vec<f64>> = (0..3000)
            .map(|_| {
                let a = (next() - 0.5) * 1e3;
                let b = (next() - 0.5) * 2f64.powi(-(next() * 30.0) as i32);
                vec![a, b, 0.1 * (next() - 0.5)]
            })
            .collect();
        let grid = Grid::new(&[500.0, 0.5, 0.05], 1.0);
        let fwd: Vec<usize> = (0..rows.len()).collect();
        let rev: Vec<usize> = fwd.iter().rev().copied().collect();
        let mut shuffled = fwd.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, (next() * (i + 1) as f64) as usize);
        }
        let (a, wa) = summed(&grid, &rows, &fwd);
        for order in [&rev, &shuffled] {
            let (b, wb) = summed(&grid, &rows, order);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.to_bits(), y.to_bits());
            }
            assert_eq!(wa, wb);
        }
        assert_eq!(wa, 3000.0);
        // The float64 sums in these orders differ, so the test can tell.
        let plain = |o: &[usize]| o.iter().map(|&i| rows[i][0]).sum::<f64>();
        assert_ne!(plain(&fwd).to_bits(), plain(&shuffled).to_bits());
        // Against a compensated (double-double) reference: within a few units in the last
        // place of the sum, far inside float64 summation's error.
        for j in 0..3 {
            let (mut s, mut c) = (0.0f64, 0.0f64);
            for r in &rows {
                let t = s + r[j];
                c += if s.abs() >= r[j].abs() {
                    (s - t) + r[j]
                } else {
                    (r[j] - t) + s
                };
                s = t;
            }
            let exact = s + c;
            assert!((a[j] - exact).abs() <= 2.0 * f64::EPSILON * exact.abs() + 1e-20);
        }
    }

    #[test]
    fn taking_rows_out_undoes_adding_them() {
        let grid = Grid::new(&[8.0, 1e-3], 2.0);
        let mut e = Exact::new(grid.clone(), 2);
        let rows = [[3.25, 1e-4], [-7.5, -3.3e-4], [0.1, 7e-4], [7.9, 1e-9]];
        let weights = [1.0, 0.5, 2.0, 1.5];
        for (r, &w) in rows.iter().zip(&weights) {
            e.add_values(0, r, 1.0);
            e.add_weight(0, w, 1.0);
        }
        e.flush();
        // Two rows move from centre 0 to centre 1, in another leaf.
        let mut delta = Exact::new(grid.clone(), 2);
        for i in [1, 3] {
            delta.add_values(0, &rows[i], -1.0);
            delta.add_weight(0, weights[i], -1.0);
            delta.add_values(1, &rows[i], 1.0);
            delta.add_weight(1, weights[i], 1.0);
        }
        e.merge(&delta);
        // From scratch.
        let mut f = Exact::new(grid, 2);
        for (i, (r, &w)) in rows.iter().zip(&weights).enumerate() {
            let c = usize::from(i == 1 || i == 3);
            f.add_values(c, r, 1.0);
            f.add_weight(c, w, 1.0);
        }
        let (mut s1, mut c1, mut s2, mut c2) =
            (vec![0.0; 4], vec![0.0; 2], vec![0.0; 4], vec![0.0; 2]);
        e.write(&mut s1, &mut c1);
        f.write(&mut s2, &mut c2);
        assert_eq!(s1, s2);
        assert_eq!(c1, c2);
        assert_eq!(c1, vec![3.0, 2.0]);
        assert_eq!(s1[0], 3.25 + 0.1);
        assert_eq!(s1[2], -7.5 + 7.9);
    }

    #[test]
    fn a_reset_accumulator_counts_its_old_totals_as_zero() {
        let grid = Grid::new(&[8.0, 1e-3], 2.0);
        let rows = [[3.25, 1e-4], [-7.5, -3.3e-4], [0.1, 7e-4], [7.9, 1e-9]];
        let leaf = |e: &mut Exact, i: usize| {
            e.add_values(i % 2, &rows[i], 1.0);
            e.add_weight(i % 2, 1.0, 1.0);
        };
        // A tree over four leaves, its accumulators reused as a pass reuses them: one that
        // holds totals from earlier merges is reset, filled as another leaf, and merged as the
        // right side, then as the left side of a merge.
        let mut a = Exact::new(grid.clone(), 2);
        let mut b = Exact::new(grid.clone(), 2);
        leaf(&mut a, 0);
        leaf(&mut b, 1);
        a.merge(&b);
        b.reset();
        leaf(&mut b, 2);
        a.merge(&b);
        let mut old = Exact::new(grid.clone(), 2);
        for i in 0..4 {
            leaf(&mut old, i);
        }
        old.merge(&a);
        old.flush();
        old.reset();
        leaf(&mut old, 3);
        a.merge(&old);
        // And as the left side of a merge after its reset.
        let mut left = a.clone();
        left.reset();
        left.merge(&a);
        let mut fresh = Exact::new(grid, 2);
        for i in 0..4 {
            leaf(&mut fresh, i);
        }
        let mut want = (vec![0.0; 4], vec![0.0; 2]);
        fresh.write(&mut want.0, &mut want.1);
        for mut e in [a, left] {
            let mut got = (vec![0.0; 4], vec![0.0; 2]);
            e.write(&mut got.0, &mut got.1);
            assert_eq!(got, want);
        }
        assert_eq!(want.1, vec![2.0, 2.0]);
        assert_eq!(want.0[0], 3.25 + 0.1);
    }
}
