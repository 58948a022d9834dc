//! The blocked, parallel engine against a naive per-sample oracle in plain f64 (kept here, in
//! the test code): log-likelihoods, responsibilities and one M-step, at block and leaf edges, for
//! several dimensions (both sides of the switch to faer's products) and component counts.

use gaussmix_core::{BLOCK_ROWS, CovarianceType, DataRef, GaussianMixtureModel};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Leaf of the reduction tree (blocks per leaf times rows per block).
const LEAF: usize = 16 * BLOCK_ROWS;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A random mixture of the given type, with well conditioned covariances.
fn random_model(t: CovarianceType, k: usize, d: usize, seed: u64) -> GaussianMixtureModel {
    let mut g = rng(seed);
    let mut w: Vec<f64> = (0..k).map(|_| 0.5 + g.random::<f64>()).collect();
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= s);
    let means: Vec<f64> = (0..k * d).map(|_| 4.0 * g.random::<f64>() - 2.0).collect();
    let spd = |g: &mut Xoshiro256PlusPlus| {
        let a: Vec<f64> = (0..d * d).map(|_| g.random::<f64>() - 0.5).collect();
        let mut m = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                m[i * d + j] = (0..d).map(|l| a[i * d + l] * a[j * d + l]).sum::<f64>() * 0.5;
            }
            m[i * d + i] += 0.3;
        }
        m
    };
    let cov = match t {
        CovarianceType::Full => (0..k).flat_map(|_| spd(&mut g)).collect(),
        CovarianceType::Tied => spd(&mut g),
        CovarianceType::Diag => (0..k * d).map(|_| 0.2 + g.random::<f64>()).collect(),
        CovarianceType::Spherical => (0..k).map(|_| 0.2 + g.random::<f64>()).collect(),
    };
    GaussianMixtureModel::from_covariances(t, k, d, w, means, cov).unwrap()
}

/// The covariance of component `c` as a dense `(d, d)` matrix.
fn dense_cov(m: &GaussianMixtureModel, c: usize) -> Vec<f64> {
    let d = m.n_features();
    let cov = m.covariances();
    let mut s = vec![0.0; d * d];
    match m.covariance_type() {
        CovarianceType::Full => s.copy_from_slice(&cov[c * d * d..(c + 1) * d * d]),
        CovarianceType::Tied => s.copy_from_slice(cov),
        CovarianceType::Diag => (0..d).for_each(|j| s[j * d + j] = cov[c * d + j]),
        CovarianceType::Spherical => (0..d).for_each(|j| s[j * d + j] = cov[c]),
    }
    s
}

/// Inverse and log-determinant by Gauss-Jordan elimination with partial pivoting.
fn inverse_logdet(a: &[f64], d: usize) -> (Vec<f64>, f64) {
    let mut m = a.to_vec();
    let mut inv: Vec<f64> = (0..d * d)
        .map(|i| if i / d == i % d { 1.0 } else { 0.0 })
        .collect();
    let mut logdet = 0.0;
    for col in 0..d {
        let piv = (col..d)
            .max_by(|&i, &j| m[i * d + col].abs().total_cmp(&m[j * d + col].abs()))
            .unwrap();
        for j in 0..d {
            m.swap(col * d + j, piv * d + j);
            inv.swap(col * d + j, piv * d + j);
        }
        let p = m[col * d + col];
        logdet += p.abs().ln();
        for j in 0..d {
            m[col * d + j] /= p;
            inv[col * d + j] /= p;
        }
        for i in 0..d {
            if i != col {
                let f = m[i * d + col];
                for j in 0..d {
                    m[i * d + j] -= f * m[col * d + j];
                    inv[i * d + j] -= f * inv[col * d + j];
                }
            }
        }
    }
    (inv, logdet)
}

/// Per-sample log-likelihoods and responsibilities, the textbook way.
fn oracle_e_step(m: &GaussianMixtureModel, x: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let (k, d) = (m.n_components(), m.n_features());
    let comps: Vec<(Vec<f64>, f64)> = (0..k)
        .map(|c| inverse_logdet(&dense_cov(m, c), d))
        .collect();
    let mut lse = vec![0.0; n];
    let mut resp = vec![0.0; n * k];
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        let lp: Vec<f64> = (0..k)
            .map(|c| {
                let mu = &m.means()[c * d..(c + 1) * d];
                let (inv, logdet) = &comps[c];
                let mut q = 0.0;
                for a in 0..d {
                    for b in 0..d {
                        q += (xi[a] - mu[a]) * inv[a * d + b] * (xi[b] - mu[b]);
                    }
                }
                m.weights()[c].ln()
                    - 0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + logdet + q)
            })
            .collect();
        let mx = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let l = mx + lp.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
        lse[i] = l;
        for c in 0..k {
            resp[i * k + c] = (lp[c] - l).exp();
        }
    }
    (lse, resp)
}

/// scikit-learn's M-step from responsibilities, written out directly.
fn oracle_m_step(
    t: CovarianceType,
    x: &[f64],
    n: usize,
    d: usize,
    resp: &[f64],
    k: usize,
    reg: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let eps10 = 10.0 * f64::EPSILON;
    let nk: Vec<f64> = (0..k)
        .map(|c| (0..n).map(|i| resp[i * k + c]).sum::<f64>() + eps10)
        .collect();
    let total: f64 = nk.iter().sum();
    let weights: Vec<f64> = nk.iter().map(|v| v / total).collect();
    let mut means = vec![0.0; k * d];
    for c in 0..k {
        for j in 0..d {
            means[c * d + j] = (0..n).map(|i| resp[i * k + c] * x[i * d + j]).sum::<f64>() / nk[c];
        }
    }
    // Full covariances about the new means; the other types derive from them.
    let mut full = vec![0.0; k * d * d];
    for c in 0..k {
        for a in 0..d {
            for b in 0..d {
                full[c * d * d + a * d + b] = (0..n)
                    .map(|i| {
                        resp[i * k + c]
                            * (x[i * d + a] - means[c * d + a])
                            * (x[i * d + b] - means[c * d + b])
                    })
                    .sum::<f64>()
                    / nk[c];
            }
        }
    }
    let cov = match t {
        CovarianceType::Full => {
            let mut f = full.clone();
            for c in 0..k {
                for j in 0..d {
                    f[c * d * d + j * d + j] += reg;
                }
            }
            f
        }
        CovarianceType::Tied => {
            let mut s = vec![0.0; d * d];
            for c in 0..k {
                for e in 0..d * d {
                    s[e] += nk[c] * full[c * d * d + e] / total;
                }
            }
            for j in 0..d {
                s[j * d + j] += reg;
            }
            s
        }
        CovarianceType::Diag => (0..k * d)
            .map(|i| full[(i / d) * d * d + (i % d) * (d + 1)] + reg)
            .collect(),
        CovarianceType::Spherical => (0..k)
            .map(|c| {
                (0..d)
                    .map(|j| full[c * d * d + j * (d + 1)] + reg)
                    .sum::<f64>()
                    / d as f64
            })
            .collect(),
    };
    (weights, means, cov)
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn check(t: CovarianceType, n: usize, d: usize, k: usize) {
    let seed = (n * 1000 + d * 10 + k) as u64;
    let model = random_model(t, k, d, seed);
    let mut g = rng(seed + 1);
    // Points around the means, so responsibilities are not all 0 or 1.
    let x: Vec<f64> = (0..n * d)
        .map(|i| model.means()[(i / d % k) * d + i % d] + 1.5 * (g.random::<f64>() - 0.5))
        .collect();
    let data = DataRef::new(&x, n, d).unwrap();
    let what = format!("{t} n={n} d={d} k={k}");

    let (lse, resp) = oracle_e_step(&model, &x, n);
    close(
        &model.score_samples(data).unwrap(),
        &lse,
        1e-10,
        &format!("{what} score_samples"),
    );
    let proba = model.predict_proba(data).unwrap();
    close(&proba, &resp, 1e-10, &format!("{what} predict_proba"));
    for i in 0..n {
        let s: f64 = proba[i * k..(i + 1) * k].iter().sum();
        assert!((s - 1.0).abs() < 1e-12, "{what}: proba row {i} sums to {s}");
    }

    let stats = model.sufficient_statistics(data).unwrap();
    assert_eq!(stats.n_samples(), n as u64);
    let ll: f64 = lse.iter().sum();
    assert!(
        (stats.log_likelihood() - ll).abs() <= 1e-10 * ll.abs().max(1.0),
        "{what}: log-likelihood"
    );
    let next = GaussianMixtureModel::m_step(&stats, 1e-6).unwrap();
    let (w, mu, cov) = oracle_m_step(t, &x, n, d, &resp, k, 1e-6);
    close(next.weights(), &w, 1e-10, &format!("{what} weights"));
    close(next.means(), &mu, 1e-10, &format!("{what} means"));
    // A single row per component gives tiny covariances: compare relative to reg_covar's scale.
    close(
        next.covariances(),
        &cov,
        1e-9,
        &format!("{what} covariances"),
    );
}

#[test]
fn engine_matches_oracle_at_block_edges() {
    let b = BLOCK_ROWS;
    for t in CovarianceType::ALL {
        for n in [1, b - 1, b, b + 1, 3 * b + 7] {
            for d in [1, 2, 15, 16, 17] {
                for k in [1, 2, 7] {
                    check(t, n, d, k);
                }
            }
        }
    }
}

#[test]
fn engine_matches_oracle_with_large_d_kernels_and_across_leaves() {
    for t in CovarianceType::ALL {
        for (n, d, k) in [
            (37, 24, 3),
            (BLOCK_ROWS + 3, 33, 2),
            (LEAF + 1, 5, 3),
            (2 * LEAF + 17, 25, 2),
            (BLOCK_ROWS + 9, 64, 2),
        ] {
            check(t, n, d, k);
        }
    }
}

#[test]
fn statistics_from_given_responsibilities_match_the_oracle_m_step() {
    use gaussmix_core::{Responsibilities, SufficientStats};
    let (n, d, k) = (3 * BLOCK_ROWS + 11, 3, 4);
    let mut g = rng(42);
    let x: Vec<f64> = (0..n * d).map(|_| 10.0 * g.random::<f64>()).collect();
    let data = DataRef::new(&x, n, d).unwrap();
    let mut soft: Vec<f64> = (0..n * k).map(|_| g.random::<f64>()).collect();
    for row in soft.chunks_mut(k) {
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
    }
    let labels: Vec<i64> = (0..n)
        .map(|i| if i % 7 == 0 { -1 } else { (i % k) as i64 })
        .collect();
    let onehot: Vec<f64> = (0..n * k)
        .map(|i| (labels[i / k] == (i % k) as i64) as u8 as f64)
        .collect();
    let shift: Vec<f64> = (0..k * d).map(|i| i as f64 * 0.5).collect();
    for t in CovarianceType::ALL {
        for (resp, dense) in [
            (Responsibilities::Soft(&soft), &soft),
            (Responsibilities::Labels(&labels), &onehot),
        ] {
            let stats = SufficientStats::from_responsibilities(t, data, &shift, k, resp).unwrap();
            assert_eq!(stats.n_samples(), n as u64);
            assert_eq!(stats.log_likelihood(), 0.0);
            let m = GaussianMixtureModel::m_step(&stats, 1e-6).unwrap();
            let (w, mu, cov) = oracle_m_step(t, &x, n, d, dense, k, 1e-6);
            close(m.weights(), &w, 1e-10, &format!("{t} weights"));
            close(m.means(), &mu, 1e-10, &format!("{t} means"));
            // scikit-learn's tied covariance counts every row once, whatever its
            // responsibilities; the oracle's pooled covariance equals it when they sum to one
            // per row (the soft case), not with rows that belong to no component.
            if t != CovarianceType::Tied || matches!(resp, Responsibilities::Soft(_)) {
                close(m.covariances(), &cov, 1e-9, &format!("{t} covariances"));
            }
        }
    }
    // Bad input is refused.
    assert!(
        SufficientStats::from_responsibilities(
            CovarianceType::Full,
            data,
            &shift,
            k,
            Responsibilities::Labels(&labels[1..])
        )
        .is_err()
    );
    let mut wrong = labels.clone();
    wrong[3] = k as i64;
    assert!(
        SufficientStats::from_responsibilities(
            CovarianceType::Full,
            data,
            &shift,
            k,
            Responsibilities::Labels(&wrong)
        )
        .is_err()
    );
}

#[test]
fn lloyd_passes_over_chunks_add_up_to_one_iteration() {
    use gaussmix_core::{KMeans, KMeansInit, KMeansModel};
    let (n, d, k) = (2 * 16 * BLOCK_ROWS + 77, 5, 6);
    let mut g = rng(7);
    let x: Vec<f64> = (0..n * d)
        .map(|i| 20.0 * ((i / d) % k) as f64 + g.random::<f64>())
        .collect();
    let data = DataRef::new(&x, n, d).unwrap();
    let init: Vec<f64> = (0..k)
        .flat_map(|c| x[(c * 101) * d..(c * 101 + 1) * d].to_vec())
        .collect();
    let offset: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64)
        .collect();
    let model = KMeansModel::from_centers(init.clone(), k, d).unwrap();
    // Three uneven chunks merge to the whole pass.
    let cuts = [0, 1000, 5000, n];
    let parts: Vec<_> = cuts
        .windows(2)
        .map(|w| {
            model
                .lloyd_pass(
                    DataRef::new(&x[w[0] * d..w[1] * d], w[1] - w[0], d).unwrap(),
                    &offset,
                )
                .unwrap()
        })
        .collect();
    let whole = model.lloyd_pass(data, &offset).unwrap();
    let sum = |f: &dyn Fn(&gaussmix_core::LloydPass) -> Vec<f64>| {
        let mut acc = vec![0.0; f(&parts[0]).len()];
        for p in &parts {
            for (a, v) in acc.iter_mut().zip(f(p)) {
                *a += v;
            }
        }
        acc
    };
    close(&sum(&|p| p.sums.clone()), &whole.sums, 1e-12, "sums");
    assert_eq!(sum(&|p| p.counts.clone()), whole.counts);
    assert_eq!(parts.iter().map(|p| p.n_samples).sum::<usize>(), n);
    let inertia: f64 = parts.iter().map(|p| p.inertia).sum();
    assert!((inertia - whole.inertia).abs() <= 1e-12 * whole.inertia);
    // The pass's inertia is Σ min distance; the next centres are those of one Lloyd iteration.
    let naive: f64 = (0..n)
        .map(|i| {
            (0..k)
                .map(|c| {
                    (0..d)
                        .map(|j| (x[i * d + j] - init[c * d + j]).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    assert!((whole.inertia - naive).abs() <= 1e-9 * naive);
    let next: Vec<f64> = (0..k * d)
        .map(|i| offset[i % d] + whole.sums[i] / whole.counts[i / d])
        .collect();
    let one = KMeans::new(k)
        .init(KMeansInit::Centers(init))
        .max_iter(1)
        .tol(0.0)
        .fit(data)
        .unwrap();
    close(&next, one.centers(), 1e-12, "centres after one iteration");
    // Same centres, same fingerprint; other centres, another.
    assert_eq!(
        model.lloyd_pass(data, &offset).unwrap().fingerprint,
        whole.fingerprint
    );
    let moved = KMeansModel::from_centers(one.centers().to_vec(), k, d).unwrap();
    let other = moved.lloyd_pass(data, &offset).unwrap();
    assert_eq!(
        other.fingerprint == whole.fingerprint,
        one.labels() == model.predict(data).unwrap()
    );
    // The farthest rows from their nearest centre.
    let far = model.farthest_rows(data, &offset, 3).unwrap();
    let mut all: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            (
                (0..k)
                    .map(|c| {
                        (0..d)
                            .map(|j| (x[i * d + j] - model.centers()[c * d + j]).powi(2))
                            .sum::<f64>()
                    })
                    .fold(f64::INFINITY, f64::min),
                i,
            )
        })
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(
        far.iter().map(|f| f.0).collect::<Vec<_>>(),
        all[..3].iter().map(|a| a.1).collect::<Vec<_>>()
    );
}
