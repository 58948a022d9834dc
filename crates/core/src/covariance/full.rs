//! `full`: each component has its own covariance `Σ_k`, held as the upper triangular precision
//! Cholesky factor `U_k` (`U_k U_kᵀ = Σ_k⁻¹`).
//!
//! E-step: `log N(x | μ_k, Σ_k) = -½ (d log 2π + ‖(x - μ_k) U_k‖²) + Σ_j log U_k[j, j]`, the
//! product taken for a whole block of rows at once (a triangular loop over lanes of rows, in
//! registers, for small `d`; register tiles of the triangular product for larger `d`).
//!
//! Statistics about shifts `s_k`: `S1_k = Σ r (x - s_k)`, `S2_k = Σ r (x - s_k)(x - s_k)ᵀ`.
//! M-step, with `e_k = μ'_k - s_k`: `Σ_k = (S2_k - S1_k e_kᵀ - e_k S1_kᵀ + N_k e_k e_kᵀ) / N'_k
//! + reg_covar I`, which is scikit-learn's `Σ r (x - μ')(x - μ')ᵀ / N'` without its cancellation.

use super::{
    FAER_MIN_D, Kernel, LN_2PI, Params, Shift, StepInfo, Sums, add_scatter, center,
    symmetrize_lower, with_dim,
};
use crate::error::Result;
use crate::linalg;
use crate::math;
use crate::math::LANES;
use crate::simd::{Isa, V8};

pub(crate) struct Full;

pub(crate) struct Prepared {
    k: usize,
    d: usize,
    /// `(K, d, d)`, upper triangular.
    u: Vec<f64>,
    /// For `d >= FAER_MIN_D`: `U` with its rows padded to `dp = d` rounded up to [`LANES`]
    /// (zeros past column `d`), `(K, d, dp)`, for [`mahalanobis_tiled`]; empty otherwise.
    up: Vec<f64>,
    means: Vec<f64>,
    /// `log w_k - d/2 log 2π + Σ_j log U_k[j, j]`.
    cst: Vec<f64>,
}

/// An upper triangular factor of `U Uᵀ`, for factors given in another form (from a model file).
pub(crate) fn upper_factor(u: &[f64], d: usize) -> Vec<f64> {
    if linalg::is_upper_triangular(u, d) {
        return u.to_vec();
    }
    let p = linalg::gram(u, d);
    // `u` was validated as a factor of a positive definite precision; keep it if that fails.
    linalg::precision_cholesky_from_precision(&p, d).unwrap_or_else(|| u.to_vec())
}

/// `Y = D U` for a feature-major block `D` (`dx[j * ld + r]`, `d` features, `rows_p` rows) and an
/// upper triangular `U`, written feature-major to `y`, through faer's triangular product.
///
/// D is viewed as a `(rows, d)` column-major matrix (the block's layout), and the destination
/// too: faer 0.24.4 computes wrong values (and corrupts the heap) when writing a row-major
/// destination on AVX-512 machines.
pub(crate) fn upper_product(
    dx: &[f64],
    u: &[f64],
    ld: usize,
    rows_p: usize,
    d: usize,
    y: &mut [f64],
) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul};
    let lhs = faer::MatRef::from_column_major_slice_with_stride(dx, rows_p, d, ld);
    let rhs = faer::MatRef::from_row_major_slice(u, d, d);
    let dst = faer::MatMut::from_column_major_slice_with_stride_mut(y, rows_p, d, ld);
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

/// `q[r] = ‖dx_r U‖²` for the padded rows of a centred feature-major block, `U` upper
/// triangular, `d < FAER_MIN_D` (the centred rows of a lane group in registers).
#[inline(always)]
pub(crate) fn mahalanobis_upper<I: Isa>(
    dx: &[f64],
    u: &[f64],
    ld: usize,
    rows_p: usize,
    d: usize,
    q: &mut [f64],
) {
    debug_assert!(d < FAER_MIN_D);
    for r0 in (0..rows_p).step_by(LANES) {
        let mut x = [V8::<I>::zero(); FAER_MIN_D];
        for l in 0..d {
            x[l] = V8::<I>::load(&dx[l * ld + r0..]);
        }
        let mut acc = V8::<I>::zero();
        for j in 0..d {
            let mut yv = V8::<I>::zero();
            for l in 0..j + 1 {
                yv = x[l].madd(V8::<I>::splat(u[l * d + j]), yv);
            }
            acc = yv.madd(yv, acc);
        }
        acc.store(&mut q[r0..]);
    }
}

/// `q[r] = ‖(x_r - μ) U‖²` for the padded rows of a feature-major block, for larger `d`
/// (`up`: `U` with rows padded to `dp`, see [`Prepared::up`]).
///
/// Register tiles of 24 rows × 8 columns of `(x - μ) U`: per feature `l`, three row vectors
/// (centred as they are loaded) and eight broadcast entries of `U` feed 24 multiply-adds. Only
/// the features `l < j0 + 8` that reach a column tile `j0..j0 + 8` are read (`U` is upper
/// triangular), so the product costs about half of a full one; the tile's columns are squared
/// into `q` as soon as they are complete, and `(x - μ) U` is never stored.
#[inline(always)]
pub(crate) fn mahalanobis_tiled<I: Isa>(
    xt: &[f64],
    mu: &[f64],
    up: &[f64],
    ld: usize,
    rows_p: usize,
    d: usize,
    q: &mut [f64],
) {
    let groups = rows_p / LANES;
    let mut g = 0;
    while g + 3 <= groups {
        mahalanobis_tile::<I, 3>(xt, mu, up, ld, g * LANES, d, q);
        g += 3;
    }
    match groups - g {
        2 => mahalanobis_tile::<I, 2>(xt, mu, up, ld, g * LANES, d, q),
        1 => mahalanobis_tile::<I, 1>(xt, mu, up, ld, g * LANES, d, q),
        _ => {}
    }
}

/// [`mahalanobis_tiled`] for the `RT` lane groups of rows from `r0`.
#[inline(always)]
fn mahalanobis_tile<I: Isa, const RT: usize>(
    xt: &[f64],
    mu: &[f64],
    up: &[f64],
    ld: usize,
    r0: usize,
    d: usize,
    q: &mut [f64],
) {
    let dp = d.next_multiple_of(LANES);
    let mut qa = [V8::<I>::zero(); RT];
    let mut j0 = 0;
    while j0 < dp {
        let mut acc = [[V8::<I>::zero(); LANES]; RT];
        // Features before the tile reach all its columns; feature j0 + c0 only the columns from
        // c0 on (U is upper triangular), so the diagonal block skips its zeros.
        for l in 0..j0 {
            tile_feature::<I, RT, 0>(xt, mu, up, ld, r0, dp, j0, l, &mut acc);
        }
        macro_rules! diagonal {
            ($($c0:literal)*) => {$(
                if j0 + $c0 < d {
                    tile_feature::<I, RT, $c0>(xt, mu, up, ld, r0, dp, j0, j0 + $c0, &mut acc);
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
#[allow(clippy::too_many_arguments)]
fn tile_feature<I: Isa, const RT: usize, const C0: usize>(
    xt: &[f64],
    mu: &[f64],
    up: &[f64],
    ld: usize,
    r0: usize,
    dp: usize,
    j0: usize,
    l: usize,
    acc: &mut [[V8<I>; LANES]; RT],
) {
    let m = V8::<I>::splat(mu[l]);
    let row = &xt[l * ld + r0..l * ld + r0 + RT * LANES];
    // (A loop, not `array::from_fn`: a closure would not inherit the target features.)
    let mut xs = [V8::<I>::zero(); RT];
    for t in 0..RT {
        xs[t] = V8::<I>::load(&row[t * LANES..]).sub(m);
    }
    let ur: &[f64; LANES] = up[l * dp + j0..l * dp + j0 + LANES].try_into().unwrap();
    for c in C0..LANES {
        let b = V8::<I>::splat(ur[c]);
        for t in 0..RT {
            acc[t][c] = xs[t].madd(b, acc[t][c]);
        }
    }
}

/// The E-step for a small constant dimension: the centred rows of a lane group stay in registers
/// while the triangular product runs.
#[inline(always)]
fn log_prob_small<const D: usize, I: Isa>(
    prep: &Prepared,
    xt: &[f64],
    ld: usize,
    rows_p: usize,
    out: &mut [f64],
) {
    for r0 in (0..rows_p).step_by(LANES) {
        for c in 0..prep.k {
            let mu = &prep.means[c * D..(c + 1) * D];
            let u = &prep.u[c * D * D..(c + 1) * D * D];
            let mut dx = [V8::<I>::zero(); D];
            for l in 0..D {
                dx[l] = V8::<I>::load(&xt[l * ld + r0..]).sub(V8::<I>::splat(mu[l]));
            }
            let mut q = V8::<I>::zero();
            for j in 0..D {
                let mut y = V8::<I>::zero();
                for l in 0..j + 1 {
                    y = dx[l].madd(V8::<I>::splat(u[l * D + j]), y);
                }
                q = y.madd(y, q);
            }
            q.madd(V8::<I>::splat(-0.5), V8::<I>::splat(prep.cst[c]))
                .store(&mut out[c * ld + r0..]);
        }
    }
}

/// The statistics for a small constant dimension, every sum in lane registers over the block.
#[inline(always)]
fn accumulate_small<const D: usize, I: Isa>(
    shift: &Shift,
    xt: &[f64],
    ld: usize,
    rows_p: usize,
    resp: &[f64],
    sums: &mut Sums,
    k: usize,
) {
    for c in 0..k {
        let s = &shift.shift[c * D..(c + 1) * D];
        let mut n = V8::<I>::zero();
        let mut s1 = [V8::<I>::zero(); D];
        let mut s2 = [[V8::<I>::zero(); D]; D];
        for r0 in (0..rows_p).step_by(LANES) {
            let r = V8::<I>::load(&resp[c * ld + r0..]);
            n = n.add(r);
            let mut dx = [V8::<I>::zero(); D];
            for l in 0..D {
                dx[l] = V8::<I>::load(&xt[l * ld + r0..]).sub(V8::<I>::splat(s[l]));
            }
            for i in 0..D {
                let w = r.mul(dx[i]);
                s1[i] = s1[i].add(w);
                for j in 0..i + 1 {
                    s2[i][j] = w.madd(dx[j], s2[i][j]);
                }
            }
        }
        sums.nk[c] += n.sum();
        for i in 0..D {
            sums.s1[c * D + i] += s1[i].sum();
            for j in 0..i + 1 {
                sums.s2[c * D * D + i * D + j] += s2[i][j].sum();
            }
        }
    }
}

impl Kernel for Full {
    const TYPE: super::CovarianceType = super::CovarianceType::Full;
    type Prepared = Prepared;

    fn prepare(p: &Params) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let mut u = Vec::with_capacity(k * d * d);
        let mut cst = Vec::with_capacity(k);
        for c in 0..k {
            let uc = upper_factor(&p.precisions_cholesky[c * d * d..(c + 1) * d * d], d);
            let log_det: f64 = (0..d).map(|j| uc[j * d + j].ln()).sum();
            cst.push(p.weights[c].ln() - 0.5 * d as f64 * LN_2PI + log_det);
            u.extend_from_slice(&uc);
        }
        let up = if d >= FAER_MIN_D {
            let dp = d.next_multiple_of(LANES);
            let mut up = vec![0.0; k * d * dp];
            for (dst, src) in up.chunks_exact_mut(dp).zip(u.chunks_exact(d)) {
                dst[..d].copy_from_slice(src);
            }
            up
        } else {
            Vec::new()
        };
        Prepared {
            k,
            d,
            u,
            up,
            means: p.means.clone(),
            cst,
        }
    }

    fn work_len(_k: usize, d: usize) -> usize {
        d * crate::blocks::BLOCK_ROWS
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        prep: &Prepared,
        xt: &[f64],
        ld: usize,
        rows: usize,
        out: &mut [f64],
        work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let rows_p = crate::blocks::padded(rows);
        with_dim!(d, D => log_prob_small::<D, I>(prep, xt, ld, rows_p, out), _ => {
            let dx = &mut work[..d * ld];
            let dp = d.next_multiple_of(LANES);
            for c in 0..k {
                let o = &mut out[c * ld..c * ld + ld];
                if d >= FAER_MIN_D {
                    let up = &prep.up[c * d * dp..(c + 1) * d * dp];
                    mahalanobis_tiled::<I>(xt, &prep.means[c * d..(c + 1) * d], up, ld, rows_p, d, o);
                } else {
                    center::<I>(xt, &prep.means[c * d..(c + 1) * d], ld, rows_p, dx);
                    mahalanobis_upper::<I>(dx, &prep.u[c * d * d..(c + 1) * d * d], ld, rows_p, d, o);
                }
                let cst = V8::<I>::splat(prep.cst[c]);
                for r0 in (0..rows_p).step_by(LANES) {
                    V8::<I>::load(&o[r0..]).madd(V8::<I>::splat(-0.5), cst).store(&mut o[r0..]);
                }
            }
        })
    }

    #[inline(always)]
    fn accumulate<I: Isa>(
        shift: &Shift,
        xt: &[f64],
        ld: usize,
        rows: usize,
        resp: &[f64],
        sums: &mut Sums,
        work: &mut [f64],
        k: usize,
        d: usize,
    ) {
        let rows_p = crate::blocks::padded(rows);
        if d <= 4 {
            with_dim!(d, D => accumulate_small::<D, I>(shift, xt, ld, rows_p, resp, sums, k), _ => unreachable!());
            return;
        }
        let wdx = &mut work[..d * ld];
        for c in 0..k {
            let rk = &resp[c * ld..c * ld + rows_p];
            let s = &shift.shift[c * d..(c + 1) * d];
            sums.nk[c] += math::sum(rk);
            // wdx = r (x - s), and S1.
            for j in 0..d {
                let sj = V8::<I>::splat(s[j]);
                let mut s1 = V8::<I>::zero();
                let mut r0 = 0;
                while r0 < rows_p {
                    let v = V8::<I>::load(&xt[j * ld + r0..]).sub(sj);
                    let w = V8::<I>::load(&rk[r0..]).mul(v);
                    w.store(&mut wdx[j * ld + r0..]);
                    s1 = s1.add(w);
                    r0 += LANES;
                }
                sums.s1[c * d + j] += s1.sum();
            }
            let s2 = &mut sums.s2[c * d * d..(c + 1) * d * d];
            add_scatter::<I>(xt, s, wdx, ld, rows_p, d, s2);
        }
    }

    fn covariances(
        sums: &Sums,
        _shift: &Shift,
        nk: &[f64],
        e: &[f64],
        reg_covar: f64,
        k: usize,
        d: usize,
    ) -> Vec<f64> {
        let mut cov = vec![0.0; k * d * d];
        for c in 0..k {
            let s2 = &sums.s2[c * d * d..(c + 1) * d * d];
            let s1 = &sums.s1[c * d..(c + 1) * d];
            let ec = &e[c * d..(c + 1) * d];
            let n = sums.nk[c];
            let out = &mut cov[c * d * d..(c + 1) * d * d];
            for i in 0..d {
                for j in 0..i + 1 {
                    let v = s2[i * d + j] - s1[i] * ec[j] - ec[i] * s1[j] + n * ec[i] * ec[j];
                    out[i * d + j] = v / nk[c];
                }
                out[i * d + i] += reg_covar;
            }
            symmetrize_lower(out, d);
        }
        cov
    }

    fn precisions_cholesky(cov: &[f64], k: usize, d: usize, info: StepInfo) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(k * d * d);
        for c in 0..k {
            let u = linalg::precision_cholesky_from_covariance(&cov[c * d * d..(c + 1) * d * d], d)
                .ok_or_else(|| info.ill_defined(Some(c)))?;
            out.extend_from_slice(&u);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mahalanobis_kernels_match_the_definition() {
        let ld = crate::blocks::BLOCK_ROWS;
        // Small d (register kernel) and large d (tiled kernel: full, partial and single column
        // tiles; 1, 2 and 3 lane groups left over).
        for d in [3, 17, 24, 25, 33, 64] {
            for rows_p in [8, 16, 24, 40, ld] {
                let xt: Vec<f64> = (0..d * ld).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
                let mu: Vec<f64> = (0..d).map(|j| 0.25 * j as f64 - 1.0).collect();
                let mut u = vec![0.0; d * d];
                for i in 0..d {
                    for j in i..d {
                        u[i * d + j] = 1.0 / (1.0 + (i + 2 * j) as f64);
                    }
                }
                let mut q = vec![0.0; ld];
                if d < FAER_MIN_D {
                    let mut dx = vec![0.0; d * ld];
                    center::<crate::simd::Base>(&xt, &mu, ld, rows_p, &mut dx);
                    mahalanobis_upper::<crate::simd::Base>(&dx, &u, ld, rows_p, d, &mut q);
                } else {
                    let dp = d.next_multiple_of(LANES);
                    let mut up = vec![0.0; d * dp];
                    for l in 0..d {
                        up[l * dp..l * dp + d].copy_from_slice(&u[l * d..(l + 1) * d]);
                    }
                    mahalanobis_tiled::<crate::simd::Base>(&xt, &mu, &up, ld, rows_p, d, &mut q);
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
            }
        }
    }
}
