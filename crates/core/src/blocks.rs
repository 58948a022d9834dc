//! The blocked, parallel, deterministic pass over the rows of a data set.
//!
//! Rows are cut into blocks of [`BLOCK_ROWS`]; up to [`LEAF_BLOCKS`] consecutive blocks form a leaf
//! (fewer for mid-sized inputs, so that there are enough leaves to share: see [`leaf_rows`]),
//! processed by one thread in order into one accumulator. Leaves are combined by a binary tree
//! whose shape depends only on the number of rows (split at the midpoint of the leaf range), and
//! rayon runs the two halves of each node in parallel. The summation order is therefore a function
//! of `n_samples` alone: results are bit-identical for any number of threads. A data set of one
//! leaf never touches rayon, so small inputs pay no thread start-up.
//!
//! Each block is loaded once, feature-major (`xt[j * BLOCK_ROWS + r]`, widened to `f64`), with the
//! rows past the end of the data up to a multiple of [`LANES`] set to zero, so kernels run on whole
//! lanes without tails. Scratch space comes from a pool: allocated once per thread, reused by every
//! block of every pass.

use std::sync::Mutex;

use crate::data::{DataRef, Float};
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

/// Rows per block: a constant of the algorithm, never derived from the thread count.
pub(crate) const BLOCK_ROWS: usize = 256;
/// Blocks per leaf of the reduction tree.
pub(crate) const LEAF_BLOCKS: usize = 16;
const LEAF_ROWS: usize = BLOCK_ROWS * LEAF_BLOCKS;

/// `rows` rounded up to whole lanes.
#[inline]
pub(crate) fn padded(rows: usize) -> usize {
    rows.div_ceil(LANES) * LANES
}

/// Per-thread working memory for one block.
pub(crate) struct Scratch {
    /// The block, feature-major: `(n_features, BLOCK_ROWS)`.
    pub xt: Vec<f64>,
    /// Per-component values, component-major: `(n_components, BLOCK_ROWS)`.
    pub comp: Vec<f64>,
    /// One value per row.
    pub row: Vec<f64>,
    /// Kernel workspace.
    pub work: Vec<f64>,
}

impl Scratch {
    pub(crate) fn new(n_features: usize, n_components: usize, work: usize) -> Self {
        Scratch {
            xt: vec![0.0; n_features * BLOCK_ROWS],
            comp: vec![0.0; n_components * BLOCK_ROWS],
            row: vec![0.0; BLOCK_ROWS],
            work: vec![0.0; work],
        }
    }
}

/// A pool of reusable values: taken by a leaf, given back when it is done.
pub(crate) struct Pool<T> {
    items: Mutex<Vec<T>>,
    make: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T> Pool<T> {
    pub(crate) fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Pool {
            items: Mutex::new(Vec::new()),
            make: Box::new(make),
        }
    }

    pub(crate) fn take(&self) -> T {
        let item = self.items.lock().unwrap_or_else(|e| e.into_inner()).pop();
        item.unwrap_or_else(|| (self.make)())
    }

    pub(crate) fn give(&self, item: T) {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(item);
    }
}

/// Whether a pass wants each block copied feature-major into `Scratch::xt` first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Layout {
    /// Load and transpose every block (widening to `f64`).
    FeatureMajor,
    /// The pass reads the rows itself.
    Rows,
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

/// Runs `block` over every block of `x` and reduces the per-leaf accumulators in a fixed tree.
///
/// `block(scratch, acc, start, rows, out)` sees the block's rows `start..start + rows` (loaded into
/// `scratch.xt` with [`Layout::FeatureMajor`]), and `out`, the block's part of the per-row buffer (`width` values per row; pass
/// an empty buffer and `width = 0` for none). `zero(acc)` resets an accumulator for reuse;
/// `merge(left, right)` adds `right` into `left`.
pub(crate) fn reduce<T, A, O, B, M, Z>(
    x: &DataRef<'_, T>,
    layout: Layout,
    scratch: &Pool<Scratch>,
    accs: &Pool<A>,
    zero: Z,
    out: &mut [O],
    width: usize,
    block: B,
    merge: M,
) -> A
where
    T: Float,
    A: Send,
    O: Send,
    B: Fn(&mut Scratch, &mut A, usize, usize, &mut [O]) + Sync,
    M: Fn(&mut A, &A) + Sync,
    Z: Fn(&mut A) + Sync,
{
    let n = x.n_samples();
    assert_eq!(out.len(), n * width);
    let leaf_len = leaf_rows(n);
    let leaf = |l: usize, out: &mut [O]| -> A {
        let mut acc = accs.take();
        zero(&mut acc);
        let mut s = scratch.take();
        let end = ((l + 1) * leaf_len).min(n);
        let mut start = l * leaf_len;
        let mut offset = 0;
        while start < end {
            let rows = (end - start).min(BLOCK_ROWS);
            if layout == Layout::FeatureMajor {
                load(x, start, rows, &mut s.xt);
            }
            // Ask for the next block while this one is computed: the hardware prefetcher does not
            // run far enough ahead of a loop that reads in bursts.
            prefetch(x, start + rows, (end - start - rows).min(BLOCK_ROWS));
            block(
                &mut s,
                &mut acc,
                start,
                rows,
                &mut out[offset..offset + rows * width],
            );
            start += rows;
            offset += rows * width;
        }
        scratch.give(s);
        acc
    };
    #[allow(clippy::type_complexity)]
    fn tree<A: Send, O: Send>(
        lo: usize,
        hi: usize,
        out: &mut [O],
        row_width: usize,
        leaf: &(dyn Fn(usize, &mut [O]) -> A + Sync),
        merge: &(dyn Fn(&mut A, &A) + Sync),
        give: &(dyn Fn(A) + Sync),
    ) -> A {
        if hi - lo == 1 {
            return leaf(lo, out);
        }
        let mid = lo + (hi - lo) / 2;
        let split = ((mid - lo) * row_width).min(out.len());
        let (left, right) = out.split_at_mut(split);
        let (mut a, b) = rayon::join(
            || tree(lo, mid, left, row_width, leaf, merge, give),
            || tree(mid, hi, right, row_width, leaf, merge, give),
        );
        merge(&mut a, &b);
        give(b);
        a
    }
    tree(0, n_leaves(n), out, leaf_len * width, &leaf, &merge, &|a| {
        accs.give(a)
    })
}

/// Runs `block` over every block of `x`, each writing its rows' outputs: `out` holds `width`
/// values per row, and `block(scratch, start, rows, out_rows)` gets the slice for its rows.
pub(crate) fn map_rows<T, O, B>(
    x: &DataRef<'_, T>,
    scratch: &Pool<Scratch>,
    out: &mut [O],
    width: usize,
    block: B,
) where
    T: Float,
    O: Send,
    B: Fn(&mut Scratch, usize, usize, &mut [O]) + Sync,
{
    let units = Pool::new(|| ());
    reduce(
        x,
        Layout::FeatureMajor,
        scratch,
        &units,
        |_| {},
        out,
        width,
        |s, _, start, rows, o| block(s, start, rows, o),
        |_, _| {},
    );
}

/// Hints the processor to fetch rows `start..start + rows` into its L2 cache.
#[inline]
fn prefetch<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize) {
    #[cfg(target_arch = "x86_64")]
    if rows > 0 {
        let data = x.as_slice();
        let first = start * x.row_stride();
        let last = ((start + rows - 1) * x.row_stride() + x.n_features()).min(data.len());
        let step = 64 / std::mem::size_of::<T>();
        let mut i = first;
        while i < last {
            // SAFETY: `i` indexes the slice; a prefetch never faults and changes no memory.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                    data.as_ptr().add(i).cast(),
                )
            };
            i += step;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, start, rows);
}

/// Loads rows `start..start + rows` feature-major into `xt`, zeroing the padding rows.
#[inline]
pub(crate) fn load<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize, xt: &mut [f64]) {
    load_dispatch(x, start, rows, xt);
}

dispatch! {
    fn load_dispatch<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize, xt: &mut [f64]) => load_impl
}

/// Eight rows by eight features at a time, transposed in registers; the remaining features and
/// rows one value at a time.
#[inline(always)]
fn load_impl<T: Float, I: Isa>(x: &DataRef<'_, T>, start: usize, rows: usize, xt: &mut [f64]) {
    let d = x.n_features();
    let full_rows = rows / LANES * LANES;
    let full_cols = d / LANES * LANES;
    let mut r0 = 0;
    while r0 < full_rows {
        let mut j0 = 0;
        while j0 < full_cols {
            let row = |t: usize| V8::<I>::load_from(&x.row(start + r0 + t)[j0..]);
            let block = [
                row(0),
                row(1),
                row(2),
                row(3),
                row(4),
                row(5),
                row(6),
                row(7),
            ];
            for (t, v) in V8::transpose8(block).into_iter().enumerate() {
                v.store(&mut xt[(j0 + t) * BLOCK_ROWS + r0..]);
            }
            j0 += LANES;
        }
        for t in 0..LANES {
            let row = x.row(start + r0 + t);
            for j in full_cols..d {
                xt[j * BLOCK_ROWS + r0 + t] = row[j].to_f64();
            }
        }
        r0 += LANES;
    }
    for r in full_rows..rows {
        let row = x.row(start + r);
        for j in 0..d {
            xt[j * BLOCK_ROWS + r] = row[j].to_f64();
        }
    }
    let p = padded(rows);
    for j in 0..d {
        xt[j * BLOCK_ROWS + rows..j * BLOCK_ROWS + p].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_rows(x: &DataRef<'_, f64>) -> (f64, usize) {
        let scratch = Pool::new(move || Scratch::new(1, 1, 0));
        let accs = Pool::new(|| (0.0f64, 0usize));
        reduce(
            x,
            Layout::FeatureMajor,
            &scratch,
            &accs,
            |a| *a = (0.0, 0),
            &mut [] as &mut [()],
            0,
            |s, acc, _start, rows, _| {
                for r in 0..rows {
                    acc.0 += s.xt[r];
                }
                acc.1 += rows;
            },
            |a, b| {
                a.0 += b.0;
                a.1 += b.1;
            },
        )
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
        let scratch = Pool::new(move || Scratch::new(2, 1, 0));
        let mut out = vec![0.0; n];
        map_rows(&x, &scratch, &mut out, 1, |s, _start, rows, o| {
            for r in 0..rows {
                o[r] = s.xt[r] + s.xt[BLOCK_ROWS + r];
            }
        });
        for (i, &o) in out.iter().enumerate() {
            assert_eq!(o, (4 * i + 1) as f64);
        }
    }
}
