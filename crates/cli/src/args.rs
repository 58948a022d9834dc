//! The command-line interface: every flag, validated by clap before any work starts, so that a
//! bad flag or value is a usage error (exit code 2) with clap's message.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
pub use bench::{BenchArgs, BenchDtype, BenchWorkload};

/// Gaussian mixture models and k-means, fast, with scikit-learn's semantics.
#[derive(Debug, Parser)]
#[command(name = "gaussmix", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit a Gaussian mixture (EM) to a data file, or to the built-in demo data.
    Fit(FitArgs),
    /// Label each row of a data file with a fitted model (GMM or k-means).
    Predict(PredictArgs),
    /// Log-likelihood, BIC and AIC of a data file under a fitted Gaussian mixture.
    Score(ScoreArgs),
    /// Draw new points from a fitted Gaussian mixture.
    Sample(SampleArgs),
    /// Fit Gaussian mixtures over a range of component counts and compare BIC and AIC.
    Select(SelectArgs),
    /// Cluster a data file (or the demo data) with k-means (Lloyd's algorithm or its bounded form).
    Kmeans(KmeansArgs),
    /// Generate a synthetic data set (blobs or two moons) as .npy.
    Gen(GenArgs),
    /// Benchmark this machine: EM and k-means on generated data, for several thread counts.
    Bench(BenchArgs),
    /// Draw a fitted model over a data file (.svg or .png).
    Plot(PlotArgs),
    /// Write the whole GMM-versus-k-means lesson as figures and an index.html.
    Lesson(LessonArgs),
}

/// `gaussmix plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A model file written by `gaussmix fit` or `gaussmix kmeans`.
    pub model: std::path::PathBuf,
    /// Data file.
    pub input: std::path::PathBuf,
    /// The figure: .svg or .png.
    #[arg(short = 'o', long = "output", value_name = "FIG.svg|FIG.png")]
    pub output: std::path::PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub figure: FigureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
}

/// How a scatter figure is drawn.
#[derive(Debug, Clone, Args)]
pub struct FigureArgs {
    /// Size each point by 50·p², p its largest membership probability (Gaussian mixtures).
    #[arg(long)]
    pub proba_size: bool,
    /// The two features to draw (0-based).
    #[arg(long, value_name = "I,J", default_value = "0,1", value_parser = dims)]
    pub dims: (usize, usize),
}

/// `gaussmix lesson`.
#[derive(Debug, Args)]
pub struct LessonArgs {
    /// Directory to write the figures and index.html into (created if missing).
    pub outdir: std::path::PathBuf,
    /// Threads (default: all cores; at most 4 × the cores).
    #[arg(long, value_name = "N", value_parser = crate::limits::thread_count)]
    pub threads: Option<usize>,
}

fn dims(s: &str) -> Result<(usize, usize), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [i, j] = parts[..] else {
        return Err(format!("{s:?} is not two feature indices I,J"));
    };
    let p = |v: &str| {
        v.parse::<usize>()
            .map_err(|_| format!("{v:?} is not a feature index (0, 1, ...)"))
    };
    let (i, j) = (p(i)?, p(j)?);
    if i == j {
        return Err(format!("the two features must differ, got {i},{j}"));
    }
    Ok((i, j))
}

/// Covariance structure of the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Covariance {
    /// Each component has its own general covariance matrix.
    Full,
    /// All components share one general covariance matrix.
    Tied,
    /// Each component has its own diagonal covariance matrix.
    Diag,
    /// Each component has its own single variance.
    Spherical,
}

impl From<Covariance> for gaussmix_core::CovarianceType {
    fn from(c: Covariance) -> Self {
        match c {
            Covariance::Full => Self::Full,
            Covariance::Tied => Self::Tied,
            Covariance::Diag => Self::Diag,
            Covariance::Spherical => Self::Spherical,
        }
    }
}

/// What to do when a component collapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Degenerate {
    /// Stop with scikit-learn's ill-defined covariance error.
    Error,
    /// Re-initialise the component on the least likely point, warn, and go on.
    Reseed,
}

impl From<Degenerate> for gaussmix_core::OnDegenerate {
    fn from(d: Degenerate) -> Self {
        match d {
            Degenerate::Error => Self::Error,
            Degenerate::Reseed => Self::Reseed,
        }
    }
}

/// How EM is initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GmmInit {
    /// Labels of one k-means run (scikit-learn's default).
    Kmeans,
    /// One k-means++ seed point per component.
    #[value(name = "k-means++")]
    KmeansPlusPlus,
    /// Random responsibilities.
    Random,
    /// One random data point per component.
    RandomFromData,
}

impl From<GmmInit> for gaussmix_core::InitParams {
    fn from(i: GmmInit) -> Self {
        match i {
            GmmInit::Kmeans => Self::KMeans,
            GmmInit::KmeansPlusPlus => Self::KMeansPlusPlus,
            GmmInit::Random => Self::Random,
            GmmInit::RandomFromData => Self::RandomFromData,
        }
    }
}

/// How k-means chooses its first centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KmInit {
    /// Greedy k-means++ (scikit-learn's default).
    #[value(name = "k-means++")]
    KmeansPlusPlus,
    /// Distinct random rows.
    Random,
}

/// How k-means iterates (the result is the same bit for bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KmAlgorithm {
    /// Lloyd's algorithm: every distance, no per-row memory.
    Lloyd,
    /// Exact bound-based k-means (Hamerly's bounds): skips distances that cannot change a label.
    Elkan,
    /// elkan from 8 clusters on below 24 features, lloyd otherwise.
    Auto,
}

/// The arithmetic of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// Follow the data: float32 arithmetic for float32 files in Lloyd's passes and full
    /// mixtures (as scikit-learn computes float32 input), float64 for float64 files.
    Auto,
    /// float64 arithmetic for every input.
    F64,
}

impl From<PrecisionArg> for gaussmix_core::Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Auto => Self::Auto,
            PrecisionArg::F64 => Self::F64,
        }
    }
}

impl From<KmAlgorithm> for gaussmix_core::KMeansAlgorithm {
    fn from(a: KmAlgorithm) -> Self {
        match a {
            KmAlgorithm::Lloyd => Self::Lloyd,
            KmAlgorithm::Elkan => Self::Elkan,
            KmAlgorithm::Auto => Self::Auto,
        }
    }
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Number of features per row, required for raw .f32/.f64 files.
    #[arg(long, value_name = "D", value_parser = positive_usize)]
    pub dim: Option<usize>,
    /// Number of threads (default: all cores; at most 4 × the cores).
    #[arg(long, value_name = "N", value_parser = crate::limits::thread_count)]
    pub threads: Option<usize>,
}

/// Sample weights.
#[derive(Debug, Clone, Args)]
pub struct WeightArgs {
    /// One weight per row (.npy of any numeric type, finite and non-negative, not all zero): a
    /// row of weight w counts as w copies of itself.
    #[arg(long, value_name = "W.npy")]
    pub sample_weight: Option<PathBuf>,
}

/// The weights' prior of a Bayesian mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bayesian {
    /// A Dirichlet process: unneeded components get weights near zero (scikit-learn's default).
    DirichletProcess,
    /// A Dirichlet distribution.
    DirichletDistribution,
}

impl From<Bayesian> for gaussmix_core::WeightConcentrationPriorType {
    fn from(b: Bayesian) -> Self {
        match b {
            Bayesian::DirichletProcess => Self::DirichletProcess,
            Bayesian::DirichletDistribution => Self::DirichletDistribution,
        }
    }
}

/// The priors of a Bayesian mixture (scikit-learn's defaults from the data when omitted).
#[derive(Debug, Clone, Args)]
pub struct PriorArgs {
    /// The weights' concentration α₀ > 0 [default: 1/k].
    #[arg(long, value_name = "X", requires = "bayesian", value_parser = positive_f64)]
    pub weight_concentration_prior: Option<f64>,
    /// The means' precision β₀ > 0 [default: 1].
    #[arg(long, value_name = "X", requires = "bayesian", value_parser = positive_f64)]
    pub mean_precision_prior: Option<f64>,
    /// The precisions' degrees of freedom ν₀ > d - 1 [default: d].
    #[arg(
        long,
        value_name = "X",
        requires = "bayesian",
        allow_hyphen_values = true
    )]
    pub degrees_of_freedom_prior: Option<f64>,
    /// The means' prior mean m₀ (.npy of d values) [default: the data's mean].
    #[arg(long, value_name = "M.npy", requires = "bayesian")]
    pub mean_prior: Option<PathBuf>,
    /// The precisions' prior covariance Ψ₀ (.npy: d × d for full and tied, d values for diag,
    /// one value for spherical) [default: the data's covariance].
    #[arg(long, value_name = "C.npy", requires = "bayesian")]
    pub covariance_prior: Option<PathBuf>,
}

/// `gaussmix fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Data file (.npy, .fvecs, .bvecs, .fbin, .u8bin, .f32, .f64, .csv); the built-in demo
    /// data (the lesson's 400 blobs) when omitted.
    pub input: Option<PathBuf>,
    /// Number of components [default: 4 on the demo data, 1 otherwise, as scikit-learn].
    #[arg(short = 'k', long = "n-components", value_name = "N", value_parser = positive_usize)]
    pub k: Option<usize>,
    /// Covariance type [default: full, or that of --init-model].
    #[arg(long, value_enum)]
    pub covariance: Option<Covariance>,
    /// Initialisation.
    #[arg(long, value_enum, default_value = "kmeans")]
    pub init: GmmInit,
    /// Start EM from the weights, means and covariances of this model file.
    #[arg(long, value_name = "MODEL.json", conflicts_with_all = ["bayesian", "init_labels"])]
    pub init_model: Option<PathBuf>,
    /// Start from these labels (.npy of integers in [0, k), one per row): one-hot
    /// responsibilities instead of --init's choice.
    #[arg(long, value_name = "LABELS.npy")]
    pub init_labels: Option<PathBuf>,
    /// Fit a variational Bayesian mixture (scikit-learn's BayesianGaussianMixture) with this
    /// prior on the weights; -k is then an upper bound on the components.
    #[arg(long, value_enum, value_name = "PRIOR")]
    pub bayesian: Option<Bayesian>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub priors: PriorArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub weights: WeightArgs,
    /// Number of initialisations; the best is kept.
    #[arg(long, value_name = "N", default_value = "1", value_parser = positive_usize)]
    pub n_init: usize,
    /// Maximum EM iterations per initialisation (0: initialise only).
    #[arg(long, value_name = "N", default_value = "100", value_parser = non_negative_usize, allow_hyphen_values = true)]
    pub max_iter: usize,
    /// Convergence threshold on the change of the lower bound.
    #[arg(long, value_name = "X", default_value = "1e-3", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub tol: f64,
    /// Added to the diagonal of every covariance.
    #[arg(long, value_name = "X", default_value = "1e-6", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub reg_covar: f64,
    /// Seed of the random number generator.
    #[arg(long, value_name = "N", default_value = "0")]
    pub seed: u64,
    /// When a component collapses: stop with scikit-learn's error, or re-seed it on the least
    /// likely point and go on (with a warning).
    #[arg(long, value_enum, default_value = "error")]
    pub on_degenerate: Degenerate,
    /// Arithmetic within a block for full covariances: auto computes float32 files in float32
    /// (every sum across blocks and the M-step stay float64); f64 in float64 for every input.
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: PrecisionArg,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
    /// Write the fitted model (JSON) here.
    #[arg(short = 'o', long = "output", value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Write the label of each row (int64 .npy) here.
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<PathBuf>,
    /// Write each row's membership probabilities (float64 .npy, n × k) here.
    #[arg(long, value_name = "PROBA.npy")]
    pub proba: Option<PathBuf>,
    /// Draw the fitted model over the data (.svg or .png).
    #[arg(long, value_name = "FIG.svg|FIG.png")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub figure: FigureArgs,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print a JSON object (n_iter, converged, lower_bound, seconds; seconds_load, seconds_init,
    /// seconds_iter) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// `gaussmix predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model file written by `gaussmix fit` or `gaussmix kmeans`.
    pub model: PathBuf,
    /// Data file.
    pub input: PathBuf,
    /// Write the labels (int64 .npy) here.
    #[arg(short = 'o', long = "output", value_name = "LABELS.npy")]
    pub output: PathBuf,
    /// Also write membership probabilities (float64 .npy, n × k); Gaussian mixtures only.
    #[arg(long, value_name = "PROBA.npy")]
    pub proba: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
}

/// `gaussmix score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A Gaussian mixture model file.
    pub model: PathBuf,
    /// Data file.
    pub input: PathBuf,
    /// Write each row's log-likelihood (float64 .npy) here.
    #[arg(long, value_name = "OUT.npy")]
    pub per_sample: Option<PathBuf>,
    /// Print {"mean_log_likelihood", "bic", "aic", "n_samples"} as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub weights: WeightArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
}

/// `gaussmix sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A Gaussian mixture model file.
    pub model: PathBuf,
    /// Number of points to draw.
    #[arg(short = 'n', value_name = "N", value_parser = positive_usize)]
    pub n: usize,
    /// Seed of the random number generator.
    #[arg(long, value_name = "S", default_value = "0")]
    pub seed: u64,
    /// Write the points (float64 .npy, n × d) here.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: PathBuf,
    /// Also write each point's component (int64 .npy).
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<PathBuf>,
}

/// Covariance types for `select`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectCovariance {
    /// Full covariances.
    Full,
    /// One shared covariance.
    Tied,
    /// Diagonal covariances.
    Diag,
    /// Single variances.
    Spherical,
    /// All four.
    All,
}

/// `gaussmix select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Data file; the built-in demo data when omitted.
    pub input: Option<PathBuf>,
    /// Smallest number of components.
    #[arg(long, value_name = "A", value_parser = positive_usize)]
    pub k_min: usize,
    /// Largest number of components.
    #[arg(long, value_name = "B", value_parser = positive_usize)]
    pub k_max: usize,
    /// Covariance type(s) to compare.
    #[arg(long, value_enum, default_value = "full")]
    pub covariance: SelectCovariance,
    /// Initialisation.
    #[arg(long, value_enum, default_value = "kmeans")]
    pub init: GmmInit,
    /// Number of initialisations per fit.
    #[arg(long, value_name = "N", default_value = "1", value_parser = positive_usize)]
    pub n_init: usize,
    /// Maximum EM iterations per fit.
    #[arg(long, value_name = "N", default_value = "100", value_parser = non_negative_usize, allow_hyphen_values = true)]
    pub max_iter: usize,
    /// Convergence threshold.
    #[arg(long, value_name = "X", default_value = "1e-3", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub tol: f64,
    /// Added to the diagonal of every covariance.
    #[arg(long, value_name = "X", default_value = "1e-6", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub reg_covar: f64,
    /// Seed of the random number generator.
    #[arg(long, value_name = "N", default_value = "0")]
    pub seed: u64,
    /// When a component collapses: stop with scikit-learn's error, or re-seed it and go on.
    #[arg(long, value_enum, default_value = "error")]
    pub on_degenerate: Degenerate,
    /// Arithmetic within a block for full covariances (auto: float32 for float32 files).
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: PrecisionArg,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw BIC and AIC against the number of components (.svg or .png).
    #[arg(long, value_name = "FIG.svg|FIG.png")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub weights: WeightArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
}

/// `gaussmix kmeans`.
#[derive(Debug, Args)]
pub struct KmeansArgs {
    /// Data file; the built-in demo data when omitted.
    pub input: Option<PathBuf>,
    /// Number of clusters [default: 4 on the demo data; required otherwise].
    #[arg(short = 'k', long = "n-clusters", value_name = "N", value_parser = positive_usize)]
    pub k: Option<usize>,
    /// Initialisation.
    #[arg(long, value_enum, default_value = "k-means++")]
    pub init: KmInit,
    /// Start from these centres (.npy, k × d) instead.
    #[arg(long, value_name = "CENTERS.npy", conflicts_with = "init")]
    pub init_centers: Option<PathBuf>,
    /// How to iterate; every choice gives the same result bit for bit (in float64 arithmetic).
    #[arg(long, value_enum, default_value = "auto")]
    pub algorithm: KmAlgorithm,
    /// Arithmetic of Lloyd's nearest-centre kernels: auto computes float32 files in float32
    /// (centres, counts and inertia are always summed in float64); the bounded passes of elkan
    /// always compute in float64.
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: PrecisionArg,
    /// Number of initialisations; the lowest inertia is kept.
    #[arg(long, value_name = "N", default_value = "1", value_parser = positive_usize)]
    pub n_init: usize,
    /// Maximum Lloyd iterations.
    #[arg(long, value_name = "N", default_value = "300", value_parser = positive_usize, allow_hyphen_values = true)]
    pub max_iter: usize,
    /// Relative tolerance on the movement of the centres.
    #[arg(long, value_name = "X", default_value = "1e-4", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub tol: f64,
    /// Seed of the random number generator.
    #[arg(long, value_name = "N", default_value = "0")]
    pub seed: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub weights: WeightArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub input_args: InputArgs,
    /// Write the model (JSON) here.
    #[arg(short = 'o', long = "output", value_name = "MODEL.json")]
    pub output: Option<PathBuf>,
    /// Write the label of each row (int64 .npy) here.
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<PathBuf>,
    /// Draw the clusters over the data (.svg or .png).
    #[arg(long, value_name = "FIG.svg|FIG.png")]
    pub plot: Option<PathBuf>,
    /// The two features to draw (0-based).
    #[arg(long, value_name = "I,J", default_value = "0,1", value_parser = dims)]
    pub dims: (usize, usize),
    /// No summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print a JSON object (n_iter, converged, inertia, seconds; seconds_load, seconds_init,
    /// seconds_iter; distances_computed per pass) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Data sets `gen` can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenKind {
    /// Isotropic Gaussian blobs (scikit-learn's make_blobs).
    Blobs,
    /// Two interleaving half circles (scikit-learn's make_moons).
    Moons,
}

/// `gaussmix gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub kind: GenKind,
    /// Number of points [default: 400 blobs, 200 moons, as in the lesson].
    #[arg(short = 'n', value_name = "N", value_parser = positive_usize)]
    pub n: Option<usize>,
    /// Number of features (blobs only).
    #[arg(long, value_name = "D", default_value = "2", value_parser = positive_usize)]
    pub dim: usize,
    /// Number of blobs.
    #[arg(long, value_name = "K", default_value = "4", value_parser = positive_usize)]
    pub centers: usize,
    /// Standard deviation of each blob.
    #[arg(long, value_name = "S", default_value = "0.6", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub std: f64,
    /// Standard deviation of the noise added to the moons.
    #[arg(long, value_name = "X", default_value = "0.05", value_parser = non_negative_f64, allow_hyphen_values = true)]
    pub noise: f64,
    /// Multiply the points by a random d × d matrix (the lesson's stretched blobs).
    #[arg(long)]
    pub stretch: bool,
    /// Seed of the random number generator.
    #[arg(long, value_name = "N", default_value = "0")]
    pub seed: u64,
    /// Write the points (float64 .npy) here.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: PathBuf,
    /// Also write the true label of each point (int64 .npy).
    #[arg(long, value_name = "LABELS.npy")]
    pub labels: Option<PathBuf>,
}

fn positive_usize(s: &str) -> Result<usize, String> {
    let v: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if v < 1 {
        return Err(format!("must be at least 1, got {v}"));
    }
    usize::try_from(v).map_err(|_| format!("{v} is too large"))
}

fn non_negative_usize(s: &str) -> Result<usize, String> {
    let v: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if v < 0 {
        return Err(format!("must be 0 or more, got {v}"));
    }
    usize::try_from(v).map_err(|_| format!("{v} is too large"))
}

fn non_negative_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a finite number >= 0, got {s}"));
    }
    Ok(v)
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("must be a finite number > 0, got {s}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn value_parsers_enforce_ranges() {
        assert_eq!(positive_usize("3"), Ok(3));
        assert!(positive_usize("0").is_err());
        assert!(positive_usize("-2").is_err());
        assert!(positive_usize("x").is_err());
        assert_eq!(non_negative_usize("0"), Ok(0));
        assert!(non_negative_usize("-1").is_err());
        assert_eq!(non_negative_f64("1e-3"), Ok(1e-3));
        assert!(non_negative_f64("-0.1").is_err());
        assert!(non_negative_f64("nan").is_err());
        assert!(non_negative_f64("inf").is_err());
    }
}
