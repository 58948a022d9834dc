//! Block kernels the matrix types share: a block centred on given means, and the lower
//! triangle of a weighted scatter matrix `Σ_r w_r (a_r - s)(a_r - s)ᵀ` in register tiles.

use crate::blocks::{BLOCK_ROWS, Block, WIDE_D};
use crate::math::LANES;
use crate::simd::{Isa, V8};

/// `dx[j * BLOCK_ROWS + r] = x_rj - m[j]` for the padded rows of `x` (feature-major, as a
/// [`Block`]).
#[inline(always)]
pub(crate) fn center<I: Isa>(isa: I, x: Block<'_>, m: &[f64], dx: &mut [f64]) {
    for (j, &mj) in m.iter().enumerate() {
        let mv = V8::splat(isa, mj);
        for r0 in (0..x.rows_p()).step_by(LANES) {
            x.lanes(isa, j, r0)
                .sub(mv)
                .store(&mut dx[j * BLOCK_ROWS + r0..]);
        }
    }
}

/// Symmetric-from-lower: copies the lower triangle of a `(d, d)` matrix to its upper triangle.
pub(crate) fn symmetrize_lower(a: &mut [f64], d: usize) {
    for i in 0..d {
        for j in 0..i {
            a[j * d + i] = a[i * d + j];
        }
    }
}

/// The lower triangle of `Σ_r wa_r (a_r - s)ᵀ` added into `out` `(d, d)` (`s` is `shift`, empty
/// for zero), in tiles of `TI × TJ` outputs ([`scatter_tile`]).
///
/// Tiles wholly above the diagonal are skipped and tiles across it leave out their upper
/// entries, so the work is half of a full product; ragged edge tiles go one entry at a time.
/// The offsets `i0 - j0` of tiles across the diagonal are those of 4 × 4 and 4 × 6 tiles.
#[inline(always)]
fn scatter_tiles<I: Isa, const TI: usize, const TJ: usize>(
    isa: I,
    a: Block<'_>,
    shift: &[f64],
    wa: Block<'_>,
    out: &mut [f64],
) {
    let d = a.n_features();
    let mut i0 = 0;
    while i0 < d {
        let ni = TI.min(d - i0);
        let mut j0 = 0;
        while j0 < i0 + ni {
            let nj = TJ.min(d - j0);
            if ni == TI && nj == TJ {
                // Tiles across the diagonal skip their upper entries (the offset `i0 - j0` is a
                // constant of the tile variant, so the skipped sums compile away).
                let t = match i0 as isize - j0 as isize {
                    -2 => scatter_tile::<I, TI, TJ, -2>(isa, a, shift, wa, i0, j0),
                    0 => scatter_tile::<I, TI, TJ, 0>(isa, a, shift, wa, i0, j0),
                    2 => scatter_tile::<I, TI, TJ, 2>(isa, a, shift, wa, i0, j0),
                    4 => scatter_tile::<I, TI, TJ, 4>(isa, a, shift, wa, i0, j0),
                    _ => scatter_tile::<I, TI, TJ, { isize::MAX }>(isa, a, shift, wa, i0, j0),
                };
                for (p, row) in t.iter().enumerate() {
                    for (q, &v) in row.iter().enumerate() {
                        if j0 + q <= i0 + p {
                            out[(i0 + p) * d + j0 + q] += v;
                        }
                    }
                }
            } else {
                // A ragged tile at the edge: one output at a time.
                for i in i0..i0 + ni {
                    for j in j0..(j0 + nj).min(i + 1) {
                        let mut acc = V8::zero(isa);
                        let sj = V8::splat(isa, if shift.is_empty() { 0.0 } else { shift[j] });
                        for r0 in (0..a.rows_p()).step_by(LANES) {
                            acc = wa.lanes(isa, i, r0).madd(a.lanes(isa, j, r0).sub(sj), acc);
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

/// Whether entry `(p, q)` of a tile with `i0 - j0 = DELTA` is on or below the diagonal.
#[inline(always)]
pub(crate) const fn lower<const DELTA: isize>(p: usize, q: usize) -> bool {
    DELTA == isize::MAX || q as isize <= p as isize + DELTA
}

/// One `TI × TJ` tile of [`scatter_tiles`]: `Σ_r wa[i0 + p]_r (a[j0 + q]_r - s[j0 + q])`, for
/// the entries on or below the diagonal when `DELTA = i0 - j0` (zero above it); `isize::MAX`
/// for a tile wholly below the diagonal.
#[inline(always)]
fn scatter_tile<I: Isa, const TI: usize, const TJ: usize, const DELTA: isize>(
    isa: I,
    a: Block<'_>,
    shift: &[f64],
    wa: Block<'_>,
    i0: usize,
    j0: usize,
) -> [[f64; TJ]; TI] {
    let groups = a.rows_p() / LANES;
    // Each operand row as exactly `groups` lane groups: the bounds are checked here, once, and
    // the loop's loads need no checks (a check in the loop would also pin the accumulators to
    // memory for its panic path).
    let mut w: [&[[f64; LANES]]; TI] = [&[]; TI];
    for p in 0..TI {
        w[p] = &wa.feature(i0 + p).as_chunks().0[..groups];
    }
    let mut x: [&[[f64; LANES]]; TJ] = [&[]; TJ];
    for q in 0..TJ {
        x[q] = &a.feature(j0 + q).as_chunks().0[..groups];
    }
    let mut sv = [V8::zero(isa); TJ];
    if !shift.is_empty() {
        for q in 0..TJ {
            sv[q] = V8::splat(isa, shift[j0 + q]);
        }
    }
    let mut acc = [[V8::zero(isa); TJ]; TI];
    for g in 0..groups {
        let mut wv = [V8::zero(isa); TI];
        for p in 0..TI {
            wv[p] = V8::load(isa, &w[p][g]);
        }
        for q in 0..TJ {
            let xv = V8::load(isa, &x[q][g]).sub(sv[q]);
            for p in 0..TI {
                if lower::<DELTA>(p, q) {
                    acc[p][q] = wv[p].madd(xv, acc[p][q]);
                }
            }
        }
    }
    let mut sums = [[0.0; TJ]; TI];
    for p in 0..TI {
        for q in 0..TJ {
            if lower::<DELTA>(p, q) {
                sums[p][q] = acc[p][q].sum();
            }
        }
    }
    sums
}

/// Adds the weighted scatter `Σ_r wa_r (a_r - s)ᵀ` of two blocks into the lower triangle of
/// `out` `(d, d)`, where `wa_rj = w_r (a_rj - s_j)` and `s` is `shift` (empty for zero).
///
/// [`scatter_tiles`] of 4 × 4 outputs for small `d` (sixteen lane vectors, eight loads per
/// sixteen multiply-adds), of 4 × 6 for larger `d` (24 lane vectors, ten loads per 24
/// multiply-adds); the loads of `a` are centred as they are loaded.
#[inline(always)]
pub(crate) fn add_scatter<I: Isa>(
    isa: I,
    a: Block<'_>,
    shift: &[f64],
    wa: Block<'_>,
    out: &mut [f64],
) {
    if a.n_features() >= WIDE_D {
        scatter_tiles::<I, 4, 6>(isa, a, shift, wa, out);
    } else {
        scatter_tiles::<I, 4, 4>(isa, a, shift, wa, out);
    }
}

/// Whether [`add_weighted_scatter`] applies: `d` a multiple of 4 below [`WIDE_D`] (whole 4 × 4
/// tiles, no ragged edge).
#[inline(always)]
pub(crate) fn whole_small_tiles(d: usize) -> bool {
    d.is_multiple_of(4) && d < WIDE_D
}

/// [`add_scatter`] of `wa = r (x - s)` against `x - s` without `wa` ever being stored: each
/// 4 × 4 tile weights its four rows as it loads them, and the tiles of the first column also
/// add `Σ_r wa_r` to `s1` `(d,)`. For [`whole_small_tiles`] dimensions.
///
/// The same operations in the same order as writing `wa` and then calling [`add_scatter`]
/// (`r (x - s)` rounded once, each sum over the lane groups in order), so the same bits.
#[inline(always)]
pub(crate) fn add_weighted_scatter<I: Isa>(
    isa: I,
    x: Block<'_>,
    shift: &[f64],
    r: &[f64],
    s1: &mut [f64],
    out: &mut [f64],
) {
    let d = x.n_features();
    debug_assert!(whole_small_tiles(d));
    for i0 in (0..d).step_by(4) {
        for j0 in (0..i0 + 4).step_by(4) {
            let (t, s) = match (i0 - j0, j0) {
                (0, 0) => weighted_tile::<I, 0, true>(isa, x, shift, r, i0, j0),
                (0, _) => weighted_tile::<I, 0, false>(isa, x, shift, r, i0, j0),
                (_, 0) => weighted_tile::<I, { isize::MAX }, true>(isa, x, shift, r, i0, j0),
                _ => weighted_tile::<I, { isize::MAX }, false>(isa, x, shift, r, i0, j0),
            };
            add_tile(&t, &s, (i0, j0, d), s1, out);
        }
    }
}

/// Adds a 4 × 4 tile of weighted scatter at `(i0, j0)` of `d` features into the lower triangle of `out`
/// (`d × d`, row-major), and, for the tiles of the first column (`j0 = 0`), its rows' sums `s`
/// into `s1`.
#[inline(always)]
pub(super) fn add_tile(
    t: &[[f64; 4]; 4],
    s: &[f64; 4],
    (i0, j0, d): (usize, usize, usize),
    s1: &mut [f64],
    out: &mut [f64],
) {
    for (p, row) in t.iter().enumerate() {
        for (q, &v) in row.iter().enumerate() {
            if j0 + q <= i0 + p {
                out[(i0 + p) * d + j0 + q] += v;
            }
        }
    }
    if j0 == 0 {
        for (p, &v) in s.iter().enumerate() {
            s1[i0 + p] += v;
        }
    }
}

/// One 4 × 4 tile of [`add_weighted_scatter`]: the tile's sums, and with `FIRST` the sums of
/// its four rows' `wa`.
#[inline(always)]
fn weighted_tile<I: Isa, const DELTA: isize, const FIRST: bool>(
    isa: I,
    x: Block<'_>,
    shift: &[f64],
    r: &[f64],
    i0: usize,
    j0: usize,
) -> ([[f64; 4]; 4], [f64; 4]) {
    let groups = x.rows_p() / LANES;
    // Every operand as exactly `groups` lane groups: the bounds are checked here, once.
    let rg = &r.as_chunks::<LANES>().0[..groups];
    let mut xi: [&[[f64; LANES]]; 4] = [&[]; 4];
    let mut xj: [&[[f64; LANES]]; 4] = [&[]; 4];
    let mut si = [V8::zero(isa); 4];
    let mut sj = [V8::zero(isa); 4];
    for p in 0..4 {
        xi[p] = &x.feature(i0 + p).as_chunks().0[..groups];
        xj[p] = &x.feature(j0 + p).as_chunks().0[..groups];
        si[p] = V8::splat(isa, shift[i0 + p]);
        sj[p] = V8::splat(isa, shift[j0 + p]);
    }
    let mut acc = [[V8::zero(isa); 4]; 4];
    let mut s1 = [V8::zero(isa); 4];
    for g in 0..groups {
        let rv = V8::load(isa, &rg[g]);
        let mut wv = [V8::zero(isa); 4];
        for p in 0..4 {
            wv[p] = rv.mul(V8::load(isa, &xi[p][g]).sub(si[p]));
            if FIRST {
                s1[p] = s1[p].add(wv[p]);
            }
        }
        for q in 0..4 {
            let xv = V8::load(isa, &xj[q][g]).sub(sj[q]);
            for p in 0..4 {
                if lower::<DELTA>(p, q) {
                    acc[p][q] = wv[p].madd(xv, acc[p][q]);
                }
            }
        }
    }
    let mut sums = [[0.0; 4]; 4];
    for p in 0..4 {
        for q in 0..4 {
            if lower::<DELTA>(p, q) {
                sums[p][q] = acc[p][q].sum();
            }
        }
    }
    let mut s1s = [0.0; 4];
    if FIRST {
        for p in 0..4 {
            s1s[p] = s1[p].sum();
        }
    }
    (sums, s1s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_scatter_has_the_bits_of_storing_the_weighted_rows() {
        let ld = BLOCK_ROWS;
        let isa = crate::simd::Base;
        for d in [4, 8, 12, 16, 20] {
            assert!(whole_small_tiles(d));
            for rows_p in [8, 40, ld] {
                let a: Vec<f64> = (0..d * ld)
                    .map(|i| ((i * 7919 % 1013) as f64) / 97.0 - 5.0)
                    .collect();
                let r: Vec<f64> = (0..ld).map(|i| ((i * 31 % 17) as f64) / 13.0).collect();
                let shift: Vec<f64> = (0..d).map(|j| 0.37 * j as f64 - 1.1).collect();
                // The reference: `wa = r (a - s)` written out, its sums, then `add_scatter`.
                let mut wa = vec![0.0; d * ld];
                let mut want_s1 = vec![0.5; d];
                for j in 0..d {
                    let mut acc = V8::zero(isa);
                    for r0 in (0..rows_p).step_by(LANES) {
                        let w = V8::load(isa, &r[r0..]).mul(
                            Block::new(&a, rows_p)
                                .lanes(isa, j, r0)
                                .sub(V8::splat(isa, shift[j])),
                        );
                        w.store(&mut wa[j * ld + r0..]);
                        acc = acc.add(w);
                    }
                    want_s1[j] += acc.sum();
                }
                let mut want = vec![1.0; d * d];
                add_scatter(
                    isa,
                    Block::new(&a, rows_p),
                    &shift,
                    Block::new(&wa, rows_p),
                    &mut want,
                );
                let mut got_s1 = vec![0.5; d];
                let mut got = vec![1.0; d * d];
                add_weighted_scatter(
                    isa,
                    Block::new(&a, rows_p),
                    &shift,
                    &r,
                    &mut got_s1,
                    &mut got,
                );
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "d={d} rows={rows_p}");
                assert_eq!(bits(&got_s1), bits(&want_s1), "d={d} rows={rows_p}");
                // And it is the scatter: the upper triangle untouched, the lower one summed.
                let (i, j) = (d - 1, d / 2);
                let direct: f64 = (0..rows_p)
                    .map(|q| r[q] * (a[i * ld + q] - shift[i]) * (a[j * ld + q] - shift[j]))
                    .sum();
                assert!((got[i * d + j] - 1.0 - direct).abs() < 1e-9 * direct.abs().max(1.0));
                assert_eq!(got[j * d + i], 1.0);
            }
        }
    }

    #[test]
    fn scatter_kernels_match_the_definition() {
        let ld = BLOCK_ROWS;
        // 4 × 4 tiles (d < WIDE_D) and 4 × 6 tiles, with ragged edge tiles (25, 30, 33),
        // with and without a shift.
        for d in [3, 5, 25, 30, 32, 33, 64] {
            for rows_p in [8, 40, ld] {
                for shifted in [false, true] {
                    let a: Vec<f64> = (0..d * ld).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
                    let w: Vec<f64> = (0..ld).map(|r| (r % 5) as f64 * 0.25).collect();
                    let shift: Vec<f64> = if shifted {
                        (0..d).map(|j| 0.5 * j as f64 - 3.0).collect()
                    } else {
                        Vec::new()
                    };
                    let s = |j: usize| if shifted { shift[j] } else { 0.0 };
                    let mut wa = vec![0.0; d * ld];
                    for j in 0..d {
                        for r in 0..ld {
                            wa[j * ld + r] = w[r] * (a[j * ld + r] - s(j));
                        }
                    }
                    let mut out = vec![1.0; d * d];
                    let isa = crate::simd::Base;
                    add_scatter(
                        isa,
                        Block::new(&a, rows_p),
                        &shift,
                        Block::new(&wa, rows_p),
                        &mut out,
                    );
                    for i in 0..d {
                        for j in 0..d {
                            let want = if j <= i {
                                1.0 + (0..rows_p)
                                    .map(|r| w[r] * (a[i * ld + r] - s(i)) * (a[j * ld + r] - s(j)))
                                    .sum::<f64>()
                            } else {
                                1.0 // the upper triangle is left alone
                            };
                            assert!(
                                (out[i * d + j] - want).abs() < 1e-9 * want.abs().max(1.0),
                                "d={d} rows={rows_p} shifted={shifted} ({i},{j})"
                            );
                        }
                    }
                }
            }
        }
    }
}
