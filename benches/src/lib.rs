//! Benchmarks of gaussmix: criterion benches of the engine (`benches/em.rs`, run with
//! `cargo bench -p gaussmix-bench`) and a script timing scikit-learn, gaussmix and Armadillo side
//! by side (`compare.py`). The workloads are those of `gaussmix bench`
//! ([`gaussmix_cli::bench::WORKLOADS`]), generated in memory from fixed seeds.

pub use gaussmix_cli::bench::{WORKLOADS, Workload};

/// A workload's data (`n` rows) and fixed initial model, ready for the engine.
pub struct Prepared {
    /// Rows, row-major.
    pub x: Vec<f64>,
    /// The same rows as `f32`.
    pub x32: Vec<f32>,
    /// Number of rows.
    pub n: usize,
    /// The workload.
    pub w: Workload,
    /// Initial weights, means and precisions (scikit-learn's `*_init`).
    pub init: (Vec<f64>, Vec<f64>, Vec<f64>),
}

impl Prepared {
    /// Generates `n` rows of workload `w`.
    pub fn new(w: Workload, n: usize) -> Self {
        let x = w.data(n);
        let x32 = x.iter().map(|&v| v as f32).collect();
        let init = w.init(&x);
        Prepared { x, x32, n, w, init }
    }

    /// The estimator for `iters` EM iterations from the fixed initial model (`tol = 0`).
    pub fn mixture(&self, iters: usize) -> gaussmix_core::GaussianMixture {
        let (w, m, p) = self.init.clone();
        gaussmix_core::GaussianMixture::new(self.w.k)
            .covariance_type(self.w.covariance.unwrap_or_default())
            .tol(0.0)
            .max_iter(iters)
            .weights_init(w)
            .means_init(m)
            .precisions_init(p)
    }
}
