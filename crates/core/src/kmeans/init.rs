//! The first centres of a k-means run, and the seed rows of a mixture's `k-means++` and
//! `random_from_data` initialisations: one entry for both.
//!
//! Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre is a random row (with
//! probability proportional to its sample weight); each next one draws `2 + ⌊ln k⌋` candidates
//! with probability proportional to `w · D²`, the weighted squared distance to the nearest chosen
//! centre (NumPy's `searchsorted(cumsum(w D²), u · Σ w D²)`), and keeps the candidate that lowers
//! the potential `Σ_i w_i min(D²_i, ‖x_i - cand‖²)` most. Each candidate's potential is one
//! blocked pass, summed in the fixed order of the reduction tree. `random` draws `k` distinct
//! rows with probabilities proportional to their weights (NumPy's `choice(replace=False, p)`).
//!
//! Weights that are all equal draw exactly as no weights do: the same rows for the same seed.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::KMeansInit;
use super::lloyd::Lloyd;
use super::plusplus::{Nearest, PENDING_PER_ROW, Seeding};
use crate::data::{DataRef, Float};
use crate::error::{Result, invalid};
use crate::monitor::{self, Monitor};

/// Above this many rows, k-means++ seeds on a strided subsample (see [`plusplus`]).
pub(crate) const PLUSPLUS_MAX_ROWS: usize = 1 << 20;

/// `k` distinct rows drawn at random: uniformly, or with sample weights (not all equal)
/// with probabilities proportional to them (NumPy's `choice(replace=False, p)`), in the order
/// drawn.
pub(crate) fn random_rows<T: Float>(
    x: &DataRef<'_, T>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Result<Vec<usize>> {
    match unequal_weights(x) {
        None => Ok(rand::seq::index::sample(rng, x.n_samples(), k).into_vec()),
        Some(w) => weighted_distinct(rng, w, k),
    }
}

/// The start of one k-means run: its initial centres, in `lloyd`'s internal frame, and, when
/// k-means++ seeded on every row, each row's nearest centre and squared distance to it as the
/// seeding left them (what bound-based k-means starts its bounds from).
pub(crate) struct Start {
    pub centers: Vec<f64>,
    pub nearest: Option<Vec<Nearest>>,
}

/// The initial centres of one k-means run.
pub(crate) fn initial_centers<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    init: &KMeansInit,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Start> {
    let (rows, nearest) = match init {
        KMeansInit::Centers(c) => {
            return Ok(Start {
                centers: lloyd.to_internal(c),
                nearest: None,
            });
        }
        KMeansInit::KMeansPlusPlus => plusplus_kept(lloyd, k, rng, monitor, PENDING_PER_ROW, true)?,
        KMeansInit::Random => (random_rows(lloyd.x(), k, rng)?, None),
    };
    Ok(Start {
        centers: lloyd.rows_internal(&rows),
        nearest,
    })
}

/// The sample weights when they are not all equal (equal weights draw as no weights do).
fn unequal_weights<'a, T: Float>(x: &DataRef<'a, T>) -> Option<&'a [f64]> {
    x.weights().filter(|w| w.iter().any(|&v| v != w[0]))
}

/// `k` distinct indices drawn one after another with probabilities proportional to `w`, in the
/// order drawn: Efraimidis and Spirakis' keys `u^(1/w)` (largest first), kept in a heap of `k`.
fn weighted_distinct(rng: &mut Xoshiro256PlusPlus, w: &[f64], k: usize) -> Result<Vec<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    /// A key with a total order.
    #[derive(PartialEq)]
    struct Key(f64, usize);
    impl Eq for Key {}
    impl PartialOrd for Key {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Key {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
        }
    }
    let mut heap = BinaryHeap::with_capacity(k + 1);
    for (i, &wi) in w.iter().enumerate() {
        if wi > 0.0 {
            // ln(u) / w orders as u^(1/w); u in (0, 1].
            let u = 1.0 - rng.random::<f64>();
            heap.push(Reverse(Key(u.ln() / wi, i)));
            if heap.len() > k {
                heap.pop();
            }
        }
    }
    if heap.len() < k {
        return Err(invalid(
            "sample_weight",
            format!(
                "only {} rows have a positive weight, fewer than the {k} rows to draw",
                heap.len()
            ),
        ));
    }
    let mut keys: Vec<Key> = heap.into_iter().map(|Reverse(key)| key).collect();
    keys.sort_by(|a, b| b.cmp(a));
    Ok(keys.into_iter().map(|key| key.1).collect())
}

/// Greedy k-means++: the indices of the chosen rows, asking the monitor before each step.
///
/// The seeding keeps one distance per row; beyond [`PLUSPLUS_MAX_ROWS`] rows it runs on an
/// evenly strided subsample of the rows (a zero-copy view), so that memory stays bounded however
/// large the data. Lloyd's iterations then use every row.
pub(crate) fn plusplus<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Vec<usize>> {
    Ok(plusplus_kept(lloyd, k, rng, monitor, PENDING_PER_ROW, true)?.0)
}

/// [`plusplus`], keeping at most `per_row` improvements per row between the scoring of a step
/// and the adding of its centre ([`PENDING_PER_ROW`]), and choosing from float32 scores where
/// they settle the choice (`float32`, see [`Seeding::choose`]); also every row's nearest chosen
/// centre and `D²` when the seeding ran on every row (not on a subsample).
fn plusplus_kept<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
    per_row: usize,
    float32: bool,
) -> Result<(Vec<usize>, Option<Vec<Nearest>>)> {
    let x = lloyd.x();
    let (n, d) = (x.n_samples(), x.n_features());
    if n > PLUSPLUS_MAX_ROWS {
        let step = n.div_ceil(PLUSPLUS_MAX_ROWS);
        let m = (n - 1) / step + 1;
        let view = DataRef::with_stride(x.as_slice(), m, d, x.row_stride() * step)
            .expect("every strided row lies inside the data");
        let sub_weights: Option<Vec<f64>> =
            x.weights().map(|w| (0..m).map(|i| w[i * step]).collect());
        // A subsample without weight cannot seed: then every row is used.
        if sub_weights
            .as_ref()
            .is_none_or(|w| w.iter().any(|&v| v > 0.0))
        {
            let view = match &sub_weights {
                Some(w) => view.with_weights(w)?,
                None => view,
            };
            let sub = Lloyd::new(view, k, &[]);
            let rows = plusplus_kept(&sub, k, rng, monitor, per_row, float32)?.0;
            return Ok((rows.into_iter().map(|i| i * step).collect(), None));
        }
    }
    let trials = 2 + (k as f64).ln() as usize;
    let mut indices = Vec::with_capacity(k);
    let first = match unequal_weights(x) {
        None => rng.random_range(0..n),
        Some(w) => first_weighted(w, rng.random::<f64>()),
    };
    indices.push(first);
    let mut seeding = Seeding::new(lloyd, per_row);
    if float32 && k > 1 {
        seeding = seeding.with_float32();
    }
    seeding.add(&lloyd.rows_internal(&[first]));
    let mut chain = seeding.chain();
    for _ in 1..k {
        monitor::check(monitor)?;
        let targets: Vec<f64> = (0..trials)
            .map(|_| rng.random::<f64>() * chain.total)
            .collect();
        let cand = seeding.search(&chain, &targets);
        let cands = lloyd.rows_internal(&cand);
        let best = seeding.choose(&cands, chain.total);
        indices.push(cand[best]);
        chain = seeding.add_scored(best, &cands[best * d..(best + 1) * d]);
    }
    Ok((indices, Some(seeding.into_nearest())))
}

/// The first row drawn with probability proportional to `w`, for `u` uniform in `[0, 1)`: the
/// first index whose running sum exceeds `u Σ w` (NumPy's `choice(p=w / Σw)`), so that a row of
/// weight zero is never drawn.
fn first_weighted(w: &[f64], u: f64) -> usize {
    let target = u * w.iter().sum::<f64>();
    let mut run = 0.0;
    let mut last = 0;
    for (i, &wi) in w.iter().enumerate() {
        if wi > 0.0 {
            run += wi;
            last = i;
            if run > target {
                return i;
            }
        }
    }
    last
}

/// The seeding as it was before the blocked passes (one pass per candidate, one per chosen
/// centre, a walk over every row per draw): the reference the blocked seeding must match bit
/// for bit.
#[cfg(test)]
pub(crate) mod reference {
    use super::super::kernels::sq_distances;
    use super::*;
    use crate::blocks::{BLOCK_ROWS, Block, Layout, Pool};
    use crate::math::{self, LANES};

    pub(crate) fn plusplus<T: Float>(
        lloyd: &Lloyd<'_, T>,
        k: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Vec<usize>> {
        let x = lloyd.x();
        let (n, d) = (x.n_samples(), x.n_features());
        if n > PLUSPLUS_MAX_ROWS {
            let step = n.div_ceil(PLUSPLUS_MAX_ROWS);
            let m = (n - 1) / step + 1;
            let view = DataRef::with_stride(x.as_slice(), m, d, x.row_stride() * step)
                .expect("every strided row lies inside the data");
            let sub_weights: Option<Vec<f64>> =
                x.weights().map(|w| (0..m).map(|i| w[i * step]).collect());
            if sub_weights
                .as_ref()
                .is_none_or(|w| w.iter().any(|&v| v > 0.0))
            {
                let view = match &sub_weights {
                    Some(w) => view.with_weights(w)?,
                    None => view,
                };
                let sub = Lloyd::new(view, k, &[]);
                return Ok(plusplus(&sub, k, rng)?
                    .into_iter()
                    .map(|i| i * step)
                    .collect());
            }
        }
        let trials = 2 + (k as f64).ln() as usize;
        let weights = x.weights();
        let mut indices = Vec::with_capacity(k);
        let first = match unequal_weights(x) {
            None => rng.random_range(0..n),
            Some(w) => first_weighted(w, rng.random::<f64>()),
        };
        indices.push(first);
        let mut closest = vec![0.0; n];
        distances_to(
            lloyd,
            &lloyd.rows_internal(&[first]),
            &mut closest,
            |_, v| v,
        );
        let mut pot = potential(&closest, weights);
        for _ in 1..k {
            let targets: Vec<f64> = (0..trials).map(|_| rng.random::<f64>() * pot).collect();
            let cand = search_cumsum(&closest, weights, &targets);
            let cands = lloyd.rows_internal(&cand);
            // Potential of each candidate: Σ_i min(closest_i, ‖x_i - cand‖²).
            let accs = Pool::new(move || vec![0.0; trials]);
            let pots = lloyd.passes().reduce_rows(
                Layout::FeatureMajor,
                &accs,
                &mut closest,
                1,
                |s, span, acc, cl| {
                    lloyd.center_block(s, span.rows);
                    let xb = Block::new(&s.xt, span.rows);
                    sq_distances(xb, &cands, &mut s.comp);
                    for t in 0..trials {
                        let mut a = [0.0; LANES];
                        let dist = &s.comp[t * BLOCK_ROWS..];
                        if let Some(w) = s.w.get() {
                            for r in 0..span.rows {
                                a[r % LANES] += w[r] * cl[r].min(dist[r]);
                            }
                        } else {
                            for r in 0..span.rows {
                                a[r % LANES] += cl[r].min(dist[r]);
                            }
                        }
                        acc[t] += math::sum(&a);
                    }
                },
            );
            let mut best = 0;
            for t in 1..trials {
                if pots[t] < pots[best] {
                    best = t;
                }
            }
            indices.push(cand[best]);
            let chosen = lloyd.rows_internal(&[cand[best]]);
            distances_to(lloyd, &chosen, &mut closest, f64::min);
            pot = potential(&closest, weights);
        }
        Ok(indices)
    }

    /// `closest[i] = update(closest[i], ‖x_i - c‖²)` for one centre `c` (internal frame).
    fn distances_to<T: Float>(
        lloyd: &Lloyd<'_, T>,
        c: &[f64],
        closest: &mut [f64],
        update: impl Fn(f64, f64) -> f64 + Sync,
    ) {
        lloyd.passes().map_rows(closest, 1, |s, span, cl| {
            lloyd.center_block(s, span.rows);
            sq_distances(Block::new(&s.xt, span.rows), c, &mut s.comp);
            for r in 0..span.rows {
                cl[r] = update(cl[r], s.comp[r]);
            }
        });
    }

    /// The potential `Σ_i w_i D²_i`, left to right (the running sum [`search_cumsum`] walks).
    fn potential(d2: &[f64], weights: Option<&[f64]>) -> f64 {
        match weights {
            None => d2.iter().sum(),
            Some(w) => d2.iter().zip(w).map(|(d, w)| w * d).sum(),
        }
    }

    /// For each target `t`, the first index whose running sum of `w_i v_i` (`v_i` without
    /// weights) reaches `t` (NumPy's `searchsorted(cumsum(w v), t)`), clipped to the last index.
    pub(crate) fn search_cumsum(v: &[f64], weights: Option<&[f64]>, targets: &[f64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
        let term = |i: usize| match weights {
            None => v[i],
            Some(w) => w[i] * v[i],
        };
        let mut out = vec![v.len() - 1; targets.len()];
        let mut run = 0.0;
        let mut i = 0;
        for &t in &order {
            while i < v.len() {
                if run + term(i) >= targets[t] {
                    break;
                }
                run += term(i);
                i += 1;
            }
            out[t] = i.min(v.len() - 1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::reference::search_cumsum;
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn searchsorted_semantics() {
        let w = [1.0, 0.0, 2.0, 3.0];
        // cumsum = [1, 1, 3, 6]
        assert_eq!(
            search_cumsum(&w, None, &[0.5, 1.0, 1.5, 6.0, 7.0]),
            vec![0, 0, 2, 3, 3]
        );
        // Weighted: cumsum(w v) = [2, 2, 2, 5].
        let v = [1.0, 5.0, 0.0, 1.0];
        let wt = [2.0, 0.0, 1.0, 3.0];
        assert_eq!(
            search_cumsum(&v, Some(&wt), &[1.0, 2.0, 2.5]),
            vec![0, 0, 3]
        );
    }

    #[test]
    fn weighted_draws_never_pick_zero_weights_and_follow_the_weights() {
        let w = [0.0, 1.0, 0.0, 3.0, 0.0];
        assert_eq!(first_weighted(&w, 0.0), 1);
        assert_eq!(first_weighted(&w, 0.2499), 1);
        assert_eq!(first_weighted(&w, 0.25), 3);
        assert_eq!(first_weighted(&w, 0.9999), 3);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut firsts = [0usize; 5];
        for _ in 0..4000 {
            let d = weighted_distinct(&mut rng, &w, 2).unwrap();
            assert_eq!(d.len(), 2);
            assert!(d.contains(&1) && d.contains(&3), "{d:?}");
            firsts[d[0]] += 1;
        }
        // Row 3 (weight 3) is drawn first three times as often as row 1.
        let ratio = firsts[3] as f64 / firsts[1] as f64;
        assert!((2.6..3.4).contains(&ratio), "{firsts:?}");
        assert!(weighted_distinct(&mut rng, &w, 3).is_err());
    }
}

/// The blocked seeding against the reference, bit for bit: the same rows chosen and the
/// random stream left in the same state, on data that exercise the pruning's edge cases.
#[cfg(test)]
mod blocked {
    use super::*;
    use crate::monitor::Monitor;
    use rand::SeedableRng;

    fn uniform(n: usize, d: usize, seed: u64) -> Vec<f64> {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n * d).map(|_| g.random::<f64>() * 10.0 - 3.0).collect()
    }

    fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
        let centres: Vec<f64> = (0..k * d).map(|_| g.random::<f64>() * 100.0).collect();
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let c = g.random_range(0..k);
            for j in 0..d {
                x.push(centres[c * d + j] + g.random::<f64>() - 0.5);
            }
        }
        x
    }

    fn same<T: Float>(x: DataRef<'_, T>, k: usize, seed: u64, what: &str) {
        let lloyd = Lloyd::new(x, k, &[]);
        let mut r1 = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut r2 = r1.clone();
        let want = reference::plusplus(&lloyd, k, &mut r1).unwrap();
        // Every centre added from the scoring's improvements (as far as they are kept), and
        // every one by a pass of its own.
        let kept = PENDING_PER_ROW;
        let mut first: Option<Vec<Nearest>> = None;
        let runs = [
            (1, kept, true),
            (2, kept, true),
            (3, kept, true),
            (1, 0, true),
            (3, 0, false),
            (2, kept, false),
        ];
        for (threads, kept, float32) in runs {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut r = r2.clone();
            let (got, near) = pool
                .install(|| {
                    let monitor = &mut () as &mut dyn Monitor;
                    plusplus_kept(&lloyd, k, &mut r, monitor, kept, float32)
                })
                .unwrap();
            let how = format!("{threads} threads, {kept} kept, float32 {float32}");
            assert_eq!(got, want, "{what}, k={k}, {how}");
            // Each row's nearest centre and `D²` as the seeding leaves them (unless it ran on a
            // subsample): the nearest chosen row, the same on every thread count.
            if x.n_samples() <= PLUSPLUS_MAX_ROWS {
                let near = near.expect("seeded on every row");
                let centers = lloyd.rows_internal(&got);
                let d = x.n_features();
                for (i, nr) in near.iter().enumerate() {
                    let row = lloyd.rows_internal(&[i]);
                    let q: Vec<f64> = centers
                        .chunks_exact(d)
                        .map(|c| row.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum())
                        .collect();
                    let min = q.iter().copied().fold(f64::INFINITY, f64::min);
                    let tol = 1e-12 * min.max(1e-300);
                    assert!((nr.d2 - min).abs() <= tol, "{what}: row {i} D²");
                    assert!(q[nr.center as usize] - min <= 2.0 * tol, "{what}: row {i}");
                }
                match &first {
                    None => first = Some(near),
                    Some(f) => assert!(
                        f.iter()
                            .zip(&near)
                            .all(|(a, b)| a.d2.to_bits() == b.d2.to_bits() && a.center == b.center),
                        "{what}: {threads} threads"
                    ),
                }
            } else {
                assert!(
                    near.is_none(),
                    "{what}: a subsample's state is not the rows'"
                );
            }
            assert_eq!(
                r.random::<u64>(),
                r1.clone().random::<u64>(),
                "{what}: stream"
            );
        }
        r2.random::<u64>();
    }

    #[test]
    fn blocked_seeding_chooses_the_reference_rows() {
        for (n, d) in [(700, 2), (5000, 3), (20_000, 16), (3000, 30)] {
            let x = blobs(n, d, 12, n as u64 + d as u64);
            let xr = DataRef::new(&x, n, d).unwrap();
            for k in [1, 2, 5, 12, 40] {
                same(xr, k, 7 + k as u64, &format!("blobs {n}x{d}"));
            }
            let u = uniform(n, d, 3);
            same(
                DataRef::new(&u, n, d).unwrap(),
                20,
                1,
                &format!("uniform {n}x{d}"),
            );
        }
    }

    #[test]
    fn duplicates_zeros_weights_and_f32_choose_the_reference_rows() {
        // Few distinct rows: most distances are exactly zero, many candidates tie.
        let (n, d) = (6000, 4);
        let base = blobs(9, d, 3, 5);
        let x: Vec<f64> = (0..n)
            .flat_map(|i| base[(i * 7 % 9) * d..][..d].to_vec())
            .collect();
        let xr = DataRef::new(&x, n, d).unwrap();
        for k in [3, 9] {
            same(xr, k, k as u64, "duplicates");
        }
        // Weights, some zero, some large.
        let y = blobs(n, d, 6, 11);
        let mut g = Xoshiro256PlusPlus::seed_from_u64(2);
        let w: Vec<f64> = (0..n)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    g.random::<f64>() * 3.0
                }
            })
            .collect();
        let yr = DataRef::new(&y, n, d).unwrap().with_weights(&w).unwrap();
        for k in [2, 6, 25] {
            same(yr, k, 3, "weighted");
        }
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        same(DataRef::new(&y32, n, d).unwrap(), 10, 4, "f32");
        // Rows far apart in scale: tiny clusters next to huge distances.
        let z: Vec<f64> = (0..n * 2)
            .map(|i| ((i / 2) % 4) as f64 * 1e150 + (i % 13) as f64 * 1e-150)
            .collect();
        same(DataRef::new(&z, n, 2).unwrap(), 6, 9, "scales");
    }

    #[test]
    fn subsampled_seeding_chooses_the_reference_rows() {
        let n = PLUSPLUS_MAX_ROWS + 3000;
        let x = blobs(n, 2, 5, 1);
        same(DataRef::new(&x, n, 2).unwrap(), 5, 2, "subsample");
    }

    #[test]
    fn chained_search_is_searchsorted() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(9);
        let n = 3000;
        let v: Vec<f64> = (0..n)
            .map(|i| if i % 3 == 0 { 0.0 } else { g.random::<f64>() })
            .collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.5).collect();
        let x = vec![0.0; n];
        let xr = DataRef::new(&x, n, 1).unwrap();
        for weights in [None, Some(&w[..])] {
            let data = match weights {
                Some(w) => xr.with_weights(w).unwrap(),
                None => xr,
            };
            let lloyd = Lloyd::new(data, 1, &[]);
            let mut s = Seeding::new(&lloyd, PENDING_PER_ROW);
            s.set_nearest(&v);
            let chain = s.chain();
            let mut targets: Vec<f64> = (0..200).map(|_| g.random::<f64>() * chain.total).collect();
            targets.extend([0.0, chain.total, chain.total * 2.0, chain.total.next_down()]);
            assert_eq!(
                s.search(&chain, &targets),
                reference::search_cumsum(&v, weights, &targets)
            );
        }
    }
}
