//! The k-means kernels against their definitions at every kernel shape: the register kernels
//! for a constant `d` (3, 8, 16), the fixed-size fallback below the wide threshold (12), and the
//! register tiles of the wide kernel from it on (24, 40); ragged last blocks and several leaves.

use gaussmix_core::{DataRef, KMeans, KMeansInit, KMeansModel};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn data(n: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * d)
        .map(|i| g.random::<f64>() * 4.0 + (i % d) as f64 * 10.0)
        .collect()
}

fn sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The exact nearest centre of `row` and whether the runner-up is too close to call.
fn nearest(row: &[f64], centers: &[f64], d: usize) -> (usize, bool) {
    let dist: Vec<f64> = centers.chunks(d).map(|c| sq(row, c)).collect();
    let mut best = 0;
    for (c, &v) in dist.iter().enumerate() {
        if v < dist[best] {
            best = c;
        }
    }
    let close = dist
        .iter()
        .enumerate()
        .any(|(c, &v)| c != best && (v - dist[best]).abs() <= 1e-9 * dist[best].max(1.0));
    (best, close)
}

#[test]
fn kernels_match_the_definition_at_every_shape() {
    for d in [3, 8, 12, 16, 24, 40] {
        for (n, k) in [(549, 1), (549, 5), (9000, 17)] {
            let x = data(n, d, (d * 100 + k) as u64);
            let xr = DataRef::new(&x, n, d).unwrap();
            let centers = data(k, d, 7 + d as u64);
            let model = KMeansModel::from_centers(centers.clone(), k, d).unwrap();
            let labels = model.predict(xr).unwrap();
            let dist = model.transform(xr).unwrap();
            let offset: Vec<f64> = (0..d).map(|j| j as f64 * 10.0 + 1.5).collect();
            let pass = model.lloyd_pass(xr, &offset).unwrap();
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0.0; k];
            let mut inertia = 0.0;
            for i in 0..n {
                let row = &x[i * d..(i + 1) * d];
                let (want, close) = nearest(row, &centers, d);
                if !close {
                    assert_eq!(labels[i], want, "d={d} n={n} k={k} row {i}");
                }
                let l = labels[i];
                counts[l] += 1.0;
                for j in 0..d {
                    sums[l * d + j] += row[j] - offset[j];
                }
                inertia += sq(row, &centers[l * d..(l + 1) * d]);
                for c in 0..k {
                    let want = sq(row, &centers[c * d..(c + 1) * d]).sqrt();
                    assert!(
                        (dist[i * k + c] - want).abs() <= 1e-9 * want.max(1.0),
                        "d={d}"
                    );
                }
            }
            assert_eq!(pass.counts, counts, "d={d} n={n} k={k}");
            for (a, b) in pass.sums.iter().zip(&sums) {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "d={d}: {a} vs {b}"
                );
            }
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
            assert!(rel(pass.inertia, inertia) < 1e-10, "d={d}");
            assert!(rel(model.inertia_of(xr).unwrap(), inertia) < 1e-10, "d={d}");
            // One Lloyd iteration from these centres: each centre moves to the mean of its rows.
            let fit = KMeans::new(k)
                .init(KMeansInit::Centers(centers.clone()))
                .max_iter(1)
                .fit(xr)
                .unwrap();
            for c in 0..k {
                if counts[c] == 0.0 {
                    continue;
                }
                for j in 0..d {
                    let mean = sums[c * d + j] / counts[c] + offset[j];
                    let got = fit.centers()[c * d + j];
                    assert!(
                        (got - mean).abs() <= 1e-9 * mean.abs().max(1.0),
                        "d={d} c={c}"
                    );
                }
            }
        }
    }
}

/// The wide kernel (d ≥ 24) across its centre panels (12) and centre blocks (192 centres):
/// the definition's nearest centre, and duplicated centres (equal scores bit for bit) never
/// win over the first of their copies, wherever the copies fall.
#[test]
fn wide_kernel_crosses_centre_blocks_and_breaks_ties_to_the_lower_index() {
    let (n, d, k) = (1000, 32, 205);
    let mut x = data(n, d, 11);
    let mut centers = data(k, d, 12);
    // Centres 150 (same panel block), 193 (next block) and 204 (last, ragged panel) copy
    // centres 3, 190 and 100.
    for (copy, of) in [(150, 3), (193, 190), (204, 100)] {
        let c = centers[of * d..(of + 1) * d].to_vec();
        centers[copy * d..(copy + 1) * d].copy_from_slice(&c);
    }
    // Rows on the copied centres, so that the copies are someone's nearest.
    for (i, of) in [(0, 3), (17, 190), (500, 100), (999, 190)] {
        let c = centers[of * d..(of + 1) * d].to_vec();
        x[i * d..(i + 1) * d].copy_from_slice(&c);
    }
    let xr = DataRef::new(&x, n, d).unwrap();
    let model = KMeansModel::from_centers(centers.clone(), k, d).unwrap();
    let labels = model.predict(xr).unwrap();
    for (i, &l) in labels.iter().enumerate() {
        assert!(![150, 193, 204].contains(&l), "row {i} took copy {l}");
        let (want, close) = nearest(&x[i * d..(i + 1) * d], &centers, d);
        if !close {
            assert_eq!(l, want, "row {i}");
        }
    }
    assert_eq!(
        (labels[0], labels[17], labels[500], labels[999]),
        (3, 190, 100, 190)
    );
}
