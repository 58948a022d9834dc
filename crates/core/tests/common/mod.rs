//! Data the integration tests share.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// `n` rows of `k` well-separated Gaussian blobs in `d` dimensions, row-major, row `i` drawn
/// from blob `i % k`; centres uniform in `[0, 10)^d`, per-axis spread `std + 0.2 ((j + c) % 3)`
/// so that the clusters are elliptical and differ from one another.
pub fn blobs(n: usize, d: usize, k: usize, std: f64, seed: u64) -> Vec<f64> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centers: Vec<f64> = (0..k * d).map(|_| 10.0 * g.random::<f64>()).collect();
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let c = i % k;
        for j in 0..d {
            let z: f64 = g.sample(StandardNormal);
            x.push(centers[c * d + j] + z * (std + 0.2 * ((j + c) % 3) as f64));
        }
    }
    x
}
