//! One block of rows as the kernels see it, and the per-thread memory that holds it.

use std::sync::Mutex;

use crate::data::{DataRef, Float, load8};
use crate::math::LANES;
use crate::mem::Lines;
use crate::simd::{Isa, V8, dispatch};

/// Rows per block: a constant of the algorithm, never derived from the thread count.
pub(crate) const BLOCK_ROWS: usize = 256;

/// `rows` rounded up to whole lanes.
#[inline]
pub(crate) fn padded(rows: usize) -> usize {
    rows.div_ceil(LANES) * LANES
}

/// The rows `start..start + rows` of the data that a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// First row (in the data).
    pub start: usize,
    /// Number of rows (at most [`BLOCK_ROWS`]).
    pub rows: usize,
}

/// The rows of one block, feature-major: feature `j` of row `r` at `data[j * BLOCK_ROWS + r]`,
/// with the rows from `rows` up to [`padded`]`(rows)` zero, so that kernels run on whole lanes.
/// What every kernel reads instead of a raw `(xt, ld, rows)`.
#[derive(Clone, Copy)]
pub(crate) struct Block<'a> {
    data: &'a [f64],
    rows: usize,
}

impl<'a> Block<'a> {
    /// A view of `data`, `(n_features, BLOCK_ROWS)` feature-major, holding `rows` rows.
    #[inline(always)]
    pub(crate) fn new(data: &'a [f64], rows: usize) -> Self {
        debug_assert!(rows <= BLOCK_ROWS && data.len().is_multiple_of(BLOCK_ROWS));
        Block { data, rows }
    }

    /// Number of features.
    #[inline(always)]
    pub(crate) fn n_features(&self) -> usize {
        self.data.len() / BLOCK_ROWS
    }

    /// Real rows.
    #[inline(always)]
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Rows rounded up to whole lanes (the extra rows are zero).
    #[inline(always)]
    pub(crate) fn rows_p(&self) -> usize {
        padded(self.rows)
    }

    /// The underlying feature-major values, `(n_features, BLOCK_ROWS)`.
    #[inline(always)]
    pub(crate) fn data(&self) -> &'a [f64] {
        self.data
    }

    /// Feature `j` of every padded row.
    #[inline(always)]
    pub(crate) fn feature(&self, j: usize) -> &'a [f64] {
        &self.data[j * BLOCK_ROWS..j * BLOCK_ROWS + self.rows_p()]
    }

    /// Feature `j` of rows `r0..r0 + 8`.
    #[inline(always)]
    pub(crate) fn lanes<I: Isa>(&self, isa: I, j: usize, r0: usize) -> V8<I> {
        V8::load(isa, &self.data[j * BLOCK_ROWS + r0..])
    }
}

/// A block's sample weights: read where they are for a whole block, copied (zero-padded) for
/// the short last block of a leaf.
pub(crate) struct BlockWeights<'a> {
    /// The data's weights, when it has them.
    all: Option<&'a [f64]>,
    /// The block's rows.
    span: Span,
    /// `(BLOCK_ROWS,)`: the short block's weights, zero past its rows.
    padded: Vec<f64>,
}

impl<'a> BlockWeights<'a> {
    fn new() -> Self {
        BlockWeights {
            all: None,
            span: Span { start: 0, rows: 0 },
            padded: vec![0.0; BLOCK_ROWS],
        }
    }

    /// The block's sample weights, `padded(rows)` or more of them, zero past its rows; `None`
    /// without weights.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&[f64]> {
        let w = self.all?;
        let Span { start, rows } = self.span;
        Some(if rows == BLOCK_ROWS {
            &w[start..start + BLOCK_ROWS]
        } else {
            &self.padded
        })
    }

    /// Points at the weights of `span` (or notes that there are none).
    pub(crate) fn load(&mut self, all: Option<&'a [f64]>, span: Span) {
        self.all = all;
        self.span = span;
        if let Some(w) = all
            && span.rows < BLOCK_ROWS
        {
            self.padded[..span.rows].copy_from_slice(&w[span.start..span.start + span.rows]);
            self.padded[span.rows..].fill(0.0);
        }
    }
}

/// Per-thread working memory for one block (of data whose weights live for `'a`).
pub(crate) struct Scratch<'a> {
    /// The block, feature-major `(n_features, BLOCK_ROWS)`: `Block::new(&xt, rows)`.
    pub xt: Lines,
    /// Per-component values, component-major: `(n_components, BLOCK_ROWS)`.
    pub comp: Lines,
    /// One value per row.
    pub row: Lines,
    /// Kernel workspace.
    pub work: Lines,
    /// The block's sample weights, when the data has weights (`w.get()`; a field of its own so
    /// that kernels can read it while writing the other buffers).
    pub w: BlockWeights<'a>,
}

impl<'a> Scratch<'a> {
    pub(crate) fn new(n_features: usize, n_components: usize, work: usize) -> Self {
        Scratch {
            xt: Lines::zeroed(n_features * BLOCK_ROWS),
            comp: Lines::zeroed(n_components * BLOCK_ROWS),
            row: Lines::zeroed(BLOCK_ROWS),
            work: Lines::zeroed(work),
            w: BlockWeights::new(),
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

/// Features `j0..j0 + 8` of rows `row0..row0 + 8` of `x`, transposed in registers: lane `t` of
/// vector `j` is feature `j0 + j` of row `row0 + t`. The block load and k-means' row reader
/// both go through it.
#[inline(always)]
pub(crate) fn transposed8<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    row0: usize,
    j0: usize,
) -> [V8<I>; 8] {
    // (A loop, not `array::from_fn`: a closure would not inherit the target features.)
    let mut rows = [V8::zero(isa); LANES];
    for (t, v) in rows.iter_mut().enumerate() {
        *v = load8(isa, &x.row(row0 + t)[j0..]);
    }
    V8::transpose8(rows)
}

/// [`prefetch`] of at most `rows` rows from `start`, none past the data's last row.
#[inline]
pub(crate) fn prefetch_within<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize) {
    let n = x.n_samples();
    if start < n {
        prefetch(x, start, (n - start).min(rows));
    }
}

/// Hints the processor to fetch rows `start..start + rows` into its L2 cache.
#[inline]
pub(crate) fn prefetch<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize) {
    if rows > 0 {
        let data = x.as_slice();
        let first = start * x.row_stride();
        let last = ((start + rows - 1) * x.row_stride() + x.n_features()).min(data.len());
        prefetch_slice(&data[first..last]);
    }
}

/// Hints the processor to fetch the cache lines of `values` into its L2 cache.
#[inline]
pub(crate) fn prefetch_slice<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let first = values.as_ptr() as usize / 64 * 64;
        let end = values.as_ptr() as usize + std::mem::size_of_val(values);
        for line in (first..end).step_by(64) {
            // SAFETY: a prefetch never faults and changes no memory.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                    line as *const i8,
                )
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Hints the processor to fetch the listed rows into its L2 cache, so that their misses overlap
/// rather than each waiting on the last (into L2, not L1: rows asked for a block ahead would
/// evict the block being computed).
#[inline]
pub(crate) fn prefetch_rows<T: Float>(x: &DataRef<'_, T>, rows: &[usize]) {
    #[cfg(target_arch = "x86_64")]
    {
        let data = x.as_slice();
        let bytes = x.n_features() * std::mem::size_of::<T>();
        for &i in rows {
            let first = data[i * x.row_stride()..].as_ptr().cast::<u8>();
            // Every cache line the row touches, from the one holding its first byte.
            let lines = (first as usize % 64 + bytes).div_ceil(64);
            for l in 0..lines {
                // SAFETY: a prefetch never faults and changes no memory; `wrapping_add` keeps
                // the address computation defined even past the row's last line.
                unsafe {
                    core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                        first.wrapping_add(l * 64).cast(),
                    )
                };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, rows);
}

dispatch! {
    /// Loads the rows of `span` feature-major into `xt` (see [`Block`]), widening to `f64` and
    /// zeroing the padding rows.
    pub(crate) fn load<T: Float>(x: &DataRef<'_, T>, span: Span, xt: &mut [f64]) => load_impl
}

/// Eight rows by eight features at a time, transposed in registers; the remaining features and
/// rows one value at a time.
#[inline(always)]
fn load_impl<T: Float, I: Isa>(isa: I, x: &DataRef<'_, T>, span: Span, xt: &mut [f64]) {
    let Span { start, rows } = span;
    let d = x.n_features();
    let full_rows = rows / LANES * LANES;
    let full_cols = d / LANES * LANES;
    let mut r0 = 0;
    while r0 < full_rows {
        let mut j0 = 0;
        while j0 < full_cols {
            for (t, v) in transposed8(isa, x, start + r0, j0).into_iter().enumerate() {
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
