//! Greedy k-means++'s choice among a step's candidates, from float32 distances.
//!
//! A step chooses the candidate of least potential `P_t = Σ_i w_i min(D²_i, v_it)`, with `v_it`
//! the float64 kernel's squared distance. Since every `P_t` shares `Σ_i w_i D²_i`, that is the
//! candidate of greatest gain `G_t = Σ_i w_i (D²_i - v_it)⁺`, a sum over the few rows it moves.
//! The float32 copy of the rows ([`Shadow`](super::float32::Shadow)) reads half the bytes of
//! float64 rows (a 16-feature row is one cache line) and its distances `s_it` come from float32
//! vectors of sixteen lanes; [`Bound`](super::float32::Bound) bounds `|v_it - s_it|` from the
//! rounding of both computations. So each row is
//! either *excluded* (`v_it ≥ D²_i` for certain: it adds nothing to `G_t`) or contributes
//! `(D²_i - s_it)⁺` to an estimate of `G_t`, with a known error. When the estimates show which
//! candidate the exact potentials (summed as the exact scoring sums them, with their rounding)
//! would choose, that one is chosen, and only its moved rows are computed in float64, when it
//! is added; otherwise the step scores its candidates exactly ([`Seeding::score`]). Either way
//! the chosen centre is the one the exact scoring chooses, bit for bit.

use super::float32::{Group, L16, Lanes, Sums, TRIALS, group32};
use super::list::Listing;
use super::{Chain, Nearest, Seeding};
use crate::blocks::{Accumulator, BLOCK_ROWS, Layout, Pool, leaf_rows, prefetch_rows};
use crate::data::{DataRef, Float};
use crate::kmeans::kernels::{Gathered, gathered_sq_distances};
use crate::math::LANES;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Per-leaf state of a float32 scoring pass.
struct Work {
    sums: Box<Sums>,
    list: Listing,
    /// The block's groups with a row some candidate may move.
    groups: Vec<Group>,
}

impl Work {
    fn new() -> Self {
        Work {
            sums: Box::new(Sums::new()),
            list: Listing::new(),
            groups: Vec::with_capacity(BLOCK_ROWS / L16),
        }
    }
}

impl Accumulator for Work {
    fn reset(&mut self) {
        self.sums.gain = [[0.0; LANES]; TRIALS];
        self.sums.err = [[0.0; LANES]; TRIALS];
    }
    fn merge(&mut self, right: &Self) {
        for (a, b) in self.sums.gain.iter_mut().zip(&right.sums.gain) {
            for (a, b) in a.iter_mut().zip(b) {
                *a += b;
            }
        }
        for (a, b) in self.sums.err.iter_mut().zip(&right.sums.err) {
            for (a, b) in a.iter_mut().zip(b) {
                *a += b;
            }
        }
    }
}

/// The candidate the exact potentials choose (the least, ties to the lower index), if the
/// estimated gains and their error bounds settle it: `live` marks the distinct candidates (a
/// repeated one has the potential of its first occurrence, so never comes first), `total` is
/// `Σ w D²` as summed for the draws, `n` the number of rows.
///
/// The exact scoring sums at most `n` rounded terms per potential, each potential within
/// `γ Σ w D²` of its value in exact arithmetic (`γ ≤ (n + 4096) e`, generously), so two
/// potentials are ordered as computed when their exact difference exceeds twice that; the
/// estimated gains carry their own rounding, the same way.
pub(super) fn certain(gain: &[f64], err: &[f64], live: u64, total: f64, n: usize) -> Option<usize> {
    let g = (n as f64 + 4096.0) * f64::EPSILON;
    let slack = 1.01 * g * total;
    let mut best = None::<usize>;
    for t in (0..gain.len()).filter(|&t| live >> t & 1 == 1) {
        if best.is_none_or(|b| gain[t] > gain[b]) {
            best = Some(t);
        }
    }
    let b = best?;
    let low = gain[b] * (1.0 - g) - err[b];
    for s in (0..gain.len()).filter(|&s| live >> s & 1 == 1 && s != b) {
        let high = gain[s] * (1.0 + g) + err[s];
        if (low - high).partial_cmp(&slack) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
    }
    Some(b)
}

impl<T: Float> Seeding<'_, '_, T> {
    /// The candidate (internal frame, `d` values each) of least potential `Σ_i w_i min(D²_i,
    /// ‖x_i - c‖²)` as [`Seeding::score`] sums it, the first of equals; `total` is `Σ_i w_i D²_i`
    /// ([`Chain::total`](crate::kmeans::chain::Chain::total)). From the float32 scores when they
    /// settle it, else from the exact ones.
    pub(crate) fn choose(&mut self, cands: &[f64], total: f64) -> usize {
        let d = self.d;
        let trials = cands.len() / d;
        if self.shadow.is_some() && trials <= TRIALS {
            // A repeated candidate has the potential of its first occurrence.
            let mut live = 0u64;
            for (t, c) in cands.chunks_exact(d).enumerate() {
                let seen = cands.chunks_exact(d).take(t).any(|e| e == c);
                live |= u64::from(!seen) << t;
            }
            let (gain, err) = self.score32(cands, live);
            if let Some(b) = certain(&gain, &err, live, total, self.near.len()) {
                self.pending_approx = true;
                // (Tests keep no improvements, so that every centre is added by a pass.)
                self.pending_whole = self.pending_per_row > 0;
                return b;
            }
            self.exact_steps += 1;
        }
        let pots = self.score(cands);
        let mut best = 0;
        for t in 1..trials {
            if pots[t] < pots[best] {
                best = t;
            }
        }
        best
    }

    /// Scores the candidates of `live` (internal frame) from the float32 rows: per candidate,
    /// the estimated gain and its error bound; per leaf, in `pending32`, the groups of rows some
    /// candidate may move ([`Seeding::add_scored`] computes the chosen one's float64 distances).
    pub(super) fn score32(&mut self, cands: &[f64], live: u64) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let trials = cands.len() / d;
        assert!(trials <= TRIALS);
        let leaf_len = leaf_rows(self.near.len());
        self.pending32
            .resize_with(self.near.len().div_ceil(leaf_len), Default::default);
        for leaf in &mut self.pending32 {
            leaf.get_mut().unwrap_or_else(|e| e.into_inner()).clear();
        }
        let sh = self.shadow.as_ref().expect("a float32 copy of the rows");
        let stride = trials.next_multiple_of(LANES);
        let mut thr = self.thresholds(cands, stride);
        // A candidate out of contention moves no row.
        for ta in thr.chunks_exact_mut(stride) {
            for (t, v) in ta[..trials].iter_mut().enumerate() {
                if live >> t & 1 == 0 {
                    *v = f64::INFINITY;
                }
            }
        }
        let c32 = sh.candidates(cands, d);
        let near = &self.near[..];
        let weights = self.lloyd.x().weights();
        let accs = Pool::new(Work::new);
        let counted = AtomicU64::new(0);
        let pending: &[Mutex<Vec<Group>>] = &self.pending32;
        let out = self
            .lloyd
            .passes()
            .reduce(Layout::Untouched, &accs, |_, span, w| {
                let start = span.start;
                // This block's rows, and the next block's, asked for while this one is computed.
                w.list.advance(near, span, &thr, stride);
                let Listing {
                    rows: listed,
                    row_masks,
                    ahead,
                    ..
                } = &w.list;
                w.groups.clear();
                let mut n_dist = 0u64;
                // The next block's rows are asked for a few with each group of this block, so
                // that the fetches overlap the arithmetic (asked for all at once, they wait on
                // each other for the processor's few miss buffers, and nothing is computed).
                let per_group = ahead.len().div_ceil(listed.len().div_ceil(L16).max(1));
                let mut fetched = 0;
                for (rows, masks) in listed.chunks(L16).zip(row_masks.chunks(L16)) {
                    let upto = (fetched + per_group).min(ahead.len());
                    sh.prefetch(&ahead[fetched..upto]);
                    fetched = upto;
                    let which = masks.iter().fold(0, |a, &m| a | m);
                    let mut g = Group {
                        rows: [0; L16],
                        moves: [0; TRIALS],
                    };
                    let mut r = Lanes {
                        len: rows.len(),
                        d2: [f64::NEG_INFINITY; L16],
                        w: [0.0; L16],
                    };
                    for (l, &i) in rows.iter().enumerate() {
                        g.rows[l] = i as u32;
                        r.d2[l] = near[i].d2;
                        r.w[l] = weights.map_or(1.0, |w| w[i]);
                    }
                    group32(sh, &mut g, &r, &c32, which, &mut w.sums);
                    n_dist += u64::from(which.count_ones()) * rows.len() as u64;
                    if g.moves.iter().any(|&m| m != 0) {
                        w.groups.push(g);
                    }
                }
                sh.prefetch(&ahead[fetched..]);
                counted.fetch_add(n_dist, Ordering::Relaxed);
                if !w.groups.is_empty() {
                    pending[start / leaf_len]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&w.groups);
                }
            });
        self.computed += counted.into_inner();
        let lanes = |a: &[[f64; LANES]; TRIALS]| -> Vec<f64> {
            a[..trials].iter().map(|l| l.iter().sum()).collect()
        };
        (lanes(&out.sums.gain), lanes(&out.sums.err))
    }

    /// Adds the candidate `t` (row `c`, internal frame) of the last float32 scoring
    /// ([`Seeding::add_scored`]) and returns the new chain: the float64 distances of the rows
    /// it may move, leaf by leaf, by every thread (these gathers cost more than the chain),
    /// while this thread sums each moved leaf into the chain in row order, moving leaves itself
    /// while the next one is not ready.
    pub(super) fn add_chosen32(&mut self, t: usize, c: &[f64]) -> Chain {
        let (n, d) = (self.near.len(), self.d);
        let kc = (self.chosen.len() / d) as u32;
        let leaf_len = leaf_rows(n);
        let x = *self.lloyd.x();
        let offset = self.lloyd.offset();
        let leaves: Vec<Mutex<&mut [Nearest]>> =
            self.near.chunks_mut(leaf_len).map(Mutex::new).collect();
        let (groups, nl) = (&self.pending32, leaves.len());
        let next = AtomicUsize::new(0);
        let moved: Vec<AtomicBool> = (0..nl).map(|_| AtomicBool::new(false)).collect();
        // Set when a thread panics moving a leaf, so that the chain does not wait for it.
        let failed = AtomicBool::new(false);
        struct OnUnwind<'f>(&'f AtomicBool);
        impl Drop for OnUnwind<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, Ordering::Release);
                }
            }
        }
        fn lock<M>(m: &Mutex<M>) -> std::sync::MutexGuard<'_, M> {
            m.lock().unwrap_or_else(|e| e.into_inner())
        }
        // Moves the next leaf no thread has taken; false when none is left.
        let move_one = |g: &mut Gathered, rows: &mut Vec<usize>| {
            let l = next.fetch_add(1, Ordering::Relaxed);
            if l >= nl {
                return false;
            }
            let _unwind = OnUnwind(&failed);
            let (mut nb, groups) = (lock(&leaves[l]), lock(&groups[l]));
            let start = l * leaf_len;
            Self::move_leaf32(&x, offset, &groups, t, c, kc, start, &mut nb, g, rows);
            drop((nb, groups));
            moved[l].store(true, Ordering::Release);
            true
        };
        let chain = rayon::scope(|s| {
            for _ in 1..rayon::current_num_threads().min(nl) {
                s.spawn(|_| {
                    let (mut g, mut rows) = (Gathered::new(d, 1), Vec::new());
                    while move_one(&mut g, &mut rows) {}
                });
            }
            let (mut g, mut rows) = (Gathered::new(d, 1), Vec::new());
            let mut chain = Chain::with_rows(n);
            for (l, leaf) in leaves.iter().enumerate() {
                while !moved[l].load(Ordering::Acquire) {
                    // (The scope passes the other thread's panic on once this body returns.)
                    if failed.load(Ordering::Acquire) {
                        return chain;
                    }
                    if !move_one(&mut g, &mut rows) {
                        // Another thread is moving it.
                        std::thread::yield_now();
                    }
                }
                let nb = lock(leaf);
                let start = l * leaf_len;
                chain.extend(&nb, x.weights().map(|w| &w[start..start + nb.len()]));
            }
            chain
        });
        self.chosen.extend_from_slice(c);
        chain
    }

    /// Moves the rows `nb` (of a leaf from row `start`) that the candidate `t` (row `c`,
    /// internal frame) of the last float32 scoring is nearer than their centre (of the leaf's
    /// `groups`) to the centre `kc`: their float64 distances, eight at a time, asking for the
    /// rows four groups of eight ahead.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn move_leaf32(
        x: &DataRef<'_, T>,
        offset: &[f64],
        groups: &[Group],
        t: usize,
        c: &[f64],
        kc: u32,
        start: usize,
        nb: &mut [Nearest],
        g: &mut Gathered,
        rows: &mut Vec<usize>,
    ) {
        rows.clear();
        for gr in groups {
            let mut m = gr.moves[t];
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                m &= m - 1;
                rows.push(gr.rows[l] as usize);
            }
        }
        let d = x.n_features();
        const AHEAD: usize = 4 * LANES;
        prefetch_rows(x, &rows[..AHEAD.min(rows.len())]);
        for (q, group) in rows.chunks(LANES).enumerate() {
            let a = (q * LANES + AHEAD).min(rows.len());
            prefetch_rows(x, &rows[a..(a + LANES).min(rows.len())]);
            g.load(x, group, offset);
            gathered_sq_distances(g, c, d, 1);
            for (&i, &v) in group.iter().zip(g.out.iter()) {
                let nr = &mut nb[i - start];
                if v < nr.d2 {
                    *nr = Nearest { d2: v, center: kc };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_as_pass, each_weighting_and_pool};
    use super::super::{PENDING_PER_ROW, Seeding};
    use super::certain;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn certainty_needs_a_clear_margin() {
        let n = 1000;
        let total = 1e6;
        // A clear winner.
        assert_eq!(
            certain(&[10.0, 500.0, 20.0], &[1.0, 1.0, 1.0], 0b111, total, n),
            Some(1)
        );
        // Errors that overlap, and an exact tie.
        assert_eq!(
            certain(&[10.0, 500.0, 499.0], &[1.0, 1.0, 1.0], 0b111, total, n),
            None
        );
        assert_eq!(certain(&[500.0, 500.0], &[0.0, 0.0], 0b11, total, n), None);
        // A repeated candidate is out of contention.
        assert_eq!(
            certain(&[500.0, 500.0, 3.0], &[0.0, 0.0, 0.0], 0b101, total, n),
            Some(0)
        );
        // The exact sums' rounding: a gap below (n + 4096) ε Σ w D² settles nothing.
        let gap = 0.5 * (n as f64 + 4096.0) * f64::EPSILON * total;
        assert_eq!(
            certain(&[10.0 + gap, 10.0], &[0.0, 0.0], 0b11, total, n),
            None
        );
        assert_eq!(
            certain(&[10.0 + 3.0 * gap, 10.0], &[0.0, 0.0], 0b11, total, n),
            Some(0)
        );
    }

    /// A step chosen from float32 scores chooses what the exact scores choose and leaves the
    /// rows and the chain as adding the centre by a pass does; candidates a rounding apart are
    /// scored exactly.
    #[test]
    fn float32_steps_choose_and_add_as_exact_ones() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(8);
        let (n, d) = (20_000, 5);
        let centres: Vec<f64> = (0..8 * d).map(|_| g.random::<f64>() * 40.0).collect();
        let mut x: Vec<f64> = (0..n)
            .flat_map(|i| {
                let c = i * 7 % 8;
                (0..d)
                    .map(|j| centres[c * d + j] + g.random::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect();
        // Rows 0 and 1 are far from the rest and an ulp apart: as candidates, a tie the
        // float32 scores cannot break.
        for j in 0..d {
            x[j] = 1000.0 + j as f64;
            x[d + j] = x[j].next_up();
        }
        let w: Vec<f64> = (0..n).map(|i| (i % 3) as f64 + 0.5).collect();
        each_weighting_and_pool(&x, &w, (n, d, 8), |lloyd, what| {
            let mut s = Seeding::new(lloyd, PENDING_PER_ROW).with_float32();
            let mut pass = Seeding::new(lloyd, PENDING_PER_ROW);
            let first = lloyd.rows_internal(&[3]);
            s.add(&first);
            pass.add(&first);
            let steps: [&[usize]; 3] = [&[5, 100, 7, 3000], &[0, 1, 1], &[9, 11, 4000, 2]];
            for (step, rows) in steps.into_iter().enumerate() {
                let cands = lloyd.rows_internal(rows);
                let pots = pass.score(&cands);
                let mut want = 0;
                for t in 1..rows.len() {
                    if pots[t] < pots[want] {
                        want = t;
                    }
                }
                let exact_before = s.exact_steps;
                let total = s.chain().total;
                let got = s.choose(&cands, total);
                assert_eq!(got, want, "{what}: step {step}");
                let chain = s.add_scored(got, &cands[got * d..(got + 1) * d]);
                pass.add(&cands[got * d..(got + 1) * d]);
                assert_as_pass(&s, &chain, &pass, &format!("{what}: step {step}"));
                // Only the second step's candidates (rows 0 and 1, and 1 again) tie.
                let exact = s.exact_steps - exact_before;
                assert_eq!(exact, u32::from(step == 1), "{what}: step {step}");
            }
        });
    }
}
