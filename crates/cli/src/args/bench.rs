//! The flags of `gaussmix bench`.

use clap::{Args, ValueEnum};

use super::{KmAlgorithm, PrecisionArg, positive_usize};

/// Workloads of `gaussmix bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchWorkload {
    /// W1: the lesson's 400 × 2 points, 4 full components.
    Lesson,
    /// W2: 1M × 2, 4 full components.
    Lowd,
    /// W3: 1M × 16, 16 full components.
    Midd,
    /// W4: 200k × 64, 32 full components.
    Highd,
    /// W3d: 1M × 16, 16 diagonal components.
    Diag,
    /// W5: k-means (Lloyd), 1M × 16, 64 clusters.
    Kmeans,
    /// K6: k-means (Lloyd), 500k × 128, 1024 clusters.
    #[value(name = "kmeans128")]
    Kmeans128,
    /// All of the above.
    All,
}

impl BenchWorkload {
    /// The workload's name.
    pub fn name(self) -> &'static str {
        match self {
            BenchWorkload::Lesson => "lesson",
            BenchWorkload::Lowd => "lowd",
            BenchWorkload::Midd => "midd",
            BenchWorkload::Highd => "highd",
            BenchWorkload::Diag => "diag",
            BenchWorkload::Kmeans => "kmeans",
            BenchWorkload::Kmeans128 => "kmeans128",
            BenchWorkload::All => "all",
        }
    }
}

/// Element type of the benchmark data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchDtype {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl BenchDtype {
    /// `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            BenchDtype::F32 => "f32",
            BenchDtype::F64 => "f64",
        }
    }
}

/// `gaussmix bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which workload(s).
    #[arg(long, value_enum, default_value = "all")]
    pub workload: BenchWorkload,
    /// Rows per workload [default: each workload's own size].
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub n: Option<usize>,
    /// Comma-separated thread counts [default: 1, 2, 4, … up to the number of cores; each at
    /// most 4 × the cores].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = crate::limits::thread_count)]
    pub threads: Option<Vec<usize>>,
    /// Element type of the data. With f32 and --precision auto, the k-means workloads are also
    /// timed in float64 arithmetic on the same data, and the ratio is reported.
    #[arg(long, value_enum, default_value = "f64")]
    pub dtype: BenchDtype,
    /// Arithmetic of the k-means kernels (auto: float32 for f32 data).
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: PrecisionArg,
    /// How the k-means workloads iterate (auto: elkan for W5, lloyd for K6).
    #[arg(long, value_enum, default_value = "auto")]
    pub algorithm: KmAlgorithm,
    /// EM (or Lloyd) iterations per run.
    #[arg(long, value_name = "N", default_value = "10", value_parser = positive_usize)]
    pub iters: usize,
    /// Runs per thread count; the median is reported.
    #[arg(long, value_name = "R", default_value = "3", value_parser = positive_usize)]
    pub repeat: usize,
    /// Weak scaling: n grows with the thread count (n per thread fixed).
    #[arg(long)]
    pub weak: bool,
    /// Give every row a sample weight (from a fixed seed, between 0.5 and 1.5), to measure
    /// the weighted fits.
    #[arg(long)]
    pub weighted: bool,
    /// Fit the mixture workloads as Bayesian mixtures (a Dirichlet-process prior, started from
    /// the labels of the workload's initial model), to measure the variational iterations.
    #[arg(long)]
    pub bayesian: bool,
    /// Also measure faer's matrix-product (GEMM) rate on this machine, float64 and float32, at
    /// the same thread counts, and report each workload's multiply-adds issued per second as a
    /// fraction of it.
    #[arg(long)]
    pub peak: bool,
    /// Side of the square matrices --peak multiplies.
    #[arg(long, value_name = "N", default_value = "2048", value_parser = positive_usize)]
    pub peak_size: usize,
    /// Machine-readable output, with the machine and the exact parameters.
    #[arg(long)]
    pub json: bool,
}
