//! `gaussmix bench --peak`: faer's matrix-product (GEMM) rate on this machine, the yardstick
//! each workload's issued multiply-adds are compared with.

use std::time::Instant;

use anyhow::Result;

use crate::args::BenchDtype;

/// faer's matrix-product rate on this machine: the yardstick of `--peak`.
#[derive(Debug, Clone)]
pub struct GemmPeak {
    /// The products are `size × size` by `size × size`.
    pub size: usize,
    /// `(threads, GFLOP/s)` for float64, one per thread count.
    pub f64: Vec<(usize, f64)>,
    /// The same for float32.
    pub f32: Vec<(usize, f64)>,
}

impl GemmPeak {
    /// The rate for element type `dtype` on `threads` threads.
    pub fn rate(&self, dtype: BenchDtype, threads: usize) -> Option<f64> {
        let rates = match dtype {
            BenchDtype::F64 => &self.f64,
            BenchDtype::F32 => &self.f32,
        };
        rates.iter().find(|r| r.0 == threads).map(|r| r.1)
    }
}

/// Seconds a GEMM measurement runs at least (after one untimed warm-up product), unless it has
/// done [`GEMM_MAX_RUNS`] products: long enough, on a shared machine, to catch a quiet moment.
pub const GEMM_SECONDS: f64 = 1.0;
/// Products after which a GEMM measurement stops even before [`GEMM_SECONDS`].
const GEMM_MAX_RUNS: usize = 200;

/// The rate of `C = A B` with `size × size` matrices of `T`, column-major, through faer's
/// `matmul` with `Par::rayon(threads)` in a pool of `threads` threads: `2·size³` flops over the
/// fastest of at least three products (and of as many as fit in [`GEMM_SECONDS`], at most
/// [`GEMM_MAX_RUNS`]), in GFLOP/s. The fastest, not the median: this is the machine's attainable
/// peak, which other load on a shared machine only lowers (and so raises the efficiencies).
pub fn gemm_gflops<T>(size: usize, threads: usize) -> Result<f64>
where
    T: faer::traits::ComplexField + Copy + From<f32>,
{
    let fill = |salt: usize| -> Vec<T> {
        (0..size * size)
            .map(|i| T::from(((i * 7 + salt) % 17) as f32 / 17.0 - 0.5))
            .collect()
    };
    let (a, b) = (fill(3), fill(5));
    let mut c = vec![T::from(0.0); size * size];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let best = pool.install(|| {
        let lhs = faer::MatRef::from_column_major_slice(&a, size, size);
        let rhs = faer::MatRef::from_column_major_slice(&b, size, size);
        let mut product = || {
            let dst = faer::MatMut::from_column_major_slice_mut(&mut c, size, size);
            let start = Instant::now();
            faer::linalg::matmul::matmul(
                dst,
                faer::Accum::Replace,
                lhs,
                rhs,
                T::from(1.0),
                faer::Par::rayon(threads),
            );
            start.elapsed().as_secs_f64()
        };
        product();
        let (mut best, mut total, mut runs) = (f64::INFINITY, 0.0, 0);
        while runs < 3 || (total < GEMM_SECONDS && runs < GEMM_MAX_RUNS) {
            let t = product();
            best = best.min(t);
            total += t;
            runs += 1;
        }
        best
    });
    std::hint::black_box(&c);
    let s = size as f64;
    Ok(2.0 * s * s * s / best.max(1e-9) / 1e9)
}

/// Measures [`gemm_gflops`] for float64 and float32 at every thread count.
pub fn gemm_peak(size: usize, threads: &[usize]) -> Result<GemmPeak> {
    let mut peak = GemmPeak {
        size,
        f64: Vec::new(),
        f32: Vec::new(),
    };
    for &t in threads {
        peak.f64.push((t, gemm_gflops::<f64>(size, t)?));
        peak.f32.push((t, gemm_gflops::<f32>(size, t)?));
    }
    Ok(peak)
}
