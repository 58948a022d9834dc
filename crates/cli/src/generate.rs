//! `gaussmix gen`: synthetic data in the manner of scikit-learn's `make_blobs` and `make_moons`
//! (the same recipes; the random streams differ).

use anyhow::Result;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::UsageError;
use crate::args::{GenArgs, GenKind};
use crate::limits;
use crate::output::{Kind, Out, Outputs, check_outputs};

/// Points `(n, d)` row-major and their labels.
pub struct Generated {
    /// The points.
    pub x: Vec<f64>,
    /// Number of features.
    pub d: usize,
    /// True label of each point.
    pub labels: Vec<usize>,
}

/// `make_blobs`: `k` centres uniform in `[-10, 10]^d`, `n` points split as evenly as possible
/// (the first `n % k` centres get one more), each centre plus `std` times a standard normal,
/// shuffled.
pub fn blobs(n: usize, d: usize, k: usize, std: f64, seed: u64) -> Generated {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centers: Vec<f64> = (0..k * d).map(|_| g.random_range(-10.0..10.0)).collect();
    let mut labels: Vec<usize> = (0..k)
        .flat_map(|c| std::iter::repeat_n(c, n / k + usize::from(c < n % k)))
        .collect();
    labels.shuffle(&mut g);
    let mut x = Vec::with_capacity(n * d);
    for &c in &labels {
        for j in 0..d {
            let z: f64 = g.sample(StandardNormal);
            x.push(centers[c * d + j] + std * z);
        }
    }
    Generated { x, d, labels }
}

/// `make_moons`: two interleaving half circles (`n / 2` on the outer one), shuffled, with
/// Gaussian noise of standard deviation `noise`.
pub fn moons(n: usize, noise: f64, seed: u64) -> Generated {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n_out = n / 2;
    let n_in = n - n_out;
    let lin = |i: usize, m: usize| {
        if m <= 1 {
            0.0
        } else {
            std::f64::consts::PI * i as f64 / (m - 1) as f64
        }
    };
    let mut pts: Vec<(f64, f64, usize)> = Vec::with_capacity(n);
    for i in 0..n_out {
        let t = lin(i, n_out);
        pts.push((t.cos(), t.sin(), 0));
    }
    for i in 0..n_in {
        let t = lin(i, n_in);
        pts.push((1.0 - t.cos(), 1.0 - t.sin() - 0.5, 1));
    }
    pts.shuffle(&mut g);
    let mut x = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for (a, b, l) in pts {
        let za: f64 = g.sample(StandardNormal);
        let zb: f64 = g.sample(StandardNormal);
        x.push(a + noise * za);
        x.push(b + noise * zb);
        labels.push(l);
    }
    Generated { x, d: 2, labels }
}

/// Multiplies every point by one random `d × d` matrix of standard normals (the lesson's
/// `np.dot(X, rng.randn(2, 2))`), drawn from its own stream.
pub fn stretch(data: &mut Generated, seed: u64) {
    let d = data.d;
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5EED_5EED_5EED_5EED);
    let m: Vec<f64> = (0..d * d).map(|_| g.sample(StandardNormal)).collect();
    let mut row = vec![0.0; d];
    for p in data.x.chunks_mut(d) {
        for j in 0..d {
            row[j] = (0..d).map(|i| p[i] * m[i * d + j]).sum();
        }
        p.copy_from_slice(&row);
    }
}

/// Runs `gaussmix gen`.
pub fn run(a: &GenArgs) -> Result<()> {
    check_outputs(
        &[
            Out::new("-o", Some(&a.output), Kind::Npy),
            Out::new("--labels", a.labels.as_deref(), Kind::Npy),
        ],
        &[],
    )?;
    let (n, d) = match a.kind {
        GenKind::Blobs => (a.n.unwrap_or(400), a.dim),
        GenKind::Moons => {
            if a.dim != 2 {
                return Err(UsageError("moons are two-dimensional: drop --dim".into()).into());
            }
            (a.n.unwrap_or(200), 2)
        }
    };
    // The points (n × d), the labels, the shuffled order, the centres (k × d) and the stretch
    // matrix (d × d).
    let (nf, df) = (n as f64, d as f64);
    let centers = if a.kind == GenKind::Blobs {
        a.centers as f64
    } else {
        0.0
    };
    limits::check_memory(
        8.0 * (nf * df + 3.0 * nf + centers * df + df * df),
        || match a.kind {
            GenKind::Blobs => format!("gen blobs -n {n} --dim {d} --centers {}", a.centers),
            GenKind::Moons => format!("gen moons -n {n}"),
        },
        "the points, their labels and order, the centres and the stretch matrix",
        "generate fewer points (-n), features (--dim) or centres (--centers)",
    )?;
    let mut data = match a.kind {
        GenKind::Blobs => blobs(n, d, a.centers, a.std, a.seed),
        GenKind::Moons => moons(n, a.noise, a.seed),
    };
    if a.stretch {
        stretch(&mut data, a.seed);
    }
    // Parameters so large that a value overflows are refused: the file would hold infinities
    // that no reader (gaussmix included) accepts.
    if let Some(i) = data.x.iter().position(|v| !v.is_finite()) {
        let short = |v: f64| {
            let s = v.to_string();
            if s.len() > 12 { format!("{v:e}") } else { s }
        };
        let flag = match (a.kind, a.stretch) {
            (GenKind::Blobs, false) => format!("--std {}", short(a.std)),
            (GenKind::Blobs, true) => format!("--std {} with --stretch", short(a.std)),
            (GenKind::Moons, _) => format!("--noise {}", short(a.noise)),
        };
        return Err(UsageError(format!(
            "{flag} makes point {} overflow to {} in feature {}: nothing was written; use a smaller value (the points must stay within ±1.8e308)",
            i / data.d,
            data.x[i],
            i % data.d
        ))
        .into());
    }
    let n = data.labels.len();
    let mut out = Outputs::new();
    out.f64(&a.output, &data.x, &[n, data.d])?;
    if let Some(p) = &a.labels {
        out.labels(p, &data.labels)?;
    }
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_split_points_evenly_around_their_centres() {
        let b = blobs(10, 3, 4, 0.0, 1);
        let mut counts = [0; 4];
        for &l in &b.labels {
            counts[l] += 1;
        }
        assert_eq!(counts, [3, 3, 2, 2]);
        // With std = 0 every point sits on its centre: points with one label coincide.
        for i in 0..10 {
            for j in 0..10 {
                if b.labels[i] == b.labels[j] {
                    assert_eq!(b.x[i * 3..i * 3 + 3], b.x[j * 3..j * 3 + 3]);
                }
            }
        }
    }

    #[test]
    fn moons_lie_on_two_half_circles() {
        let m = moons(101, 0.0, 3);
        assert_eq!(m.labels.iter().filter(|&&l| l == 0).count(), 50);
        for (p, &l) in m.x.chunks(2).zip(&m.labels) {
            let (cx, cy) = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-12);
            assert!(if l == 0 {
                p[1] >= -1e-12
            } else {
                p[1] <= 0.5 + 1e-12
            });
        }
    }
}
