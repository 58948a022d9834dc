//! The first centres of a k-means run, and the seed rows of a mixture's `k-means++` and
//! `random_from_data` initialisations: one entry for both.
//!
//! Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre is a uniformly random
//! row; each next one draws `2 + ⌊ln k⌋` candidates with probability proportional to the squared
//! distance to the nearest chosen centre (NumPy's `searchsorted(cumsum(D²), u · ΣD²)`), and keeps
//! the candidate that lowers the potential `Σ_i min(D²_i, ‖x_i - cand‖²)` most. Each candidate's
//! potential is one blocked pass, summed in the fixed order of the reduction tree.

use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::KMeansInit;
use super::kernels::{Form, sq_distances};
use super::lloyd::Lloyd;
use crate::blocks::{BLOCK_ROWS, Block, Layout, Pool};
use crate::data::{DataRef, Float};
use crate::error::Result;
use crate::math::{self, LANES};
use crate::monitor::{self, Monitor};

/// Above this many rows, k-means++ seeds on a strided subsample (see [`plusplus`]).
pub(crate) const PLUSPLUS_MAX_ROWS: usize = 1 << 20;

/// How seed rows are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seeding {
    /// Greedy k-means++.
    PlusPlus,
    /// `k` distinct rows uniformly at random.
    Random,
}

/// The indices of `k` seed rows of the data bound to `lloyd` (`k` its number of clusters).
pub(crate) fn seed_rows<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    seeding: Seeding,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Vec<usize>> {
    match seeding {
        Seeding::PlusPlus => plusplus(lloyd, k, rng, monitor),
        Seeding::Random => Ok(rand::seq::index::sample(rng, lloyd.x().n_samples(), k).into_vec()),
    }
}

/// The initial centres of one k-means run, in `lloyd`'s internal frame.
pub(crate) fn initial_centers<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    init: &KMeansInit,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Vec<f64>> {
    let seeding = match init {
        KMeansInit::Centers(c) => return Ok(lloyd.to_internal(c)),
        KMeansInit::KMeansPlusPlus => Seeding::PlusPlus,
        KMeansInit::Random => Seeding::Random,
    };
    Ok(lloyd.rows_internal(&seed_rows(lloyd, k, seeding, rng, monitor)?))
}

/// Greedy k-means++: the indices of the chosen rows, asking the monitor before each step.
///
/// The seeding keeps one distance per row; beyond [`PLUSPLUS_MAX_ROWS`] rows it runs on an
/// evenly strided subsample of the rows (a zero-copy view), so that memory stays bounded however
/// large the data. Lloyd's iterations then use every row.
fn plusplus<T: Float>(
    lloyd: &Lloyd<'_, T>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Vec<usize>> {
    let x = lloyd.x();
    let (n, d) = (x.n_samples(), x.n_features());
    if n > PLUSPLUS_MAX_ROWS {
        let step = n.div_ceil(PLUSPLUS_MAX_ROWS);
        let m = (n - 1) / step + 1;
        let view = DataRef::with_stride(x.as_slice(), m, d, x.row_stride() * step)
            .expect("every strided row lies inside the data");
        let sub = Lloyd::new(view, k, &[]);
        return Ok(plusplus(&sub, k, rng, monitor)?
            .into_iter()
            .map(|i| i * step)
            .collect());
    }
    let trials = 2 + (k as f64).ln() as usize;
    let mut indices = Vec::with_capacity(k);
    let first = rng.random_range(0..n);
    indices.push(first);
    let mut closest = vec![0.0; n];
    distances_to(
        lloyd,
        &lloyd.rows_internal(&[first]),
        &mut closest,
        |_, v| v,
    );
    let mut pot = sum_sequential(&closest);
    for _ in 1..k {
        monitor::check(monitor)?;
        let targets: Vec<f64> = (0..trials).map(|_| rng.random::<f64>() * pot).collect();
        let cand = search_cumsum(&closest, &targets);
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
                sq_distances(xb, &mut s.row, &cands, &mut s.comp, Form::Exact);
                for t in 0..trials {
                    let mut a = [0.0; LANES];
                    for r in 0..span.rows {
                        a[r % LANES] += cl[r].min(s.comp[t * BLOCK_ROWS + r]);
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
        pot = sum_sequential(&closest);
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
        sq_distances(
            Block::new(&s.xt, span.rows),
            &mut s.row,
            c,
            &mut s.comp,
            Form::Exact,
        );
        for r in 0..span.rows {
            cl[r] = update(cl[r], s.comp[r]);
        }
    });
}

/// Left-to-right sum (the running sum [`search_cumsum`] walks).
fn sum_sequential(v: &[f64]) -> f64 {
    v.iter().sum()
}

/// For each target `t`, the first index whose running sum of `w` reaches `t` (NumPy's
/// `searchsorted(cumsum(w), t)`), clipped to the last index.
fn search_cumsum(w: &[f64], targets: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
    let mut out = vec![w.len() - 1; targets.len()];
    let mut run = 0.0;
    let mut i = 0;
    for &t in &order {
        while i < w.len() {
            if run + w[i] >= targets[t] {
                break;
            }
            run += w[i];
            i += 1;
        }
        out[t] = i.min(w.len() - 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searchsorted_semantics() {
        let w = [1.0, 0.0, 2.0, 3.0];
        // cumsum = [1, 1, 3, 6]
        assert_eq!(
            search_cumsum(&w, &[0.5, 1.0, 1.5, 6.0, 7.0]),
            vec![0, 0, 2, 3, 3]
        );
    }
}
