//! The finiteness check of loaded data ([`Dataset::check_finite`](crate::Dataset::check_finite)).

/// The first value (in row-major order) of the `n` rows of `d` values, `stride` apart in
/// `data`, that is not `finite`, as `(row, column, value)`. Groups of rows are tested in
/// parallel (in the calling thread pool) from 2¹⁴ rows; the first offending group is then
/// scanned in order, so the same value is found on any thread count. A row that `data` does
/// not hold whole is skipped (a view's length is checked when it is made).
pub(crate) fn first_non_finite<T: Copy + Into<f64> + Sync>(
    data: &[T],
    n: usize,
    d: usize,
    stride: usize,
    finite: impl Fn(T) -> bool + Sync,
) -> Option<(usize, usize, f64)> {
    const GROUP: usize = 64;
    let row = |i: usize| {
        let start = i.saturating_mul(stride);
        data.get(start..start.saturating_add(d)).unwrap_or(&[])
    };
    // `v * 0` is NaN exactly when `v` is not finite: one test per group of rows, with
    // eight independent sums (the rate of loads, not of one addition's latency).
    let bad = |g: usize| {
        let mut s = [0.0f64; 8];
        for i in g * GROUP..((g + 1) * GROUP).min(n) {
            let (full, rest) = row(i).as_chunks::<8>();
            for c in full {
                for (s, &v) in s.iter_mut().zip(c) {
                    *s += v.into() * 0.0;
                }
            }
            for (s, &v) in s.iter_mut().zip(rest) {
                *s += v.into() * 0.0;
            }
        }
        s.iter().sum::<f64>().is_nan()
    };
    let groups = n.div_ceil(GROUP);
    let g = if n < 1 << 14 {
        (0..groups).find(|&g| bad(g))
    } else {
        use rayon::prelude::*;
        (0..groups)
            .into_par_iter()
            .with_min_len(64)
            .find_first(|&g| bad(g))
    }?;
    (g * GROUP..((g + 1) * GROUP).min(n)).find_map(|i| {
        let row = row(i);
        let j = row.iter().position(|&v| !finite(v))?;
        Some((i, j, row[j].into()))
    })
}
