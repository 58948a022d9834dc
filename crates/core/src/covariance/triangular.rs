//! Products of a block of rows with an upper triangular factor `U`, `Y = X U`: the heart of
//! the matrix types' E-steps (`‖(x - μ) U‖²` for `full`, the transform `z = (x - c) U` for
//! `tied`).
//!
//! Three shapes, by dimension: a lane group's features in registers with one column of `Y` at a
//! time ([`upper_column`]) below [`WIDE_D`]; register tiles of the triangular product
//! ([`mahalanobis_tiled`]) for `full` from [`WIDE_D`] on; faer's triangular product
//! ([`upper_product`]) for `tied` from [`WIDE_D`] on.

use crate::blocks::{BLOCK_ROWS, Block, WIDE_D};
use crate::math::LANES;
use crate::simd::{Isa, V8};

/// Column `j` of `Y = X U` for one lane group: `y_j = Σ_{l ≤ j} x_l U[l, j]` (`U` upper
/// triangular, `(d, d)` row-major), multiply-adds in the order of `l`.
#[inline(always)]
pub(crate) fn upper_column<I: Isa>(x: &[V8<I>], u: &[f64], d: usize, j: usize) -> V8<I> {
    let isa = x[0].isa();
    let mut y = V8::zero(isa);
    for l in 0..j + 1 {
        y = x[l].madd(V8::splat(isa, u[l * d + j]), y);
    }
    y
}

/// `q[r] = ‖(x_r - μ) U‖²` for the padded rows of a block, `U` upper triangular, `d < WIDE_D`
/// (the rows of a lane group centred as they are loaded, in registers: the centred block is
/// never stored, which cost more than the arithmetic on machines with two FMA pipes).
#[inline(always)]
pub(crate) fn mahalanobis_upper<I: Isa>(
    isa: I,
    x: Block<'_>,
    mu: &[f64],
    u: &[f64],
    q: &mut [f64],
) {
    let d = x.n_features();
    debug_assert!(d < WIDE_D);
    let mut m = [V8::zero(isa); WIDE_D];
    for l in 0..d {
        m[l] = V8::splat(isa, mu[l]);
    }
    for r0 in (0..x.rows_p()).step_by(LANES) {
        let mut xc = [V8::zero(isa); WIDE_D];
        for l in 0..d {
            xc[l] = x.lanes(isa, l, r0).sub(m[l]);
        }
        let mut acc = V8::zero(isa);
        for j in 0..d {
            let y = upper_column(&xc, u, d, j);
            acc = y.madd(y, acc);
        }
        acc.store(&mut q[r0..]);
    }
}

/// `q[r] = ‖(x_r - μ) U‖²` for the padded rows of a block, for larger `d` (`up`: `U` with rows
/// padded to `dp = d` rounded up to [`LANES`], zeros past column `d`).
///
/// Register tiles of 24 rows × 8 columns of `(x - μ) U`: per feature `l`, three row vectors
/// (centred as they are loaded) and eight broadcast entries of `U` feed 24 multiply-adds. Only
/// the features `l < j0 + 8` that reach a column tile `j0..j0 + 8` are read (`U` is upper
/// triangular), so the product costs about half of a full one; the tile's columns are squared
/// into `q` as soon as they are complete, and `(x - μ) U` is never stored.
#[inline(always)]
pub(crate) fn mahalanobis_tiled<I: Isa>(
    isa: I,
    x: Block<'_>,
    mu: &[f64],
    up: &[f64],
    q: &mut [f64],
) {
    let groups = x.rows_p() / LANES;
    let mut g = 0;
    while g + 3 <= groups {
        mahalanobis_tile::<I, 3>(isa, x, mu, up, g * LANES, q);
        g += 3;
    }
    match groups - g {
        2 => mahalanobis_tile::<I, 2>(isa, x, mu, up, g * LANES, q),
        1 => mahalanobis_tile::<I, 1>(isa, x, mu, up, g * LANES, q),
        _ => {}
    }
}

/// A tile's position: the `RT` lane groups of rows from `r0`, the column tile from `j0`, and the
/// padded width `dp` of `U`'s rows.
#[derive(Clone, Copy)]
struct Tile {
    r0: usize,
    j0: usize,
    dp: usize,
}

/// [`mahalanobis_tiled`] for the `RT` lane groups of rows from `r0`.
#[inline(always)]
fn mahalanobis_tile<I: Isa, const RT: usize>(
    isa: I,
    x: Block<'_>,
    mu: &[f64],
    up: &[f64],
    r0: usize,
    q: &mut [f64],
) {
    let d = x.n_features();
    let dp = d.next_multiple_of(LANES);
    let mut qa = [V8::zero(isa); RT];
    let mut j0 = 0;
    while j0 < dp {
        let tile = Tile { r0, j0, dp };
        let mut acc = [[V8::zero(isa); LANES]; RT];
        // Features before the tile reach all its columns; feature j0 + c0 only the columns from
        // c0 on (U is upper triangular), so the diagonal block skips its zeros.
        for l in 0..j0 {
            tile_feature::<I, RT, 0>(isa, x, mu, up, tile, l, &mut acc);
        }
        macro_rules! diagonal {
            ($($c0:literal)*) => {$(
                if j0 + $c0 < d {
                    tile_feature::<I, RT, $c0>(isa, x, mu, up, tile, j0 + $c0, &mut acc);
                }
            )*};
        }
        diagonal!(0 1 2 3 4 5 6 7);
        for t in 0..RT {
            for c in 0..LANES {
                qa[t] = acc[t][c].madd(acc[t][c], qa[t]);
            }
        }
        j0 += LANES;
    }
    for t in 0..RT {
        qa[t].store(&mut q[r0 + t * LANES..]);
    }
}

/// One feature `l` of a [`mahalanobis_tile`]: `acc[t][c] += (x_l - μ_l) U[l, j0 + c]` for the
/// columns `c >= C0`.
#[inline(always)]
fn tile_feature<I: Isa, const RT: usize, const C0: usize>(
    isa: I,
    x: Block<'_>,
    mu: &[f64],
    up: &[f64],
    tile: Tile,
    l: usize,
    acc: &mut [[V8<I>; LANES]; RT],
) {
    let Tile { r0, j0, dp } = tile;
    let m = V8::splat(isa, mu[l]);
    let row = &x.feature(l)[r0..r0 + RT * LANES];
    // (A loop, not `array::from_fn`: a closure would not inherit the target features.)
    let mut xs = [V8::zero(isa); RT];
    for t in 0..RT {
        xs[t] = V8::load(isa, &row[t * LANES..]).sub(m);
    }
    let ur: &[f64; LANES] = up[l * dp + j0..l * dp + j0 + LANES].try_into().unwrap();
    for c in C0..LANES {
        let b = V8::splat(isa, ur[c]);
        for t in 0..RT {
            acc[t][c] = xs[t].madd(b, acc[t][c]);
        }
    }
}

/// `Y = D U` for a block `D` and an upper triangular `U`, written feature-major to `y` (as a
/// block), through faer's triangular product.
///
/// `D` is viewed as a `(rows, d)` column-major matrix (the block's layout), and the destination
/// too: faer 0.24.4 computes wrong values (and corrupts the heap) when writing a row-major
/// destination on AVX-512 machines.
pub(crate) fn upper_product(dx: Block<'_>, u: &[f64], y: &mut [f64]) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul};
    let (rows_p, d) = (dx.rows_p(), dx.n_features());
    let lhs = faer::MatRef::from_column_major_slice_with_stride(dx.data(), rows_p, d, BLOCK_ROWS);
    let rhs = faer::MatRef::from_row_major_slice(u, d, d);
    let dst = faer::MatMut::from_column_major_slice_with_stride_mut(y, rows_p, d, BLOCK_ROWS);
    matmul(
        dst,
        BlockStructure::Rectangular,
        faer::Accum::Replace,
        lhs,
        BlockStructure::Rectangular,
        rhs,
        BlockStructure::TriangularUpper,
        1.0,
        faer::Par::Seq,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::scatter::center;
    use crate::simd::Base;

    #[test]
    fn mahalanobis_kernels_match_the_definition() {
        let ld = BLOCK_ROWS;
        let isa = Base;
        // Small d (register kernel) and large d (tiled kernel: full, partial and single column
        // tiles; 1, 2 and 3 lane groups left over).
        for d in [3, 17, 24, 25, 33, 64] {
            for rows_p in [8, 16, 24, 40, ld] {
                let xt: Vec<f64> = (0..d * ld).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
                let x = Block::new(&xt, rows_p);
                let mu: Vec<f64> = (0..d).map(|j| 0.25 * j as f64 - 1.0).collect();
                let mut u = vec![0.0; d * d];
                for i in 0..d {
                    for j in i..d {
                        u[i * d + j] = 1.0 / (1.0 + (i + 2 * j) as f64);
                    }
                }
                let mut q = vec![0.0; ld];
                if d < WIDE_D {
                    mahalanobis_upper(isa, x, &mu, &u, &mut q);
                } else {
                    let dp = d.next_multiple_of(LANES);
                    let mut up = vec![0.0; d * dp];
                    for l in 0..d {
                        up[l * dp..l * dp + d].copy_from_slice(&u[l * d..(l + 1) * d]);
                    }
                    mahalanobis_tiled(isa, x, &mu, &up, &mut q);
                }
                for r in 0..rows_p {
                    let want: f64 = (0..d)
                        .map(|j| {
                            (0..=j)
                                .map(|l| (xt[l * ld + r] - mu[l]) * u[l * d + j])
                                .sum::<f64>()
                                .powi(2)
                        })
                        .sum();
                    assert!((q[r] - want).abs() < 1e-9 * want.max(1.0), "d={d} r={r}");
                }
                // faer's product gives the same Y = (x - μ) U.
                let mut dx = vec![0.0; d * ld];
                center(isa, x, &mu, &mut dx);
                let mut y = vec![0.0; d * ld];
                upper_product(Block::new(&dx, rows_p), &u, &mut y);
                for r in (0..rows_p).step_by(7) {
                    let qr: f64 = (0..d).map(|j| y[j * ld + r].powi(2)).sum();
                    assert!((qr - q[r]).abs() < 1e-9 * q[r].max(1.0), "faer d={d} r={r}");
                }
            }
        }
    }
}
