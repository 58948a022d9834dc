//! The running sum of greedy k-means++'s `w D²` in row order, and the draws it answers
//! (NumPy's `searchsorted(cumsum(w D²), t)`): one walk per step records the sum every
//! [`CHAIN_ROWS`] rows, so that a draw walks at most that many rows from a record.

use super::plusplus::Nearest;

/// Rows between two records of the running sum.
const CHAIN_ROWS: usize = 256;

/// The running sum `S_i = S_{i-1} + w_i D²_i` (left to right, `S_{-1} = 0`), recorded at the
/// end of every [`CHAIN_ROWS`] rows; its last value is the potential.
pub(crate) struct Chain {
    /// The running sum at the end of every [`CHAIN_ROWS`] rows.
    pub(super) ends: Vec<f64>,
    /// `Σ_i w_i D²_i`, summed left to right.
    pub total: f64,
}

impl Chain {
    pub(super) fn new(near: &[Nearest], w: Option<&[f64]>) -> Self {
        let mut chain = Chain::with_rows(near.len());
        chain.extend(near, w);
        chain
    }

    /// An empty chain, with room for the records of `n` rows.
    pub(super) fn with_rows(n: usize) -> Self {
        Chain {
            ends: Vec::with_capacity(n.div_ceil(CHAIN_ROWS)),
            total: 0.0,
        }
    }

    /// Continues the running sum over the next rows, `near` (with their weights `w`): a whole
    /// number of [`CHAIN_ROWS`] unless they are the last.
    pub(super) fn extend(&mut self, near: &[Nearest], w: Option<&[f64]>) {
        let mut run = self.total;
        match w {
            None => {
                for c in near.chunks(CHAIN_ROWS) {
                    for nr in c {
                        run += nr.d2;
                    }
                    self.ends.push(run);
                }
            }
            Some(w) => {
                for (c, wc) in near.chunks(CHAIN_ROWS).zip(w.chunks(CHAIN_ROWS)) {
                    for (nr, &wi) in c.iter().zip(wc) {
                        run += wi * nr.d2;
                    }
                    self.ends.push(run);
                }
            }
        }
        self.total = run;
    }

    /// The first `i` with `S_i ≥ t`, or the last row: the running sums are non-decreasing
    /// (non-negative terms, monotone rounding), so the first record to reach `t` bounds the
    /// walk, which restarts from the exact running sum recorded before it.
    pub(super) fn search(&self, near: &[Nearest], w: Option<&[f64]>, t: f64) -> usize {
        let n = near.len();
        let c = self.ends.partition_point(|&e| e < t);
        if c == self.ends.len() {
            return n - 1;
        }
        let mut run = if c == 0 { 0.0 } else { self.ends[c - 1] };
        let lo = c * CHAIN_ROWS;
        for i in lo..(lo + CHAIN_ROWS).min(n) {
            let term = match w {
                None => near[i].d2,
                Some(w) => w[i] * near[i].d2,
            };
            if run + term >= t {
                return i;
            }
            run += term;
        }
        // Not reached: the record says the sum reaches `t` within this chunk, and the walk
        // recomputes the same sums.
        debug_assert!(false, "the running sum reaches its record");
        (lo + CHAIN_ROWS).min(n) - 1
    }
}
