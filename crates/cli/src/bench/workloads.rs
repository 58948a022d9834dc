//! The benchmark workloads: shapes, generated data and fixed initial models, shared by
//! `gaussmix bench`, the criterion benches and the peer comparison (`benches/`).

use gaussmix_core::CovarianceType;

use crate::generate::blobs;

/// One benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Short name (`lesson`, `lowd`, ...).
    pub name: &'static str,
    /// The label (W1 ... W5, K6).
    pub label: &'static str,
    /// Default number of rows.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Components (or clusters).
    pub k: usize,
    /// Covariance type; `None` for k-means.
    pub covariance: Option<CovarianceType>,
}

/// The workloads, from the lesson's demo to the large shapes peers are measured on.
pub const WORKLOADS: [Workload; 7] = [
    Workload {
        name: "lesson",
        label: "W1",
        n: 400,
        d: 2,
        k: 4,
        covariance: Some(CovarianceType::Full),
    },
    Workload {
        name: "lowd",
        label: "W2",
        n: 1_000_000,
        d: 2,
        k: 4,
        covariance: Some(CovarianceType::Full),
    },
    Workload {
        name: "midd",
        label: "W3",
        n: 1_000_000,
        d: 16,
        k: 16,
        covariance: Some(CovarianceType::Full),
    },
    Workload {
        name: "diag",
        label: "W3d",
        n: 1_000_000,
        d: 16,
        k: 16,
        covariance: Some(CovarianceType::Diag),
    },
    Workload {
        name: "highd",
        label: "W4",
        n: 200_000,
        d: 64,
        k: 32,
        covariance: Some(CovarianceType::Full),
    },
    Workload {
        name: "kmeans",
        label: "W5",
        n: 1_000_000,
        d: 16,
        k: 64,
        covariance: None,
    },
    Workload {
        name: "kmeans128",
        label: "K6",
        n: 500_000,
        d: 128,
        k: 1024,
        covariance: None,
    },
];

impl Workload {
    /// Looks a workload up by name.
    pub fn by_name(name: &str) -> Option<Workload> {
        WORKLOADS.iter().copied().find(|w| w.name == name)
    }

    /// Floating-point operations of one iteration on `n` rows, and the formula.
    ///
    /// full: `4 n K d²` (the E-step's `(x - μ)U` products, `2 n K d²`, and the M-step's scatter
    /// matrices, the same again); diag: `6 n K d` (three per element in each step); k-means:
    /// `2 n K d` (the distance products).
    pub fn flops(&self, n: usize) -> (f64, &'static str) {
        let (n, k, d) = (n as f64, self.k as f64, self.d as f64);
        match self.covariance {
            Some(CovarianceType::Full) | Some(CovarianceType::Tied) => {
                (4.0 * n * k * d * d, "4·n·K·d²")
            }
            Some(_) => (6.0 * n * k * d, "6·n·K·d"),
            None => (2.0 * n * k * d, "2·n·K·d"),
        }
    }

    /// Floating-point operations the kernels actually issue in one iteration on `n` rows,
    /// counting a multiply-add as two (as a GEMM's `2·m·n·k` does), and the formula: the
    /// "issued" count, against the "dense" count of [`Workload::flops`].
    ///
    /// Only multiply-adds are counted (the subtractions, products and sums beside them are not).
    /// full: `n·K·(d² + 2d)` multiply-adds per row and component: the E-step's triangular
    /// product `(x - μ)U`, `d(d+1)/2`, and its squared norm, `d`; the M-step's lower triangle of
    /// the scatter matrix, `d(d+1)/2` (the first moments are plain sums). The register tiles from
    /// 24 features on also multiply the zeros below `U`'s diagonal within a tile, which are not
    /// counted. diag:
    /// `2·n·K·d` multiply-adds (one per element in each step). k-means: `n·K·d` (the distance
    /// products), the same as the dense count. tied and spherical (no workload): the dense count.
    pub fn issued_flops(&self, n: usize) -> (f64, &'static str) {
        let (n, k, d) = (n as f64, self.k as f64, self.d as f64);
        match self.covariance {
            Some(CovarianceType::Full) => (2.0 * n * k * (d * d + 2.0 * d), "2·n·K·(d²+2d)"),
            Some(CovarianceType::Diag) => (4.0 * n * k * d, "4·n·K·d"),
            None => (2.0 * n * k * d, "2·n·K·d"),
            Some(_) => self.flops(n as usize),
        }
    }

    /// The data: `n` rows of blobs around `K` centres (`make_blobs`' recipe, seed 0,
    /// unit standard deviation); the lesson's own 400 points for `lesson`.
    pub fn data(&self, n: usize) -> Vec<f64> {
        if self.name == "lesson" && n == self.n {
            return lesson_points();
        }
        blobs(n, self.d, self.k, 1.0, 0).x
    }

    /// The fixed initial model: uniform weights, means on `K` rows spread over the data,
    /// identity covariances.
    pub fn init(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (d, k) = (self.d, self.k);
        let n = x.len() / d;
        let weights = vec![1.0 / k as f64; k];
        let mut means = Vec::with_capacity(k * d);
        for c in 0..k {
            let i = (c * 7919 + 13) % n;
            means.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
        let t = self.covariance.unwrap_or(CovarianceType::Full);
        let eye: Vec<f64> = (0..d * d)
            .map(|i| if i / d == i % d { 1.0 } else { 0.0 })
            .collect();
        let precisions = match t {
            CovarianceType::Full => (0..k).flat_map(|_| eye.clone()).collect(),
            CovarianceType::Tied => eye,
            CovarianceType::Diag => vec![1.0; k * d],
            CovarianceType::Spherical => vec![1.0; k],
        };
        (weights, means, precisions)
    }
}

fn lesson_points() -> Vec<f64> {
    let ds = gaussmix_io::Dataset::from_npy_bytes(crate::input::DEMO_NPY, "demo")
        .expect("the embedded demo data is valid");
    ds.view().to_f64_vec()
}
