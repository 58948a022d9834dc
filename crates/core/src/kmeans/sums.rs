//! Lloyd's per-centre sums: each labelled row of a block, centred and weighted, added to the
//! exact sums' pending pairs ([`super::exact`]), with the inertia of the rows when asked for.

use super::exact::Exact;
use crate::blocks::{Span, with_dim};
use crate::data::{DataRef, Float, load8};
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

/// What [`add_rows`] adds besides the sums.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Inertia<'c> {
    /// Only the sums.
    Skip,
    /// Also `Σ_r ‖x_r - offset - centers_label‖²` under these centres (internal frame).
    Under(&'c [f64]),
}

/// The rows of a block as [`add_rows`] reads them: their labels (as `f64`) and sample weights.
#[derive(Clone, Copy)]
pub(crate) struct Assigned<'a> {
    pub labels: &'a [f64],
    pub weights: Option<&'a [f64]>,
}

dispatch! {
    /// `sums[label_r] += w_r (x_r - offset)` for the rows of `span` (`w_r = 1` without
    /// weights) into the exact sums' pending pairs (not the weights: the callers add those),
    /// reading the rows in their own (row-major) layout, eight features at a time;
    /// returns the inertia `Σ_r w_r ‖x_r - offset - centers_label‖²` when asked (0 otherwise).
    pub(crate) fn add_rows<T: Float>(x: &DataRef<'_, T>, span: Span, rows: Assigned<'_>, offset: &[f64], sums: &mut Exact, inertia: Inertia<'_>) -> f64 => add_rows_impl
}

#[inline(always)]
fn add_rows_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    rows: Assigned<'_>,
    offset: &[f64],
    sums: &mut Exact,
    inertia: Inertia<'_>,
) -> f64 {
    let w = rows.weights;
    match (inertia, w) {
        (Inertia::Skip, None) => {
            add_rows_with::<T, I, false, false>(isa, x, span, rows, offset, sums, &[])
        }
        (Inertia::Under(c), None) => {
            add_rows_with::<T, I, true, false>(isa, x, span, rows, offset, sums, c)
        }
        (Inertia::Skip, Some(_)) => {
            add_rows_with::<T, I, false, true>(isa, x, span, rows, offset, sums, &[])
        }
        (Inertia::Under(c), Some(_)) => {
            add_rows_with::<T, I, true, true>(isa, x, span, rows, offset, sums, c)
        }
    }
}

#[inline(always)]
fn add_rows_with<T: Float, I: Isa, const DISTANCES: bool, const WEIGHTED: bool>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    rows: Assigned<'_>,
    offset: &[f64],
    sums: &mut Exact,
    centers: &[f64],
) -> f64 {
    let d = x.n_features();
    let full = d / LANES * LANES;
    let (grid, hi, lo) = sums.parts();
    if d < LANES {
        return with_dim!(d, D => add_rows_small::<T, DISTANCES, WEIGHTED, D>(x, span, rows, offset, (&grid.m1, &grid.m2), (hi, lo), centers), _ => unreachable!("d < LANES"));
    }
    let parts = ((&grid.m1[..], &grid.m2[..]), (&mut *hi, &mut *lo));
    match d {
        8 => {
            return add_rows_lanes::<T, I, DISTANCES, WEIGHTED, 1>(
                isa, x, span, rows, offset, parts, centers,
            );
        }
        16 => {
            return add_rows_lanes::<T, I, DISTANCES, WEIGHTED, 2>(
                isa, x, span, rows, offset, parts, centers,
            );
        }
        _ => {}
    }
    let mut total = V8::zero(isa);
    let mut tail = 0.0;
    for r in 0..span.rows {
        let c = rows.labels[r] as usize;
        let wr = if WEIGHTED {
            rows.weights.unwrap_or(&[])[r]
        } else {
            1.0
        };
        let row = x.row(span.start + r);
        let hi = &mut hi[c * d..(c + 1) * d];
        let lo = &mut lo[c * d..(c + 1) * d];
        let cc = if DISTANCES {
            &centers[c * d..(c + 1) * d]
        } else {
            &[]
        };
        let mut j = 0;
        while j < full {
            let v = load8(isa, &row[j..]).sub(V8::load(isa, &offset[j..]));
            let m = (V8::load(isa, &grid.m1[j..]), V8::load(isa, &grid.m2[j..]));
            let sums = (&mut hi[j..], &mut lo[j..]);
            let c = if DISTANCES { &cc[j..] } else { &[] };
            add_lanes::<I, DISTANCES, WEIGHTED>(isa, v, wr, m, sums, c, &mut total);
            j += LANES;
        }
        for j in full..d {
            let v = row[j].to_f64() - offset[j];
            let add = if WEIGHTED { wr * v } else { v };
            let h1 = (add + grid.m1[j]) - grid.m1[j];
            hi[j] += h1;
            lo[j] += ((add - h1) + grid.m2[j]) - grid.m2[j];
            if DISTANCES {
                let e = v - centers[c * d + j];
                tail += if WEIGHTED { wr * (e * e) } else { e * e };
            }
        }
    }
    total.sum() + tail
}

/// [`add_rows_with`] at `8 · C` features: the offset and the splitting constants stay in
/// registers and the row's width is known, so no index is checked per value (the same
/// operations in the same order).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn add_rows_lanes<T: Float, I: Isa, const DISTANCES: bool, const WEIGHTED: bool, const C: usize>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    rows: Assigned<'_>,
    offset: &[f64],
    ((m1s, m2s), (hi, lo)): ((&[f64], &[f64]), (&mut [f64], &mut [f64])),
    centers: &[f64],
) -> f64 {
    let d = C * LANES;
    let o: [V8<I>; C] = std::array::from_fn(|i| V8::load(isa, &offset[i * LANES..]));
    let m1: [V8<I>; C] = std::array::from_fn(|i| V8::load(isa, &m1s[i * LANES..]));
    let m2: [V8<I>; C] = std::array::from_fn(|i| V8::load(isa, &m2s[i * LANES..]));
    let labels = &rows.labels[..span.rows];
    let mut total = V8::zero(isa);
    for (r, &label) in labels.iter().enumerate() {
        let c = label as usize;
        let wr = if WEIGHTED {
            rows.weights.unwrap_or(&[])[r]
        } else {
            1.0
        };
        let row = &x.row(span.start + r)[..d];
        let hi = &mut hi[c * d..(c + 1) * d];
        let lo = &mut lo[c * d..(c + 1) * d];
        let cc = if DISTANCES {
            &centers[c * d..(c + 1) * d]
        } else {
            &[]
        };
        for i in 0..C {
            let j = i * LANES;
            let v = load8(isa, &row[j..]).sub(o[i]);
            let sums = (&mut hi[j..], &mut lo[j..]);
            let c = if DISTANCES { &cc[j..] } else { &[] };
            add_lanes::<I, DISTANCES, WEIGHTED>(isa, v, wr, (m1[i], m2[i]), sums, c, &mut total);
        }
    }
    total.sum()
}

/// One group of eight features of one row, as [`add_rows`] adds it: the centred values `v`
/// (times the row's weight `wr` when `WEIGHTED`) split on the exact sums' grid (`m1`, `m2`:
/// `Column::split`, eight features at a time) and added to the pending pairs `hi`, `lo`; with
/// `DISTANCES`, also `Σ w (v - c)²` per lane into `total` (`c` the centre's same features).
#[inline(always)]
fn add_lanes<I: Isa, const DISTANCES: bool, const WEIGHTED: bool>(
    isa: I,
    v: V8<I>,
    wr: f64,
    (m1, m2): (V8<I>, V8<I>),
    (hi, lo): (&mut [f64], &mut [f64]),
    c: &[f64],
    total: &mut V8<I>,
) {
    let add = if WEIGHTED {
        v.mul(V8::splat(isa, wr))
    } else {
        v
    };
    let h1 = add.add(m1).sub(m1);
    let h2 = add.sub(h1).add(m2).sub(m2);
    V8::load(isa, hi).add(h1).store(hi);
    V8::load(isa, lo).add(h2).store(lo);
    if DISTANCES {
        let e = v.sub(V8::load(isa, c));
        *total = if WEIGHTED {
            e.mul(e).madd(V8::splat(isa, wr), *total)
        } else {
            e.madd(e, *total)
        };
    }
}

/// [`add_rows_with`] below eight features, with the row's width known: the offset and the
/// splitting constants stay in registers and no index is checked per value (the same
/// operations in the same order).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn add_rows_small<T: Float, const DISTANCES: bool, const WEIGHTED: bool, const D: usize>(
    x: &DataRef<'_, T>,
    span: Span,
    rows: Assigned<'_>,
    offset: &[f64],
    (m1s, m2s): (&[f64], &[f64]),
    (hi, lo): (&mut [f64], &mut [f64]),
    centers: &[f64],
) -> f64 {
    let (mut o, mut m1, mut m2) = ([0.0; D], [0.0; D], [0.0; D]);
    o.copy_from_slice(&offset[..D]);
    m1.copy_from_slice(&m1s[..D]);
    m2.copy_from_slice(&m2s[..D]);
    let labels = &rows.labels[..span.rows];
    let mut tail = 0.0;
    for (r, &label) in labels.iter().enumerate() {
        let c = label as usize;
        let wr = if WEIGHTED {
            rows.weights.unwrap_or(&[])[r]
        } else {
            1.0
        };
        let row = &x.row(span.start + r)[..D];
        let hi = &mut hi[c * D..c * D + D];
        let lo = &mut lo[c * D..c * D + D];
        for j in 0..D {
            let v = row[j].to_f64() - o[j];
            let add = if WEIGHTED { wr * v } else { v };
            let h1 = (add + m1[j]) - m1[j];
            hi[j] += h1;
            lo[j] += ((add - h1) + m2[j]) - m2[j];
            if DISTANCES {
                let e = v - centers[c * D + j];
                tail += if WEIGHTED { wr * (e * e) } else { e * e };
            }
        }
    }
    tail
}
