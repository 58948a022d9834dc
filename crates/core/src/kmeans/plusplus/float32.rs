//! Greedy k-means++'s float32 scoring kernel: a float32 copy of the seeding's rows
//! ([`Shadow`]), the bound between its distances and the float64 kernel's ([`Bound`]), and the
//! scoring of sixteen listed rows against a step's candidates ([`group32`]). The choice made
//! from them is in [`super::choose`].

use super::Nearest;
use crate::blocks::{BLOCK_ROWS, Block, Span, WIDE_D, load};
use crate::data::{DataRef, Float};
use crate::kmeans::kernels::{set_bits, sq_distances};
use crate::kmeans::lloyd::Lloyd;
use crate::math::LANES;
use crate::simd::{Isa, V8, V16, dispatch};
use rayon::prelude::*;

/// Lanes of a float32 vector, and rows per group of the float32 scoring.
pub(super) const L16: usize = 16;

/// The most candidates the float32 scoring takes (`2 + ⌊ln k⌋ ≤ 16` up to k ≈ 3.3 million).
pub(super) const TRIALS: usize = 16;

/// `|v - s| ≤ rho s + beta` between the float64 kernel's squared distance `v` of a row to a
/// candidate (both in the internal frame) and the float32 one `s` from [`Shadow`].
///
/// With `u = 2⁻²⁴`, `e = 2⁻⁵³` and `M` a bound on every row's norm in the internal frame:
/// - rounding the rows to float32 moves each by at most `u M` (plus `2⁻¹⁵⁰` per feature where
///   values are subnormal), so the exact distances `r` (float64 rows) and `r̃` (float32 rows)
///   differ by at most `Δ = 2 u M + 2⁻¹⁴⁸ √d`, and `|r² - r̃²| ≤ Δ (2 r̃ + Δ)`;
/// - `s` takes at most `d + 8` rounded float32 operations on any path (the difference, the
///   square, then the chain of `d - 1` multiply-adds over the features, fused or not, in
///   [`group32`]: `d + 1` at most): `|s - r̃²| ≤ γ_f r̃²` plus
///   underflow, `γ_f = (d + 8) u / (1 - (d + 8) u)`;
/// - `v` is within `γ_e r²`, `γ_e = (d + 3) e / (1 - (d + 3) e)`, of `r²` (as
///   [`threshold`](super::threshold) assumes).
///
/// Chaining the three, `|v - s| ≤ rho s + lin √s + alpha`, and `√s ≤ R` (`R` from `M`) turns
/// the middle term into a constant. Each coefficient is then enlarged by a thousandth, which
/// covers evaluating the bound in float64.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bound {
    rho: f64,
    beta: f64,
}

impl Bound {
    /// The bound for `d` features and rows of norm at most `m`.
    fn new(d: usize, m: f64) -> Self {
        let u = f64::powi(2.0, -24);
        let e = f64::EPSILON / 2.0;
        let df = d as f64;
        let gf = (df + 8.0) * u / (1.0 - (df + 8.0) * u);
        let gf1 = gf / (1.0 - gf);
        let ge = (df + 3.0) * e / (1.0 - (df + 3.0) * e);
        // Underflow: at most 3 · 32 float32 operations per distance, each off by 2⁻¹⁵⁰.
        let under = 96.0 * f64::powi(2.0, -150);
        let tiny = f64::powi(2.0, -148) * df.sqrt();
        let delta = 2.0 * u * m + tiny;
        // r̃ ≤ √s (1 + γ_f) + √(2 · under).
        let root_under = (2.0 * under).sqrt();
        let grow = 1.001;
        let rho = grow * (gf1 + ge * (1.0 + gf1)) + 4.0 * e;
        let lin = grow * (1.0 + ge) * 2.0 * delta * (1.0 + gf);
        let alpha =
            grow * ((1.0 + ge) * (delta * (2.0 * root_under + delta) + 2.0 * under)) + 1e-300;
        // √s ≤ r̃ √(1 + γ_f) + √under ≤ (2 M (1 + u) + tiny) (1 + γ_f) + √(2 · under).
        let r = ((2.0 * m * (1.0 + u) + tiny) * (1.0 + gf) + root_under) * grow;
        Bound {
            rho,
            beta: lin * r + alpha,
        }
    }

    /// The bound on `|v - s|` at `s`.
    #[cfg(test)]
    pub(super) fn err(&self, s: f64) -> f64 {
        self.rho * s + self.beta
    }
}

/// The seeding's rows in float32, in the internal frame (each value centred in float64 as the
/// kernels centre it, then rounded), padded with zeros to whole lines: one line per row up to
/// 16 features, two up to [`WIDE_D`].
///
/// The values start on a cache line (a row of up to 16 features is one line), and the memory
/// is asked for zeroed, so that the system maps it as the threads first write it (a vector of
/// non-zero-typed lines was filled by one thread first: half the copy's time).
pub(super) struct Shadow {
    values: Vec<f32>,
    /// Where the first row starts in `values` (the first cache-line boundary).
    start: usize,
    per_row: usize,
    d: usize,
    pub(super) bound: Bound,
}

impl Shadow {
    /// Row `i`'s values, `16 · per_row` of them.
    #[inline]
    fn row(&self, i: usize) -> &[f32] {
        let w = self.per_row * L16;
        &self.values[self.start + i * w..self.start + (i + 1) * w]
    }

    /// Whether rows of `x`'s shape can have a copy: below [`WIDE_D`] features, at least two
    /// rows and at most `u32::MAX` (row indices are kept as `u32`), and a copy's length is a
    /// `usize`.
    pub(super) fn fits<T: Float>(x: &DataRef<'_, T>) -> bool {
        let (n, d) = (x.n_samples(), x.n_features());
        let len = n.checked_mul(2 * L16).and_then(|v| v.checked_add(L16));
        d < WIDE_D && (2..=u32::MAX as usize).contains(&n) && len.is_some()
    }

    /// The copy of the rows of `lloyd`'s data (which must [`fit`](Shadow::fits)), built in the
    /// pass that adds the seeding's first centre `first` (internal frame): each row's `near`
    /// is lowered to its squared distance to `first` by the block kernel, as
    /// [`Seeding::add`](super::Seeding::add) computes it, and the row is copied from the same
    /// centred block. The copy is `None` when a value is not finite, or rows are so long (norm
    /// above `1e15`) that float32 squares could overflow or so short (all below `1e-10`) that
    /// they would underflow (the bound would then settle nothing); `near` is set either way.
    pub(super) fn new<T: Float>(
        lloyd: &Lloyd<'_, T>,
        first: &[f64],
        near: &mut [Nearest],
    ) -> Option<Self> {
        let (x, offset) = (lloyd.x(), lloyd.offset());
        let (n, d) = (x.n_samples(), x.n_features());
        assert!(Self::fits(x) && near.len() == n && first.len() == d);
        let per_row = d.div_ceil(L16);
        let width = per_row * L16;
        // Zeroed pages not touched yet (a fresh mapping), so the copy's pass faults them in
        // as huge pages.
        let mut values = vec![0.0f32; n * width + L16];
        crate::mem::advise_huge(values.as_ptr().cast(), values.len() * 4);
        let start = values.as_ptr().align_offset(64);
        let start = if start < L16 { start } else { 0 };
        const CHUNK: usize = 16 * BLOCK_ROWS;
        let max_sq = values[start..start + n * width]
            .par_chunks_mut(CHUNK * width)
            .zip(near.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(ci, (ch, nc))| {
                lloyd.passes().with_scratch(|s| {
                    let mut top = 0.0f64;
                    for (b, (bv, nb)) in ch
                        .chunks_mut(BLOCK_ROWS * width)
                        .zip(nc.chunks_mut(BLOCK_ROWS))
                        .enumerate()
                    {
                        let span = Span {
                            start: ci * CHUNK + b * BLOCK_ROWS,
                            rows: nb.len(),
                        };
                        load(x, span, &mut s.xt);
                        lloyd.center_block(s, span.rows);
                        sq_distances(Block::new(&s.xt, span.rows), first, &mut s.comp);
                        for (nr, &v) in nb.iter_mut().zip(&s.comp[..span.rows]) {
                            if v < nr.d2 {
                                *nr = Nearest { d2: v, center: 0 };
                            }
                        }
                        // The copy from the rows in place (the block has just read them),
                        // their squared norms from the centred block (across its rows, one
                        // feature at a time, so that the additions vectorise).
                        for (r, rl) in bv.chunks_exact_mut(width).enumerate() {
                            let row = x.row(span.start + r);
                            for (o, (&v, &c)) in rl.iter_mut().zip(row.iter().zip(offset)) {
                                *o = (v.to_f64() - c) as f32;
                            }
                        }
                        let sq = &mut s.row[..span.rows];
                        sq.fill(0.0);
                        for j in 0..d {
                            for (q, &a) in sq.iter_mut().zip(&s.xt[j * BLOCK_ROWS..]) {
                                *q += a * a;
                            }
                        }
                        // A non-finite value makes the maximum +∞ (`f64::max` would drop a
                        // NaN).
                        for &q in sq.iter() {
                            top = if q.is_finite() {
                                top.max(q)
                            } else {
                                f64::INFINITY
                            };
                        }
                    }
                    top
                })
            })
            .reduce(|| 0.0, f64::max);
        // `max_sq` sums d rounded squares: a relative margin far above (d + 2) e covers it.
        let m = max_sq.sqrt() * (1.0 + 1e-9);
        if !(m.is_finite() && (1e-10..=1e15).contains(&m)) {
            return None;
        }
        Some(Shadow {
            values,
            start,
            per_row,
            d,
            bound: Bound::new(d, m),
        })
    }

    /// The candidates (internal frame, `d` per candidate) rounded to float32 and padded as the
    /// rows are.
    pub(super) fn candidates(&self, cands: &[f64], d: usize) -> Vec<f32> {
        let w = self.per_row * L16;
        let mut c = vec![0.0f32; cands.len() / d * w];
        for (ct, t) in c.chunks_exact_mut(w).zip(cands.chunks_exact(d)) {
            for (o, &v) in ct.iter_mut().zip(t) {
                *o = v as f32;
            }
        }
        c
    }

    /// Asks for the lines of `rows` (into L2, as [`prefetch_rows`](crate::blocks::prefetch_rows)).
    pub(super) fn prefetch(&self, rows: &[usize]) {
        #[cfg(target_arch = "x86_64")]
        for &i in rows {
            let p = self.row(i).as_ptr();
            for l in 0..self.per_row {
                // SAFETY: a prefetch never faults and changes no memory; the line is in bounds.
                unsafe {
                    core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
                        p.wrapping_add(l * L16).cast(),
                    )
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = rows;
    }
}

/// Per candidate, eight lanes of the estimated gain `Σ w (D² - s)⁺` and of the bound on its
/// error `Σ w (rho s + beta)` over the rows the candidate may move; and the last group's
/// float32 distances.
#[derive(Clone, Copy)]
pub(super) struct Sums {
    pub(super) gain: [[f64; LANES]; TRIALS],
    pub(super) err: [[f64; LANES]; TRIALS],
    pub(super) s: [[f32; L16]; TRIALS],
}

impl Sums {
    pub(super) fn new() -> Self {
        Sums {
            gain: [[0.0; LANES]; TRIALS],
            err: [[0.0; LANES]; TRIALS],
            s: [[0.0; L16]; TRIALS],
        }
    }
}

/// A group's rows as [`group32`] reads them: how many, their `D²` (`-∞` in missing lanes) and
/// weights (zero in missing lanes).
pub(super) struct Lanes {
    pub(super) len: usize,
    pub(super) d2: [f64; L16],
    pub(super) w: [f64; L16],
}

/// A group of (at most sixteen) listed rows, with the lanes each candidate may move.
#[derive(Clone, Copy)]
pub(super) struct Group {
    pub(super) rows: [u32; L16],
    pub(super) moves: [u16; TRIALS],
}

dispatch! {
    /// For the rows `g.rows[..r.len]` and each candidate `t` of `which`, the float32 squared
    /// distances `s` (left in `sums.s[t]`), the lanes the candidate may move (`g.moves[t]` bit
    /// `l`: where the lower bound `s (1 - rho) - beta` of the float64 distance is below the
    /// row's `D²`), and their gains and errors added to `sums`.
    pub(super) fn group32<>(sh: &Shadow, g: &mut Group, r: &Lanes, cands: &[f32], which: u64, sums: &mut Sums) => group32_impl
}

#[inline(always)]
fn group32_impl<I: Isa>(
    isa: I,
    sh: &Shadow,
    g: &mut Group,
    r: &Lanes,
    cands: &[f32],
    which: u64,
    sums: &mut Sums,
) {
    match sh.per_row {
        1 => group_lines::<1, I>(isa, sh, g, r, cands, which, sums),
        _ => group_lines::<2, I>(isa, sh, g, r, cands, which, sums),
    }
}

#[inline(always)]
fn group_lines<const W: usize, I: Isa>(
    isa: I,
    sh: &Shadow,
    g: &mut Group,
    r: &Lanes,
    cands: &[f32],
    which: u64,
    sums: &mut Sums,
) {
    let (len, d2, w) = (r.len, &r.d2, &r.w);
    debug_assert!(len <= L16 && sh.per_row == W);
    let zero = V16::zero(isa);
    // The rows feature-major (zero in missing lanes): `xt[f]` holds feature `f` of each row,
    // so that a candidate's sixteen distances are one chain of multiply-adds over the features.
    let mut xt = [[zero; L16]; W];
    for (q, xq) in xt.iter_mut().enumerate() {
        let mut rows = [zero; L16];
        for (x, &i) in rows.iter_mut().zip(&g.rows[..len]) {
            *x = V16::load(isa, &sh.row(i as usize)[q * L16..]);
        }
        *xq = V16::transpose16(rows);
    }
    let xt = xt.as_flattened();
    let d = sh.d;
    let one_less = V8::splat(isa, 1.0 - sh.bound.rho);
    let rho = V8::splat(isa, sh.bound.rho);
    let beta = V8::splat(isa, sh.bound.beta);
    let z8 = V8::zero(isa);
    let halves = [
        (V8::load(isa, &d2[..LANES]), V8::load(isa, &w[..LANES])),
        (V8::load(isa, &d2[LANES..]), V8::load(isa, &w[LANES..])),
    ];
    g.moves = [0; TRIALS];
    // The candidates four at a time (then the last three, two or one), so that several
    // chains are in flight.
    let mut ts = [0usize; TRIALS];
    let n = set_bits(which, &mut ts);
    let mut st = [zero; TRIALS];
    let mut quads = ts[..n].chunks_exact(4);
    for (q, quad) in (&mut quads).enumerate() {
        let got = chains::<4, W, I>(isa, xt, d, cands, quad.try_into().unwrap());
        st[4 * q..4 * q + 4].copy_from_slice(&got);
    }
    let (done, rest) = (n - quads.remainder().len(), quads.remainder());
    match *rest {
        [a, b, c] => {
            st[done..n].copy_from_slice(&chains::<3, W, I>(isa, xt, d, cands, [a, b, c]));
        }
        [a, b] => st[done..n].copy_from_slice(&chains::<2, W, I>(isa, xt, d, cands, [a, b])),
        [a] => st[done] = chains::<1, W, I>(isa, xt, d, cands, [a])[0],
        _ => {}
    }
    for (&t, &st) in ts[..n].iter().zip(&st) {
        st.store(&mut sums.s[t]);
        let (lo, hi) = st.widen();
        let mut gain = V8::load(isa, &sums.gain[t]);
        let mut err = V8::load(isa, &sums.err[t]);
        let mut moves = 0u16;
        for (h, (s, (dh, wh))) in [lo, hi].into_iter().zip(halves).enumerate() {
            let low = s.mul(one_less).sub(beta);
            moves |= u16::from(low.lt_mask(dh)) << (h * LANES);
            // Outside the moved lanes `s ≥ D²`, so that the gain is zero there.
            gain = wh.madd(dh.sub(s).max(z8), gain);
            err = wh.madd(low.lt_select(dh, s.madd(rho, beta), z8), err);
        }
        gain.store(&mut sums.gain[t]);
        err.store(&mut sums.err[t]);
        g.moves[t] = moves;
    }
}

/// The float32 squared distances of the sixteen rows `xt` (feature-major) to the candidates
/// `ts`: `Σ_f (x_f - c_f)²` over the `d` features in order, the `N` chains side by side.
#[inline(always)]
fn chains<const N: usize, const W: usize, I: Isa>(
    isa: I,
    xt: &[V16<I>],
    d: usize,
    cands: &[f32],
    ts: [usize; N],
) -> [V16<I>; N] {
    let c = ts.map(|t| &cands[t * W * L16..(t + 1) * W * L16]);
    let mut acc = [V16::zero(isa); N];
    for (a, c) in acc.iter_mut().zip(&c) {
        let b = xt[0].sub(V16::splat(isa, c[0]));
        *a = b.mul(b);
    }
    for (f, x) in xt.iter().enumerate().take(d).skip(1) {
        for (a, c) in acc.iter_mut().zip(&c) {
            let b = x.sub(V16::splat(isa, c[f]));
            *a = b.madd(b, *a);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::{Group, L16, LANES, Lanes, Shadow, Sums, TRIALS, group32};
    use crate::data::{DataRef, Float};
    use crate::kmeans::kernels::{Gathered, gathered_sq_distances};
    use crate::kmeans::lloyd::Lloyd;
    use crate::kmeans::plusplus::{Nearest, Seeding};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// For every row (sixteen at a time) and candidate: the float32 distance `s` is within the
    /// bound of the float64 kernel's `v`, the gain and error sums are those of the moved lanes,
    /// and a lane is left unmoved only where `v ≥ D²`, with each row's `D²` put just above,
    /// at and just below its `v` (and far on either side).
    fn check_bound<T: Float>(x: &[T], n: usize, d: usize, what: &str) {
        let xr = DataRef::new(x, n, d).unwrap();
        let lloyd = Lloyd::new(xr, 3, &[]);
        let mut g = Xoshiro256PlusPlus::seed_from_u64(n as u64);
        let cand_rows: Vec<usize> = (0..TRIALS).map(|_| g.random_range(0..n)).collect();
        let cands = lloyd.rows_internal(&cand_rows);
        let (first, mut near) = first_centre(&lloyd, &cands[..d]);
        let sh = Shadow::new(&lloyd, &cands[..d], &mut near).expect("a float32 copy");
        assert_eq!(near, first, "{what}: the first centre's distances");
        let c32 = sh.candidates(&cands, d);
        let mut gathered = Gathered::new(d, TRIALS);
        let mut worst = 0.0f64;
        for (q, start) in (0..n).step_by(L16).enumerate() {
            let rows: Vec<usize> = (start..(start + L16).min(n)).collect();
            gathered.load(&xr, &rows[..rows.len().min(8)], lloyd.offset());
            let mut v = vec![[0.0; L16]; TRIALS];
            for half in 0..2 {
                let part = &rows[(half * 8).min(rows.len())..(half * 8 + 8).min(rows.len())];
                if part.is_empty() {
                    continue;
                }
                gathered.load(&xr, part, lloyd.offset());
                gathered_sq_distances(&mut gathered, &cands, d, u64::MAX >> (64 - TRIALS));
                for (t, vt) in v.iter_mut().enumerate() {
                    for l in 0..part.len() {
                        vt[half * 8 + l] = gathered.out[t * 8 + l];
                    }
                }
            }
            // Row `l`'s D², from candidate 0's distance.
            let mut r = Lanes {
                len: rows.len(),
                d2: [f64::NEG_INFINITY; L16],
                w: [0.0; L16],
            };
            for l in 0..rows.len() {
                let v0 = v[0][l];
                r.d2[l] = match (q + l) % 5 {
                    0 => v0,
                    1 => v0 * (1.0 + 1e-6),
                    2 => v0 * (1.0 - 1e-6),
                    3 => v0 * 4.0 + 1.0,
                    _ => v0 * 0.25,
                };
                r.w[l] = 1.0 + l as f64;
            }
            let (d2, w) = (r.d2, r.w);
            let mut grp = Group {
                rows: [0; L16],
                moves: [0; TRIALS],
            };
            for (l, &i) in rows.iter().enumerate() {
                grp.rows[l] = i as u32;
            }
            let mut sums = Sums::new();
            // From sixteen candidates down to one (the kernel takes them four at a time, then
            // the last three, two or one).
            let which = (u64::MAX >> (64 - TRIALS)) >> (q % TRIALS);
            group32(&sh, &mut grp, &r, &c32, which, &mut sums);
            let s = sums.s;
            for t in 0..TRIALS {
                if which >> t & 1 == 0 {
                    assert_eq!(grp.moves[t], 0, "{what}: candidate {t} not scored");
                    assert_eq!(
                        sums.gain[t], [0.0; LANES],
                        "{what}: candidate {t} not scored"
                    );
                    continue;
                }
                let (mut gain, mut err) = (0.0, 0.0);
                for l in 0..rows.len() {
                    let (sv, vv) = (f64::from(s[t][l]), v[t][l]);
                    let e = sh.bound.err(sv);
                    assert!(
                        (vv - sv).abs() <= e,
                        "{what}: row {} cand {t}: v {vv} s {sv}",
                        rows[l]
                    );
                    worst = worst.max((vv - sv).abs() / e);
                    let moved = grp.moves[t] >> l & 1 == 1;
                    assert!(
                        moved || vv >= d2[l],
                        "{what}: row {} cand {t} unmoved",
                        rows[l]
                    );
                    if moved {
                        gain += w[l] * (d2[l] - sv).max(0.0);
                        err += w[l] * e;
                    }
                }
                assert!(
                    u32::from(grp.moves[t]) >> rows.len() == 0,
                    "{what}: missing lanes"
                );
                let gs: f64 = sums.gain[t].iter().sum();
                let es: f64 = sums.err[t].iter().sum();
                assert!((gs - gain).abs() <= 1e-9 * gain.max(1e-300), "{what}: gain");
                assert!((es - err).abs() <= 1e-9 * err.max(1e-300), "{what}: err");
            }
        }
        // The bound is not vacuous: some pair comes within a factor 1000 of it.
        assert!(worst > 1e-3, "{what}: worst {worst}");
    }

    #[test]
    fn float32_distances_are_within_their_bound() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(5);
        for d in [1usize, 3, 8, 16, 17, 23] {
            let n = 300;
            let blobs: Vec<f64> = (0..n * d)
                .map(|i| ((i / d) % 4) as f64 * 50.0 + 1e4 + g.random::<f64>())
                .collect();
            check_bound(&blobs, n, d, &format!("offset blobs d={d}"));
            let wide: Vec<f64> = (0..n * d)
                .map(|_| (g.random::<f64>() - 0.5) * 1e12)
                .collect();
            check_bound(&wide, n, d, &format!("wide d={d}"));
            let small: Vec<f64> = (0..n * d).map(|_| g.random::<f64>() * 1e-8).collect();
            check_bound(&small, n, d, &format!("small d={d}"));
            let f32s: Vec<f32> = (0..n * d).map(|_| g.random::<f32>() * 7.0 - 2.0).collect();
            check_bound(&f32s, n, d, &format!("f32 d={d}"));
        }
    }

    /// Every row's state after adding the first centre `c` by a pass
    /// ([`Seeding::add`](super::super::Seeding::add) without a float32 copy), and the state
    /// before it.
    fn first_centre<T: Float>(lloyd: &Lloyd<'_, T>, c: &[f64]) -> (Vec<Nearest>, Vec<Nearest>) {
        let mut pass = Seeding::new(lloyd, 0);
        let before = pass.clone_nearest();
        pass.add(c);
        (pass.into_nearest(), before)
    }

    #[test]
    fn no_float32_copy_where_the_bound_does_not_hold() {
        // The copy is made with the first centre's pass, whose distances are kept either way.
        let none = |x: &[f64], n: usize, d: usize, what: &str| {
            let xr = DataRef::new(x, n, d).unwrap();
            let lloyd = Lloyd::with_offset(xr, 2, vec![0.0; d]);
            let c = lloyd.rows_internal(&[n / 2]);
            let (first, mut near) = first_centre(&lloyd, &c);
            assert!(Shadow::new(&lloyd, &c, &mut near).is_none(), "{what}");
            assert_eq!(near, first, "{what}: the first centre's distances");
        };
        let n = 50;
        let x: Vec<f64> = (0..n * 4).map(|i| i as f64 * 1e14).collect();
        none(&x, n, 4, "norms above 1e15");
        let t: Vec<f64> = (0..n * 4).map(|i| i as f64 * 1e-14).collect();
        none(&t, n, 4, "norms below 1e-10");
        let y = vec![1.0; n * 24];
        let z = vec![1.0; 4];
        for (v, n, d, what) in [(&y, n, 24, "24 features"), (&z, 1, 4, "one row")] {
            assert!(!Shadow::fits(&DataRef::new(v, n, d).unwrap()), "{what}");
        }
    }
}
