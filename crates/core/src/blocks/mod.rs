//! The blocked, parallel, deterministic pass over the rows of a data set: the machinery every
//! algorithm above runs on.
//!
//! Rows are cut into blocks of [`BLOCK_ROWS`]; up to [`LEAF_BLOCKS`] consecutive blocks form a leaf
//! (fewer for mid-sized inputs, so that there are enough leaves to share: see [`leaf_rows`]),
//! processed by one thread in order into one [`Accumulator`]. Leaves are combined by a binary tree
//! whose shape depends only on the number of rows (split at the midpoint of the leaf range), and
//! rayon runs the two halves of each node in parallel. The summation order is therefore a function
//! of `n_samples` alone: results are bit-identical for any number of threads. A data set of one
//! leaf never touches rayon, so small inputs pay no thread start-up.
//!
//! Each block is loaded once, feature-major into a [`Block`] (widened to `f64`, the rows past the
//! end of the data up to a multiple of [`LANES`] set to zero), so kernels run on whole lanes
//! without tails. Scratch space comes from a [`Pool`]: allocated once per thread, reused by every
//! block of every pass.

mod block;

pub(crate) use block::{
    BLOCK_ROWS, Block, Pool, Scratch, Span, load, padded, prefetch_rows, prefetch_slice,
    prefetch_within, transposed8,
};

use crate::data::{DataRef, Float};
use crate::error::{Result, invalid};
use crate::math::{self, LANES, add_assign};
use crate::simd::{Isa, V8, dispatch};

/// Blocks per leaf of the reduction tree.
pub(crate) const LEAF_BLOCKS: usize = 16;
const LEAF_ROWS: usize = BLOCK_ROWS * LEAF_BLOCKS;

/// From this many features on, kernels stop holding a lane group's features in registers: the
/// full type's E-step and scatter run in register tiles of the triangular products, the tied
/// type's transform and k-means' distances go through faer's matrix products.
pub(crate) const WIDE_D: usize = 24;

/// The state a pass keeps per leaf: reset before a leaf's first block, folded over the leaf's
/// blocks in order (by the pass's `fold`), and merged with the leaf to its right in the fixed
/// order of the tree.
pub(crate) trait Accumulator: Send {
    /// Back to the empty state, for reuse by another leaf.
    fn reset(&mut self);
    /// Adds the accumulator of the leaves to the right.
    fn merge(&mut self, right: &Self);
}

/// Nothing to accumulate: passes that only write per-row outputs.
impl Accumulator for () {
    fn reset(&mut self) {}
    fn merge(&mut self, _: &Self) {}
}

/// A sum.
impl Accumulator for f64 {
    fn reset(&mut self) {
        *self = 0.0;
    }
    fn merge(&mut self, right: &Self) {
        *self += right;
    }
}

/// Sums of one shape.
impl Accumulator for Vec<f64> {
    fn reset(&mut self) {
        self.fill(0.0);
    }
    fn merge(&mut self, right: &Self) {
        add_assign(self, right);
    }
}

/// Whether a pass wants each block copied feature-major into `Scratch::xt` first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Layout {
    /// Load and transpose every block (widening to `f64`).
    FeatureMajor,
    /// The pass reads the rows itself.
    Rows,
    /// The pass reads each block's rows itself, all at once (packing them for a kernel): the
    /// next block is prefetched while one is computed, as for [`Layout::FeatureMajor`].
    RowsAhead,
    /// The pass reads few rows, if any, itself (k-means' pruned passes): no block is loaded and
    /// none is prefetched, so that rows the pass skips are never brought in from memory.
    Untouched,
}

/// Rows per leaf for `n` rows: a function of `n` alone (never of the thread count). One leaf for
/// inputs of up to [`LEAF_BLOCKS`] blocks (no thread is involved); beyond that, leaves shrink to
/// give at least about 64 of them, down to one block, so that two or more threads share the work
/// evenly.
pub(crate) fn leaf_rows(n: usize) -> usize {
    if n <= LEAF_ROWS {
        return LEAF_ROWS;
    }
    (n / 64).div_ceil(BLOCK_ROWS).clamp(1, LEAF_BLOCKS) * BLOCK_ROWS
}

/// Number of leaves covering `n` rows.
fn n_leaves(n: usize) -> usize {
    n.div_ceil(leaf_rows(n)).max(1)
}

/// A data set bound to the per-thread scratch space of its passes.
pub(crate) struct Passes<'a, T> {
    x: DataRef<'a, T>,
    scratch: Pool<Scratch<'a>>,
}

impl<'a, T: Float> Passes<'a, T> {
    /// Scratch with `comp` values per row (one per component or centre) and `work` values of
    /// kernel workspace per block.
    pub(crate) fn new(x: DataRef<'a, T>, comp: usize, work: usize) -> Self {
        let d = x.n_features();
        Passes {
            x,
            scratch: Pool::new(move || Scratch::new(d, comp, work)),
        }
    }

    /// The data.
    #[inline]
    pub(crate) fn x(&self) -> &DataRef<'a, T> {
        &self.x
    }

    /// Runs `f` with a scratch of this pass's shape (outside any pass).
    pub(crate) fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let mut s = self.scratch.take();
        let r = f(&mut s);
        self.scratch.give(s);
        r
    }

    /// Folds every block into per-leaf accumulators from `accs` and merges them in the fixed
    /// tree order. `fold(scratch, span, acc)` sees the block's rows in `scratch.xt` with
    /// [`Layout::FeatureMajor`].
    pub(crate) fn reduce<A, F>(&self, layout: Layout, accs: &Pool<A>, fold: F) -> A
    where
        A: Accumulator,
        F: Fn(&mut Scratch, Span, &mut A) + Sync,
    {
        self.reduce_rows(layout, accs, &mut [] as &mut [()], 0, |s, span, acc, _| {
            fold(s, span, acc)
        })
    }

    /// [`Passes::reduce`] that also writes `width` values per row to `out`: `fold` gets the
    /// block's rows of it.
    pub(crate) fn reduce_rows<A, O, F>(
        &self,
        layout: Layout,
        accs: &Pool<A>,
        out: &mut [O],
        width: usize,
        fold: F,
    ) -> A
    where
        A: Accumulator,
        O: Send,
        F: Fn(&mut Scratch, Span, &mut A, &mut [O]) + Sync,
    {
        let x = &self.x;
        let n = x.n_samples();
        assert_eq!(out.len(), n * width);
        let leaf_len = leaf_rows(n);
        let leaf = |l: usize, out: &mut [O]| -> A {
            let mut acc = accs.take();
            acc.reset();
            let mut s = self.scratch.take();
            let end = ((l + 1) * leaf_len).min(n);
            let mut start = l * leaf_len;
            let mut offset = 0;
            while start < end {
                let span = Span {
                    start,
                    rows: (end - start).min(BLOCK_ROWS),
                };
                if layout == Layout::FeatureMajor {
                    load(x, span, &mut s.xt);
                }
                s.w.load(x.weights(), span);
                // Ask for the next block while this one is computed: the hardware prefetcher
                // does not run far enough ahead of a loop that reads in bursts (the block
                // load). Kernels that read rows in place stream through them, which the
                // hardware prefetcher follows; there the burst of prefetches only stalls the
                // core on its miss buffers (W5 k-means 4–12% slower per iteration with it,
                // Intel Xeon).
                let next = start + span.rows;
                if matches!(layout, Layout::FeatureMajor | Layout::RowsAhead) {
                    block::prefetch(x, next, (end - next).min(BLOCK_ROWS));
                }
                let o = &mut out[offset..offset + span.rows * width];
                fold(&mut s, span, &mut acc, o);
                start = next;
                offset += span.rows * width;
            }
            self.scratch.give(s);
            acc
        };
        tree(0, n_leaves(n), out, leaf_len * width, &leaf, accs)
    }

    /// The mean of each column `(n_features,)`.
    pub(crate) fn column_means(&self) -> Vec<f64> {
        self.column_summary().means
    }

    /// Each column's mean, smallest and largest value and variance, in one pass. The means are
    /// the columns' sums (per block in the lanes of [`math::sum`], then the fixed tree) over
    /// `n`. The variances are unweighted, as scikit-learn's `np.var(X, axis=0)`: each block's
    /// squared deviations about its own mean, combined over blocks with Chan et al.'s pairwise
    /// update, all about the first row (so that data far from the origin keep their digits), as
    /// accurate as a second pass about the overall mean.
    pub(crate) fn column_summary(&self) -> ColumnSummary {
        let d = self.x.n_features();
        let origin: Vec<f64> = match self.x.n_samples() {
            0 => vec![0.0; d],
            _ => self.x.row(0).iter().map(|v| v.to_f64()).collect(),
        };
        let accs = Pool::new(move || Columns::new(d));
        let cols = self.reduce(Layout::FeatureMajor, &accs, |s, span, acc| {
            let x = Block::new(&s.xt, span.rows);
            let n = span.rows as f64;
            for (j, c) in acc.cols.iter_mut().enumerate() {
                // The real rows (the padding's zeros would count in the range and spread).
                let b = column_of_block(&x.feature(j)[..span.rows], origin[j]);
                c.merge(acc.rows, &b, n);
            }
            acc.rows += n;
        });
        let n = self.x.n_samples() as f64;
        ColumnSummary {
            means: cols.cols.iter().map(|c| c.sum / n).collect(),
            lo: cols.cols.iter().map(|c| c.lo).collect(),
            hi: cols.cols.iter().map(|c| c.hi).collect(),
            variances: cols.cols.iter().map(|c| c.m2 / n).collect(),
        }
    }

    /// The variance of each column about `means` `(n_features,)`: `Σ_i (x_ij - m_j)² / n`.
    pub(crate) fn column_variances(&self, means: &[f64]) -> Vec<f64> {
        let d = self.x.n_features();
        let accs = Pool::new(move || vec![0.0; d]);
        let sq = self.reduce(Layout::FeatureMajor, &accs, |s, span, acc| {
            for j in 0..d {
                let col = &s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + span.rows];
                let mut a = [0.0; LANES];
                for (i, &v) in col.iter().enumerate() {
                    let c = v - means[j];
                    a[i % LANES] += c * c;
                }
                acc[j] += math::sum(&a);
            }
        });
        let n = self.x.n_samples() as f64;
        sq.iter().map(|s| s / n).collect()
    }

    /// Writes `width` values per row to `out`: `f(scratch, span, out_rows)` per block.
    pub(crate) fn map_rows<O, F>(&self, out: &mut [O], width: usize, f: F)
    where
        O: Send,
        F: Fn(&mut Scratch, Span, &mut [O]) + Sync,
    {
        let none = Pool::new(|| ());
        self.reduce_rows(Layout::FeatureMajor, &none, out, width, |s, span, _, o| {
            f(s, span, o)
        });
    }
}

/// Per column of the data: see [`Passes::column_summary`].
pub(crate) struct ColumnSummary {
    pub means: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub variances: Vec<f64>,
}

/// One column's running summary over the rows seen: its sum, its range, and its mean (less the
/// summary's origin) and sum of squared deviations about that mean (Chan et al.).
#[derive(Clone, Copy)]
struct Column {
    sum: f64,
    lo: f64,
    hi: f64,
    mean: f64,
    m2: f64,
}

dispatch! {
    /// One column of a block, `f` (its real rows): the sum (as [`math::sum`] adds it), the
    /// smallest and largest value, and about the origin `o` the mean and the sum of squared
    /// deviations from it, each lane `l` of [`LANES`] adding the values `≡ l` in order.
    fn column_of_block<>(f: &[f64], o: f64) -> Column => column_of_block_impl
}

#[inline(always)]
fn column_of_block_impl<I: Isa>(isa: I, f: &[f64], o: f64) -> Column {
    let chunks = f.chunks_exact(LANES);
    let rest = chunks.remainder();
    let ov = V8::splat(isa, o);
    let mut sum = V8::zero(isa);
    let mut moved = V8::zero(isa);
    // The range with `f64::min` and `max` lane by lane, as before (the vector instructions
    // differ from them on signed zeros and NaN).
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    for c in chunks.clone() {
        let v = V8::load(isa, c);
        sum = sum.add(v);
        moved = moved.add(v.sub(ov));
        for l in 0..LANES {
            lo[l] = lo[l].min(c[l]);
            hi[l] = hi[l].max(c[l]);
        }
    }
    // (Stores, not a closure: a closure would not inherit the target features.)
    let mut lanes = [[0.0; LANES]; 2];
    for (a, v) in lanes.iter_mut().zip([sum, moved]) {
        v.store(a);
    }
    let [mut sum, mut moved] = lanes;
    for (l, &v) in rest.iter().enumerate() {
        sum[l] += v;
        lo[l] = lo[l].min(v);
        hi[l] = hi[l].max(v);
        moved[l] += v - o;
    }
    let mean = math::combine(moved) / f.len() as f64;
    let mv = V8::splat(isa, mean);
    let mut sq = V8::zero(isa);
    for c in chunks {
        let e = V8::load(isa, c).sub(ov).sub(mv);
        sq = sq.add(e.mul(e));
    }
    let mut sq_lanes = [0.0; LANES];
    sq.store(&mut sq_lanes);
    let mut sq = sq_lanes;
    for (l, &v) in rest.iter().enumerate() {
        let e = (v - o) - mean;
        sq[l] += e * e;
    }
    Column {
        sum: math::combine(sum),
        lo: lo.iter().fold(f64::INFINITY, |m, &v| m.min(v)),
        hi: hi.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)),
        mean,
        m2: math::combine(sq),
    }
}

/// Every column's summary over `rows` rows.
struct Columns {
    rows: f64,
    cols: Vec<Column>,
}

impl Columns {
    fn new(d: usize) -> Self {
        let empty = Column {
            sum: 0.0,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
        };
        Columns {
            rows: 0.0,
            cols: vec![empty; d],
        }
    }
}

impl Accumulator for Columns {
    fn reset(&mut self) {
        *self = Columns::new(self.cols.len());
    }
    fn merge(&mut self, r: &Self) {
        for (a, b) in self.cols.iter_mut().zip(&r.cols) {
            a.merge(self.rows, b, r.rows);
        }
        self.rows += r.rows;
    }
}

impl Column {
    /// Adds `b`, over `nb` rows, to this column's summary over `na` rows.
    fn merge(&mut self, na: f64, b: &Column, nb: f64) {
        if nb == 0.0 {
            return;
        }
        let n = na + nb;
        let delta = b.mean - self.mean;
        *self = Column {
            sum: self.sum + b.sum,
            lo: self.lo.min(b.lo),
            hi: self.hi.max(b.hi),
            mean: self.mean + delta * (nb / n),
            m2: self.m2 + b.m2 + delta * delta * (na * nb / n),
        };
    }
}

/// The leaves `lo..hi` of the reduction tree, with their rows of `out` (`row_width` values per
/// leaf): split at the midpoint, the halves in parallel, the right merged into the left.
fn tree<A: Accumulator, O: Send>(
    lo: usize,
    hi: usize,
    out: &mut [O],
    row_width: usize,
    leaf: &(dyn Fn(usize, &mut [O]) -> A + Sync),
    accs: &Pool<A>,
) -> A {
    if hi - lo == 1 {
        return leaf(lo, out);
    }
    let mid = lo + (hi - lo) / 2;
    let split = ((mid - lo) * row_width).min(out.len());
    let (left, right) = out.split_at_mut(split);
    let (mut a, b) = rayon::join(
        || tree(lo, mid, left, row_width, leaf, accs),
        || tree(mid, hi, right, row_width, leaf, accs),
    );
    a.merge(&b);
    accs.give(b);
    a
}

/// Runs `f` on a pool of `n` threads, or on the current pool.
pub(crate) fn with_threads<R: Send>(n: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match n {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| invalid("n_threads", format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// Runs `$body` with the constant `$D` equal to the runtime dimension `$d` for the small
/// dimensions where a fully unrolled kernel (its vectors in registers) pays, `$fallback`
/// otherwise.
macro_rules! with_dim {
    ($d:expr, $D:ident => $body:expr, _ => $fallback:expr) => {
        match $d {
            1 => {
                const $D: usize = 1;
                $body
            }
            2 => {
                const $D: usize = 2;
                $body
            }
            3 => {
                const $D: usize = 3;
                $body
            }
            4 => {
                const $D: usize = 4;
                $body
            }
            5 => {
                const $D: usize = 5;
                $body
            }
            6 => {
                const $D: usize = 6;
                $body
            }
            7 => {
                const $D: usize = 7;
                $body
            }
            8 => {
                const $D: usize = 8;
                $body
            }
            16 => {
                const $D: usize = 16;
                $body
            }
            _ => $fallback,
        }
    };
}
pub(crate) use with_dim;

#[cfg(test)]
mod tests {
    use super::*;

    /// A sum and a count of rows.
    struct SumRows(f64, usize);

    impl Accumulator for SumRows {
        fn reset(&mut self) {
            *self = SumRows(0.0, 0);
        }
        fn merge(&mut self, right: &Self) {
            self.0 += right.0;
            self.1 += right.1;
        }
    }

    fn sum_rows(x: &DataRef<'_, f64>) -> (f64, usize) {
        let passes = Passes::new(*x, 1, 0);
        let accs = Pool::new(|| SumRows(0.0, 0));
        let s = passes.reduce(Layout::FeatureMajor, &accs, |s, span, acc| {
            for r in 0..span.rows {
                acc.0 += s.xt[r];
            }
            acc.1 += span.rows;
        });
        (s.0, s.1)
    }

    #[test]
    fn every_row_is_visited_once_at_leaf_edges() {
        for n in [
            1,
            BLOCK_ROWS - 1,
            BLOCK_ROWS,
            LEAF_ROWS,
            LEAF_ROWS + 1,
            3 * LEAF_ROWS + 7,
        ] {
            let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let x = DataRef::new(&v, n, 1).unwrap();
            let (s, rows) = sum_rows(&x);
            assert_eq!(rows, n);
            assert_eq!(s, (n * (n - 1) / 2) as f64);
        }
    }

    #[test]
    fn leaves_depend_on_the_row_count_only() {
        assert_eq!(leaf_rows(400), LEAF_ROWS);
        assert_eq!(leaf_rows(LEAF_ROWS), LEAF_ROWS);
        assert_eq!(leaf_rows(10_000), BLOCK_ROWS);
        assert_eq!(leaf_rows(100_000), 7 * BLOCK_ROWS);
        assert_eq!(leaf_rows(1_000_000), LEAF_ROWS);
        assert!(n_leaves(10_000) >= 32 && n_leaves(100_000) >= 32);
    }

    #[test]
    fn reduction_is_bit_identical_across_thread_counts() {
        let n = 5 * LEAF_ROWS + 123;
        let v: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.7).sin() * 1e3).collect();
        let x = DataRef::new(&v, n, 1).unwrap();
        let results: Vec<u64> = [1, 2, 3, 8]
            .iter()
            .map(|&t| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                pool.install(|| sum_rows(&x).0.to_bits())
            })
            .collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    }

    #[test]
    fn map_rows_writes_every_row() {
        let n = 2 * LEAF_ROWS + 5;
        let v: Vec<f64> = (0..2 * n).map(|i| i as f64).collect();
        let x = DataRef::new(&v, n, 2).unwrap();
        let passes = Passes::new(x, 1, 0);
        let mut out = vec![0.0; n];
        passes.map_rows(&mut out, 1, |s, span, o| {
            for r in 0..span.rows {
                o[r] = s.xt[r] + s.xt[BLOCK_ROWS + r];
            }
        });
        for (i, &o) in out.iter().enumerate() {
            assert_eq!(o, (4 * i + 1) as f64);
        }
    }

    /// A block's column summary adds in lanes `r % LANES`, in row order, then in the fixed
    /// lane order, whatever the instruction set: the bits of that scalar order, on values of
    /// mixed magnitudes (where any other order shows), for every block length.
    #[test]
    fn a_block_column_is_summed_in_lane_order() {
        // Positive values and signed zeros in the same lanes (the smallest is a zero, and of
        // the negated values the largest: the range keeps `f64::min`'s and `max`'s choice).
        let f: Vec<f64> = (0..BLOCK_ROWS)
            .map(|i| match i % 29 {
                3 => 0.0,
                11 => -0.0,
                _ => ((i * 37 % 11) as f64 + 1.0) * 10f64.powi((i % 5) as i32 * 4 - 8) + 3.0,
            })
            .collect();
        let negated: Vec<f64> = f.iter().map(|v| -v).collect();
        for (f, len) in [&f, &negated]
            .into_iter()
            .flat_map(|f| (1..=BLOCK_ROWS).map(move |len| (f, len)))
        {
            let f = &f[..len];
            let o = f[0];
            let (mut sum, mut lo, mut hi, mut moved) = (
                [0.0; LANES],
                [f64::INFINITY; LANES],
                [f64::NEG_INFINITY; LANES],
                [0.0; LANES],
            );
            for (i, &v) in f.iter().enumerate() {
                let l = i % LANES;
                sum[l] += v;
                lo[l] = lo[l].min(v);
                hi[l] = hi[l].max(v);
                moved[l] += v - o;
            }
            let mean = math::combine(moved) / len as f64;
            let mut sq = [0.0; LANES];
            for (i, &v) in f.iter().enumerate() {
                let e = (v - o) - mean;
                sq[i % LANES] += e * e;
            }
            let c = column_of_block(f, o);
            let bits = |c: &Column| [c.sum, c.lo, c.hi, c.mean, c.m2].map(f64::to_bits);
            let want = Column {
                sum: math::combine(sum),
                lo: lo.iter().fold(f64::INFINITY, |m, &v| m.min(v)),
                hi: hi.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)),
                mean,
                m2: math::combine(sq),
            };
            assert_eq!(bits(&c), bits(&want), "{len} rows");
        }
    }

    #[test]
    fn column_summary_is_accurate_and_thread_independent() {
        // Column 0 sits at 1e8 with a spread of about 0.3: the one-pass `Σx²/n - m²` loses
        // every digit there (its terms are 1e16, its answer 0.08); column 1 mixes signs and
        // scales; column 2 is constant. Several leaves and a short last block.
        let (n, d) = (3 * LEAF_ROWS + 77, 3);
        let mut v = Vec::with_capacity(n * d);
        for i in 0..n {
            let t = i as f64;
            v.push(1e8 + (t * 0.37).sin());
            v.push((t * 1.3).cos() * 10f64.powi((i % 7) as i32 - 3));
            v.push(-2.5);
        }
        let x = DataRef::new(&v, n, d).unwrap();
        let summaries: Vec<ColumnSummary> = [1, 2, 3]
            .iter()
            .map(|&t| with_threads(Some(t), || Passes::new(x, 1, 0).column_summary()).unwrap())
            .collect();
        let bits = |s: &ColumnSummary| -> Vec<u64> {
            [&s.means, &s.lo, &s.hi, &s.variances]
                .iter()
                .flat_map(|c| c.iter().map(|v| v.to_bits()))
                .collect()
        };
        assert!(summaries.windows(2).all(|w| bits(&w[0]) == bits(&w[1])));
        let s = &summaries[0];
        let passes = Passes::new(x, 1, 0);
        // The two-pass variances about the same means, and the ranges by a plain scan.
        let two_pass = passes.column_variances(&s.means);
        for j in 0..d {
            let col = || v.iter().skip(j).step_by(d).copied();
            assert_eq!(s.lo[j], col().fold(f64::INFINITY, f64::min));
            assert_eq!(s.hi[j], col().fold(f64::NEG_INFINITY, f64::max));
            let exact_mean = col().map(|x| x - col().next().unwrap()).sum::<f64>() / n as f64
                + col().next().unwrap();
            assert!((s.means[j] - exact_mean).abs() <= 1e-13 * exact_mean.abs().max(1.0));
            let tol = 1e-12 * two_pass[j];
            assert!(
                (s.variances[j] - two_pass[j]).abs() <= tol,
                "column {j}: {} against {}",
                s.variances[j],
                two_pass[j]
            );
        }
        assert!((s.variances[0] - 0.5).abs() < 1e-3, "{}", s.variances[0]);
        assert_eq!(s.variances[2], 0.0);
    }
}
