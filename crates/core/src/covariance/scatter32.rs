//! The float32 scatter kernels of [`Full32`](super::full32::Full32): a block's
//! `Σ r (x - s)(x - s)ᵀ` (lower triangle) and `Σ r (x - s)` per component, float32 within the
//! block and each entry's sum widened to float64 (sixteen lanes added in float32 by
//! [`V16::sums16`]).

use super::full32::L16;
use super::scatter::{add_tile, lower, whole_small_tiles};
use crate::blocks::BLOCK_ROWS;
use crate::simd::{Isa, V16};

/// The lower triangle of `Σ_r wa_r (a_r - s)ᵀ` added into `out` `(d, d)` (float32 within the
/// block, each entry's sum widened), in tiles of `TI × TJ` outputs; ragged edge tiles go one
/// entry at a time. `a` and `wa` are float32 blocks of `r16` rows.
#[inline(always)]
pub(super) fn scatter32<I: Isa, const TI: usize, const TJ: usize>(
    isa: I,
    (a, wa): (&[f32], &[f32]),
    shift: &[f32],
    r16: usize,
    out: &mut [f64],
) {
    let d = shift.len();
    let mut i0 = 0;
    while i0 < d {
        let ni = TI.min(d - i0);
        let mut j0 = 0;
        while j0 < i0 + ni {
            let nj = TJ.min(d - j0);
            if ni == TI && nj == TJ {
                let t = match i0 as isize - j0 as isize {
                    -2 => scatter32_tile::<I, TI, TJ, -2>(isa, (a, wa), shift, r16, i0, j0),
                    0 => scatter32_tile::<I, TI, TJ, 0>(isa, (a, wa), shift, r16, i0, j0),
                    2 => scatter32_tile::<I, TI, TJ, 2>(isa, (a, wa), shift, r16, i0, j0),
                    4 => scatter32_tile::<I, TI, TJ, 4>(isa, (a, wa), shift, r16, i0, j0),
                    _ => scatter32_tile::<I, TI, TJ, { isize::MAX }>(
                        isa,
                        (a, wa),
                        shift,
                        r16,
                        i0,
                        j0,
                    ),
                };
                for (p, row) in t.iter().enumerate() {
                    for (q, &v) in row.iter().enumerate() {
                        if j0 + q <= i0 + p {
                            out[(i0 + p) * d + j0 + q] += v;
                        }
                    }
                }
            } else {
                for i in i0..i0 + ni {
                    for j in j0..(j0 + nj).min(i + 1) {
                        let mut acc = V16::zero(isa);
                        let sj = V16::splat(isa, shift[j]);
                        for r0 in (0..r16).step_by(L16) {
                            let w = V16::load(isa, &wa[i * BLOCK_ROWS + r0..]);
                            let x = V16::load(isa, &a[j * BLOCK_ROWS + r0..]).sub(sj);
                            acc = w.madd(x, acc);
                        }
                        out[i * d + j] += acc.sum();
                    }
                }
            }
            j0 += TJ;
        }
        i0 += TI;
    }
}

/// One `TI × TJ` tile of [`scatter32`]: `Σ_r wa[i0 + p]_r (a[j0 + q]_r - s[j0 + q])` for the
/// entries on or below the diagonal.
#[inline(always)]
fn scatter32_tile<I: Isa, const TI: usize, const TJ: usize, const DELTA: isize>(
    isa: I,
    (a, wa): (&[f32], &[f32]),
    shift: &[f32],
    r16: usize,
    i0: usize,
    j0: usize,
) -> [[f64; TJ]; TI] {
    let vectors = r16 / L16;
    // Every operand as exactly `vectors` vectors: the bounds are checked here, once.
    let mut w: [&[[f32; L16]]; TI] = [&[]; TI];
    for p in 0..TI {
        let i = i0 + p;
        w[p] = &wa[i * BLOCK_ROWS..(i + 1) * BLOCK_ROWS].as_chunks().0[..vectors];
    }
    let mut x: [&[[f32; L16]]; TJ] = [&[]; TJ];
    let mut sv = [V16::zero(isa); TJ];
    for q in 0..TJ {
        let j = j0 + q;
        x[q] = &a[j * BLOCK_ROWS..(j + 1) * BLOCK_ROWS].as_chunks().0[..vectors];
        sv[q] = V16::splat(isa, shift[j]);
    }
    let mut acc = [[V16::zero(isa); TJ]; TI];
    for g in 0..vectors {
        let mut wv = [V16::zero(isa); TI];
        for p in 0..TI {
            wv[p] = V16::load(isa, &w[p][g]);
        }
        for q in 0..TJ {
            let xv = V16::load(isa, &x[q][g]).sub(sv[q]);
            for p in 0..TI {
                if lower::<DELTA>(p, q) {
                    acc[p][q] = wv[p].madd(xv, acc[p][q]);
                }
            }
        }
    }
    sums_of(isa, &acc)
}

/// The sums of a tile's accumulators, widened: sixteen at a time by [`V16::sums16`] (loops, not
/// closures: a closure would not inherit the target features, and these run at every tile).
#[inline(always)]
fn sums_of<I: Isa, const TI: usize, const TJ: usize>(
    isa: I,
    acc: &[[V16<I>; TJ]; TI],
) -> [[f64; TJ]; TI] {
    const { assert!(TI * TJ <= 32) };
    let mut all = [0.0; 32];
    for (e0, part) in (0..TI * TJ).step_by(16).zip(all.chunks_exact_mut(16)) {
        let mut v = [V16::zero(isa); 16];
        for (e, v) in v.iter_mut().enumerate() {
            if e0 + e < TI * TJ {
                *v = acc[(e0 + e) / TJ][(e0 + e) % TJ];
            }
        }
        let (lo, hi) = V16::sums16(v).widen();
        lo.store(part);
        hi.store(&mut part[8..]);
    }
    let mut sums = [[0.0; TJ]; TI];
    for (e, &a) in all[..TI * TJ].iter().enumerate() {
        sums[e / TJ][e % TJ] = a;
    }
    sums
}

/// [`scatter32`] of `wa = r (x - s)` against `x - s` without `wa` being stored, for `d` a
/// multiple of 4 below [`WIDE_D`](crate::blocks::WIDE_D): each 4 × 4 tile weights its four rows as it loads them
/// (`r (x - s)` rounded once, as the stored path rounds it: the same bits), and the tiles of
/// the first column also add `Σ_r wa_r` to `s1` `(d,)`.
#[inline(always)]
pub(super) fn weighted_scatter32<I: Isa>(
    isa: I,
    xo: &[f32],
    shift: &[f32],
    r: &[f32],
    r16: usize,
    s1: &mut [f64],
    out: &mut [f64],
) {
    let d = shift.len();
    debug_assert!(whole_small_tiles(d));
    for i0 in (0..d).step_by(4) {
        for j0 in (0..i0 + 4).step_by(4) {
            let args = (xo, shift, r, r16, i0, j0);
            let (t, s) = match (i0 - j0, j0) {
                (0, 0) => weighted_tile32::<I, 0, true>(isa, args),
                (0, _) => weighted_tile32::<I, 0, false>(isa, args),
                (_, 0) => weighted_tile32::<I, { isize::MAX }, true>(isa, args),
                _ => weighted_tile32::<I, { isize::MAX }, false>(isa, args),
            };
            add_tile(&t, &s, (i0, j0, d), s1, out);
        }
    }
}

/// One 4 × 4 tile of [`weighted_scatter32`] at `(xo, shift, r, r16, i0, j0)`: the tile's sums,
/// and with `FIRST` the sums of its four rows' `wa`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn weighted_tile32<I: Isa, const DELTA: isize, const FIRST: bool>(
    isa: I,
    (xo, shift, r, r16, i0, j0): (&[f32], &[f32], &[f32], usize, usize, usize),
) -> ([[f64; 4]; 4], [f64; 4]) {
    let vectors = r16 / L16;
    // Every operand as exactly `vectors` vectors: the bounds are checked here, once.
    let rg = &r.as_chunks::<L16>().0[..vectors];
    let mut xi: [&[[f32; L16]]; 4] = [&[]; 4];
    let mut xj: [&[[f32; L16]]; 4] = [&[]; 4];
    let mut si = [V16::zero(isa); 4];
    let mut sj = [V16::zero(isa); 4];
    for p in 0..4 {
        let (i, j) = (i0 + p, j0 + p);
        xi[p] = &xo[i * BLOCK_ROWS..(i + 1) * BLOCK_ROWS].as_chunks().0[..vectors];
        xj[p] = &xo[j * BLOCK_ROWS..(j + 1) * BLOCK_ROWS].as_chunks().0[..vectors];
        si[p] = V16::splat(isa, shift[i]);
        sj[p] = V16::splat(isa, shift[j]);
    }
    let mut acc = [[V16::zero(isa); 4]; 4];
    let mut s1 = [V16::zero(isa); 4];
    for g in 0..vectors {
        let rv = V16::load(isa, &rg[g]);
        let mut wv = [V16::zero(isa); 4];
        for p in 0..4 {
            wv[p] = rv.mul(V16::load(isa, &xi[p][g]).sub(si[p]));
            if FIRST {
                s1[p] = s1[p].add(wv[p]);
            }
        }
        for q in 0..4 {
            let xv = V16::load(isa, &xj[q][g]).sub(sj[q]);
            for p in 0..4 {
                if lower::<DELTA>(p, q) {
                    acc[p][q] = wv[p].madd(xv, acc[p][q]);
                }
            }
        }
    }
    let mut s1s = [0.0; 4];
    if FIRST {
        for p in 0..4 {
            s1s[p] = s1[p].sum();
        }
    }
    (sums_of(isa, &acc), s1s)
}
