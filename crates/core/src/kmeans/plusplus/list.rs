//! Greedy k-means++'s listing of the rows a step's candidates may move ([`list`], block by
//! block with the next one listed ahead: [`Listing`]), and the seeding's sum of a block
//! ([`lane_sum`]).

use super::Nearest;
use crate::blocks::{BLOCK_ROWS, Span, prefetch_slice};
use crate::math::{self, LANES};
use crate::simd::{Isa, V8, dispatch};

dispatch! {
    /// Lists (as `start + r`, in `rows`) the rows of `nb` that some candidate may move, each
    /// with the mask of those candidates (in `masks`): bit `t` when `D²` exceeds candidate
    /// `t`'s threshold against the row's centre `a`, `thr[a * stride + t]` (rows of `stride`
    /// values, a whole number of vectors; the padding `+∞`).
    ///
    /// Branch-free (every row written, the count advanced by the test): whether a row is
    /// listed is as good as random where covered and uncovered clusters mix, and a mispredicted
    /// branch per row cost more than the rest of the listing.
    pub(super) fn list<>(nb: &[Nearest], start: usize, thr: &[f64], stride: usize, rows: &mut Vec<usize>, masks: &mut Vec<u64>) => list_impl
}

#[inline(always)]
fn list_impl<I: Isa>(
    isa: I,
    nb: &[Nearest],
    start: usize,
    thr: &[f64],
    stride: usize,
    rows: &mut Vec<usize>,
    masks: &mut Vec<u64>,
) {
    debug_assert!(stride.is_multiple_of(LANES) && stride <= 64);
    rows.clear();
    rows.resize(nb.len(), 0);
    masks.clear();
    masks.resize(nb.len(), 0);
    let mut m = 0;
    for (r, nr) in nb.iter().enumerate() {
        let d2 = V8::splat(isa, nr.d2);
        let ta = &thr[nr.center as usize * stride..][..stride];
        let mut mask = u64::from(V8::load(isa, ta).lt_mask(d2));
        for (c, tc) in ta.chunks_exact(LANES).enumerate().skip(1) {
            mask |= u64::from(V8::load(isa, tc).lt_mask(d2)) << (LANES * c);
        }
        rows[m] = start + r;
        masks[m] = mask;
        m += usize::from(mask != 0);
    }
    rows.truncate(m);
    masks.truncate(m);
}

/// A scoring pass's listing, block by block: the block's listed rows and, listed while it is
/// computed, the next block's, so that they can be asked for meanwhile (the next block is
/// usually the same leaf's next).
pub(super) struct Listing {
    /// The block's rows some candidate may move, and each one's mask of those candidates.
    pub(super) rows: Vec<usize>,
    pub(super) row_masks: Vec<u64>,
    /// The next block's, when listed ahead (`ahead_start` is its first row).
    pub(super) ahead: Vec<usize>,
    ahead_masks: Vec<u64>,
    ahead_start: Option<usize>,
}

impl Listing {
    pub(super) fn new() -> Self {
        Listing {
            rows: Vec::with_capacity(BLOCK_ROWS),
            row_masks: Vec::with_capacity(BLOCK_ROWS),
            ahead: Vec::with_capacity(BLOCK_ROWS),
            ahead_masks: Vec::with_capacity(BLOCK_ROWS),
            ahead_start: None,
        }
    }

    /// Lists the rows of block `span` of `near` (unless the previous block listed them
    /// ahead), then the next block's into `ahead` ([`list`]'s `thr` and `stride`).
    pub(super) fn advance(&mut self, near: &[Nearest], span: Span, thr: &[f64], stride: usize) {
        let Span { start, rows } = span;
        if self.ahead_start != Some(start) {
            let nb = &near[start..start + rows];
            list(
                nb,
                start,
                thr,
                stride,
                &mut self.ahead,
                &mut self.ahead_masks,
            );
        }
        std::mem::swap(&mut self.rows, &mut self.ahead);
        std::mem::swap(&mut self.row_masks, &mut self.ahead_masks);
        let next = start + rows;
        if next < near.len() {
            let nb = &near[next..next + (near.len() - next).min(BLOCK_ROWS)];
            list(
                nb,
                next,
                thr,
                stride,
                &mut self.ahead,
                &mut self.ahead_masks,
            );
            self.ahead_start = Some(next);
            // The block after it, listed next time: a block's listing stalls on its
            // first reads of `near` otherwise (the scoring between two listings breaks the
            // stream the hardware would follow).
            let after = (next + BLOCK_ROWS).min(near.len());
            prefetch_slice(&near[after..(after + BLOCK_ROWS).min(near.len())]);
        } else {
            self.ahead.clear();
            self.ahead_masks.clear();
            self.ahead_start = None;
        }
    }
}

/// `Σ_r w_r v_r` (`v_r` without weights) over eight lanes `a[r % 8]` in row order, then
/// [`math::sum`]: the order the seeding has always summed a block in.
#[inline]
pub(super) fn lane_sum(v: &[f64], w: Option<&[f64]>) -> f64 {
    let mut a = [0.0; LANES];
    match w {
        None => {
            let mut chunks = v.chunks_exact(LANES);
            for c in &mut chunks {
                for l in 0..LANES {
                    a[l] += c[l];
                }
            }
            for (l, &x) in chunks.remainder().iter().enumerate() {
                a[l] += x;
            }
        }
        Some(w) => {
            let mut chunks = v.chunks_exact(LANES).zip(w.chunks_exact(LANES));
            for (c, wc) in &mut chunks {
                for l in 0..LANES {
                    a[l] += wc[l] * c[l];
                }
            }
            let full = v.len() / LANES * LANES;
            for r in full..v.len() {
                a[r - full] += w[r] * v[r];
            }
        }
    }
    math::sum(&a)
}

#[cfg(test)]
mod tests {
    use super::{LANES, Nearest, list};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// The listing against its definition, one comparison at a time: a row is listed when
    /// its `D²` exceeds some candidate's threshold against its centre, with the mask of those
    /// candidates; ties (`D²` equal to a threshold) and `+∞` (no centre yet) are not above,
    /// and the padding is never set, for one to eight vectors of candidates.
    #[test]
    fn listing_gives_each_rows_candidates() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(9);
        for trials in [1usize, 2, 6, 8, 9, 17, 64] {
            let stride = trials.next_multiple_of(LANES);
            let centres = 5;
            let mut thr = vec![f64::INFINITY; centres * stride];
            for a in 0..centres {
                for t in 0..trials {
                    thr[a * stride + t] = g.random::<f64>();
                }
            }
            let nb: Vec<Nearest> = (0..300)
                .map(|r| {
                    let center = g.random_range(0..centres as u32);
                    let d2 = match r % 7 {
                        0 => thr[center as usize * stride + r % trials],
                        1 => f64::INFINITY,
                        _ => g.random::<f64>() * 0.8,
                    };
                    Nearest { d2, center }
                })
                .collect();
            let start = 1000;
            let (mut rows, mut masks) = (vec![7], vec![7]);
            list(&nb, start, &thr, stride, &mut rows, &mut masks);
            let mut want = Vec::new();
            for (r, nr) in nb.iter().enumerate() {
                let mut m = 0u64;
                for t in 0..trials {
                    m |= u64::from(nr.d2 > thr[nr.center as usize * stride + t]) << t;
                }
                if m != 0 {
                    want.push((start + r, m));
                }
            }
            let got: Vec<(usize, u64)> = rows.into_iter().zip(masks).collect();
            assert!(want.len() > 30 && want.len() < 300, "{trials} candidates");
            assert_eq!(got, want, "{trials} candidates");
        }
    }
}
