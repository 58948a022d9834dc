//! k-means with scikit-learn's `KMeans` semantics, on the same blocked, parallel, deterministic
//! passes as the mixture engine: the estimator ([`KMeans`]) and the fitted model
//! ([`KMeansModel`]) here; [`init`] the first centres (greedy k-means++, random rows, given
//! centres), [`plusplus`] greedy k-means++ as pruned blocked passes, [`lloyd`] Lloyd's
//! iterations and their passes, [`bounded`] the same iterations with Hamerly's bounds (bit for
//! bit Lloyd's result), [`kernels`] the nearest-centre kernels.

pub(crate) mod bounded;
pub(crate) mod chain;
pub(crate) mod exact;
pub(crate) mod init;
pub(crate) mod kernels;
pub(crate) mod lloyd;
pub(crate) mod plusplus;
pub(crate) mod score;
pub(crate) mod single;
pub(crate) mod step;
pub(crate) mod sums;
pub(crate) mod tiles;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::blocks::{BLOCK_ROWS, Span, with_threads};
use crate::data::{DataRef, Float, Precision, validate_data};
use crate::error::{Error, Result, invalid};
use crate::monitor::{Monitor, Phase};
use bounded::LastLabels;
use kernels::CenterTerms;
use lloyd::{Labels, Lloyd};
use sums::Inertia;

/// How k-means chooses its first centres.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum KMeansInit {
    /// Greedy k-means++, as scikit-learn's default.
    #[default]
    KMeansPlusPlus,
    /// `n_clusters` distinct rows chosen uniformly at random.
    Random,
    /// Given centres, `(n_clusters, n_features)` row-major. With given centres `n_init` must be 1
    /// (scikit-learn warns and uses 1; here it is an error, so nothing is silently ignored).
    Centers(Vec<f64>),
}

/// How k-means iterates: scikit-learn's `algorithm`. In float64 arithmetic every choice gives
/// the same centres, labels, inertia and `n_iter` bit for bit; only the work differs. The
/// bounded passes always compute in float64 (their bounds are float64 scores), so with float32
/// data under [`Precision::Auto`] only `Lloyd` (and `Auto` where it picks Lloyd) uses the
/// float32 kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KMeansAlgorithm {
    /// Lloyd's algorithm: every distance of every row to every centre, each iteration; no
    /// per-row state (memory independent of the number of rows).
    Lloyd,
    /// Exact bound-based k-means (scikit-learn's name for it; computed with Hamerly's single
    /// lower bound): a row's distances are computed only when its bounds cannot prove that its
    /// nearest centre stays the same. Keeps 24 bytes per row.
    Elkan,
    /// `Elkan` from 8 clusters on below 24 features, `Lloyd` otherwise: with fewer clusters
    /// the bounds save less than they cost, and from 24 features on (where distances come
    /// from a matrix product per block of 256 rows) a block is skipped only when all its rows
    /// are, which is rare.
    #[default]
    Auto,
}

impl KMeansAlgorithm {
    /// Whether the bounded algorithm runs for `k` clusters of `d` features.
    pub fn bounded(self, k: usize, d: usize) -> bool {
        match self {
            KMeansAlgorithm::Lloyd => false,
            KMeansAlgorithm::Elkan => true,
            KMeansAlgorithm::Auto => k >= AUTO_MIN_CLUSTERS && d < crate::blocks::WIDE_D,
        }
    }
}

/// From this many clusters on, `Auto` bounds (see [`KMeansAlgorithm::Auto`]).
const AUTO_MIN_CLUSTERS: usize = 8;

/// k-means parameters, with scikit-learn's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters (`>= 1`).
    pub n_clusters: usize,
    /// Initialisation method.
    pub init: KMeansInit,
    /// Number of runs with different initialisations; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Maximum number of Lloyd iterations per run (`>= 1`).
    pub max_iter: usize,
    /// Relative tolerance: the run stops when the summed squared movement of the centres is at
    /// most `tol` times the mean per-feature variance of the data.
    pub tol: f64,
    /// Seed of the random number generator.
    pub seed: u64,
    /// Threads to use; `None` runs on the current rayon pool (all cores by default).
    pub n_threads: Option<usize>,
    /// How to iterate (the result is the same bit for bit).
    pub algorithm: KMeansAlgorithm,
    /// The arithmetic of Lloyd's nearest-centre kernels ([`Precision::Auto`]: float32 for
    /// float32 data, as scikit-learn computes it).
    pub precision: Precision,
}

impl KMeans {
    /// scikit-learn's defaults for `n_clusters` clusters: k-means++, `n_init = 1`,
    /// `max_iter = 300`, `tol = 1e-4`, seed 0; the algorithm [`KMeansAlgorithm::Auto`] (the
    /// same result as scikit-learn's default `lloyd`).
    pub fn new(n_clusters: usize) -> Self {
        KMeans {
            n_clusters,
            init: KMeansInit::KMeansPlusPlus,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            n_threads: None,
            algorithm: KMeansAlgorithm::Auto,
            precision: Precision::Auto,
        }
    }

    /// Sets the arithmetic of Lloyd's nearest-centre kernels.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Sets how to iterate.
    pub fn algorithm(mut self, algorithm: KMeansAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets the initialisation method.
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }

    /// Sets the number of runs.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Sets the maximum number of iterations.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the relative tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of threads.
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
        self
    }

    /// Checks every parameter against scikit-learn's ranges (and the shape of given centres).
    pub fn check(&self, n_features: Option<usize>) -> Result<()> {
        if self.n_clusters < 1 {
            return Err(invalid("n_clusters", "must be at least 1, got 0"));
        }
        if self.n_init < 1 {
            return Err(invalid("n_init", "must be at least 1, got 0"));
        }
        if self.max_iter < 1 {
            return Err(invalid("max_iter", "must be at least 1, got 0"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(invalid(
                "tol",
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        if self.n_threads == Some(0) {
            return Err(invalid("n_threads", "must be at least 1, got 0"));
        }
        if let KMeansInit::Centers(c) = &self.init {
            if self.n_init != 1 {
                return Err(invalid(
                    "n_init",
                    format!(
                        "must be 1 when initial centres are given, got {}",
                        self.n_init
                    ),
                ));
            }
            if let Some(d) = n_features
                && c.len() != self.n_clusters * d
            {
                return Err(Error::ShapeMismatch {
                    what: "the initial centres".into(),
                    expected: format!("({}, {d})", self.n_clusters),
                    found: format!("{} values", c.len()),
                });
            }
            if c.iter().any(|v| !v.is_finite()) {
                return Err(invalid(
                    "init",
                    "the initial centres contain NaN or infinity",
                ));
            }
        }
        Ok(())
    }

    /// Runs k-means on `x` `(n_samples, n_features)`.
    pub fn fit<T: Float>(&self, x: DataRef<'_, T>) -> Result<KMeansModel> {
        self.fit_with(x, None)
    }

    /// [`KMeans::fit`] with a [`Monitor`], asked before every pass whether to stop.
    pub fn fit_with<T: Float>(
        &self,
        x: DataRef<'_, T>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<KMeansModel> {
        self.check(Some(x.n_features()))?;
        validate_data(&x)?;
        if x.n_samples() < self.n_clusters {
            return Err(Error::TooFewSamples {
                n_samples: x.n_samples(),
                needed: self.n_clusters,
                what: "n_samples must be at least n_clusters",
            });
        }
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        with_threads(self.n_threads, || {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
            fit_runs(self, &x, &mut rng, monitor)
        })?
    }
}

/// A fitted k-means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel {
    n_clusters: usize,
    n_features: usize,
    centers: Vec<f64>,
    labels: Vec<usize>,
    inertia: f64,
    n_iter: usize,
    converged: bool,
    computed: Vec<f64>,
    /// The arithmetic [`KMeansModel::predict`] labels with: the fit's, so that predicting the
    /// training rows gives the fit's labels.
    precision: Precision,
}

impl KMeansModel {
    /// A model from given centres `(n_clusters, n_features)` (for prediction), with no labels.
    pub fn from_centers(centers: Vec<f64>, n_clusters: usize, n_features: usize) -> Result<Self> {
        if n_clusters == 0 || n_features == 0 || centers.len() != n_clusters * n_features {
            return Err(Error::ShapeMismatch {
                what: "the centres".into(),
                expected: format!("({n_clusters}, {n_features}) with both at least 1"),
                found: format!("{} values", centers.len()),
            });
        }
        if centers.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidModel(
                "the centres contain NaN or infinity".into(),
            ));
        }
        Ok(KMeansModel {
            n_clusters,
            n_features,
            centers,
            labels: Vec::new(),
            inertia: f64::NAN,
            n_iter: 0,
            converged: false,
            computed: Vec::new(),
            precision: Precision::Auto,
        })
    }

    /// Sets the arithmetic of [`KMeansModel::predict`] (by default [`Precision::Auto`] for a
    /// model from centres, the fit's for a fitted model).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The arithmetic of [`KMeansModel::predict`].
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Sets the fit information (for models read back from a file).
    pub fn with_fit_info(mut self, inertia: f64, n_iter: usize, converged: bool) -> Self {
        self.inertia = inertia;
        self.n_iter = n_iter;
        self.converged = converged;
        self
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Cluster centres `(n_clusters, n_features)`, row-major (`cluster_centers_`).
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }

    /// Label of each training row (`labels_`); empty for models built from centres.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Sum of squared distances of the training rows to their centres (`inertia_`).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations of the kept run (`n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the kept run stopped before `max_iter` (labels stable or centres within `tol`).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// For each pass of the kept run (its iterations, then the final labelling), the fraction
    /// of the `n_samples × n_clusters` row-to-centre distances it computed: 1 for every pass of
    /// Lloyd's algorithm; the bounded algorithm counts a row scored against every centre as
    /// `n_clusters` distances and a row whose distance to its own centre was recomputed as one.
    /// Empty for models built from centres.
    pub fn distances_computed(&self) -> &[f64] {
        &self.computed
    }

    /// Index of the nearest centre for each row of `x`.
    pub fn predict<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<usize>> {
        self.check_data(&x)?;
        let km = Lloyd::new(x, self.n_clusters, &self.centers).single(self.precision.single::<T>());
        Ok(km
            .finish(&km.to_internal(&self.centers), Labels::Keep)
            .0
            .expect("labels are kept"))
    }

    /// Euclidean distances `(n_samples, n_clusters)` of each row to each centre (`transform`).
    pub fn transform<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        self.check_data(&x)?;
        let k = self.n_clusters;
        let km = Lloyd::new(x, k, &self.centers);
        let centers = km.to_internal(&self.centers);
        let mut out = vec![0.0; x.n_samples() * k];
        km.passes().map_rows(&mut out, k, |s, span, o| {
            km.block_distances(s, &centers, span.rows);
            for r in 0..span.rows {
                for c in 0..k {
                    o[r * k + c] = s.comp[c * BLOCK_ROWS + r].sqrt();
                }
            }
        });
        Ok(out)
    }

    /// Sum of squared distances of the rows of `x` to their nearest centres (`-score`).
    pub fn inertia_of<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        self.check_data(&x)?;
        let km = Lloyd::new(x, self.n_clusters, &self.centers).single(self.precision.single::<T>());
        Ok(km.finish(&km.to_internal(&self.centers), Labels::Drop).1)
    }

    fn check_data<T: Float>(&self, x: &DataRef<'_, T>) -> Result<()> {
        validate_data(x)?;
        if x.n_features() != self.n_features {
            return Err(Error::ShapeMismatch {
                what: "the data's number of features".into(),
                expected: self.n_features.to_string(),
                found: x.n_features().to_string(),
            });
        }
        Ok(())
    }
}

impl KMeans {
    /// Whether Lloyd's passes label in float32 for data of type `T` with `d` features: asked
    /// for by the precision, and Lloyd's algorithm is the one that runs.
    fn single<T: Float>(&self, d: usize) -> bool {
        self.precision.single::<T>() && !self.algorithm.bounded(self.n_clusters, d)
    }

    /// One run (`n_init` must be 1) giving only its centres (no final labels or inertia, so
    /// no final pass): for a Gaussian mixture's initialisation, which recomputes each block's
    /// labels from them.
    pub(crate) fn fit_centers_only<'a, T: Float>(
        &self,
        x: DataRef<'a, T>,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<NearestCenter<'a, T>> {
        self.check(Some(x.n_features()))?;
        debug_assert_eq!(self.n_init, 1);
        let single = self.single::<T>(x.n_features());
        let lloyd = Lloyd::new(x, self.n_clusters, &[]).single(single);
        let tol_abs = lloyd.tol_abs(self.tol);
        let start = init::initial_centers(&lloyd, self.n_clusters, &self.init, rng, monitor)?;
        let (run, _) = run_with(
            &lloyd,
            self.algorithm,
            start,
            self.max_iter,
            tol_abs,
            Labels::Skip,
            monitor,
        )?;
        let terms = lloyd.terms(&run.centers);
        let centers = lloyd.to_external(&run.centers);
        Ok(NearestCenter {
            lloyd,
            terms,
            centers,
            last: run.last,
        })
    }
}

/// Fitted k-means centres bound to the data: the nearest centre of any block of rows, exactly
/// as the fit's own final labels are computed.
pub(crate) struct NearestCenter<'a, T> {
    lloyd: Lloyd<'a, T>,
    terms: CenterTerms,
    /// The centres, `(k, d)`, in the data's frame.
    centers: Vec<f64>,
    /// The run's own labels, when they are the final centres' (no pass recomputes them).
    last: Option<LastLabels>,
}

impl<T: Float> NearestCenter<'_, T> {
    /// The centres, `(k, d)`, in the data's frame.
    pub(crate) fn centers(&self) -> &[f64] {
        &self.centers
    }

    /// The label of each row of `span`, into `out` `(span.rows,)`.
    pub(crate) fn labels(&self, span: Span, out: &mut [u32]) {
        match &self.last {
            Some(last) => last.get(span, out),
            None => self.computed_labels(span, out),
        }
    }

    /// [`NearestCenter::labels`], computed from the centres.
    fn computed_labels(&self, span: Span, out: &mut [u32]) {
        self.lloyd.passes().with_scratch(|s| {
            self.lloyd.labels_of(s, span, &self.terms);
            for (o, &l) in out.iter_mut().zip(&s.row[..span.rows]) {
                *o = l as u32;
            }
        });
    }
}

/// One Lloyd pass over a chunk of rows under fixed centres: what each worker of a distributed
/// k-means computes. Passes over disjoint chunks merge by adding every field (the fingerprint
/// with wrapping addition); the next centres are `offset + sums / counts`.
#[derive(Debug, Clone, PartialEq)]
pub struct LloydPass {
    /// Rows seen.
    pub n_samples: usize,
    /// Per-cluster sums of `x - offset` over the rows nearest each centre, `(n_clusters,
    /// n_features)`.
    pub sums: Vec<f64>,
    /// Rows nearest each centre, `(n_clusters,)`.
    pub counts: Vec<f64>,
    /// `Σ ‖x - c_label‖²` under these centres.
    pub inertia: f64,
    /// Fingerprint of the labels: two passes over the same chunk give the same fingerprint
    /// exactly when (up to a 2⁻⁶⁴ chance) every label is the same.
    pub fingerprint: u64,
}

impl KMeansModel {
    /// One Lloyd pass over `x` `(n_samples, n_features)` under this model's centres, with
    /// scikit-learn's assignment (the nearest centre by `‖c‖² - 2 x·c` after centring on
    /// `offset`, ties to the lower index). `offset` `(n_features,)` is the point sums are taken
    /// about: the same for every chunk (the data's column means, as scikit-learn centres).
    /// The chunk is read twice: once for the largest `|x - offset|` of each feature (the grid
    /// of the exact per-centre sums), once for the pass.
    pub fn lloyd_pass<T: Float>(&self, x: DataRef<'_, T>, offset: &[f64]) -> Result<LloydPass> {
        self.check_data(&x)?;
        self.check_offset(offset)?;
        let lloyd = Lloyd::with_offset(x, self.n_clusters, offset.to_vec())
            .single(self.precision.single::<T>());
        let centers = lloyd.to_internal(&self.centers);
        let step = lloyd.step(&centers, Inertia::Under(&centers));
        Ok(LloydPass {
            n_samples: x.n_samples(),
            sums: step.sums,
            counts: step.counts,
            inertia: step.inertia,
            fingerprint: step.fingerprint,
        })
    }

    /// The `n` rows of `x` farthest from their nearest centre, farthest first (ties to the lower
    /// row), as `(row, squared distance, centre)`: the candidates scikit-learn moves into empty
    /// clusters. `offset` as in [`KMeansModel::lloyd_pass`].
    pub fn farthest_rows<T: Float>(
        &self,
        x: DataRef<'_, T>,
        offset: &[f64],
        n: usize,
    ) -> Result<Vec<(usize, f64, usize)>> {
        self.check_data(&x)?;
        self.check_offset(offset)?;
        let lloyd = Lloyd::with_offset(x, self.n_clusters, offset.to_vec())
            .single(self.precision.single::<T>());
        Ok(lloyd.farthest(&lloyd.to_internal(&self.centers), n))
    }

    fn check_offset(&self, offset: &[f64]) -> Result<()> {
        if offset.len() != self.n_features || offset.iter().any(|v| !v.is_finite()) {
            return Err(Error::ShapeMismatch {
                what: "the offset".into(),
                expected: format!("{} finite values", self.n_features),
                found: format!("{} values", offset.len()),
            });
        }
        Ok(())
    }
}

/// All runs of a k-means fit; the best by inertia is kept, as scikit-learn keeps it.
fn fit_runs<T: Float>(
    p: &KMeans,
    x: &DataRef<'_, T>,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<KMeansModel> {
    let k = p.n_clusters;
    let single = p.single::<T>(x.n_features());
    let lloyd = Lloyd::new(*x, k, &[]).single(single);
    let tol_abs = lloyd.tol_abs(p.tol);
    let mut best: Option<KMeansModel> = None;
    for r in 0..p.n_init {
        monitor.phase(Phase::Initializing { run: r });
        let start = init::initial_centers(&lloyd, k, &p.init, rng, monitor)?;
        monitor.phase(Phase::Iterating { run: r });
        let (run, computed) = run_with(
            &lloyd,
            p.algorithm,
            start,
            p.max_iter,
            tol_abs,
            Labels::Keep,
            monitor,
        )?;
        let model = KMeansModel {
            n_clusters: k,
            n_features: x.n_features(),
            centers: lloyd.to_external(&run.centers),
            labels: run.labels.expect("labels are kept"),
            inertia: run.inertia,
            n_iter: run.n_iter,
            converged: run.converged,
            computed,
            precision: if lloyd.is_single() {
                Precision::Auto
            } else {
                Precision::F64
            },
        };
        let better = match &best {
            None => true,
            Some(b) => model.inertia < b.inertia && !same_clustering(&model.labels, &b.labels, k),
        };
        if better {
            best = Some(model);
        }
    }
    Ok(best.expect("n_init >= 1"))
}

/// One run from `start` by `algorithm`, and the fraction of the distances each pass computed.
fn run_with<T: Float>(
    lloyd: &Lloyd<'_, T>,
    algorithm: KMeansAlgorithm,
    start: init::Start,
    max_iter: usize,
    tol_abs: f64,
    keep: Labels,
    monitor: &mut dyn Monitor,
) -> Result<(lloyd::Run, Vec<f64>)> {
    let init::Start { centers, nearest } = start;
    let k = centers.len() / lloyd.x().n_features();
    if algorithm.bounded(k, lloyd.x().n_features()) {
        let (run, work) = lloyd.run_bounded(centers, nearest, max_iter, tol_abs, keep, monitor)?;
        let nk = (lloyd.x().n_samples() * k) as f64;
        let computed = work
            .iter()
            .map(|w| (w.full as f64 * k as f64 + w.tightened as f64) / nk)
            .collect();
        Ok((run, computed))
    } else {
        drop(nearest);
        let run = lloyd.run(centers, max_iter, tol_abs, keep, monitor)?;
        let passes = run.n_iter + 1;
        Ok((run, vec![1.0; passes]))
    }
}

/// Whether two labellings are the same up to a permutation of the labels.
fn same_clustering(a: &[usize], b: &[usize], k: usize) -> bool {
    let mut map = vec![usize::MAX; k];
    for (&x, &y) in a.iter().zip(b) {
        if map[x] == usize::MAX {
            map[x] = y;
        } else if map[x] != y {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mixture's initialisation takes the bounded run's own labels when its last update
    /// left the centres as they were, and they are the labels a pass computes from the final
    /// centres; a run stopped while the centres still moved recomputes them.
    #[test]
    fn a_runs_last_labels_are_the_final_centres_labels() {
        use rand::Rng;
        let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
        let (n, d) = (9000, 3);
        // Uniform noise: Lloyd's passes move rows between clusters for many iterations.
        let x: Vec<f64> = (0..n * d).map(|_| g.random::<f64>()).collect();
        let xr = DataRef::new(&x, n, d).unwrap();
        for (max_iter, reused) in [(300, true), (2, false)] {
            let km = KMeans::new(6)
                .algorithm(KMeansAlgorithm::Elkan)
                .tol(0.0)
                .max_iter(max_iter);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
            let nearest = km.fit_centers_only(xr, &mut rng, &mut ()).unwrap();
            assert_eq!(nearest.last.is_some(), reused, "max_iter {max_iter}");
            let (mut got, mut want) = ([0u32; BLOCK_ROWS], [0u32; BLOCK_ROWS]);
            for start in (0..n).step_by(BLOCK_ROWS) {
                let span = Span {
                    start,
                    rows: BLOCK_ROWS.min(n - start),
                };
                nearest.labels(span, &mut got[..span.rows]);
                nearest.computed_labels(span, &mut want[..span.rows]);
                assert_eq!(got[..span.rows], want[..span.rows], "rows from {start}");
            }
        }
    }

    #[test]
    fn same_clustering_up_to_permutation() {
        assert!(same_clustering(&[0, 0, 1, 2], &[2, 2, 0, 1], 3));
        assert!(!same_clustering(&[0, 0, 1, 2], &[2, 1, 0, 1], 3));
    }
}
