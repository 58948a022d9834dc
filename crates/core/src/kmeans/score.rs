//! Greedy k-means++'s scoring of a block's rows in place ([`score_rows`]): each candidate's
//! squared distance to each row with the operations of the block kernels
//! ([`sq_distances`](super::kernels::sq_distances), so the same bits), the minimum with the
//! row's `D²` summed per lane as the seeding sums a block, and the rows each candidate moves.

use crate::blocks::{BLOCK_ROWS, Span, WIDE_D, prefetch_within, transposed8, with_dim};
use crate::data::{DataRef, Float};
use crate::math::LANES;
use crate::simd::{Isa, V8, dispatch};

/// The most candidates [`score_rows`] takes at once (`2 + ⌊ln k⌋` exceeds 16 only from
/// k = e¹⁵ ≈ 3.3 million clusters; beyond, the seeding gathers).
pub(crate) const SCORE_TRIALS: usize = 16;

/// How far ahead of the group it scores [`score_rows`] asks for rows, eight at a time: the
/// next block, which the seeding usually scores next, so that its reads overlap this block's
/// arithmetic (the hardware prefetcher alone left the whole-block scoring waiting on memory:
/// greedy k-means++ on W5-shaped blobs, k = 64, 1.10–1.18× faster on 1 thread and 1.07–1.26×
/// on 2 in four sittings of alternating runs, Intel Xeon model 167; W3-shaped, k = 16,
/// 1.04×).
const AHEAD: usize = BLOCK_ROWS;

/// What [`score_rows`] reads and writes for a block besides its rows.
pub(crate) struct ScoreBlock<'a> {
    /// The rows' `D²` (the block's first `rows` values; the rest is never read).
    pub d2: &'a [f64],
    pub weights: Option<&'a [f64]>,
    /// Per candidate, eight lanes `Σ_{r ≡ l (mod 8)} w_r min(D²_r, ‖x_r - c‖²)` in row order.
    pub lanes: &'a mut [[f64; LANES]],
    /// When `Some`, the rows each candidate moves: `(candidate, row, ‖x - c‖²)`.
    pub improved: Option<&'a mut Vec<(u32, u32, f64)>>,
}

dispatch! {
    /// Greedy k-means++'s scores of the rows of `span` (read in place, eight at a time, as
    /// [`nearest_rows`](super::kernels::nearest_rows) reads them): for each candidate `c` (internal frame), its squared
    /// distance to each row with the operations of [`sq_distances`](super::kernels::sq_distances) (so the same bits), the
    /// minimum with the row's `D²` summed per lane as the seeding sums a block. Below
    /// [`WIDE_D`] features, at most [`SCORE_TRIALS`] candidates.
    pub(crate) fn score_rows<T: Float>(x: &DataRef<'_, T>, span: Span, offset: &[f64], cands: &[f64], out: ScoreBlock<'_>) => score_rows_impl
}

#[inline(always)]
fn score_rows_impl<T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    cands: &[f64],
    out: ScoreBlock<'_>,
) {
    let d = x.n_features();
    // `with_dim!` names `D` exactly; the fallback's `D` is a bound.
    with_dim!(d, D => score_rows_small::<D, true, T, I>(isa, x, span, offset, cands, out), _ => {
        score_rows_small::<WIDE_D, false, T, I>(isa, x, span, offset, cands, out)
    })
}

/// [`score_rows`] below [`WIDE_D`] features: `d` is `D` when `EXACT` (then every loop over
/// features has a constant trip count, so that it unrolls and the rows' vectors stay in
/// registers), at most `D` otherwise.
#[inline(always)]
fn score_rows_small<const D: usize, const EXACT: bool, T: Float, I: Isa>(
    isa: I,
    x: &DataRef<'_, T>,
    span: Span,
    offset: &[f64],
    cands: &[f64],
    out: ScoreBlock<'_>,
) {
    let Span { start, rows } = span;
    let d = x.n_features();
    assert!(d < WIDE_D && d <= D && (d == D || !EXACT));
    let d = if EXACT { D } else { d };
    let trials = cands.len() / d;
    assert!(trials <= SCORE_TRIALS && out.lanes.len() >= trials);
    assert!(out.d2.len() >= rows && out.weights.is_none_or(|w| w.len() >= rows));
    let full_cols = d / LANES * LANES;
    // The candidates in arrays of `D` (zeros past `d`): indexed without bounds checks.
    let mut cpad = [[0.0; D]; SCORE_TRIALS];
    for (p, c) in cpad.iter_mut().zip(cands.chunks_exact(d)) {
        p[..d].copy_from_slice(c);
    }
    let mut acc = [V8::zero(isa); SCORE_TRIALS];
    let mut improved = out.improved;
    let mut r0 = 0;
    while r0 < rows {
        // The rows a block ahead, asked for a group at a time (see [`AHEAD`]).
        prefetch_within(x, start + r0 + AHEAD, LANES);
        let mut xv = [V8::zero(isa); D];
        // `D²` and weights of the group; the lanes past the block's end score 0 (`D²` 0, and
        // weight 0), which adds nothing: every lane sum is a sum of non-negative terms.
        let (b, wv) = if r0 + LANES <= rows {
            let mut j0 = 0;
            while j0 < full_cols {
                xv[j0..j0 + LANES].copy_from_slice(&transposed8(isa, x, start + r0, j0));
                j0 += LANES;
            }
            for j in full_cols..d {
                let mut lanes = [0.0; LANES];
                for (t, l) in lanes.iter_mut().enumerate() {
                    *l = x.row(start + r0 + t)[j].to_f64();
                }
                xv[j] = V8::load(isa, &lanes);
            }
            (
                V8::load(isa, &out.d2[r0..]),
                out.weights.map(|w| V8::load(isa, &w[r0..])),
            )
        } else {
            let mut lanes = [[0.0; LANES]; D];
            let mut bl = [0.0; LANES];
            let mut wl = [0.0; LANES];
            for t in 0..rows - r0 {
                for (j, &v) in x.row(start + r0 + t).iter().enumerate() {
                    lanes[j][t] = v.to_f64();
                }
                bl[t] = out.d2[r0 + t];
                wl[t] = out.weights.map_or(0.0, |w| w[r0 + t]);
            }
            for j in 0..d {
                xv[j] = V8::load(isa, &lanes[j]);
            }
            (V8::load(isa, &bl), out.weights.map(|_| V8::load(isa, &wl)))
        };
        for j in 0..d {
            xv[j] = xv[j].sub(V8::splat(isa, offset[j]));
        }
        // Up to eight candidates at a time: their chains of multiply-adds side by side,
        // sharing the row vectors (each distance still summed over `j` in order). A chain
        // waits on its own multiply-add's latency (4 cycles) at every feature: a group of six
        // (the `2 + ⌊ln 64⌋` candidates of k = 64) issues its twelve subtractions and
        // multiply-adds per feature in about six cycles on two pipes, where a group of four
        // and one of two waited two latencies.
        let mut t0 = 0;
        while t0 < trials {
            let group = Group {
                b,
                w: wv,
                row: start + r0,
            };
            let acc = &mut acc[t0..];
            let list = improved.as_deref_mut();
            match trials - t0 {
                1 => score_group::<D, EXACT, I, 1>(isa, &xv, &cpad, d, t0, group, acc, list),
                2 => score_group::<D, EXACT, I, 2>(isa, &xv, &cpad, d, t0, group, acc, list),
                3 => score_group::<D, EXACT, I, 3>(isa, &xv, &cpad, d, t0, group, acc, list),
                4 => score_group::<D, EXACT, I, 4>(isa, &xv, &cpad, d, t0, group, acc, list),
                5 => score_group::<D, EXACT, I, 5>(isa, &xv, &cpad, d, t0, group, acc, list),
                6 => score_group::<D, EXACT, I, 6>(isa, &xv, &cpad, d, t0, group, acc, list),
                7 => score_group::<D, EXACT, I, 7>(isa, &xv, &cpad, d, t0, group, acc, list),
                _ => score_group::<D, EXACT, I, 8>(isa, &xv, &cpad, d, t0, group, acc, list),
            }
            t0 += 8;
        }
        r0 += LANES;
    }
    for (a, l) in acc.iter().zip(out.lanes.iter_mut()).take(trials) {
        a.store(l);
    }
}

/// A lane group of [`score_rows`]: its rows' `D²` and weights, and its first row.
#[derive(Clone, Copy)]
struct Group<I: Isa> {
    b: V8<I>,
    w: Option<V8<I>>,
    row: usize,
}

/// [`score_rows`] for candidates `t0..t0 + N` (rows of `cpad`: `d` features, then zeros) and
/// one lane group.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn score_group<const D: usize, const EXACT: bool, I: Isa, const N: usize>(
    isa: I,
    xv: &[V8<I>; D],
    cpad: &[[f64; D]; SCORE_TRIALS],
    d: usize,
    t0: usize,
    g: Group<I>,
    acc: &mut [V8<I>],
    mut improved: Option<&mut Vec<(u32, u32, f64)>>,
) {
    let c: &[[f64; D]; N] = cpad[t0..t0 + N].try_into().expect("N candidates from t0");
    let mut q = [V8::zero(isa); N];
    // (A macro, not a closure: a closure would not inherit the target features.) The loop's
    // trip count is the constant `D` when exact: the caller's `d` is then `D` too, but that
    // does not reach through the call as a constant (looping `0..d.min(D)` in both cases gave
    // the same bits and 1.6x the time at 4 and 6 candidates, 16 features, in cache).
    macro_rules! features {
        ($n:expr) => {
            for j in 0..$n {
                for (qi, ci) in q.iter_mut().zip(c) {
                    let v = xv[j].sub(V8::splat(isa, ci[j]));
                    *qi = v.madd(v, *qi);
                }
            }
        };
    }
    if EXACT {
        features!(D);
    } else {
        features!(d.min(D));
    }
    for (i, (&qi, a)) in q.iter().zip(acc.iter_mut()).enumerate() {
        let val = qi.lt_select(g.b, qi, g.b);
        *a = match g.w {
            None => a.add(val),
            Some(w) => a.add(w.mul(val)),
        };
        if let Some(list) = improved.as_deref_mut() {
            let mut m = qi.lt_mask(g.b);
            if m != 0 {
                let mut qs = [0.0; LANES];
                qi.store(&mut qs);
                while m != 0 {
                    let l = m.trailing_zeros() as usize;
                    m &= m - 1;
                    list.push(((t0 + i) as u32, (g.row + l) as u32, qs[l]));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{BLOCK_ROWS, Block, load};
    use crate::kmeans::kernels::sq_distances;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// [`score_rows`] against the block kernel's distances summed as the seeding sums a block:
    /// the same lane sums and the same improvements, bit for bit, with and without weights,
    /// for a partial last lane group, a feature count that is not a multiple of eight and
    /// `trials` candidates (groups of up to eight).
    fn scores_match<T: Float>(
        data: &[T],
        (n, d, trials): (usize, usize, usize),
        g: &mut Xoshiro256PlusPlus,
    ) {
        let x = DataRef::new(data, n, d).unwrap();
        let span = Span {
            start: 5,
            rows: 203,
        };
        let offset: Vec<f64> = (0..d).map(|_| g.random::<f64>() - 0.5).collect();
        let cands: Vec<f64> = (0..trials * d).map(|_| g.random::<f64>() * 2.0).collect();
        let mut xt = vec![0.0; d * BLOCK_ROWS];
        load(&x, span, &mut xt);
        for j in 0..d {
            for v in &mut xt[j * BLOCK_ROWS..(j + 1) * BLOCK_ROWS] {
                *v -= offset[j];
            }
        }
        let mut comp = vec![0.0; trials * BLOCK_ROWS];
        sq_distances(Block::new(&xt, span.rows), &cands, &mut comp);
        // `D²` around the distances, so that about half the pairs improve.
        let d2: Vec<f64> = (0..span.rows)
            .map(|r| comp[r] * (0.5 + g.random::<f64>()) + g.random::<f64>())
            .collect();
        let w: Vec<f64> = (0..span.rows).map(|_| g.random::<f64>() * 3.0).collect();
        for weights in [None, Some(&w[..])] {
            let mut want_lanes = vec![[0.0; LANES]; trials];
            let mut want = Vec::new();
            for (t, a) in want_lanes.iter_mut().enumerate() {
                for r in 0..span.rows {
                    let q = comp[t * BLOCK_ROWS + r];
                    let v = d2[r].min(q);
                    a[r % LANES] += weights.map_or(v, |w| w[r] * v);
                    if q < d2[r] {
                        want.push((t as u32, (span.start + r) as u32, q));
                    }
                }
            }
            let mut lanes = vec![[f64::NAN; LANES]; trials];
            let mut got = Vec::new();
            let out = ScoreBlock {
                d2: &d2,
                weights,
                lanes: &mut lanes,
                improved: Some(&mut got),
            };
            score_rows(&x, span, &offset, &cands, out);
            let bits = |l: &[[f64; LANES]]| -> Vec<u64> {
                l.iter().flatten().map(|v| v.to_bits()).collect()
            };
            assert_eq!(
                bits(&lanes),
                bits(&want_lanes),
                "d = {d}, {trials} candidates"
            );
            got.sort_by_key(|a| (a.0, a.1));
            assert!(want.len() > trials * span.rows / 5 && want.len() < trials * span.rows);
            assert_eq!(got, want, "d = {d}, {trials} candidates");
        }
    }

    #[test]
    fn whole_block_scores_are_the_block_kernels() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(4);
        let n = 300;
        for (d, trials) in [(1, 6), (3, 1), (8, 4), (13, 6), (16, 9), (16, 6), (23, 16)] {
            let x: Vec<f64> = (0..n * d).map(|_| g.random::<f64>() * 2.0 - 0.5).collect();
            scores_match(&x, (n, d, trials), &mut g);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            scores_match(&x32, (n, d, trials), &mut g);
        }
    }
}
